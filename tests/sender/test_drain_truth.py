"""Issue 10 in the drain: a dead sender's claims back at once, rejections never "delivered", backoff per
endpoint, our own files repaired, and wrong clocks that never destroy events."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
import responses
from responses import registries

from helpers import SESSION_START, FakeClock, event_ids, settings_for, spool_events
from telemetry_sender.sender.drain import drain
from telemetry_sender.sender.transport import RequestsTransport
from telemetry_sender.spool import lock, repair, store
from telemetry_sender.spool.layout import SpoolLayout, lease_holder
from telemetry_sender.spool.state import format_time, load_state, save_state
from telemetry_sender.recording import acquire_lock_fd, backing_off, endpoint_id

ENDPOINT = "http://127.0.0.1:9"
OTHER = "http://127.0.0.1:10"
URL = ENDPOINT + "/v2.1/track"
TOO_OLD = "Field 'time' on type 'Envelope' is older than the allowed min date. Expected: 2026-11-28"


def ok(count):
    return {"itemsReceived": count, "itemsAccepted": count, "errors": [], "appId": None}


def bodies():
    return [json.loads(gzip.decompress(call.request.body)) for call in responses.calls]


def run(layout, clock, manual=True, endpoint=ENDPOINT, **kwargs):
    return drain(layout, settings_for(endpoint), manual=manual, transport=RequestsTransport(), now=clock,
                 rng=random.Random(3), **kwargs)


def claim_as_dead_sender(layout, count):
    """Leave `count` events claimed by a sender that died (lease deadline far ahead)."""
    names = list(store.iter_pending_names(layout))[:count]
    for name in names:
        assert store.claim(layout, name, int(SESSION_START.timestamp()) + 3600, "4242-deadbeef") is not None
    return names


# --- a dead sender's claims -------------------------------------------------------------


@responses.activate(registry=registries.OrderedRegistry)
def test_send_takes_back_a_dead_senders_claims_at_once(layout, clock):
    ids = spool_events(layout, 5)
    claim_as_dead_sender(layout, 3)
    responses.post(URL, json=ok(5))
    report = run(layout, clock)
    assert report.outcome == "delivered" and report.sent == 5
    assert sorted(event_ids(bodies()[0])) == sorted(ids)
    assert list(layout.spool.iterdir()) == []


def test_only_the_lock_holders_own_leases_survive_the_sweep(layout):
    spool_events(layout, 2)
    first, second = store.iter_pending_names(layout)
    store.claim(layout, first, int(SESSION_START.timestamp()) + 600, "1-aa")
    store.claim(layout, second, int(SESSION_START.timestamp()) + 600, "2-bb")
    swept = store.sweep(layout, SESSION_START.timestamp(), holder="1-aa")
    assert swept.released_leases == 1 and list(store.iter_pending_names(layout)) == [second]


# --- rejections are not deliveries -------------------------------------------------------


@responses.activate(registry=registries.OrderedRegistry)
def test_a_wrong_key_is_rejected_not_delivered(layout, clock, capsys, monkeypatch):
    from telemetry_sender.sender import command

    spool_events(layout, 2)
    errors = [{"index": i, "statusCode": 400, "message": "Invalid instrumentation key"} for i in range(2)]
    responses.post(URL, status=400, json={"itemsReceived": 2, "itemsAccepted": 0, "errors": errors})
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", f"InstrumentationKey=k;IngestionEndpoint={ENDPOINT}")
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    monkeypatch.setenv("AZURE_CORE_COLLECT_TELEMETRY", "yes")
    assert command.command_send(argparse.Namespace(json=True, background=False), layout) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["outcome"] == "rejected" and printed["rejected"] == 2 and printed["sent"] == 0
    assert "Invalid instrumentation key" in printed["detail"] and "2" in printed["detail"]
    last = load_state(layout.state_file)["last_attempt"]
    assert last["outcome"] == "rejected" and last["status"] == 400 and "Invalid instrumentation key" in last["detail"]


@responses.activate(registry=registries.OrderedRegistry)
def test_some_accepted_some_rejected_is_still_rejected(layout, clock):
    spool_events(layout, 3)
    responses.post(URL, status=206, json={"itemsReceived": 3, "itemsAccepted": 2,
                                          "errors": [{"index": 1, "statusCode": 400, "message": "bad field"}]})
    report = run(layout, clock)
    assert (report.outcome, report.sent, report.rejected) == ("rejected", 2, 1)
    assert not report.outcome.all_accepted
    assert load_state(layout.state_file)["last_attempt"]["outcome"] == "rejected"


@responses.activate(registry=registries.OrderedRegistry)
def test_a_later_accepted_batch_does_not_hide_an_earlier_rejection_in_status(layout, clock, monkeypatch):
    from functools import partial

    from telemetry_sender.sender import drain as drain_module
    from telemetry_sender.sender.batch import BatchBuffer

    monkeypatch.setattr(drain_module, "BatchBuffer", partial(BatchBuffer, max_items=2))
    spool_events(layout, 4)
    responses.post(URL, status=400, json={"itemsReceived": 2, "itemsAccepted": 0, "errors": [
        {"index": 0, "statusCode": 400, "message": "bad field"}, {"index": 1, "statusCode": 400, "message": "bad"}]})
    responses.post(URL, status=200, json=ok(2))
    report = run(layout, clock)
    assert (report.outcome, report.sent, report.rejected, report.batches) == ("rejected", 2, 2, 2)
    last = load_state(layout.state_file)["last_attempt"]
    assert (last["outcome"], last["status"]) == ("rejected", 400)
    assert last["detail"] == "2 accepted, 2 rejected (HTTP 400: bad field)"


@responses.activate(registry=registries.OrderedRegistry)
@pytest.mark.parametrize("planted", [{"last_success": "9999-12-31T23:30:00Z"},
                                     {"next_attempt": "9999-12-31T23:59:59-01:00", "service_clock": "9999"}])
def test_a_time_at_the_edge_of_the_calendar_in_state_json_does_not_stop_every_sender(layout, clock, planted):
    ids = spool_events(layout, 2)
    layout.state_file.write_text(json.dumps(planted))
    responses.post(URL, json=ok(2))
    report = run(layout, clock, manual=False)
    assert (report.outcome, report.sent) == ("delivered", 2)
    assert sorted(event_ids(bodies()[0])) == sorted(ids)


@responses.activate(registry=registries.OrderedRegistry)
@pytest.mark.skipif(not hasattr(os, "symlink"), reason="POSIX links")
def test_a_link_planted_at_quarantine_is_set_aside_and_a_corrupt_file_kept_for_inspection(layout, clock, tmp_path):
    spool_events(layout, 1)
    corrupt = layout.spool / f"{int(SESSION_START.timestamp() * 1e9):020d}-aaaaaaaaaaaa.json"
    corrupt.write_bytes(b"{not json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, layout.quarantine)
    responses.post(URL, json=ok(1))
    report = run(layout, clock)
    assert (report.sent, report.quarantined) == (1, 1)
    assert layout.quarantine.is_dir() and not layout.quarantine.is_symlink()
    assert (layout.quarantine / corrupt.name).read_bytes() == b"{not json"  # before: deleted, though "quarantined"
    assert list(elsewhere.iterdir()) == []  # the link's target is never written
    assert any(p.name.startswith("quarantine.set-aside-") and p.is_symlink() for p in layout.root.iterdir())


# --- backoff and redirects belong to an endpoint ----------------------------------------------


@responses.activate(registry=registries.OrderedRegistry)
def test_a_changed_connection_string_starts_fresh(layout, clock):
    from telemetry_sender.recording import claim_sender_lock

    spool_events(layout, 1)
    responses.post(OTHER + "/v2.1/track", status=503)
    assert run(layout, clock, endpoint=OTHER).outcome == "backing-off"
    state = load_state(layout.state_file)
    assert state["endpoint"] == endpoint_id(OTHER, "00000000-0000-0000-0000-000000000001")
    assert backing_off(state, SESSION_START, state["endpoint"])
    new, old = endpoint_id(ENDPOINT, "k"), endpoint_id(OTHER, "00000000-0000-0000-0000-000000000001")
    assert claim_sender_lock(layout.root, old, SESSION_START) is None  # the recorder waits for the old endpoint only
    fd = claim_sender_lock(layout.root, new, SESSION_START)
    assert fd is not None
    os.close(fd)
    responses.post(URL, json=ok(1))
    report = run(layout, clock, manual=False)  # automatic: the old endpoint's backoff does not hold it back
    assert report.outcome == "delivered"
    state = load_state(layout.state_file)
    assert state["last_attempt"]["outcome"] == "delivered" and state["next_attempt"] is None
    assert state["history"][0]["endpoint"].startswith(OTHER) and state["history"][0]["last_attempt"]["status"] == 503


# --- our own files ----------------------------------------------------------------------------


@pytest.mark.parametrize("planted", ["lock-dir", "lock-symlink", "lock-fifo", "state-dir", "state-symlink"])
@responses.activate(registry=registries.OrderedRegistry)
def test_a_planted_lock_or_state_file_is_set_aside_and_everything_sent(layout, clock, tmp_path, planted):
    ids = spool_events(layout, 2)
    path = layout.lock_file if planted.startswith("lock") else layout.state_file
    target = tmp_path / "target"
    if planted.endswith("dir"):
        path.mkdir()
        (path / "keep").write_text("x")
    elif planted.endswith("symlink"):
        path.symlink_to(target)
    else:
        os.mkfifo(path)
    responses.post(URL, json=ok(2))
    report = run(layout, clock, manual=False)
    assert report.outcome == "delivered" and sorted(event_ids(bodies()[0])) == sorted(ids)
    assert not target.exists()  # never followed
    aside = [p for p in layout.root.iterdir() if repair.SET_ASIDE_MARK in p.name]
    assert len(aside) == 1 and (not planted.endswith("dir") or (aside[0] / "keep").read_text() == "x")
    assert path.is_file() and not path.is_symlink()


def test_when_our_file_cannot_be_set_aside_the_drain_says_why_and_still_sweeps(layout, clock, monkeypatch):
    spool_events(layout, 1, when=SESSION_START - timedelta(days=8))
    spool_events(layout, 1)
    layout.lock_file.mkdir()
    real_rename = os.rename

    def refuse(src, dst, *a, **k):
        if str(src) == str(layout.lock_file):
            raise PermissionError(13, "read-only")
        return real_rename(src, dst, *a, **k)

    monkeypatch.setattr(os, "rename", refuse)
    report = run(layout, clock, manual=False)
    assert report.outcome == "unsafe" and "sender.lock is a folder and cannot be set aside" in report.detail
    assert report.expired == 1 and len(list(store.iter_pending_names(layout))) == 1


# --- wrong clocks never destroy events -------------------------------------------------------


@responses.activate(registry=registries.OrderedRegistry)
def test_a_clock_eight_days_ahead_expires_nothing_recorded_at_the_right_time(layout):
    ids = spool_events(layout, 3, when=SESSION_START)
    too_new = [{"index": i, "statusCode": 400, "message": "Field 'time' on type 'Envelope' is newer than the max date."}
               for i in range(3)]
    # The service (whose clock is right) refuses the times our wrong clock put on them, once.
    responses.post(URL, status=400, json={"itemsReceived": 3, "itemsAccepted": 0, "errors": too_new},
                   headers={"Date": format_datetime(SESSION_START, usegmt=True)})
    responses.post(URL, json=ok(3))
    report = run(layout, FakeClock(SESSION_START + timedelta(days=8)), manual=False)
    assert report.expired == 0 and report.rejected == 0 and report.outcome == "delivered"
    resent = bodies()[1]
    assert event_ids(resent) == ids and all(e["time"] == format_time(SESSION_START) for e in resent)


@responses.activate(registry=registries.OrderedRegistry)
def test_a_clock_that_jumps_ahead_offline_and_stamps_new_events_expires_none_of_the_old(layout):
    boot = "5b0c4e6f-0000-4000-8000-000000000002"
    spool_events(layout, 1, when=SESSION_START)
    responses.post(URL, json=ok(1), headers={"Date": format_datetime(SESSION_START, usegmt=True)})
    assert run(layout, FakeClock(SESSION_START), boot=lambda: (boot, 100.0)).outcome == "delivered"
    assert load_state(layout.state_file)["service_clock"]["boot"] == boot
    kept = spool_events(layout, 2, when=SESSION_START + timedelta(hours=1))  # recorded while the clock was right
    wrong = SESSION_START + timedelta(days=9)  # then the clock jumps ahead, offline,
    spool_events(layout, 1, when=wrong)  # and a command records an event with the wrong time
    responses.post(URL, body=requests.exceptions.ConnectionError("offline"))
    report = run(layout, FakeClock(wrong), manual=False, boot=lambda: (boot, 100.0 + 7200))  # two hours of this boot
    assert report.expired == 0 and report.outcome == "backing-off"
    pending = [json.loads(path.read_text()) for path in layout.spool.glob("*.json")]
    assert set(kept) <= set(event_ids(pending))


@responses.activate(registry=registries.OrderedRegistry)
def test_a_clock_three_days_behind_does_not_restamp_correct_events(layout):
    spool_events(layout, 2, when=SESSION_START)
    responses.post(URL, json=ok(2))
    run(layout, FakeClock(SESSION_START - timedelta(days=3)), manual=False)
    assert all(e["time"] == format_time(SESSION_START) for e in bodies()[0])


@responses.activate(registry=registries.OrderedRegistry)
def test_a_time_window_rejection_is_restamped_from_the_services_date_and_sent_once_more(layout, clock):
    ids = spool_events(layout, 2, when=SESSION_START)
    service_now = SESSION_START + timedelta(days=3)
    errors = [{"index": 0, "statusCode": 400, "message": TOO_OLD}]
    responses.post(URL, status=206, json={"itemsReceived": 2, "itemsAccepted": 1, "errors": errors},
                   headers={"Date": format_datetime(service_now, usegmt=True)})
    responses.post(URL, json=ok(1))
    report = run(layout, clock)
    assert (report.outcome, report.sent, report.rejected) == ("delivered", 2, 0)
    resent = bodies()[1]
    assert event_ids(resent) == ids[:1] and resent[0]["time"] == format_time(service_now)
    assert resent[0]["data"]["baseData"]["properties"]["timestamp"] == format_time(SESSION_START)  # the command's time kept


@responses.activate(registry=registries.OrderedRegistry)
def test_a_second_time_window_rejection_is_dead_lettered(layout, clock):
    spool_events(layout, 1)
    rejected = {"itemsReceived": 1, "itemsAccepted": 0, "errors": [{"index": 0, "statusCode": 400, "message": TOO_OLD}]}
    responses.post(URL, status=400, json=rejected, headers={"Date": format_datetime(SESSION_START, usegmt=True)})
    responses.post(URL, status=400, json=rejected)
    report = run(layout, clock)
    assert len(responses.calls) == 2 and report.rejected == 1 and report.outcome == "rejected"


# --- the lock handed down ----------------------------------------------------------------------


def test_a_lock_handed_down_is_adopted_and_released(layout, clock):
    layout.root.mkdir(parents=True)
    adopted = lock.adopt(acquire_lock_fd(layout.lock_file), layout.lock_file)  # as the spawner hands it down
    assert adopted is not None and lock.is_held(layout.lock_file)
    report = drain(layout, settings_for(ENDPOINT), manual=False, transport=object(), now=clock, lock=adopted)
    assert report.outcome == "empty" and not lock.is_held(layout.lock_file)


def test_a_lock_on_a_replaced_file_does_not_count(layout):
    layout.root.mkdir(parents=True)
    held = lock.try_acquire(layout.lock_file)
    os.rename(layout.lock_file, layout.root / "old.lock")
    assert lock.adopt(os.dup(held.fd), layout.lock_file) is None
    assert lock.try_acquire(layout.lock_file) is not None  # a fresh file: a fresh lock


@responses.activate(registry=registries.OrderedRegistry)
@pytest.mark.parametrize("taken_by, outcome", [("another sender", "locked"), ("nobody: the lock file broke", "unsafe")])
def test_events_left_waiting_after_the_lock_was_let_go_are_not_reported_empty(layout, clock, monkeypatch,
                                                                              taken_by, outcome):
    from telemetry_sender.sender import drain as drain_module, ownership

    spool_events(layout, 1)
    responses.post(URL, json=ok(1))
    handed = lock.try_acquire(layout.lock_file)

    def retake(_layout):
        if taken_by == "another sender":
            return None
        raise IsADirectoryError("sender.lock is not a regular file")

    monkeypatch.setattr(ownership, "acquire", retake)  # between passes the lock went elsewhere,
    monkeypatch.setattr(drain_module.store, "has_pending", lambda _layout: True)  # and a command wrote an event
    report = run(layout, clock, lock=handed)
    assert report.sent == 1 and report.outcome == outcome and not report.outcome.all_accepted
    assert "pending events wait" in report.detail
