"""The drain against `responses` (ordered registry): every status path, backoff state, redirects, opt-out."""

from __future__ import annotations

import gzip
import json
import os
import random
import sys
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import responses
from responses import registries

from helpers import SESSION_START, event_ids, make_envelope, settings_for, spool_events
from telemetry_sender.spool import lock
from telemetry_sender.spool import store
from telemetry_sender.spool.layout import parse_lease_name, recorded_ns
from telemetry_sender.spool.write import write_event
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.sender.drain import DrainReport, drain
from telemetry_sender.spool.state import load_state
from telemetry_sender.recording import parse_time
from telemetry_sender.sender.transport import RequestsTransport

ENDPOINT = "http://127.0.0.1:9"
URL = ENDPOINT + "/v2.1/track"


def ok(count):
    return {"itemsReceived": count, "itemsAccepted": count, "errors": [], "appId": None}


def sent_ids(call_index=None):
    calls = responses.calls if call_index is None else [responses.calls[call_index]]
    ids = []
    for call in calls:
        ids += event_ids(json.loads(gzip.decompress(call.request.body)))
    return ids


def pending(layout):
    return list(store.iter_pending_names(layout))


def run(layout, clock, manual=True, endpoint=ENDPOINT, **kwargs) -> DrainReport:
    return drain(layout, settings_for(endpoint), manual=manual, transport=RequestsTransport(), now=clock,
                 rng=random.Random(3), **kwargs)


@responses.activate(registry=registries.OrderedRegistry)
def test_200_deletes_and_batches_at_512(layout, clock):
    ids = spool_events(layout, 1100)
    for size in (512, 512, 76):
        responses.post(URL, json=ok(size))
    report = run(layout, clock)
    assert report.outcome == "delivered" and report.sent == 1100
    assert sent_ids() == ids  # oldest first, each once
    assert [len(json.loads(gzip.decompress(c.request.body))) for c in responses.calls] == [512, 512, 76]
    assert pending(layout) == [] and not list(layout.spool.iterdir())
    state = load_state(layout.state_file)
    assert state["last_attempt"]["outcome"] == "delivered" and state["next_attempt"] is None


@responses.activate(registry=registries.OrderedRegistry)
def test_batches_stay_near_one_megabyte(layout, clock):
    for _ in range(40):
        write_event(layout, make_envelope(padding="x" * 40_000))
    responses.post(URL, json=ok(24))
    responses.post(URL, json=ok(16))
    assert run(layout, clock).sent == 40
    assert all(len(gzip.decompress(c.request.body)) <= 1_000_000 for c in responses.calls)


@responses.activate(registry=registries.OrderedRegistry)
def test_206_requeues_retriable_dead_letters_the_rest_and_backs_off(layout, clock):
    ids = spool_events(layout, 4)
    responses.post(URL, status=206, json={"itemsReceived": 4, "itemsAccepted": 1, "errors": [
        {"index": 1, "statusCode": 500, "message": "try later"},
        {"index": 2, "statusCode": 400, "message": "Field 'name' is required"},
        {"index": 3, "statusCode": 206, "message": "Telemetry sampled out."}]})
    report = run(layout, clock)
    assert (report.sent, report.retried, report.rejected, report.outcome) == (2, 1, 1, "backing-off")
    left = [json.loads((layout.spool / n).read_text())["data"]["baseData"]["properties"]["eventId"]
            for n in pending(layout)]
    assert left == [ids[1]]
    rejected = [json.loads(p.read_text()) for p in layout.rejected.iterdir()]
    assert rejected[0]["status"] == 400 and rejected[0]["message"] == "Field 'name' is required"
    assert event_ids([rejected[0]["envelope"]]) == [ids[2]]
    state = load_state(layout.state_file)
    assert state["lost"]["rejected"] == 1 and state["consecutive_failures"] == 1
    assert parse_time(state["next_attempt"]) > SESSION_START


