"""Issue 10 with the real az and real detached senders: one sender under a burst, a crash then `send`,
rejections that are not deliveries, a changed endpoint, a planted lock.

Every wait is a condition polled with a deadline; nothing asserts on timing.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import azcli
from helpers import event_ids, make_envelope
from sender_processes import drain_intervals, live_senders, settled
from telemetry_sender.emulator.server import Emulator
from telemetry_sender.spool import store
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.lock import try_acquire
from telemetry_sender.spool.write import write_event
from waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.az]

DEAD = "InstrumentationKey=00000000-0000-0000-0000-0000000000aa;IngestionEndpoint=http://127.0.0.1:9/"


@pytest.fixture
def workdir(tmp_path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


@pytest.fixture
def env(dev_az_env, emu) -> dict:
    return {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": emu.connection_string}


@pytest.fixture
def az_layout(env) -> SpoolLayout:
    """The spool az writes to in this test's config dir (not the `layout` fixture's); senders end with the test."""
    layout = SpoolLayout.default(env)
    yield layout
    wait_until(lambda: settled(layout.root), 70, "every sender to exit")


class SenderCounter:
    """Samples the live senders of a spool in a thread; keeps the largest count seen."""

    def __init__(self, root: Path) -> None:
        self.root, self.peak, self._stop = root, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, len(live_senders(self.root)))
            self._stop.wait(0.002)

    def __enter__(self) -> "SenderCounter":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def az_commands(count: int, env: dict, cwd: Path) -> list[subprocess.Popen]:
    """`count` real `az prototype status` started at once (each records one event)."""
    return [subprocess.Popen([str(azcli.az_executable()), "prototype", "status"], env=env, cwd=str(cwd),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)]


def accepted_once(emu: Emulator) -> list[str]:
    ids = event_ids(emu.accepted)
    assert all(n == 1 for n in collections.Counter(ids).values()), "an event arrived twice"
    return ids


def send(layout: SpoolLayout, env: dict) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "-m", "telemetry_sender", "send", "--spool", str(layout.root), "--json"],
                          env=env, capture_output=True, text=True, timeout=90)
    return done.returncode, json.loads(done.stdout)


def status(layout: SpoolLayout, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-m", "telemetry_sender", "status", "--spool", str(layout.root), "--json"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_burst_of_50_az_commands_starts_one_sender_and_strands_nothing(emu, env, az_layout, workdir):
    with SenderCounter(az_layout.root) as counter:
        commands = az_commands(50, env, workdir)
        for proc in commands:
            proc.wait(timeout=120)
        assert emu.wait_for_accepted(50, timeout=60), f"{len(emu.accepted)} of 50 accepted"
        wait_until(lambda: settled(az_layout.root), 70, "every sender to exit")
    assert len(accepted_once(emu)) == 50 and list(store.iter_pending_names(az_layout)) == []
    assert status(az_layout, env)["trimmed"] == 0  # what az records is the data dictionary: nothing to cut
    # One sender doing work at any moment; at most one more alive (one finishing as the next starts).
    assert 1 <= counter.peak <= 2, f"{counter.peak} senders alive at once"
    intervals = drain_intervals(az_layout.root)
    for (_, end), (start, _) in zip(intervals, intervals[1:]):
        assert start >= end, "two senders drained at the same time"


def test_a_spawned_child_that_finds_the_lock_taken_exits_before_loading_anything(env, az_layout, tmp_path):
    from telemetry_sender.spawn import sender_argv

    az_layout.root.mkdir(parents=True)
    held = try_acquire(az_layout.lock_file)
    marker = tmp_path / "pkg"
    (marker / "telemetry_sender").mkdir(parents=True)
    (marker / "telemetry_sender" / "__init__.py").write_text("")
    (marker / "telemetry_sender" / "cli.py").write_text(f"open({str(tmp_path / 'loaded')!r}, 'w')\ndef run(a): return 0\n")
    try:
        done = subprocess.run(sender_argv(sys.executable, az_layout.root, marker), env=env, timeout=30)
    finally:
        held.release()
    assert done.returncode == 0 and not (tmp_path / "loaded").exists()


def test_kill_9_then_send_delivers_everything_in_the_same_run(emu, env, az_layout):
    emu.script({"status": 200}, {"status": 200, "delay": 60})  # the 2nd batch is accepted; its answer never comes
    events = [make_envelope() for _ in range(700)]
    for envelope in events:
        write_event(az_layout, envelope)
    from helpers import start_sender_if_due

    pid = start_sender_if_due(az_layout.root, env)
    assert pid and emu.wait_for_requests(2, timeout=30)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: settled(az_layout.root), 30, "the killed sender to be gone")
    doc = status(az_layout, env)
    assert doc["pending"] == 700 - 512 and doc["leased_by_dead_sender"] == doc["leased"] > 0
    code, report = send(az_layout, env)
    assert (code, report["outcome"]) == (0, "delivered")
    assert set(event_ids(emu.accepted)) == set(event_ids(events)) and list(store.iter_pending_names(az_layout)) == []
    assert not [p for p in az_layout.spool.iterdir()]


def test_az_flush_after_a_crash_takes_the_claims_back(emu, env, az_layout):
    events = [make_envelope() for _ in range(3)]
    for envelope in events:
        write_event(az_layout, envelope)
    names = list(store.iter_pending_names(az_layout))
    for name in names:  # what a killed sender leaves: leases naming it, deadlines far ahead
        store.claim(az_layout, name, 2**31, "999999-dead")
    done = azcli.run_az(["prototype", "telemetry", "flush", "-o", "json"], env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["sent"] == 3 and set(event_ids(emu.accepted)) == set(event_ids(events))
    assert json.loads(done.stdout)["trimmed"] == 0


def test_rejected_events_are_not_delivered_anywhere(dev_az_env, workdir):
    with Emulator(port=0, quiet=True, ikey="11111111-1111-1111-1111-111111111111") as emu:
        wrong = "InstrumentationKey=22222222-2222-2222-2222-222222222222;IngestionEndpoint=" + emu.endpoint
        env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": wrong}
        layout = SpoolLayout.default(env)
        with _held(layout):  # the commands' own senders must not get there first
            assert [p.wait(timeout=60) for p in az_commands(2, env, workdir)]
        code, report = send(layout, env)
        assert code == 1 and report["outcome"] == "rejected" and (report["sent"], report["rejected"]) == (0, 2)
        assert "Invalid instrumentation key" in report["detail"]
        doc = status(layout, env)
        assert doc["last_outcome"] == "rejected" and "Invalid instrumentation key" in doc["last_detail"]
        with _held(layout):
            assert [p.wait(timeout=60) for p in az_commands(1, env, workdir)]
        flush = azcli.run_az(["prototype", "telemetry", "flush"], env)
        assert flush.returncode == 1 and "rejected" in flush.stderr, flush.stderr
        text = azcli.run_az(["prototype", "telemetry", "status", "-o", "table"], env).stdout
        last = next(line for line in text.splitlines() if "Last attempt" in line or "LastAttempt" in line)
        assert "rejected" in last and "delivered" not in last, text
        assert emu.accepted == []


def _held(layout: SpoolLayout):
    """The spool lock, held by the test (no sender can start) until the `with` block ends."""
    from telemetry_sender.recording import ensure_private_dir

    ensure_private_dir(layout.root.parent)
    ensure_private_dir(layout.root)
    held = try_acquire(layout.lock_file)
    assert held is not None
    return held


def test_a_changed_connection_string_starts_fresh(emu, dev_az_env, workdir):
    dead_env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": DEAD}
    layout = SpoolLayout.default(dead_env)
    azcli.run_az(["prototype", "status"], dead_env, cwd=workdir)
    wait_until(lambda: (status(layout, dead_env)["last_outcome"] == "retry") and settled(layout.root), 30,
               "the unreachable endpoint to be tried")
    assert status(layout, dead_env)["backing_off"]
    live_env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": emu.connection_string}
    azcli.run_az(["prototype", "status"], live_env, cwd=workdir)  # the old endpoint's backoff holds nothing back
    assert emu.wait_for_accepted(2, timeout=30)
    wait_until(lambda: settled(layout.root), 30)
    doc = status(layout, live_env)
    assert doc["pending"] == 0 and doc["last_outcome"] == "delivered" and not doc["backing_off"]
    assert doc["previous_endpoint"]["endpoint_host"] == "127.0.0.1:9"
    assert doc["previous_endpoint"]["last_outcome"] == "retry"


@pytest.mark.parametrize("planted", ["folder", "symlink"])
def test_a_planted_lock_is_set_aside_and_everything_delivered(emu, env, az_layout, workdir, tmp_path, planted):
    az_layout.root.mkdir(parents=True)
    target = tmp_path / "elsewhere.lock"
    if planted == "folder":
        az_layout.lock_file.mkdir()
    else:
        az_layout.lock_file.symlink_to(target)
    assert any("sender.lock is" in p for p in status(az_layout, env)["own_file_problems"])
    for proc in az_commands(3, env, workdir):
        proc.wait(timeout=60)
    assert emu.wait_for_accepted(3, timeout=30)
    wait_until(lambda: settled(az_layout.root), 30)
    doc = status(az_layout, env)
    assert doc["pending"] == 0 and doc["own_file_problems"] == [] and doc["last_outcome"] == "delivered"
    assert not target.exists() and az_layout.lock_file.is_file()
    assert "set aside" in (az_layout.root / "sender.log").read_text()
