"""The spool root's state.json: backoff, redirect, last attempt and loss counters.

Read by the recorder (only `endpoint` and `next_attempt`, to skip spawning while the
service asked us to wait) and by `status`; written only by the sender that holds the lock.
Schema (all times are ISO 8601 UTC strings ending in Z, or null):
    endpoint: "<ingestion endpoint>#<crc32 of the instrumentation key>" the fields below
        belong to; a changed connection string starts fresh (`for_endpoint`)
    next_attempt: no automatic send before this time
    backoff_seconds: the last wait chosen, for the record (growth counts consecutive_failures)
    consecutive_failures: retriable failures in a row
    last_attempt: {"time", "outcome", "status", "detail"} or null; outcome is an AttemptOutcome
    redirect: {"endpoint", "expires", "origin"} or null; "origin" is the configured endpoint
        that redirected, and the cache is used only while that is still the one configured
    target: {"endpoint", "sent_to", "ikey", "time"} or null: where the last attempt went (the configured
        endpoint, the one that answered, the instrumentation key), so support can tell from a copied spool
    history: the last attempts of earlier endpoints [{"endpoint", "last_attempt"}], newest first
    last_success: when the service last accepted events (any endpoint): evidence for the clock
    lost: {"expired", "evicted", "rejected", "quarantined", "opted_out"} counts (LossReason)
    trimmed: events accepted after the sender cut fields off their spool file (undocumented
        fields, re-sanitized properties: sender/dictionary.py); absent in older files (0)
    dropped: {"rejected", "quarantine"} old files removed by those folders' caps
Older files counted unreadable files under "corrupt": read as "quarantined".
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from telemetry_sender.recording import read_saved_state, write_private_atomic


class LossReason(str, Enum):
    """Why an event left the spool without being accepted: one word per reason."""

    EXPIRED = "expired"  # older than the retention
    EVICTED = "evicted"  # over the spool's size cap, oldest first
    REJECTED = "rejected"  # the service refused it for good (kept in rejected/)
    QUARANTINED = "quarantined"  # unreadable or not an envelope (kept in quarantine/)
    OPTED_OUT = "opted_out"  # deleted unsent because telemetry was turned off

    def __str__(self) -> str:
        return self.value


class AttemptOutcome(str, Enum):
    """What the last attempt came to, as state.json and `status` say it."""

    DELIVERED = "delivered"  # every item of the batch accepted
    REJECTED = "rejected"  # the service refused some or all items for good
    RETRY = "retry"  # nothing decided: kept for later, backing off
    DISABLED = "disabled"  # telemetry off: pending events deleted unsent

    def __str__(self) -> str:
        return self.value


LOSS_REASONS = tuple(reason.value for reason in LossReason)
_LEGACY_LOSS_KEYS = {"corrupt": LossReason.QUARANTINED.value}
# The fields that belong to one ingestion endpoint and key.
ENDPOINT_FIELDS = ("next_attempt", "backoff_seconds", "consecutive_failures", "last_attempt", "redirect")
HISTORY_LENGTH = 3


def empty_state() -> dict[str, Any]:
    """A fresh state: nothing attempted, nothing lost."""
    return {
        "endpoint": None,
        "next_attempt": None,
        "backoff_seconds": 0,
        "consecutive_failures": 0,
        "last_attempt": None,
        "redirect": None,
        "target": None,
        "history": [],
        "last_success": None,
        "service_clock": None,  # the service's last Date and this boot's clock then (sender.clock)
        "lost": {reason: 0 for reason in LOSS_REASONS},
        "trimmed": 0,
        # Old dead letters / quarantined files dropped by the 1 MiB caps of rejected/ and quarantine/.
        "dropped": {"rejected": 0, "quarantine": 0},
    }


def merge_saved(saved: object) -> dict[str, Any]:
    """A saved state document merged over the defaults (unknown keys and non-int loss counts dropped)."""
    state = empty_state()
    if not isinstance(saved, dict):
        return state
    state.update({k: v for k, v in saved.items() if k in state and k != "lost"})
    if not isinstance(state["history"], list):
        state["history"] = []
    state["trimmed"] = count(state["trimmed"])
    lost = saved.get("lost")
    if isinstance(lost, dict):
        for key, value in lost.items():
            reason = _LEGACY_LOSS_KEYS.get(key, key)
            if reason in LOSS_REASONS and count(value):
                state["lost"][reason] += count(value)
    return state


def load_state(path: Path) -> dict[str, Any]:
    """The saved state merged over defaults; a missing or unreadable file reads as fresh."""
    return merge_saved(read_saved_state(path))


def count(value: object) -> int:
    """A saved counter as a non-negative int; anything else (a hand-edited state file) reads as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write the state atomically (0600)."""
    write_private_atomic(path, json.dumps(state, indent=2, sort_keys=True).encode("utf-8"))


def record_target(state: dict[str, Any], endpoint: str, sent_to: str, ikey: str, now: datetime) -> None:
    """Note where the sender's last attempt went: public identifiers of the product, never user data."""
    state["target"] = {"endpoint": endpoint, "sent_to": sent_to, "ikey": ikey, "time": format_time(now)}


def for_endpoint(state: dict[str, Any], endpoint: str) -> dict[str, Any]:
    """`state` with the endpoint fields belonging to `endpoint`: another endpoint's move to history."""
    previous = state.get("endpoint")
    if previous == endpoint or previous is None:  # ours, or written before states named their endpoint
        state["endpoint"] = endpoint
        return state
    if isinstance(previous, str) and isinstance(state.get("last_attempt"), dict):
        earlier = [h for h in state["history"] if isinstance(h, dict) and h.get("endpoint") != previous]
        state["history"] = [{"endpoint": previous, "last_attempt": state["last_attempt"]}] + earlier
        del state["history"][HISTORY_LENGTH:]
    fresh = empty_state()
    state.update({field: fresh[field] for field in ENDPOINT_FIELDS}, endpoint=endpoint)
    return state


def format_time(moment: datetime) -> str:
    """ISO 8601 UTC with microseconds, ending in Z (the service's and our contract form)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
