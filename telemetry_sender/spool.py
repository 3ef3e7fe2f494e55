"""The on-disk spool format: one envelope per `*.json` file, named so that names sort oldest first.

Imported by the recorder inside az: writing and the name format stay cheap (no heavy
imports). The sender's side (listing, claiming, reading, expiry, the size cap) is
`spool_store`; its names are still reachable here (`spool.claim`), loaded on first use.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Mapping

from telemetry_sender.fsutil import ensure_private_dir, write_private_atomic
from telemetry_sender.layout import LEASE_SUFFIX, PENDING_SUFFIX, TEMP_SUFFIX, SpoolLayout

# The read side's public names, forwarded to spool_store by __getattr__ below.
_READ_SIDE = frozenset({
    "LIST_CHUNK", "WHY_SUFFIX", "SweepResult", "Unsendable", "cap_folder", "claim", "dead_letter", "delete",
    "has_pending", "iter_pending_names", "quarantine", "read_claimed", "reap_stale_temp", "release", "sweep",
    "unsafe_reason",
})


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


def is_pending_name(name: str) -> bool:
    """A pending event file (not a temp file, not a lease)."""
    return name.endswith(PENDING_SUFFIX) and not name.startswith(".")


def recorded_ns(name: str) -> int | None:
    """The recording time (ns since the epoch) encoded in a pending file name; None when absent."""
    stamp, dash, _ = name.partition("-")
    # isdecimal, not isdigit: int() refuses digit-like characters such as "²"
    return int(stamp) if dash and len(stamp) == 20 and stamp.isdecimal() else None


def lease_name(name: str, deadline: int) -> str:
    """`NAME.json.<unix deadline>.lease`."""
    return f"{name}.{int(deadline)}{LEASE_SUFFIX}"


def parse_lease_name(lease: str) -> tuple[str, int] | None:
    """(original name, deadline) of a lease file name; None when it is not one."""
    if not lease.endswith(LEASE_SUFFIX):
        return None
    original, _, deadline = lease[: -len(LEASE_SUFFIX)].rpartition(".")
    if not original or not deadline.isdecimal():
        return None
    return original, int(deadline)


def __getattr__(name: str) -> Any:
    """The sender's read side (`spool.claim`, `spool.sweep`, ...), imported only when first asked for."""
    if name not in _READ_SIDE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from telemetry_sender import spool_store

    return getattr(spool_store, name)