@pytest.mark.parametrize("status", [400, 402, 404, 439])
@responses.activate(registry=registries.OrderedRegistry)
def test_permanent_rejection_dead_letters_and_continues(layout, clock, status):
    spool_events(layout, 3)
    responses.post(URL, status=status, json={"itemsReceived": 3, "itemsAccepted": 0,
                                             "errors": [{"index": 0, "statusCode": status, "message": "nope"}]})
    report = run(layout, clock)
    assert report.rejected == 3 and report.sent == 0 and report.outcome == "rejected"  # issue 10: rejected is not delivered
    assert pending(layout) == []
    assert sorted(json.loads(p.read_text())["message"] for p in layout.rejected.iterdir()) == ["nope"] * 3
    assert load_state(layout.state_file)["lost"]["rejected"] == 3


@pytest.mark.parametrize("status", [401, 403, 408, 429, 500, 502, 503, 504])
@responses.activate(registry=registries.OrderedRegistry)
def test_retriable_status_keeps_everything_and_stops_the_pass(layout, clock, status):
    spool_events(layout, 600)
    responses.post(URL, status=status)
    report = run(layout, clock)
    assert report.outcome == "backing-off" and report.sent == 0 and report.retried == 512
    assert len(responses.calls) == 1  # stopped at the first failure
    assert len(pending(layout)) == 600  # the carried-over item was given back too
    state = load_state(layout.state_file)
    wait = (parse_time(state["next_attempt"]) - SESSION_START).total_seconds()
    assert 5 <= wait <= 10  # first failure: one jittered 10 s slot
    assert report.next_attempt == state["next_attempt"]


@pytest.mark.parametrize("header, seconds", [("120", 120), ("99999", 3600)])
@responses.activate(registry=registries.OrderedRegistry)
def test_429_honours_retry_after_seconds(layout, clock, header, seconds):
    spool_events(layout, 2)
    responses.post(URL, status=429, headers={"Retry-After": header})
    run(layout, clock)
    state = load_state(layout.state_file)
    assert parse_time(state["next_attempt"]) == SESSION_START + timedelta(seconds=seconds)


@responses.activate(registry=registries.OrderedRegistry)
def test_503_honours_retry_after_http_date(layout, clock):
    spool_events(layout, 2)
    responses.post(URL, status=503, headers={"Retry-After": format_datetime(SESSION_START + timedelta(seconds=45), usegmt=True)})
    run(layout, clock)
    assert parse_time(load_state(layout.state_file)["next_attempt"]) == SESSION_START + timedelta(seconds=45)


@responses.activate(registry=registries.OrderedRegistry)
def test_backoff_is_respected_automatically_ignored_manually_and_grows(layout, clock):
    spool_events(layout, 2)
    for _ in range(6):
        responses.post(URL, body=__import__("requests").exceptions.ConnectionError("offline"))
    waits = []
    for _ in range(6):
        report = run(layout, clock, manual=True)
        assert report.outcome == "backing-off"
        waits.append((parse_time(load_state(layout.state_file)["next_attempt"]) - clock.now).total_seconds())
        assert run(layout, clock, manual=False).outcome == "backing-off"  # no request made
    assert len(responses.calls) == 6
    assert all(0 < w <= 60 for w in waits) and waits[-1] > 20  # offline: grows but never beyond a minute
    assert load_state(layout.state_file)["consecutive_failures"] == 6
    responses.post(URL, json=ok(2))
    clock.advance(61)
    report = run(layout, clock, manual=False)
    assert report.outcome == "delivered" and report.sent == 2
    assert load_state(layout.state_file)["consecutive_failures"] == 0


