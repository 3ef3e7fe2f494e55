"""Event identifiers and timestamps without importing uuid or datetime (they cost milliseconds)."""

from __future__ import annotations

import os
import time


def new_event_id(random_bytes: bytes | None = None) -> str:
    """A random UUID4 in its canonical text form (RFC 4122 version and variant bits set)."""
    raw = bytearray(os.urandom(16) if random_bytes is None else random_bytes[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def iso_utc(time_ns: int) -> str:
    """ISO 8601 UTC with microseconds, ending in Z: the form the service and our contract use."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos // 1000:06d}Z"
