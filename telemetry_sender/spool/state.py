"""The spool root's state.json: backoff, redirect, last attempt and loss counters.

Read by the recorder (only `next_attempt`, to skip spawning while the service asked
us to wait) and by `status`; written only by the sender that holds the lock.
Schema (all times are ISO 8601 UTC strings ending in Z, or null):
    next_attempt: no automatic send before this time
    backoff_seconds: the last wait chosen, for the record (growth counts consecutive_failures)
    consecutive_failures: retriable failures in a row
    last_attempt: {"time", "outcome", "status", "detail"} or null
    redirect: {"endpoint", "expires", "origin"} or null; "origin" is the configured endpoint
        that redirected, and the cache is used only while that is still the one configured
    target: {"endpoint", "sent_to", "ikey", "time"} or null: where the last attempt went (the configured
        endpoint, the one that answered, the instrumentation key), so support can tell from a copied spool
    lost: {"expired", "evicted", "rejected", "corrupt", "opted_out"} counts
    dropped: {"rejected", "quarantine"} old files removed by those folders' caps
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from telemetry_sender.spool.private_files import read_regular_file, write_private_atomic
from telemetry_sender.protocol import BACKOFF_CAP_SECONDS, RETRY_AFTER_CAP_SECONDS

LOSS_REASONS = ("expired", "evicted", "rejected", "corrupt", "opted_out")
MAX_STATE_BYTES = 64 * 1024  # far more than a sender ever writes; a bigger state.json is not read


def empty_state() -> dict[str, Any]:
    """A fresh state: nothing attempted, nothing lost."""
    return {
        "next_attempt": None,
        "backoff_seconds": 0,
        "consecutive_failures": 0,
        "last_attempt": None,
        "redirect": None,
        "target": None,
        "lost": {reason: 0 for reason in LOSS_REASONS},
        # Old dead letters / quarantined files dropped by the 1 MiB caps of rejected/ and quarantine/.
        "dropped": {"rejected": 0, "quarantine": 0},
    }


def merge_saved(saved: object) -> dict[str, Any]:
    """A saved state document merged over the defaults (unknown keys and non-int loss counts dropped)."""
    state = empty_state()
    if not isinstance(saved, dict):
        return state
    state.update({k: v for k, v in saved.items() if k in state and k != "lost"})
    lost = saved.get("lost")
    if isinstance(lost, dict):
        state["lost"].update({k: v for k, v in lost.items() if k in LOSS_REASONS and isinstance(v, int)})
    return state


def load_state(path: Path) -> dict[str, Any]:
    """The saved state merged over defaults; a missing or unreadable file reads as fresh."""
    try:
        saved = json.loads(read_regular_file(path, MAX_STATE_BYTES))
    except (OSError, ValueError):
        return empty_state()
    return merge_saved(saved)


def count(value: object) -> int:
    """A saved counter as a non-negative int; anything else (a hand-edited state file) reads as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write the state atomically (0600)."""
    write_private_atomic(path, json.dumps(state, indent=2, sort_keys=True).encode("utf-8"))


def record_target(state: dict[str, Any], endpoint: str, sent_to: str, ikey: str, now: datetime) -> None:
    """Note where the sender's last attempt went: public identifiers of the product, never user data."""
    state["target"] = {"endpoint": endpoint, "sent_to": sent_to, "ikey": ikey, "time": format_time(now)}


def format_time(moment: datetime) -> str:
    """ISO 8601 UTC with microseconds, ending in Z (the service's and our contract form)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: object) -> datetime | None:
    """Parse our ISO form (or any fromisoformat-able UTC text); None when absent or bad."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def backing_off(state: dict[str, Any], now: datetime) -> bool:
    """True while the saved backoff says "not before T" and T is still ahead.

    A T further ahead than any wait a sender writes (a clock that was wrong, an edited
    file) is ignored: it must not stop automatic sending for days.
    """
    not_before = parse_time(state.get("next_attempt"))
    longest = timedelta(seconds=max(BACKOFF_CAP_SECONDS, RETRY_AFTER_CAP_SECONDS))
    return not_before is not None and now < not_before <= now + longest