@responses.activate(registry=registries.OrderedRegistry)
def test_redirect_is_followed_and_cached_in_state(layout, clock):
    spool_events(layout, 2)
    responses.post(URL, status=308, headers={"Location": "http://127.0.0.2:9/x", "Cache-Control": "max-age=60"})
    responses.post("http://127.0.0.2:9/v2.1/track", json=ok(2))
    assert run(layout, clock).sent == 2
    cached = load_state(layout.state_file)["redirect"]
    assert cached["endpoint"] == "http://127.0.0.2:9"
    assert parse_time(cached["expires"]) == SESSION_START + timedelta(seconds=60)
    spool_events(layout, 1)
    responses.post("http://127.0.0.2:9/v2.1/track", json=ok(1))
    assert run(layout, clock).sent == 1
    assert responses.calls[-1].request.url == "http://127.0.0.2:9/v2.1/track"  # straight to the cached host
    clock.advance(61)
    spool_events(layout, 1)
    responses.post(URL, json=ok(1))
    assert run(layout, clock).sent == 1
    assert responses.calls[-1].request.url == URL  # cache expired


@responses.activate(registry=registries.OrderedRegistry)
def test_an_absurd_redirect_max_age_is_bounded_not_a_crash_after_delivery(layout, clock):
    spool_events(layout, 2)
    responses.post(URL, status=308, headers={"Location": "http://127.0.0.2:9/", "Cache-Control": "max-age=" + "9" * 30})
    responses.post("http://127.0.0.2:9/v2.1/track", json=ok(2))
    report = run(layout, clock)  # used to raise OverflowError with the batch accepted but still leased
    assert report.sent == 2 and not list(layout.spool.iterdir())
    assert parse_time(load_state(layout.state_file)["redirect"]["expires"]) == SESSION_START + timedelta(days=1)


@responses.activate(registry=registries.OrderedRegistry)
def test_https_to_http_redirect_keeps_the_batch(layout, clock):
    spool_events(layout, 2)
    responses.post("https://dc.example.com/v2.1/track", status=307, headers={"Location": "http://dc.example.com/"})
    report = run(layout, clock, endpoint="https://dc.example.com/")
    assert report.outcome == "backing-off" and report.retried == 2 and len(pending(layout)) == 2
    assert "refused" in load_state(layout.state_file)["last_attempt"]["detail"]


@responses.activate(registry=registries.OrderedRegistry)
def test_redirect_loop_stops_after_ten_hops(layout, clock):
    spool_events(layout, 1)
    responses.post(URL, status=307, headers={"Location": ENDPOINT + "/"}, )
    for _ in range(10):
        responses.post(URL, status=307, headers={"Location": ENDPOINT + "/"})
    report = run(layout, clock)
    assert report.outcome == "backing-off" and len(responses.calls) == 11 and len(pending(layout)) == 1


@responses.activate(registry=registries.OrderedRegistry)
def test_late_events_carry_the_send_time_and_keep_their_timestamp(layout, clock):
    old = SESSION_START - timedelta(days=3)
    spool_events(layout, 1, when=old)
    responses.post(URL, json=ok(1))
    run(layout, clock)
    (envelope,) = json.loads(gzip.decompress(responses.calls[0].request.body))
    assert parse_time(envelope["time"]) == SESSION_START
    assert parse_time(envelope["data"]["baseData"]["properties"]["timestamp"]) == old


@responses.activate(registry=registries.OrderedRegistry)
def test_expired_and_over_cap_events_are_counted_not_sent(layout, clock):
    spool_events(layout, 3, when=SESSION_START - timedelta(days=8))
    ids = spool_events(layout, 2)
    responses.post(URL, json=ok(2))
    report = run(layout, clock)
    assert report.expired == 3 and sent_ids() == ids
    assert load_state(layout.state_file)["lost"]["expired"] == 3


@responses.activate(registry=registries.OrderedRegistry)
def test_corrupt_files_are_quarantined_and_the_rest_sent(layout, clock):
    bad = f"{int(SESSION_START.timestamp() * 1e9) - 1:020d}-aaaaaaaaaaaa.json"
    ids = spool_events(layout, 2)
    (layout.spool / bad).write_bytes(b"{not json")
    responses.post(URL, json=ok(2))
    report = run(layout, clock)
    assert report.quarantined == 1 and sent_ids() == ids
    assert report.outcome == "lost" and not report.outcome.all_accepted  # not "delivered": one was dropped
    assert (layout.quarantine / bad).read_bytes() == b"{not json"  # unchanged
    assert json.loads((layout.quarantine / f"{bad}.why.json").read_text())["reason"] == "corrupt: not JSON"
    assert load_state(layout.state_file)["lost"]["quarantined"] == 1


