"""`status` tells the truth (issue 10): claims of a dead sender, the current endpoint only, our own files."""

from __future__ import annotations

from datetime import datetime, timezone

from telemetry_sender.support import render, report
from telemetry_sender.recording import endpoint_id

STATUS_AT = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)  # when status is asked; the saved times are near it
CURRENT = endpoint_id("https://new.example", "key")
EARLIER = endpoint_id("http://127.0.0.1:9", "key")
SETTINGS = report.SettingsView(True, "enabled", "env", "https://new.example", CURRENT)
LEASED = report.SpoolFile(report.LEASED, "00000000000000000001-aaaaaaaaaaaa.json",
                          "spool/00000000000000000001-aaaaaaaaaaaa.json.9.1-ab.lease", 10)


def build(state_doc=None, running=False, files=(LEASED,), problems=()):
    return report.build_status(root="/r", files=files, oldest_envelope=None, state_doc=state_doc, state_problem=None,
                               settings=SETTINGS, sender_running=running, now=STATUS_AT, own_file_problems=problems)


def test_claims_count_as_waiting_and_say_when_their_sender_is_gone():
    doc = build()
    assert doc["pending"] == 1 and doc["leased_by_dead_sender"] == 1
    assert "no longer running" in render.render_status(doc)
    assert build(running=True)["leased_by_dead_sender"] == 0


def test_another_endpoints_backoff_is_history_not_the_current_state():
    saved = {"endpoint": EARLIER, "next_attempt": "2026-11-30T12:00:30.000000Z", "consecutive_failures": 2,
             "last_attempt": {"time": "2026-11-30T11:59:00.000000Z", "outcome": "retry", "status": None,
                              "detail": "network error: connect"}}
    doc = build(saved)
    assert (doc["next_attempt"], doc["last_attempt"], doc["backing_off"]) == (None, None, False)
    assert doc["previous_endpoint"]["endpoint_host"] == "127.0.0.1:9"
    assert "Earlier endpoint" in render.render_status(doc)


def test_the_history_the_sender_keeps_is_shown():
    saved = {"endpoint": CURRENT, "history": [{"endpoint": EARLIER, "last_attempt": {"outcome": "retry"}}],
             "last_attempt": {"time": "2026-11-30T11:59:00.000000Z", "outcome": "delivered", "status": 200}}
    doc = build(saved)
    assert doc["last_outcome"] == "delivered" and doc["previous_endpoint"]["last_outcome"] == "retry"


def test_a_problem_with_our_own_files_is_shown():
    doc = build(problems=["sender.lock is a folder: the next sender sets it aside"])
    assert "Not sending" in render.render_status(doc)


def test_a_copied_folders_backoff_is_its_own_whatever_this_machine_is_configured_for():
    saved = {"endpoint": EARLIER, "next_attempt": "2026-11-30T12:00:30.000000Z", "consecutive_failures": 2,
             "last_attempt": {"time": "2026-11-30T11:59:00.000000Z", "outcome": "retry", "status": None,
                              "detail": "network error: connect"}}
    doc = report.build_status(root="/copy/telemetry", files=(LEASED,), oldest_envelope=None, state_doc=saved,
                              state_problem=None, settings=SETTINGS, sender_running=False, now=STATUS_AT,
                              folder=report.FolderFacts(this_machine_root="/home/me/.azure/prototype/telemetry"))
    assert doc["next_attempt"] == "2026-11-30T12:00:30.000000Z" and doc["last_outcome"] == "retry"
    assert doc["backing_off"] is True and doc["consecutive_failures"] == 2


def test_an_unreadable_spool_folder_is_not_reported_as_nothing_pending():
    from telemetry_sender.spool.safe_dir import Kind, Skipped

    folder = report.FolderFacts(this_machine_root="/r", skipped=(Skipped("spool", Kind.FOLDER, "not opened: EACCES"),))
    doc = report.build_status(root="/r", files=(), oldest_envelope=None, state_doc=None, state_problem=None,
                              settings=SETTINGS, sender_running=False, now=STATUS_AT, folder=folder)
    assert doc["pending"] is None and doc["pending_unknown"] == "spool/ not opened: EACCES"
    assert "unknown: spool/ not opened: EACCES" in render.render_status(doc)


def test_an_entry_of_spool_that_cannot_be_looked_at_makes_pending_unknown_not_zero():
    from telemetry_sender.spool.safe_dir import Kind, Skipped

    hidden = Skipped("spool/00000000000000000001-aaaaaaaaaaaa.json", Kind.UNREADABLE, "listed but cannot be looked at")
    folder = report.FolderFacts(this_machine_root="/r", skipped=(hidden,))
    doc = report.build_status(root="/r", files=(), oldest_envelope=None, state_doc=None, state_problem=None,
                              settings=SETTINGS, sender_running=False, now=STATUS_AT, folder=folder)
    assert doc["pending"] is None and doc["pending_unknown"].startswith("spool/00000000000000000001")
