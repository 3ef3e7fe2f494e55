"""What a drain records in state.json: losses by reason, backoff after a failure (the redirect cache is redirect.py's).

Pure functions on the loaded state dict (telemetry_sender.spool.state reads and writes the file);
every value read back is checked, since state.json is a file on disk a person may edit.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from telemetry_sender.sender.backoff import next_wait
from telemetry_sender.sender.policy import Verdict
from telemetry_sender.spool.state import count, format_time

logger = logging.getLogger(__name__)


def lose(state: dict[str, Any], reason: str, number: int) -> None:
    """Count `number` events lost for `reason` (expired, evicted, rejected, corrupt, opted_out)."""
    if number:
        state["lost"][reason] = count(state["lost"].get(reason)) + number


def drop(state: dict[str, Any], folder: str, number: int) -> None:
    """Count old files the cap of rejected/ or quarantine/ removed."""
    if number:
        dropped = state.get("dropped") if isinstance(state.get("dropped"), dict) else {}
        dropped[folder] = count(dropped.get(folder)) + number
        state["dropped"] = dropped


def record_failure(state: dict[str, Any], verdict: Verdict, now: datetime, rng: random.Random) -> float:
    """Write "not before T" after a retriable failure (Retry-After, else jittered exponential); returns the wait."""
    failures = count(state.get("consecutive_failures")) + 1
    wait = next_wait(failures, rng, offline=verdict.offline, retry_after=verdict.retry_after)
    state.update(
        consecutive_failures=failures,
        backoff_seconds=round(wait, 3),
        next_attempt=format_time(now + timedelta(seconds=wait)),
        last_attempt={"time": format_time(now), "outcome": "retry", "status": verdict.status, "detail": verdict.detail},
    )
    logger.info("backing off %.1f s after %s (failure %d)", wait, verdict.detail or verdict.status, failures)
    return wait


def record_success(state: dict[str, Any], verdict: Verdict, now: datetime, sent: int) -> None:
    """Clear the backoff after an answered batch."""
    state.update(consecutive_failures=0, backoff_seconds=0, next_attempt=None)
    state["last_attempt"] = {"time": format_time(now), "outcome": "delivered", "status": verdict.status,
                             "detail": verdict.detail or f"{sent} sent"}