@responses.activate(registry=registries.OrderedRegistry)
def test_opt_out_at_send_time_deletes_pending_unsent(layout, clock):
    spool_events(layout, 5)
    settings = settings_for(ENDPOINT, enabled=False, reason="DO_NOT_TRACK is set", opted_out=True)
    report = drain(layout, settings, manual=False, now=clock)
    assert report.outcome == "disabled" and report.opted_out == 5
    assert pending(layout) == [] and len(responses.calls) == 0
    assert load_state(layout.state_file)["lost"]["opted_out"] == 5


def test_a_person_sending_without_a_connection_string_keeps_the_events(layout, clock):
    spool_events(layout, 2)
    settings = settings_for(ENDPOINT, enabled=False, reason="no connection string")
    report = drain(layout, settings, manual=True, now=clock)
    assert report.outcome == "disabled" and len(pending(layout)) == 2
    assert "nothing deleted" in report.detail


def test_an_automatic_sender_that_finds_telemetry_off_deletes_pending_unsent(layout, clock):
    spool_events(layout, 2)
    settings = settings_for(ENDPOINT, enabled=False, reason="no connection string")
    report = drain(layout, settings, manual=False, now=clock)
    assert report.outcome == "disabled" and pending(layout) == []
    assert load_state(layout.state_file)["lost"]["opted_out"] == 2


@responses.activate(registry=registries.OrderedRegistry)
def test_a_sender_that_backs_off_still_enforces_retention_and_the_cap(layout, clock):
    from telemetry_sender.spool.state import format_time, save_state

    old = clock() - timedelta(days=8)
    spool_events(layout, 2, when=old)
    spool_events(layout, 1)  # the command that started this sender (evidence that the clock is right)
    state = load_state(layout.state_file)
    state["next_attempt"] = format_time(clock() + timedelta(minutes=10))
    save_state(layout.state_file, state)
    report = drain(layout, settings_for(ENDPOINT), manual=False, now=clock)
    assert report.outcome == "backing-off" and len(responses.calls) == 0
    assert len(pending(layout)) == 1 and load_state(layout.state_file)["lost"]["expired"] == 2


def test_a_second_sender_exits_at_once_when_locked(layout, clock):
    spool_events(layout, 1)
    held = lock.try_acquire(layout.lock_file)
    try:
        report = drain(layout, settings_for(ENDPOINT), manual=True, now=clock, transport=object())
    finally:
        held.release()
    assert report.outcome == "locked" and len(pending(layout)) == 1


@responses.activate(registry=registries.OrderedRegistry)
def test_events_written_while_the_lock_was_held_are_picked_up_after_release(layout, clock):
    first = spool_events(layout, 2)
    later: list[str] = []
    responses.post(URL, json=ok(2))
    responses.post(URL, json=ok(1))

    def progress(_):
        if not later:  # a recorder writes now, sees the lock held, and does not spawn
            later.extend(spool_events(layout, 1))

    report = run(layout, clock, progress=progress)
    assert report.sent == 3 and sent_ids() == first + later


@responses.activate(registry=registries.OrderedRegistry)
def test_deadline_stops_between_batches_and_keeps_the_rest(layout, clock):
    spool_events(layout, 1024)
    responses.post(URL, json=ok(512))
    ticks = iter([0.0, 0.0, 100.0, 100.0, 100.0, 100.0, 100.0])
    report = run(layout, clock, lifetime_seconds=50, monotonic=lambda: next(ticks, 100.0))
    assert report.outcome == "deadline" and report.sent == 512 and len(pending(layout)) == 512


