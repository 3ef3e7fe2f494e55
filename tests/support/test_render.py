"""The support documents in words: two machines apart, reasons whole, strings from the spool escaped."""

from __future__ import annotations

import pytest

from copied_spool import T0
from helpers import make_envelope
from telemetry_sender.sender.drain import DrainReport
from telemetry_sender.support import render, report


def _status(**state) -> dict:
    settings = report.SettingsView(True, "enabled", "APPLICATIONINSIGHTS_CONNECTION_STRING",
                                   "https://westus3-1.in.applicationinsights.azure.com/")
    folder = report.FolderFacts(this_machine_root="/home/me/.azure/prototype/telemetry")
    return report.build_status(root="/tmp/case-123/telemetry", files=[], oldest_envelope=None, state_doc=state,
                               state_problem=None, settings=settings, sender_running=False, now=T0, folder=folder)


def test_status_keeps_the_spool_apart_from_this_machine_and_says_it_looks_copied():
    doc = _status(target={"endpoint": "https://eastus-8.in.applicationinsights.azure.com/", "ikey": "ikey-of-user",
                          "sent_to": "https://eastus-8.in.applicationinsights.azure.com", "time": "2026-11-25T08:00:00Z"})
    assert doc["looks_copied"] is True and "not this machine's spool folder" in doc["copied_hints"]
    assert doc["sender_endpoint_host"] == "eastus-8.in.applicationinsights.azure.com"
    assert doc["sender_instrumentation_key"] == "ikey-of-user"
    text = render.render_status(doc)
    spool_part, machine_part = text.split(render.MACHINE_SECTION)
    assert "eastus-8" in spool_part and "ikey-of-user" in spool_part and "Looks copied:" in spool_part
    assert "Telemetry:" in machine_part and "westus3-1" in machine_part and "Telemetry:" not in spool_part


def test_status_shows_a_long_service_message_whole_and_escaped():
    detail = "Throttled \x1b[2J" + " because the daily cap was reached" * 6 + " END"
    doc = _status(last_attempt={"time": "2026-11-25T08:00:00Z", "outcome": "retry", "status": 439,
                                "detail": detail})
    text = render.render_status(doc, width=80)
    assert "END" in text and "\\x1b[2J" in text and "\x1b" not in text
    assert all(len(line) <= 80 for line in text.splitlines())
    rows = render.status_rows(doc)
    assert {"Field": "Service message", "Value": render.printable(detail)} in rows


def test_show_table_cuts_cells_but_prints_notes_whole():
    message = "Field 'time' is older than the allowed min date; " * 3 + "END"
    item = {"file": "a\x1bb.json", "state": "rejected", "status": 400, "message": message,
            "envelope": make_envelope("prototype \x1b]0;x\x07init", T0)}
    text = render.show_table([item])
    assert "\x1b" not in text and "\x07" not in text and "END" in text.split("Notes:")[1]
    rows = render.az_show_rows([item])
    assert rows[0]["Command"] == "prototype \\x1b]0;x\\x07init" and rows[0]["Note"].endswith("END")
    one = render.show_one(item)
    assert "END" in one and "\\u001b]0;x\\u0007init" in one and "\x1b" not in one  # the envelope as escaped JSON


@pytest.mark.parametrize("report_, fragment", [
    (DrainReport(outcome="empty"), None),
    (DrainReport(sent=3, outcome="delivered"), None),
    (DrainReport(outcome="locked"), "--wait"),
    (DrainReport(outcome="disabled", detail="DO_NOT_TRACK is set", opted_out=2), "2 pending event(s) deleted"),
    (DrainReport(sent=1, retried=4, outcome="backing-off", next_attempt="2026-11-25T10:00:00.000000Z",
                 detail="HTTP 429"), "4 events kept"),
    (DrainReport(sent=512, retried=10, outcome="deadline"), "flush stopped (deadline)"),
])
def test_flush_outcomes_map_to_success_or_a_clear_error(report_, fragment):
    message = render.flush_problem(report_, "/spool")
    assert render.flush_succeeded(report_) is (fragment is None)
    assert (message is None) if fragment is None else (fragment in message)


def test_a_flush_whose_lock_was_taken_between_passes_says_what_it_did_before():
    message = render.flush_problem(DrainReport(sent=512, rejected=2, outcome="locked"), "/spool")
    assert "512 sent, 2 rejected by the service" in message and "nothing was flushed" not in message
    assert "nothing was flushed" in render.flush_problem(DrainReport(outcome="locked"), "/spool")


def test_status_counts_events_sent_trimmed_apart_from_losses():
    doc = _status(lost={"expired": 1}, trimmed=3)
    assert doc["trimmed"] == 3 and "trimmed" not in doc["lost"]
    text = render.render_status(doc)
    assert "Trimmed:" in text and "3 events sent cut to the data dictionary (field names in the sender log)" in text
    assert _status()["trimmed"] == 0 and _status(trimmed="3")["trimmed"] == 0  # an older or edited state.json
