"""What a drain writes into state.json besides losses: the last attempt and the backoff.

The loss counters are kept by DrainReport.lose, the redirect cache by redirect.py.

Pure functions on the loaded state dict (telemetry_sender.spool.state reads and writes the
file); every value read back is checked, since state.json is a file on disk a person may edit.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from telemetry_sender.sender.backoff import next_wait
from telemetry_sender.sender.policy import BatchVerdict
from telemetry_sender.spool.state import AttemptOutcome, count, format_time

logger = logging.getLogger(__name__)


def drop(state: dict[str, Any], folder: str, number: int) -> None:
    """Count old files the cap of rejected/ or quarantine/ removed."""
    if number:
        dropped = state.get("dropped") if isinstance(state.get("dropped"), dict) else {}
        dropped[folder] = count(dropped.get(folder)) + number
        state["dropped"] = dropped


def record_failure(state: dict[str, Any], verdict: BatchVerdict, now: datetime, rng: random.Random) -> float:
    """Write "not before T" after a retriable failure (Retry-After, else jittered exponential); returns the wait."""
    failures = count(state.get("consecutive_failures")) + 1
    wait = next_wait(failures, rng, offline=verdict.offline, retry_after=verdict.retry_after)
    state.update(
        consecutive_failures=failures,
        backoff_seconds=round(wait, 3),
        next_attempt=format_time(now + timedelta(seconds=wait)),
        last_attempt={"time": format_time(now), "outcome": AttemptOutcome.RETRY.value, "status": verdict.status,
                      "detail": verdict.detail},
    )
    logger.info("backing off %.1f s after %s (failure %d)", wait, verdict.detail or verdict.status, failures)
    return wait


def record_answer(state: dict[str, Any], verdict: BatchVerdict, now: datetime) -> None:
    """Clear the backoff after an answered batch; say whether its events were delivered or rejected."""
    state.update(consecutive_failures=0, backoff_seconds=0, next_attempt=None)
    accepted, rejected = len(verdict.accepted), len(verdict.rejected)
    if accepted:
        state["last_success"] = format_time(now)
    if rejected:
        first = verdict.rejected[0]
        outcome = AttemptOutcome.REJECTED
        detail = f"{accepted} accepted, {rejected} rejected (HTTP {first.status}: {first.message})"[:300]
    else:
        outcome, detail = AttemptOutcome.DELIVERED, verdict.detail or f"{accepted} sent"
    state["last_attempt"] = {"time": format_time(now), "outcome": outcome.value, "status": verdict.status,
                             "detail": detail}


def record_disabled(state: dict[str, Any], now: datetime, reason: str, deleted: int) -> None:
    """Telemetry was off: the pending events were deleted unsent."""
    state["last_attempt"] = {"time": format_time(now), "outcome": AttemptOutcome.DISABLED.value, "status": None,
                             "detail": f"{reason}; {deleted} pending deleted unsent"}