def test_a_hanging_endpoint_cannot_outlive_the_lifetime(layout, clock):
    from telemetry_sender.emulator.server import Emulator

    spool_events(layout, 3)
    with Emulator(script=[{"hang": 30}]) as emu:
        report = drain(layout, settings_for(emu.endpoint), manual=True, now=clock, lifetime_seconds=1.5)
    assert report.outcome == "backing-off" and report.retried == 3
    assert "read-timeout" in load_state(layout.state_file)["last_attempt"]["detail"]
    assert len(pending(layout)) == 3


def test_the_watchdog_ends_a_stuck_process():
    import subprocess
    import sys

    code = ("import os, time\nfrom telemetry_sender.sender.lifetime import start_watchdog\n"
            "start_watchdog(0.3, lambda: os._exit(3))\ntime.sleep(120)\n")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 3


def test_the_watchdog_exits_even_when_logging_is_stuck():
    import subprocess
    import sys

    code = ("import logging, time\nfrom telemetry_sender.sender import lifetime\n"
            "class Stuck(logging.Handler):\n    def emit(self, record):\n        time.sleep(3600)\n"
            "logging.getLogger().addHandler(Stuck())\n"
            "lifetime.start_watchdog(0.3, lambda: lifetime.hard_exit(True))\n"
            "logging.getLogger('x').error('a write to a hung disk')\n")  # holds the handler's lock for good
    assert subprocess.run([sys.executable, "-c", code], timeout=30).returncode == 3


def test_send_command_prints_one_line_or_json(layout, monkeypatch, capsys, tmp_path):
    import argparse

    from telemetry_sender.emulator.server import Emulator
    from telemetry_sender.sender.command import command_send

    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "azure"))
    monkeypatch.delenv("DO_NOT_TRACK", raising=False)
    monkeypatch.delenv("AZURE_CORE_COLLECT_TELEMETRY", raising=False)
    spool_events(layout, 2)
    with Emulator() as emu:
        monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", emu.connection_string)
        assert command_send(argparse.Namespace(json=False, background=False), layout) == 0
        assert capsys.readouterr().out.strip() == "delivered: sent 2"
        spool_events(layout, 1)
        assert command_send(argparse.Namespace(json=True, background=False), layout) == 0
        report = json.loads(capsys.readouterr().out)
        assert (report["outcome"], report["sent"]) == ("delivered", 1)
        emu.stop()
        spool_events(layout, 1)
        assert command_send(argparse.Namespace(json=False, background=False), layout) == 1
        assert capsys.readouterr().out.startswith("backing-off: sent 0, kept for retry 1, next attempt ")


@responses.activate(registry=registries.OrderedRegistry)
def test_a_deeply_nested_file_is_quarantined_and_the_rest_sent(layout, clock):
    ids = spool_events(layout, 2)
    name = f"{int(SESSION_START.timestamp() * 1e9) - 1:020d}-bbbbbbbbbbbb.json"
    (layout.spool / name).write_bytes(b"[" * 5000 + b"]" * 5000)  # json.loads raises RecursionError
    responses.post(URL, json=ok(2))
    report = run(layout, clock)
    assert report.quarantined == 1 and sent_ids() == ids
    assert not [p for p in layout.spool.iterdir() if p.name.endswith(".lease")]  # nothing left claimed


@responses.activate(registry=registries.OrderedRegistry)
def test_a_hand_edited_state_file_cannot_crash_the_drain_or_skip_the_backoff(layout, clock):
    spool_events(layout, 1)
    (layout.spool / f"{int(SESSION_START.timestamp() * 1e9) - 1:020d}-cccccccccccc.json").write_bytes(b"{bad")
    layout.state_file.write_text(json.dumps({"consecutive_failures": "three", "backoff_seconds": [],
                                             "dropped": {"quarantine": "many"}, "redirect": "x"}))
    responses.post(URL, status=503)
    report = run(layout, clock)
    assert report.outcome == "backing-off" and report.quarantined == 1
    state = load_state(layout.state_file)
    assert state["consecutive_failures"] == 1 and parse_time(state["next_attempt"]) > SESSION_START


