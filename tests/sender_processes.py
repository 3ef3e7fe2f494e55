"""Helpers for tests with real detached senders: find them in /proc, read their drains from the log."""

from __future__ import annotations

import os
import re
from pathlib import Path


def live_senders(root: Path) -> list[int]:
    """Pids of sender processes for this spool root that are alive (not zombies)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"--background" in cmdline and str(root).encode() in cmdline and state != "Z":
            found.append(int(entry))
    return found


def drain_intervals(root: Path) -> list[tuple[float, float]]:
    """(acquired, released) monotonic times of every drain, from the senders' log."""
    text = "".join(p.read_text() for p in sorted(root.glob("sender.log*")))
    starts, intervals = {}, []
    for kind, pid, stamp in re.findall(r"lock (acquired|released) by pid (\d+) at monotonic ([\d.]+)", text):
        if kind == "acquired":
            starts[pid] = float(stamp)
        else:
            intervals.append((starts.pop(pid), float(stamp)))
    return sorted(intervals)


def settled(root: Path) -> bool:
    """True when no sender for this spool root is alive."""
    return not live_senders(root)
