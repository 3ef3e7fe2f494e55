"""A spool file is untrusted: the drain sends only the data dictionary's fields, whatever the file holds."""

from __future__ import annotations

import gzip
import json
import logging
import os
import random
import subprocess
import sys
from datetime import datetime, timezone

import pytest
import responses
from responses import registries

from helpers import IKEY, FakeClock, make_envelope, settings_for, wall_now
from telemetry_sender.emulator.server import Emulator
from telemetry_sender.sender.drain import drain
from telemetry_sender.sender.transport import RequestsTransport
from telemetry_sender.spool import store
from telemetry_sender.spool.envelope import MEASUREMENT_KEYS, PROPERTY_KEYS, TAG_KEYS
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.state import load_state
from telemetry_sender.spool.write import write_event

ENDPOINT = "http://127.0.0.1:9"
URL = ENDPOINT + "/v2.1/track"
PRIVATE = ("jane", "contoso", "203.0.113.7", "hunter2")


def planted(**properties: str) -> dict:
    """An event with undocumented properties, tags, measurements and top-level keys, as an old or
    buggy version (or a person) might leave in the spool."""
    envelope = make_envelope(error="CLIError: cannot reach contoso-hr-api-056 as jane@contoso.com", **properties)
    envelope["iKey"] = "11111111-2222-3333-4444-555555555555"
    envelope["userEmail"] = "jane@contoso.com"
    envelope["tags"].update({"ai.user.id": "jane", "ai.location.ip": "203.0.113.7", "ai.device.id": "contoso-laptop"})
    base = envelope["data"]["baseData"]
    base["properties"].update({"userEmail": "jane@contoso.com", "parameters": '{"password":"hunter2","scope":"infra"}'})
    base["measurements"] = {"durationMs": 3.0, "salaryOfJane": 1.0}
    return envelope


def assert_documented_only(item: dict) -> None:
    base = item["data"]["baseData"]
    assert set(item) == {"name", "time", "iKey", "tags", "data"}
    assert set(item["tags"]) == set(TAG_KEYS)
    assert set(base) == {"ver", "name", "properties", "measurements"}
    assert set(base["properties"]) <= set(PROPERTY_KEYS)
    assert set(base["measurements"]) <= set(MEASUREMENT_KEYS)
    text = json.dumps(item).lower()
    assert not [p for p in PRIVATE if p in text], text


@responses.activate(registry=registries.OrderedRegistry)
def test_drain_sends_only_documented_fields_and_logs_their_names(tmp_path, caplog):
    layout = SpoolLayout(tmp_path / "telemetry")
    write_event(layout, planted())
    responses.post(URL, json={"itemsReceived": 1, "itemsAccepted": 1, "errors": []})
    with caplog.at_level(logging.WARNING, logger="telemetry_sender.sender.dictionary"):
        report = drain(layout, settings_for(ENDPOINT), manual=True, transport=RequestsTransport(),
                       now=FakeClock(wall_now()), rng=random.Random(1))
    assert report.sent == 1
    [item] = json.loads(gzip.decompress(responses.calls[0].request.body))
    assert_documented_only(item)
    assert item["iKey"] == IKEY
    props = item["data"]["baseData"]["properties"]
    assert props["error"] == "CLIError: cannot reach <name> as <email>"
    assert json.loads(props["parameters"]) == {"password": "***", "scope": "infra"}
    [record] = [r for r in caplog.records if "not sent as stored" in r.getMessage()]
    message = record.getMessage()
    for name in ("userEmail", "tags.ai.user.id", "tags.ai.location.ip", "properties.userEmail", "iKey",
                 "measurements.salaryOfJane", "properties.error (re-sanitized)"):
        assert name in message
    assert "jane@" not in message and "203.0.113.7" not in message and "hunter2" not in message