def _log_through(path, message):
    import logging

    from telemetry_sender.sender.log import setup_sender_log

    handler = setup_sender_log(path)
    try:
        logging.getLogger("telemetry_sender.test").info(message)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def test_the_sender_log_never_follows_a_symlink(tmp_path):
    import stat

    root = tmp_path / "telemetry"
    root.mkdir()
    victim = tmp_path / "bashrc"
    victim.write_text("keep me\n")
    (root / "sender.log").symlink_to(victim)
    _log_through(root / "sender.log", "hello")
    assert victim.read_text() == "keep me\n"
    log = root / "sender.log"
    assert not log.is_symlink() and "hello" in log.read_text()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="POSIX only")
def test_a_fifo_as_sender_log_does_not_block(tmp_path):
    import os

    import threading

    os.mkfifo(tmp_path / "sender.log")
    writer = threading.Thread(target=_log_through, args=(tmp_path / "sender.log", "hello"), daemon=True)
    writer.start()  # no reader: opening the FIFO for write would block forever
    writer.join(timeout=30)
    assert not writer.is_alive(), "logging to a FIFO blocked"


@pytest.mark.parametrize("linked", ["spool", "root"])
def test_a_symlinked_spool_part_is_refused_not_followed(tmp_path, clock, linked):
    elsewhere = SpoolLayout(tmp_path / "elsewhere")
    spool_events(elsewhere, 2)
    layout = SpoolLayout(tmp_path / "telemetry")
    if linked == "root":
        layout.root.symlink_to(elsewhere.root)
    elif linked == "spool":
        layout.root.mkdir()
        layout.spool.symlink_to(elsewhere.spool)
    else:
        spool_events(layout, 1)
        layout.lock_file.symlink_to(tmp_path / "target.lock")
    report = drain(layout, settings_for(ENDPOINT), manual=True, now=clock, transport=object())
    assert report.outcome == "unsafe" and report.sent == 0 and linked in report.detail
    assert len(pending(elsewhere)) == 2 and not (tmp_path / "target.lock").exists()


@responses.activate(registry=registries.OrderedRegistry)
def test_symlinked_rejected_and_quarantine_folders_are_never_written_through(layout, tmp_path, clock):
    outside = tmp_path / "outside"
    outside.mkdir()
    spool_events(layout, 1)
    (layout.spool / f"{int(SESSION_START.timestamp() * 1e9) - 1:020d}-dddddddddddd.json").write_bytes(b"{bad")
    layout.rejected.symlink_to(outside)
    layout.quarantine.symlink_to(outside)
    responses.post(URL, status=400, json={"itemsReceived": 1, "itemsAccepted": 0,
                                          "errors": [{"index": 0, "statusCode": 400, "message": "no"}]})
    report = run(layout, clock)
    assert (report.rejected, report.quarantined) == (1, 1) and list(outside.iterdir()) == []
    assert pending(layout) == [] and load_state(layout.state_file)["lost"]["quarantined"] == 1


@responses.activate(registry=registries.OrderedRegistry)
def test_a_remembered_redirect_must_still_pass_the_policy(layout, clock):
    spool_events(layout, 2)
    layout.state_file.write_text(json.dumps({"redirect": {
        "endpoint": "http://dc.example.com", "origin": "https://dc.example.com/",
        "expires": (SESSION_START + timedelta(hours=1)).isoformat()}}))  # a downgrade no live redirect could cause
    responses.post("https://dc.example.com/v2.1/track", json=ok(2))
    assert run(layout, clock, endpoint="https://dc.example.com/").sent == 2
    assert [c.request.url for c in responses.calls] == ["https://dc.example.com/v2.1/track"]


@responses.activate(registry=registries.OrderedRegistry)
def test_a_redirect_to_a_host_that_never_answers_is_not_remembered(layout, clock):
    spool_events(layout, 2)
    responses.post(URL, status=307, headers={"Location": "http://127.0.0.2:9/"})
    responses.post("http://127.0.0.2:9/v2.1/track", body=__import__("requests").exceptions.ConnectionError("down"))
    assert run(layout, clock).outcome == "backing-off"
    assert load_state(layout.state_file)["redirect"] is None  # the next try asks the configured endpoint again
    responses.post(URL, json=ok(2))
    assert run(layout, clock).sent == 2


