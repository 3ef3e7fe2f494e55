"""Pure response classification (PROTOCOL.md, "Response"): what happens to each item of a batch.

Given the final transport result of one POST of `count` items, decide which items are
accepted (delete), which go back to the spool (retriable item errors), which are
dead-lettered (with the service's message), and whether the pass must stop and back off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from datetime import datetime
from typing import Any

from telemetry_sender.sender.backoff import parse_retry_after
from telemetry_sender.protocol import (
    RETRIABLE_ITEM_STATUSES,
    RETRIABLE_STATUSES,
    SAMPLED_OUT_MESSAGE,
    STATUS_PARTIAL,
)
from telemetry_sender.sender.transport import OFFLINE_ERRORS, TransportResult


class VerdictKind(str, Enum):
    """What the service's answer to one request means for the batch as a whole."""

    ACCEPTED = "accepted"  # every item accepted
    PARTIAL = "partial"  # some items accepted or rejected; `requeue` may be non-empty
    REJECTED = "rejected"  # a permanent rejection of the request
    RETRY = "retry"  # keep everything, stop the pass, back off

    def __str__(self) -> str:
        return self.value


ACCEPTED, PARTIAL, REJECTED, RETRY = VerdictKind.ACCEPTED, VerdictKind.PARTIAL, VerdictKind.REJECTED, VerdictKind.RETRY
# Item messages of the service for an envelope time outside its window (PROTOCOL.md, "Envelope").
_TIME_WINDOW_MESSAGES = ("allowed min date", "max date")
# The item status given to items a 206 neither accepted for sure nor named: retried like a 500.
RETRIABLE_ITEM_STATUS_UNKNOWN = 500


@dataclass(frozen=True)
class ItemRejection:
    """One dead-lettered item: its index in the batch and the service's word on it."""

    index: int
    status: int
    message: str

    @property
    def time_window(self) -> bool:
        """True when the item was refused only for its envelope time (re-stamp and send again)."""
        text = self.message.lower()
        return self.status == 400 and any(words in text for words in _TIME_WINDOW_MESSAGES)


@dataclass(frozen=True)
class BatchVerdict:  # pylint: disable=too-many-instance-attributes  # a value: one field per fact of the verdict
    """The decision for one batch; indices refer to positions in the request."""

    kind: VerdictKind
    status: int | None
    accepted: tuple[int, ...] = ()
    requeue: tuple[int, ...] = ()
    rejected: tuple[ItemRejection, ...] = ()
    retry_after: float | None = None
    offline: bool = False
    detail: str = ""

    @property
    def stop_pass(self) -> bool:
        """True when the drain must stop and back off (service or network under pressure)."""
        return self.kind == RETRY or bool(self.requeue)


def _item_errors(body: bytes) -> dict[int, tuple[int, str]] | None:
    """index -> (statusCode, message) from a response body; None when the body is not the service's JSON."""
    try:
        parsed: Any = json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: a body of nested brackets
        return None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("errors", []), list):
        return None
    errors: dict[int, tuple[int, str]] = {}
    for error in parsed.get("errors", []):
        if not isinstance(error, dict):
            continue
        index, status = error.get("index"), error.get("statusCode")
        if isinstance(index, int) and not isinstance(index, bool) and isinstance(status, int):
            errors.setdefault(index, (status, str(error.get("message", ""))[:1024]))
    return errors


def _unnamed_failures(body: bytes, count: int, errors: dict[int, tuple[int, str]]) -> bool:
    """True when a 206 says fewer items were accepted than it leaves unnamed (or names no errors at all).

    Then an item without an error entry may not have been accepted: it is sent again rather
    than deleted (a duplicate carries the same eventId; a loss cannot be undone).
    """
    parsed = json.loads(body.decode("utf-8"))
    if not isinstance(parsed.get("errors"), list):
        return True
    accepted = parsed.get("itemsAccepted")
    unnamed = count - sum(1 for index in errors if 0 <= index < count)
    return isinstance(accepted, int) and not isinstance(accepted, bool) and accepted < unnamed


def _split_items(count: int, errors: dict[int, tuple[int, str]], default: tuple[int, str] | None) -> BatchVerdict:
    """Sort items by their item-level status; items without an error get `default` (None: accepted)."""
    accepted: list[int] = []
    requeue: list[int] = []
    rejected: list[ItemRejection] = []
    for index in range(count):
        error = errors.get(index, default)
        if error is None or error[1].strip() == SAMPLED_OUT_MESSAGE:
            accepted.append(index)
        elif error[0] in RETRIABLE_ITEM_STATUSES:
            requeue.append(index)
        else:
            rejected.append(ItemRejection(index, error[0], error[1]))
    return BatchVerdict(PARTIAL, None, tuple(accepted), tuple(requeue), tuple(rejected))


def _message(body: bytes, status: int) -> str:
    """The service's message for a whole-request rejection (the first item error, else the body text)."""
    errors = _item_errors(body)
    if errors:
        return errors[min(errors)][1]
    text = body.decode("utf-8", "replace").strip()
    return text[:1024] if text else f"HTTP {status}"


def classify(result: TransportResult, count: int, now: datetime) -> BatchVerdict:  # pylint: disable=too-many-return-statements  # one return per class of answer
    """Decide the fate of each of the `count` items sent in the request that produced `result`."""
    if result.status is None:
        kind = result.error or "error"
        return BatchVerdict(RETRY, None, offline=kind in OFFLINE_ERRORS, detail=f"network error: {kind}")
    status = result.status
    retry_after = parse_retry_after(result.header("Retry-After"), now)
    if status == STATUS_PARTIAL:
        errors = _item_errors(result.body)
        if errors is None:
            return BatchVerdict(RETRY, status, retry_after=retry_after, detail="206 with an unreadable body")
        unnamed = (RETRIABLE_ITEM_STATUS_UNKNOWN, "206 left this item unnamed") if _unnamed_failures(
            result.body, count, errors) else None
        split = _split_items(count, errors, unnamed)
        return BatchVerdict(PARTIAL, status, split.accepted, split.requeue, split.rejected, retry_after,
                            detail=f"206: {len(split.accepted)} accepted, {len(split.requeue)} to retry, "
                            f"{len(split.rejected)} rejected")
    if 200 <= status < 300:
        return BatchVerdict(ACCEPTED, status, accepted=tuple(range(count)))
    # The retriable 4xx (auth, timeout, throttling), any 5xx, and any 3xx: a 307/308 gets here
    # only when redirect.py refused to follow it (too many, or a Location it will not use).
    if status in RETRIABLE_STATUSES or status >= 500 or 300 <= status < 400:
        return BatchVerdict(RETRY, status, retry_after=retry_after, detail=f"HTTP {status}")
    if 400 <= status < 500:  # PROTOCOL.md's never-retry codes (PERMANENT_STATUSES) and every other 4xx
        message = _message(result.body, status)
        errors = _item_errors(result.body) or {}
        split = _split_items(count, errors, (status, message))
        return BatchVerdict(REJECTED, status, split.accepted, split.requeue, split.rejected, retry_after,
                            detail=f"HTTP {status}: {message}"[:300])
    return BatchVerdict(RETRY, status, retry_after=retry_after, detail=f"unexpected HTTP {status}")
