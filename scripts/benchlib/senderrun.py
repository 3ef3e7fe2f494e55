"""Rows 4, 5 and 7: the sender process (`python -m telemetry_sender send --spool DIR`) on loopback.

4. drain 10,000 pending events to the healthy emulator (wall time of the whole process,
   interpreter start included) vs. a naive sender doing one POST per event (1,000 events,
   rate extrapolated);
5. the sender's peak RSS (ru_maxrss from os.wait4) with an empty spool, 1,000 and 50,000 pending;
7. 20 MiB of events, the endpoint down: the spool size afterwards.
Events are written with telemetry_sender.spool.write.write_event, as the recorder writes them.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from benchlib.endpoints import Endpoints
from benchlib.fixtures import fill_spool, pending_files, tree_bytes
from benchlib.stats import ratio
from benchlib.table import Row

from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.protocol import SPOOL_CAP_BYTES

CONNECTION_VAR = "APPLICATIONINSIGHTS_CONNECTION_STRING"
MIB = 1024 * 1024
_NAIVE = """
import os, sys, requests
spool, url = sys.argv[1], sys.argv[2]
for name in sorted(n for n in os.listdir(spool) if n.endswith(".json")):
    path = os.path.join(spool, name)
    with open(path, "rb") as handle:
        body = b"[" + handle.read() + b"]"
    answer = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=5)
    if answer.status_code == 200:
        os.unlink(path)
"""


# Linux carries a process's peak RSS across fork/vfork+exec (ru_maxrss starts at the forking
# process's high-water mark), so a sender started straight from the bench (50+ MiB) would
# report the bench's peak. A tiny launcher process starts it instead and reports its wait4.
_LAUNCHER = """
import json, os, sys, time
out = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
argv = sys.argv[2:]
def hwm():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
floor = hwm()
started = time.perf_counter()
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, out, 2)])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"wall": time.perf_counter() - started, "maxrss_kib": usage.ru_maxrss,
                  "status": os.waitstatus_to_exitcode(status), "floor_kib": floor}))
"""


def _env(tmp: Path, connection_string: str) -> dict[str, str]:
    config = tmp / "azure"
    config.mkdir(parents=True, exist_ok=True)
    return {**os.environ, CONNECTION_VAR: connection_string, "AZURE_CONFIG_DIR": str(config)}


def _send_argv(layout: SpoolLayout) -> list[str]:
    return [sys.executable, "-m", "telemetry_sender", "send", "--spool", str(layout.root), "--json"]


def _report(text: str) -> dict[str, Any]:
    try:
        return json.loads(text)
    except ValueError:
        return {"outcome": "unreadable output", "detail": text[-500:]}


def run_sender(layout: SpoolLayout, env: dict[str, str], out: Path) -> tuple[float, int, dict[str, Any]]:
    """(wall seconds, peak RSS KiB, the drain report) of one `send --spool` process."""
    with open(out, "w") as handle:
        started = time.perf_counter()
        child = subprocess.Popen(_send_argv(layout), env=env, stdin=subprocess.DEVNULL, stdout=handle,
                                 stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return wall, int(usage.ru_maxrss), _report(out.read_text())


def peak_rss(layout: SpoolLayout, env: dict[str, str], out: Path) -> tuple[float, int, int, dict[str, Any]]:
    """(wall seconds, peak RSS KiB, launcher's own peak KiB = the floor, drain report) of one sender."""
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, str(out), *_send_argv(layout)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise RuntimeError("memory launcher failed:\n" + done.stderr[-2000:])
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return float(data["wall"]), int(data["maxrss_kib"]), int(data["floor_kib"]), _report(out.read_text())


def measure_drain(tmp: Path, endpoints: Endpoints, envelope: dict[str, Any], count: int, naive_count: int,
                  progress: Callable[[str], None]) -> dict[str, Any]:
    """Row 4: our sender on `count` events; a one-POST-per-event sender on `naive_count`."""
    emulator = endpoints.healthy
    layout = SpoolLayout(tmp / "drain" / "telemetry")
    write_seconds = fill_spool(layout, envelope, count)
    progress(f"drain: wrote {count} events ({write_seconds / count * 1e6:.0f} µs each); sending")
    accepted, requests_before = len(emulator.accepted), len(emulator.requests)
    wall, _, report = run_sender(layout, _env(tmp / "drain", emulator.connection_string), tmp / "drain.out")
    result = {"count": count, "wall": wall, "report": report, "write_us": write_seconds / count * 1e6,
              "accepted": len(emulator.accepted) - accepted, "requests": len(emulator.requests) - requests_before,
              "left": pending_files(layout)[0]}
    progress(f"drain: {count} events in {wall:.2f} s")
    naive = SpoolLayout(tmp / "naive" / "telemetry")
    fill_spool(naive, envelope, naive_count)
    accepted = len(emulator.accepted)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _NAIVE, str(naive.spool), emulator.track_url],
                          env=_env(tmp / "naive", emulator.connection_string), capture_output=True, text=True,
                          timeout=300, check=False)
    result["naive_wall"] = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError("naive sender failed:\n" + done.stderr[-2000:])
    result["naive_count"] = naive_count
    result["naive_accepted"] = len(emulator.accepted) - accepted
    progress(f"drain: naive sender, {naive_count} events in {result['naive_wall']:.2f} s")
    emulator.reset()
    return result