def test_leases_outlive_a_longer_than_default_lifetime(layout, clock):
    from telemetry_sender.sender.transport import TransportResult

    spool_events(layout, 3)
    deadlines = []

    class Peek:
        def post(self, url, body, headers, timeout=None):
            deadlines.extend(parse_lease_name(p.name)[1] for p in layout.spool.glob("*.lease"))
            return TransportResult(status=200, body=json.dumps(ok(3)).encode())

    report = drain(layout, settings_for(ENDPOINT), manual=True, transport=Peek(), now=clock, lifetime_seconds=600)
    assert report.sent == 3 and len(deadlines) == 3
    assert min(deadlines) >= SESSION_START.timestamp() + 600  # no other drainer may reclaim them while we live


@pytest.mark.parametrize("ahead, waiting", [(timedelta(minutes=30), True), (timedelta(days=10), False)])
def test_a_backoff_longer_than_any_we_write_does_not_stop_sending_for_good(layout, clock, ahead, waiting):
    from telemetry_sender.recording import backing_off, claim_sender_lock

    layout.root.mkdir(parents=True)
    layout.state_file.write_text(json.dumps({"next_attempt": (SESSION_START + ahead).isoformat()}))  # e.g. clock was off
    assert backing_off(load_state(layout.state_file), SESSION_START) is waiting
    fd = claim_sender_lock(layout.root, None, SESSION_START)  # the recorder and the sender read it alike
    assert (fd is None) is waiting
    if fd is not None:
        os.close(fd)


def test_files_that_cannot_be_claimed_do_not_spin_the_drain(layout, clock, monkeypatch):
    spool_events(layout, 2)
    monkeypatch.setattr(store, "claim", lambda *a, **k: None)  # e.g. spool/ made read-only
    passes = []
    real_sweep = store.sweep
    monkeypatch.setattr(store, "sweep", lambda *a, **k: passes.append(1) or real_sweep(*a, **k))
    report = drain(layout, settings_for(ENDPOINT), manual=True, transport=object(), now=clock, lifetime_seconds=3)
    # events that wait are never reported "empty" (exit code 0): the outcome says why they wait
    assert report.outcome == "unsafe" and not report.outcome.all_accepted and len(pending(layout)) == 2
    assert "could not be claimed" in report.detail
    assert len(passes) <= 2  # not a busy loop until the lifetime ends


def test_opt_out_purge_counts_what_housekeeping_expired(layout, clock):
    spool_events(layout, 2, when=SESSION_START - timedelta(days=8))
    spool_events(layout, 3)
    settings = settings_for(ENDPOINT, enabled=False, reason="DO_NOT_TRACK is set", opted_out=True)
    report = drain(layout, settings, manual=False, now=clock)
    lost = load_state(layout.state_file)["lost"]
    assert (report.expired, report.opted_out) == (2, 3) and (lost["expired"], lost["opted_out"]) == (2, 3)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process age from /proc")
