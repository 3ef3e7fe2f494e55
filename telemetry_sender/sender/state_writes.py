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
from telemetry_sender.sender.report import DrainReport
from telemetry_sender.spool.state import AttemptOutcome, count, format_time
from telemetry_sender.text import printable

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
    logger.info("backing off %.1f s after %s (failure %d)", wait, printable(verdict.detail or verdict.status), failures)
    return wait


def record_answer(state: dict[str, Any], verdict: BatchVerdict, now: datetime, so_far: DrainReport) -> None:
    """Clear the backoff after an answered batch; say what this drain has had answered so far.

    Cumulative, from the drain's report: a batch accepted after another was rejected must
    not make `status` say "delivered" over the rejection.
    """
    state.update(consecutive_failures=0, backoff_seconds=0, next_attempt=None)
    if verdict.accepted:
        state["last_success"] = format_time(now)
    if so_far.rejected:
        outcome, status = AttemptOutcome.REJECTED, so_far.rejection_status
        detail = f"{so_far.sent} accepted, {so_far.rejected} rejected ({so_far.rejection})"[:300]
    else:
        outcome, status = AttemptOutcome.DELIVERED, verdict.status
        detail = verdict.detail or f"{so_far.sent} sent"
    state["last_attempt"] = {"time": format_time(now), "outcome": outcome.value, "status": status, "detail": detail}


def record_disabled(state: dict[str, Any], now: datetime, reason: str, deleted: int) -> None:
    """Telemetry was off: the pending events were deleted unsent."""
    state["last_attempt"] = {"time": format_time(now), "outcome": AttemptOutcome.DISABLED.value, "status": None,
                             "detail": f"{reason}; {deleted} pending deleted unsent"}
