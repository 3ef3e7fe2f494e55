"""The on-disk spool format: one envelope per `*.json` file, named so that names sort oldest first.

Imported by the recorder inside az: writing must stay cheap (no heavy imports).
Reading, claiming, expiry and the size cap for the sender live further down.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

from telemetry_sender.fsutil import ensure_private_dir, write_private_atomic
from telemetry_sender.layout import PENDING_SUFFIX, TEMP_SUFFIX, SpoolLayout


def new_event_filename(now_ns: int | None = None) -> str:
    """`<20-digit ns timestamp>-<random>.json`: unique, and lexical order is recording order."""
    stamp = time.time_ns() if now_ns is None else now_ns
    return f"{stamp:020d}-{os.urandom(6).hex()}{PENDING_SUFFIX}"


def write_event(layout: SpoolLayout, envelope: Mapping[str, Any], now_ns: int | None = None) -> Path:
    """Persist one envelope, exactly as it will be sent, atomically and privately (0700/0600)."""
    ensure_private_dir(layout.root)
    folder = ensure_private_dir(layout.spool)
    name = new_event_filename(now_ns)
    data = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return write_private_atomic(folder / name, data, temp_name=f".{name}{TEMP_SUFFIX}")