def test_a_background_lifetime_counts_from_the_process_start(layout):
    import subprocess

    spool_events(layout, 2)
    code = ("import argparse, sys, time\nfrom pathlib import Path\ntime.sleep(1.5)\n"  # e.g. the spawn bootstrap's wait
            "from telemetry_sender.sender.lifetime import process_age\nfrom telemetry_sender.spool.layout import SpoolLayout\n"
            "from telemetry_sender.sender.command import command_send\nprint(process_age())\n"
            "args = argparse.Namespace(background=True, json=False)\n"
            "sys.exit(command_send(args, SpoolLayout(Path(sys.argv[1])), lifetime_seconds=1.0))\n")
    done = subprocess.run([sys.executable, "-c", code, str(layout.root)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and float(done.stdout) > 1.0  # older than its 1 s lifetime before it began
    assert len(pending(layout)) == 2 and not layout.log_file.exists()  # too old to start: nothing touched


def test_an_answer_lost_after_acceptance_means_a_duplicate_never_a_loss(layout, clock):
    from telemetry_sender.emulator.server import Emulator

    ids = spool_events(layout, 3)
    with Emulator(script=[{"status": 200, "delay": 30}]) as emu:  # accepted, but the answer comes too late
        first = drain(layout, settings_for(emu.endpoint), manual=True, now=clock, lifetime_seconds=1.5)
        assert first.outcome == "backing-off" and first.retried == 3 and len(pending(layout)) == 3
        second = drain(layout, settings_for(emu.endpoint), manual=True, now=clock)
        assert second.sent == 3 and pending(layout) == []
        assert event_ids(emu.accepted) == ids + ids  # the same eventIds: the service side can drop them


@responses.activate(registry=registries.OrderedRegistry)
def test_offline_for_days_the_spool_stays_under_its_cap_oldest_evicted_first(layout, clock):
    responses.post(URL, body=__import__("requests").exceptions.ConnectionError("offline"))
    for day in range(3):  # each day's commands, then a sender that finds the network down
        for n in range(70):
            write_event(layout, make_envelope(padding="q" * 60_000),
                        now_ns=int((SESSION_START + timedelta(days=day)).timestamp() * 1e9) + n)
        clock.now = SESSION_START + timedelta(days=day, hours=1)
        report = run(layout, clock, manual=False)
        assert report.outcome == "backing-off"
        on_disk = sum(p.stat().st_size for p in layout.spool.iterdir())
        assert on_disk <= 10 * 1024 * 1024
    names = list(store.iter_pending_names(layout))
    assert recorded_ns(names[-1]) == int((SESSION_START + timedelta(days=2)).timestamp() * 1e9) + 69  # newest kept
    assert load_state(layout.state_file)["lost"]["evicted"] == 210 - len(names)


@responses.activate(registry=registries.OrderedRegistry)
def test_a_symlinked_state_file_is_replaced_never_written_through(layout, tmp_path, clock):
    victim = tmp_path / "victim.json"
    victim.write_text('{"next_attempt": null}')
    spool_events(layout, 1)
    layout.state_file.symlink_to(victim)
    responses.post(URL, status=503)
    assert run(layout, clock).outcome == "backing-off"
    assert victim.read_text() == '{"next_attempt": null}'
    assert not layout.state_file.is_symlink() and load_state(layout.state_file)["consecutive_failures"] == 1


@responses.activate(registry=registries.OrderedRegistry)
def test_the_endpoint_and_key_of_an_attempt_are_recorded_for_support(layout, clock):
    spool_events(layout, 1)
    responses.post(URL, json=ok(1))
    assert run(layout, clock).sent == 1
    target = load_state(layout.state_file)["target"]
    assert target["endpoint"] == ENDPOINT and target["sent_to"] == ENDPOINT
    assert target["ikey"] == settings_for(ENDPOINT).connection.instrumentation_key


@responses.activate(registry=registries.OrderedRegistry)
def test_a_file_whose_check_fails_unforeseen_is_set_aside_and_the_rest_sent(layout, clock, monkeypatch):
    from telemetry_sender.sender import drain as drain_module

    ids = spool_events(layout, 3)
    real = drain_module.enforce_dictionary
    calls = []

    def breaks_on_the_first(envelope, ikey, name):
        calls.append(name)
        if len(calls) == 1:
            raise TypeError("a shape nobody foresaw")
        return real(envelope, ikey, name)

    monkeypatch.setattr(drain_module, "enforce_dictionary", breaks_on_the_first)
    responses.post(URL, json=ok(2))
    report = run(layout, clock)
    assert report.quarantined == 1 and sent_ids() == ids[1:] and report.outcome == "lost"
    why = json.loads((layout.quarantine / f"{calls[0]}.why.json").read_text())["reason"]
    assert why == "unreadable: TypeError while checking it"
    assert list(layout.spool.iterdir()) == []  # nothing left claimed
