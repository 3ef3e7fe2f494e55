"""Rows 9 and 10: one sender under a burst of commands, and recovery from a crashed sender (issue 10).

9. 50 real `az prototype status` started at once against the healthy emulator: the most
   sender processes alive at any sample (every 2 ms), and whether all 50 events arrived;
10. a sender killed with SIGKILL while a batch is in flight (the endpoint holds its answer):
   the time from the kill to the end of the next `python -m telemetry_sender send`, which
   must deliver everything (the dead sender's claims come back at once, not after their lease).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from benchlib import procs
from benchlib.azrun import AzBench, SETTLE_SECONDS
from benchlib.fixtures import fill_spool
from benchlib.stats import fmt, summarize
from benchlib.table import Row

from telemetry_sender.emulator.server import Emulator
from telemetry_sender.spool.layout import SpoolLayout

CONNECTION_VAR = "APPLICATIONINSIGHTS_CONNECTION_STRING"


def live_senders(marker: str) -> int:
    """How many `send --background` processes for the spool under `marker` are alive (not zombies)."""
    alive = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"--background" in cmdline and marker.encode() in cmdline and state != "Z":
            alive += 1
    return alive


class _Sampler:
    """The peak of live_senders(marker), sampled in a thread."""

    def __init__(self, marker: str) -> None:
        self.marker, self.peak, self._stop = marker, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, live_senders(self.marker))
            self._stop.wait(0.002)

    def __enter__(self) -> "_Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def measure_burst(bench: AzBench, *, commands: int, rounds: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Peak live senders while `commands` az commands start at once (per round), and events delivered."""
    emulator = bench.endpoints.healthy
    peaks, delivered = [], 0
    try:
        for round_no in range(rounds):
            scenario = bench.scenario(f"burst-{round_no}", "healthy")
            before = len(emulator.accepted)
            with _Sampler(scenario.marker) as sampler:
                started = [subprocess.Popen([str(bench.azcli.az_executable()), "prototype", "status"],
                                            env=scenario.env, cwd=str(bench.project), stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                           for _ in range(commands)]
                for proc in started:
                    proc.wait(timeout=300)
                emulator.wait_for_accepted(before + commands, timeout=60)
                procs.settle(SETTLE_SECONDS * 10, keep=())
            peaks.append(sampler.peak)
            delivered += len(emulator.accepted) - before
            progress(f"burst: round {round_no + 1}/{rounds}: peak {sampler.peak} sender(s), "
                     f"{len(emulator.accepted) - before}/{commands} delivered")
    finally:
        procs.kill_children()
    return {"commands": commands, "rounds": rounds, "peaks": peaks, "delivered": delivered}


def burst_rows(m: dict[str, Any]) -> list[Row]:
    """Row 9: the largest number of senders alive at once."""
    peak = max(m["peaks"]) if m["peaks"] else 0
    expected = m["commands"] * m["rounds"]
    verdict = "OK (≤ 1 working, ≤ 1 more alive)" if 1 <= peak <= 2 else f"OVER: {peak} alive"
    if m["delivered"] != expected:
        verdict += f"; CHECK: {m['delivered']}/{expected} delivered"
    return [Row("9", f"sender processes alive at once during a burst of {m['commands']} parallel az commands "
                f"({m['delivered']}/{expected} events delivered)", str(len(m["peaks"])), f"peak {peak}",
                "per round " + ", ".join(str(p) for p in m["peaks"]), "one per command before (issue 10)", "", verdict)]


def _send(layout: SpoolLayout, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "telemetry_sender", "send", "--spool", str(layout.root), "--json"],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    try:
        return dict(json.loads(done.stdout), exit=done.returncode)
    except ValueError:
        return {"outcome": "unreadable output", "exit": done.returncode}


def measure_crash(tmp: Path, envelope: dict[str, Any], *, runs: int, count: int,
                  progress: Callable[[str], None]) -> list[dict[str, Any]]:
    """Per run: seconds from `kill -9` of a sender with a batch in flight to the next `send` ending."""
    from telemetry_sender.recording import claim_sender_lock
    from telemetry_sender.spawn import start_sender

    results = []
    for run in range(runs):
        with Emulator(port=0, quiet=True) as emulator:
            emulator.script({"status": 200}, {"status": 200, "delay": 60})  # the 2nd batch's answer never comes
            config = tmp / f"crash-{run}" / "azure"
            config.mkdir(parents=True)
            env = {**os.environ, CONNECTION_VAR: emulator.connection_string, "AZURE_CONFIG_DIR": str(config)}
            layout = SpoolLayout(config / "prototype" / "telemetry")
            fill_spool(layout, envelope, count)
            lock_fd = claim_sender_lock(str(layout.root), None)  # what the recorder does: claim, then start
            pid = start_sender(layout.root, env, lock_fd) if lock_fd is not None else None
            if not pid or not emulator.wait_for_requests(2, timeout=30):
                raise RuntimeError("the sender to crash never sent its second batch")
            os.kill(pid, signal.SIGKILL)
            killed = time.perf_counter()
            report = _send(layout, env)
            seconds = time.perf_counter() - killed
            left = len(list(layout.spool.iterdir()))  # pending and leased alike
            results.append({"seconds": seconds, "report": report, "left": left})
            progress(f"crash: run {run + 1}/{runs}: {seconds:.2f} s, outcome {report.get('outcome')}, {left} left")
        procs.kill_children()
    return results


def crash_rows(results: list[dict[str, Any]]) -> list[Row]:
    """Row 10: kill → everything delivered by the next `send`."""
    s = summarize([r["seconds"] * 1000.0 for r in results])
    complete = all(r["left"] == 0 and r["report"].get("exit") == 0 for r in results)
    verdict = "OK (same run, no lease wait)" if complete else "CHECK: events left or send failed"
    return [Row("10", "sender killed (SIGKILL) with a batch in flight → next `send` has delivered everything",
                str(s.n), fmt(s.median, "ms"), f"max {fmt(s.maximum, 'ms')}", "lease deadline before (≈ 2 min)",
                "", verdict)]
