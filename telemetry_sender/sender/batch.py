"""Pure request building: late-event times, batch limits, the gzip body and the headers.

No I/O here (PROTOCOL.md, "Request" and "Limits"): the sender feeds it envelopes it
has claimed and gets back bytes to POST.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from telemetry_sender.protocol import (
    BATCH_MAX_BYTES,
    BATCH_MAX_ITEMS,
    TIME_WINDOW_FUTURE_SECONDS,
    TIME_WINDOW_PAST_SECONDS,
    USER_AGENT_PRODUCT,
)
from telemetry_sender.spool.state import format_time
from telemetry_sender.recording import parse_time

# A little margin inside the service's 48 h window, so an event that is almost too
# old when the batch is built is not too old when the request arrives.
LATE_MARGIN_SECONDS = 10 * 60


def refresh_late_time(envelope: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The envelope with `time` set to `now` when it lies outside the service's accepted window.

    The service rejects envelope times older than 48 h (or over 2 h ahead, a skewed
    clock); the command's own time stays in `data.baseData.properties.timestamp`, so
    nothing about the event is lost.
    """
    when = parse_time(envelope.get("time"))
    oldest = now - timedelta(seconds=TIME_WINDOW_PAST_SECONDS - LATE_MARGIN_SECONDS)
    newest = now + timedelta(seconds=TIME_WINDOW_FUTURE_SECONDS - LATE_MARGIN_SECONDS)
    if when is not None and oldest <= when <= newest:
        return dict(envelope)
    refreshed = dict(envelope)
    refreshed["time"] = format_time(now)
    return refreshed


def encode_item(envelope: Mapping[str, Any]) -> bytes:
    """One envelope as compact UTF-8 JSON (the unit the 64 KB item limit applies to)."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


@dataclass
class BatchBuffer:
    """Collects encoded items until one more would pass the count or byte limit."""

    max_items: int = BATCH_MAX_ITEMS
    max_bytes: int = BATCH_MAX_BYTES
    items: list[bytes] = field(default_factory=list)
    size: int = 2  # the enclosing "[]"

    def fits(self, item: bytes) -> bool:
        """True when `item` can join; an empty buffer takes any single item."""
        if not self.items:
            return True
        return len(self.items) < self.max_items and self.size + len(item) + 1 <= self.max_bytes

    def add(self, item: bytes) -> None:
        """Append `item` (the caller checked `fits`)."""
        self.size += len(item) + (1 if self.items else 0)
        self.items.append(item)

    @property
    def full(self) -> bool:
        """True when no further item of any size could join."""
        return len(self.items) >= self.max_items or self.size >= self.max_bytes


def encode_body(items: Sequence[bytes]) -> bytes:
    """The request body: a gzip-compressed JSON array of the items, in order."""
    return gzip.compress(b"[" + b",".join(items) + b"]", compresslevel=6)


def new_request_id(rng: random.Random) -> str:
    """A UUID4-shaped `x-ms-client-request-id` drawn from `rng` (no uuid import, reproducible in tests)."""
    raw = f"{rng.getrandbits(128):032x}"
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-{'89ab'[int(raw[16], 16) % 4]}{raw[17:20]}-{raw[20:]}"


def request_headers(request_id: str, version: str) -> dict[str, str]:
    """The headers PROTOCOL.md recommends, with a client request id for tracing."""
    return {
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
        "Accept": "application/json",
        "User-Agent": f"{USER_AGENT_PRODUCT}/{version}",
        "x-ms-client-request-id": request_id,
    }