@responses.activate(registry=registries.OrderedRegistry)
def test_events_sent_trimmed_are_counted_in_the_report_and_state_json(tmp_path):
    layout = SpoolLayout(tmp_path / "telemetry")
    write_event(layout, planted())
    write_event(layout, make_envelope())  # as the recorder writes it: nothing to cut
    rekeyed = make_envelope()
    rekeyed["iKey"] = "11111111-2222-3333-4444-555555555555"  # recorded under an earlier connection string
    write_event(layout, rekeyed)
    responses.post(URL, json={"itemsReceived": 3, "itemsAccepted": 3, "errors": []})
    report = drain(layout, settings_for(ENDPOINT), manual=True, transport=RequestsTransport(),
                   now=FakeClock(datetime.now(timezone.utc)), rng=random.Random(1))
    assert (report.sent, report.trimmed) == (3, 1)
    assert load_state(layout.state_file)["trimmed"] == 1
    write_event(layout, planted())
    responses.post(URL, json={"itemsReceived": 1, "itemsAccepted": 1, "errors": []})
    again = drain(layout, settings_for(ENDPOINT), manual=True, transport=RequestsTransport(),
                  now=FakeClock(datetime.now(timezone.utc)), rng=random.Random(1))
    assert (again.sent, again.trimmed) == (1, 1) and load_state(layout.state_file)["trimmed"] == 2


@responses.activate(registry=registries.OrderedRegistry)
def test_a_trimmed_event_the_service_refuses_is_a_loss_not_a_trimmed_send(tmp_path):
    layout = SpoolLayout(tmp_path / "telemetry")
    write_event(layout, planted())
    responses.post(URL, status=400, json={"itemsReceived": 1, "itemsAccepted": 0,
                                          "errors": [{"index": 0, "statusCode": 400, "message": "bad"}]})
    report = drain(layout, settings_for(ENDPOINT), manual=True, transport=RequestsTransport(),
                   now=FakeClock(datetime.now(timezone.utc)), rng=random.Random(1))
    assert (report.sent, report.rejected, report.trimmed) == (0, 1, 0)
    state = load_state(layout.state_file)
    assert state["trimmed"] == 0 and state["lost"]["rejected"] == 1


@responses.activate(registry=registries.OrderedRegistry)
def test_a_file_that_is_no_event_is_quarantined_not_sent(tmp_path):
    layout = SpoolLayout(tmp_path / "telemetry")
    other = make_envelope()
    other["data"]["baseData"]["name"] = "jane_was_here"
    write_event(layout, other)
    write_event(layout, make_envelope())
    responses.post(URL, json={"itemsReceived": 1, "itemsAccepted": 1, "errors": []})
    report = drain(layout, settings_for(ENDPOINT), manual=True, transport=RequestsTransport(),
                   now=FakeClock(wall_now()), rng=random.Random(1))
    assert (report.sent, report.quarantined) == (1, 1)
    assert len(json.loads(gzip.decompress(responses.calls[0].request.body))) == 1
    assert list(store.iter_pending_names(layout)) == []


@pytest.mark.slow
def test_a_real_sender_delivers_only_documented_fields_to_the_emulator(tmp_path):
    root = tmp_path / "azure" / "prototype" / "telemetry"
    write_event(SpoolLayout(root), planted())
    with Emulator(quiet=True) as emulator:
        env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "AZURE_CORE_COLLECT_TELEMETRY",
                                                                "APPINSIGHTS_CONNECTION_STRING")
               and not k.lower().endswith("_proxy")}
        env.update(AZURE_CONFIG_DIR=str(tmp_path / "azure"), NO_PROXY="127.0.0.1,localhost",
                   APPLICATIONINSIGHTS_CONNECTION_STRING=emulator.connection_string)
        done = subprocess.run([sys.executable, "-m", "telemetry_sender", "send", "--spool", str(root), "--json"],
                              env=env, capture_output=True, text=True, timeout=90)
        assert done.returncode == 0, done.stderr
        [item] = emulator.accepted
    assert_documented_only(item)
    # A person's `send` logs to stderr (the detached sender to sender.log): names, never values.
    assert "tags.ai.location.ip" in done.stderr and "203.0.113.7" not in done.stderr and "jane@" not in done.stderr
    report = json.loads(done.stdout)
    assert (report["sent"], report["trimmed"]) == (1, 1)
    status = [subprocess.run([sys.executable, "-m", "telemetry_sender", "status", "--spool", str(root), *more],
                             env=env, capture_output=True, text=True, timeout=60) for more in (["--json"], [])]
    assert status[0].returncode == 0 and json.loads(status[0].stdout)["trimmed"] == 1
    assert "Trimmed:" in status[1].stdout and "1 event sent cut to the data dictionary" in status[1].stdout
