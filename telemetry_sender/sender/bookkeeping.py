"""What a drain records in state.json: losses by reason, backoff after a failure, the redirect cache.

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
from telemetry_sender.protocol import REDIRECT_CACHE_MAX_SECONDS
from telemetry_sender.spool.state import count, format_time, parse_time

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


def cached_endpoint(state: dict[str, Any], configured: str, now: datetime) -> str:
    """The cached redirect target while it is valid and belongs to this endpoint, else the configured one.

    The cache is re-checked against the redirect policy and its lifetime bound: state.json
    is a file on disk, not proof that the service ever sent us there.
    """
    from telemetry_sender.connection_string import track_url
    from telemetry_sender.sender.redirect import redirect_endpoint

    cached = state.get("redirect")
    if not isinstance(cached, dict) or cached.get("origin") != configured:
        return configured
    endpoint, expires = cached.get("endpoint"), parse_time(cached.get("expires"))
    if not isinstance(endpoint, str) or expires is None:
        return configured
    if not now < expires <= now + timedelta(seconds=REDIRECT_CACHE_MAX_SECONDS):
        return configured
    return endpoint if redirect_endpoint(endpoint, track_url(configured)) == endpoint else configured


def remember_redirect(state: dict[str, Any], endpoint: str, seconds: int, configured: str, now: datetime) -> None:
    """Send straight to `endpoint` for `seconds` (a redirect the new host has answered on)."""
    expires = now + timedelta(seconds=seconds)
    state["redirect"] = {"endpoint": endpoint, "expires": format_time(expires), "origin": configured}
    logger.info("redirected to %s until %s", endpoint, format_time(expires))
