"""The whole path with REAL processes: short-lived recorder processes write events and spawn the real
detached sender (telemetry_sender.spawn), which delivers to the real loopback emulator.

Every wait is a condition polled with a deadline; nothing asserts on timing.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from helpers import envelopes, event_ids, make_envelope, wall_now
from telemetry_sender.spool import store
from telemetry_sender.spool.write import write_event
from telemetry_sender.emulator.server import Emulator
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.state import load_state
from telemetry_sender.recording import backing_off
from sender_processes import drain_intervals, live_senders, settled
from waiting import wait_until

pytestmark = pytest.mark.slow

# A stand-in for the recorder inside az: write the events it is given, spawn a sender
# unless one is running or backing off (recording.claim_sender_lock, spawn.start_sender), print its pid, exit.
RECORDER = r"""
import json, sys
from pathlib import Path
from telemetry_sender import spawn
from telemetry_sender.recording import claim_sender_lock
from telemetry_sender.spool import store
from telemetry_sender.spool.layout import lease_name, parse_lease_name
from telemetry_sender.spool.write import write_event
from telemetry_sender.spool.layout import SpoolLayout
layout = SpoolLayout(Path(sys.argv[1]))
for line in sys.stdin:
    if line.strip():
        write_event(layout, json.loads(line))
layout.root.mkdir(parents=True, exist_ok=True)
lock_fd = claim_sender_lock(layout.root, None)
print(spawn.start_sender(layout.root, None, lock_fd) if lock_fd is not None else 0)
"""


# A background sender stuck where no socket timeout reaches (a resolver that never answers),
# or against an endpoint that never answers, with a short lifetime.
STUCK_SENDER = r"""
import argparse, socket, sys, time
from pathlib import Path
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.sender.command import command_send
if sys.argv[3] == "dns":
    socket.getaddrinfo = lambda *a, **k: time.sleep(3600)
args = argparse.Namespace(background=True, json=False)
sys.exit(command_send(args, SpoolLayout(Path(sys.argv[1])), lifetime_seconds=float(sys.argv[2])))
"""


def record(root: Path, env: dict, events: list[dict]) -> int:
    """Run one recorder process to completion; returns the spawned sender's pid (0: none)."""
    done = subprocess.run([sys.executable, "-c", RECORDER, str(root)], input="".join(json.dumps(e) + "\n" for e in events),
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def manual_send(root: Path, env: dict) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "telemetry_sender", "send", "--spool", str(root), "--json"],
                          env=env, capture_output=True, text=True, timeout=90)
    return done.returncode, json.loads(done.stdout)


def pending(root: Path) -> list[str]:
    return list(store.iter_pending_names(SpoolLayout(root)))


def state(root: Path) -> dict:
    return load_state(root / "state.json")


def ids_once(emu: Emulator) -> list[str]:
    ids = event_ids(emu.accepted)
    duplicates = [i for i, n in collections.Counter(ids).items() if n > 1]
    assert not duplicates, f"delivered more than once: {duplicates}"
    return ids


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "azure" / "prototype" / "telemetry"


@pytest.fixture
def env(tmp_path, emu) -> dict:
    base = {k: v for k, v in os.environ.items()
            if k not in ("DO_NOT_TRACK", "AZURE_CORE_COLLECT_TELEMETRY", "APPINSIGHTS_CONNECTION_STRING")
            and not k.lower().endswith("_proxy")}
    base.update(AZURE_CONFIG_DIR=str(tmp_path / "azure"), APPLICATIONINSIGHTS_CONNECTION_STRING=emu.connection_string,
                NO_PROXY="127.0.0.1,localhost")
    return base


@pytest.fixture(autouse=True)
def no_orphans(root):
    yield
    wait_until(lambda: settled(root), 70, "every sender to exit")


def test_healthy_endpoint_delivers_every_event_once(emu, root, env):
    events = envelopes(3)
    assert record(root, env, events) > 0
    assert emu.wait_for_accepted(3, timeout=30)
    wait_until(lambda: settled(root), 30)
    assert sorted(ids_once(emu)) == sorted(event_ids(events))
    assert pending(root) == [] and not list((root / "spool").iterdir())
    log = (root / "sender.log").read_text()
    assert "lock released" in log
    assert not any(i in log for i in event_ids(events))  # no payload values in the log


