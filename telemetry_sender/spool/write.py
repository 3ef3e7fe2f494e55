"""Writing one event into a spool layout: atomic, private (0700/0600), exactly as it will be sent.

The write itself is telemetry_sender.recording's (the recorder's hot path calls it with the
root); this is the same write for callers holding a SpoolLayout (tests, benchmarks, tools).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.recording import write_envelope


def write_event(layout: SpoolLayout, envelope: Mapping[str, Any], now_ns: int | None = None) -> Path:
    """Persist one envelope under `layout`, exactly as it will be sent, atomically and privately."""
    return Path(write_envelope(layout.root, envelope, now_ns))
