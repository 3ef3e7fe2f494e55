"""Pure backoff arithmetic: Retry-After in both forms, and jittered exponential waits.

PROTOCOL.md: honour Retry-After (seconds or an HTTP date), capped at 1 h; without it
back off exponentially (10 s slot, capped at 1 h, randomized); DESIGN.md: after plain
connection failures never wait more than 60 s. Time and randomness are parameters.
"""

from __future__ import annotations

import math
import random
from datetime import datetime

from telemetry_sender.protocol import (
    BACKOFF_CAP_SECONDS,
    BACKOFF_SLOT_SECONDS,
    OFFLINE_BACKOFF_CAP_SECONDS,
    RETRY_AFTER_CAP_SECONDS,
)
from telemetry_sender.sender.clock import parse_http_date


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), capped; None when absent or bad."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        when = parse_http_date(text)
        if when is None:
            return None
        seconds = (when - now).total_seconds()
    if math.isnan(seconds):
        return None
    return float(min(max(seconds, 0.0), RETRY_AFTER_CAP_SECONDS))


def exponential_wait(failures: int, rng: random.Random, *, offline: bool) -> float:
    """A randomized wait in (upper/2, upper], upper = 10 s * 2^(failures-1), capped (60 s when offline)."""
    cap = OFFLINE_BACKOFF_CAP_SECONDS if offline else BACKOFF_CAP_SECONDS
    exponent = min(max(failures, 1) - 1, 20)
    upper = float(min(cap, BACKOFF_SLOT_SECONDS * (2**exponent)))
    return rng.uniform(upper / 2, upper)


def next_wait(failures: int, rng: random.Random, *, offline: bool, retry_after: float | None) -> float:
    """How long to wait before the next automatic attempt: the service's word first, else exponential."""
    if retry_after is not None:
        return min(retry_after, RETRY_AFTER_CAP_SECONDS)
    return exponential_wait(failures, rng, offline=offline)