def test_offline_then_online_loses_nothing(emu, root, env):
    emu.stop()
    first = envelopes(5)
    assert record(root, env, first) > 0
    wait_until(lambda: (state(root)["last_attempt"] or {}).get("outcome") == "retry" and settled(root), 30, "a failed try")
    saved = state(root)
    assert 0 < saved["backoff_seconds"] <= 60  # offline: never more than a minute
    assert "connect" in saved["last_attempt"]["detail"]
    second = envelopes(2)
    assert record(root, env, second) == 0  # backing off: the command spawns nothing
    emu.start()  # the network is back, same port
    wait_until(lambda: not backing_off(state(root), wall_now()), 70, "the backoff to pass")
    third = envelopes(1)
    assert record(root, env, third) > 0
    assert emu.wait_for_accepted(8, timeout=30)
    wait_until(lambda: settled(root), 30)
    assert sorted(ids_once(emu)) == sorted(event_ids(first + second + third))
    assert pending(root) == []


def test_429_retry_after_is_honoured(emu, root, env):
    emu.script({"status": 429, "retry_after": "2"})
    first = envelopes(3)
    record(root, env, first)
    wait_until(lambda: (state(root)["last_attempt"] or {}).get("status") == 429 and settled(root), 30, "the 429")
    assert state(root)["backoff_seconds"] == 2
    assert len(pending(root)) == 3
    wait_until(lambda: not backing_off(state(root), wall_now()), 30, "Retry-After to pass")
    later = envelopes(1)
    assert record(root, env, later) > 0
    assert emu.wait_for_accepted(4, timeout=30)
    assert sorted(ids_once(emu)) == sorted(event_ids(first + later))
    assert [r.status for r in emu.requests] == [429, 200]


def test_206_mixed_requeues_retriable_and_dead_letters_the_rest(emu, root, env):
    emu.script({"status": 206, "fail_items": {"1": 500, "2": 400, "3": "sampled_out"}})
    events = envelopes(5)
    record(root, env, events)
    wait_until(lambda: (state(root)["last_attempt"] or {}).get("status") == 206 and settled(root), 30, "the 206")
    ids = event_ids(events)
    assert sorted(ids_once(emu)) == sorted([ids[0], ids[4]])
    (rejected,) = [json.loads(p.read_text()) for p in (root / "rejected").iterdir()]
    assert rejected["status"] == 400 and event_ids([rejected["envelope"]]) == [ids[2]]
    code, report = manual_send(root, env)  # a person's flush ignores the backoff
    assert (code, report["outcome"], report["sent"]) == (0, "delivered", 1)
    assert sorted(ids_once(emu)) == sorted([ids[0], ids[4], ids[1]])  # sampled out counts as accepted: not re-sent
    assert state(root)["lost"]["rejected"] == 1 and pending(root) == []


def test_500s_keep_everything_until_the_service_recovers(emu, root, env):
    emu.script({"status": 500, "repeat": 2})
    events = envelopes(3)
    record(root, env, events)
    wait_until(lambda: (state(root)["last_attempt"] or {}).get("status") == 500 and settled(root), 30, "the 500")
    code, report = manual_send(root, env)
    assert (code, report["outcome"], report["retried"]) == (1, "backing-off", 3)
    assert state(root)["consecutive_failures"] == 2
    code, report = manual_send(root, env)
    assert (code, report["outcome"], report["sent"]) == (0, "delivered", 3)
    assert sorted(ids_once(emu)) == sorted(event_ids(events))
    assert [r.status for r in emu.requests] == [500, 500, 200]


def test_redirect_is_followed_and_remembered(emu, root, env):
    with Emulator() as other:
        emu.script({"status": 308, "location": other.endpoint, "max_age": 60})
        first = envelopes(2)
        record(root, env, first)
        assert other.wait_for_accepted(2, timeout=30)
        wait_until(lambda: settled(root), 30)
        assert state(root)["redirect"]["endpoint"] == other.endpoint
        later = envelopes(1)
        record(root, env, later)
        assert other.wait_for_accepted(3, timeout=30)
        assert sorted(ids_once(other)) == sorted(event_ids(first + later))
        assert len(emu.requests) == 1 and emu.accepted == []  # straight to the remembered host


