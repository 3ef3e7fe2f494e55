"""Writing one event into the spool: atomic, private (0700/0600), exactly as it will be sent.

Imported by the recorder inside az: standard library only, nothing heavy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

from telemetry_sender.spool.layout import TEMP_SUFFIX, SpoolLayout, new_event_filename
from telemetry_sender.spool.private_files import ensure_private_dir, write_private_atomic


def write_event(layout: SpoolLayout, envelope: Mapping[str, Any], now_ns: int | None = None) -> Path:
    """Persist one envelope, exactly as it will be sent, atomically and privately (0700/0600)."""
    ensure_private_dir(layout.root)
    folder = ensure_private_dir(layout.spool)
    name = new_event_filename(now_ns)
    data = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return write_private_atomic(folder / name, data, temp_name=f".{name}{TEMP_SUFFIX}")