def drain_rows(m: dict[str, Any]) -> list[Row]:
    """Row 4: wall time and events/s; the naive rate extrapolated to the same count."""
    rate = m["count"] / m["wall"]
    naive_rate = m["naive_count"] / m["naive_wall"]
    ok = m["accepted"] == m["count"] and m["left"] == 0
    check = (f"all {m['accepted']} accepted in {m['requests']} requests, spool empty" if ok else
             f"CHECK: accepted {m['accepted']}/{m['count']}, {m['left']} left, outcome {m['report'].get('outcome')}")
    verdict = ("OK (≥ 5,000/s)" if rate >= 5000 else "below 5,000/s target") + (
        "; within 5 s" if m["wall"] < 5 else "; OVER 5 s")
    return [
        Row("4", f"sender: drain {m['count']:,} pending events, one process, wall incl. start-up ({check}; "
            f"writing them cost {m['write_us']:.0f} µs/event)", "1", f"{m['wall']:.2f} s = {rate:,.0f} events/s",
            "", "naive", ratio(rate, naive_rate), verdict),
        Row("4", f"alt: naive sender, one requests.post per event ({m['naive_count']:,} events, "
            f"{m['naive_accepted']} accepted; rate extrapolated to {m['count']:,})", "1",
            f"{m['naive_wall']:.2f} s = {naive_rate:,.0f} events/s",
            f"≈ {m['count'] / naive_rate:.1f} s for {m['count']:,}", "", "", ""),
    ]


def measure_memory(tmp: Path, endpoints: Endpoints, envelope: dict[str, Any], counts: tuple[int, ...],
                   progress: Callable[[str], None]) -> list[dict[str, Any]]:
    """Row 5: peak RSS of one sender per spool size (healthy endpoint)."""
    emulator = endpoints.healthy
    results = []
    for count in counts:
        layout = SpoolLayout(tmp / f"mem-{count}" / "telemetry")
        layout.root.mkdir(parents=True, exist_ok=True)
        fill_spool(layout, envelope, count)
        wall, rss_kib, floor_kib, report = peak_rss(
            layout, _env(tmp / f"mem-{count}", emulator.connection_string), tmp / f"mem-{count}.out")
        results.append({"count": count, "rss_kib": rss_kib, "floor_kib": floor_kib, "wall": wall, "report": report,
                        "left": pending_files(layout)[0]})
        progress(f"memory: {count} pending: peak RSS {rss_kib / 1024:.1f} MiB in {wall:.1f} s")
        emulator.reset()
    return results


def memory_rows(results: list[dict[str, Any]]) -> list[Row]:
    """Row 5: MiB per spool size, ratio against the smallest non-empty spool."""
    floor = max(r["floor_kib"] for r in results)
    base = min((r for r in results if r["count"]), key=lambda r: r["count"])
    out = []
    for r in results:
        rep = r["report"]
        what = f"sent {rep.get('sent', '?')}, evicted {rep.get('evicted', '?')} (spool cap), outcome {rep.get('outcome')}"
        if r is results[0]:
            what += f"; launcher floor {floor / 1024:.1f} MiB"
        compare = r is not base and r["count"] > base["count"]
        grows = r["rss_kib"] / base["rss_kib"] >= 1.25
        verdict = ("GROWS" if grows else "OK (flat)") if compare else ""
        out.append(Row("5", f"sender peak RSS (ru_maxrss), {r['count']:,} pending ({what})", "1",
                       f"{r['rss_kib'] / 1024:.1f} MiB ({r['rss_kib']:,} KiB)", f"{r['wall']:.1f} s",
                       f"{base['count']:,} pending" if compare else "",
                       ratio(r["rss_kib"], base["rss_kib"]) if compare else "", verdict))
    return out


def measure_cap(tmp: Path, endpoints: Endpoints, envelope: dict[str, Any], target_bytes: int,
                progress: Callable[[str], None]) -> dict[str, Any]:
    """Row 7: fill past the cap, run the sender against the refusing endpoint, measure what is left."""
    layout = SpoolLayout(tmp / "cap" / "telemetry")
    size = len(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode())
    count = math.ceil(target_bytes / size)
    fill_spool(layout, envelope, count)
    before = pending_files(layout)
    progress(f"cap: wrote {before[0]} events, {before[1] / MIB:.1f} MiB; sender against a down endpoint")
    wall, _, report = run_sender(layout, _env(tmp / "cap", endpoints.down.connection_string), tmp / "cap.out")
    after = pending_files(layout)
    return {"before": before, "after": after, "root": tree_bytes(layout.root), "report": report, "wall": wall}


def cap_rows(m: dict[str, Any]) -> list[Row]:
    """Row 7: pending bytes after vs. the cap."""
    (n0, b0), (n1, b1) = m["before"], m["after"]
    rep = m["report"]
    ok = b1 <= SPOOL_CAP_BYTES
    return [Row("7", f"spool cap: {b0 / MIB:.1f} MiB written ({n0:,} events), sender run with the endpoint down "
                f"(outcome {rep.get('outcome')}, evicted {rep.get('evicted', '?')}; whole spool root incl. "
                f"state/log {m['root'] / MIB:.2f} MiB)", "1", f"{b1 / MIB:.2f} MiB pending ({n1:,} events)",
                f"{m['wall']:.1f} s", "cap 10 MiB", ratio(b1, SPOOL_CAP_BYTES),
                "OK (≤ 10 MiB)" if ok else "OVER the cap")]