def test_sender_killed_mid_batch_loses_nothing(emu, root, env):
    emu.script({"status": 200}, {"status": 200, "delay": 60})  # the 2nd batch is accepted, its answer never comes
    events = envelopes(1000)
    pid = record(root, env, events)
    assert emu.wait_for_requests(2, timeout=30)
    assert live_senders(root) == [pid]
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: settled(root), 30)
    in_flight = set(event_ids(emu.accepted[512:]))
    assert len(in_flight) == 488
    # Its leases name it as their holder: the next sender takes them back at once (issue 10),
    # without waiting for their deadline.
    assert len([p for p in (root / "spool").iterdir() if p.name.endswith(".lease")]) == 488
    code, report = manual_send(root, env)
    assert (code, report["sent"]) == (0, 488)
    delivered = collections.Counter(event_ids(emu.accepted))
    assert set(delivered) == set(event_ids(events))  # nothing lost
    duplicates = {i for i, n in delivered.items() if n > 1}
    assert duplicates <= in_flight and all(n <= 2 for n in delivered.values())  # only the batch in flight, same eventId
    assert pending(root) == []


@pytest.mark.parametrize("stuck, lifetime, exit_codes", [("dns", 4, {3}), ("hang", 8, {0, 3})])
def test_a_stuck_sender_ends_within_its_lifetime_and_loses_nothing(emu, root, env, stuck, lifetime, exit_codes):
    if stuck == "hang":
        emu.script({"hang": 30})  # socket timeouts, bounded by the lifetime, end this one
    events = envelopes(3)
    for envelope in events:
        write_event(SpoolLayout(root), envelope)
    done = subprocess.run([sys.executable, "-c", STUCK_SENDER, str(root), str(lifetime), stuck], env=env,
                          capture_output=True, text=True, timeout=60)
    # a hang ends by the socket's read timeout (0), or by the watchdog on a slow machine (3)
    assert done.returncode in exit_codes, done.stderr
    if stuck == "dns":
        assert "lifetime exceeded" in (root / "sender.log").read_text()  # the watchdog, not a timeout
    code, report = manual_send(root, env)  # the dead sender's leases come back at once
    assert (code, report["sent"]) == (0, 3)
    assert set(event_ids(emu.accepted)) == set(event_ids(events)) and pending(root) == []


def test_twenty_concurrent_commands_deliver_every_event_once_with_one_drainer(emu, root, env):
    batches = [envelopes(5) for _ in range(20)]
    script = RECORDER
    procs = [subprocess.Popen([sys.executable, "-c", script, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env, text=True) for _ in batches]
    for proc, events in zip(procs, batches):
        proc.stdin.write("".join(json.dumps(e) + "\n" for e in events))
        proc.stdin.close()
    for proc in procs:
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    assert emu.wait_for_accepted(100, timeout=60)
    wait_until(lambda: settled(root), 60)
    assert sorted(ids_once(emu)) == sorted(event_ids([e for b in batches for e in b]))
    assert pending(root) == []
    intervals = drain_intervals(root)
    assert intervals
    for (_, end), (start, _) in zip(intervals, intervals[1:]):
        assert start >= end, "two senders drained at the same time"


def test_corrupt_files_are_quarantined_and_the_rest_delivered(emu, root, env, tmp_path):
    spool_dir = root / "spool"
    spool_dir.mkdir(parents=True)
    stamp = time.time_ns()
    (spool_dir / f"{stamp:020d}-000000000001.json").write_bytes(b"{half an envel")
    (spool_dir / f"{stamp + 1:020d}-000000000002.json").write_bytes(b"")
    outside = tmp_path / "outside.json"
    outside.write_text(json.dumps(make_envelope()))
    (spool_dir / f"{stamp + 2:020d}-000000000003.json").symlink_to(outside)
    events = envelopes(3)
    record(root, env, events)
    assert emu.wait_for_accepted(3, timeout=30)
    wait_until(lambda: settled(root), 30)
    assert sorted(ids_once(emu)) == sorted(event_ids(events))
    reasons = sorted(json.loads(p.read_text())["reason"] for p in (root / "quarantine").glob("*.why.json"))
    assert reasons == ["corrupt: not JSON", "empty", "symlink"]
    assert state(root)["lost"]["quarantined"] == 3 and outside.exists()


@pytest.mark.parametrize("how", ["DO_NOT_TRACK", "config"])
def test_opt_out_after_spooling_deletes_unsent(emu, root, env, tmp_path, how):
    layout = SpoolLayout(root)
    for envelope in envelopes(4):
        write_event(layout, envelope)
    if how == "DO_NOT_TRACK":
        env = {**env, "DO_NOT_TRACK": "1"}
    else:
        (tmp_path / "azure" / "config").write_text("[core]\ncollect_telemetry = no\n")
    assert record(root, env, []) > 0  # e.g. a command run before opting out left its sender to start
    wait_until(lambda: settled(root) and state(root)["lost"]["opted_out"] == 4, 30, "the opt-out purge")
    assert pending(root) == [] and emu.requests == []
