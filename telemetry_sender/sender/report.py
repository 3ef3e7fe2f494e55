"""The one value a drain counts into: shown as progress by `flush`, printed by `send`, saved as counters.

`DrainReport` is filled in as the drain goes (its `lose` and `trim` update the saved
counters of state.json in the same call, so the two never disagree) and returned at the
end with the `Outcome` that says why the drain stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from telemetry_sender.spool.state import LossReason, count


class Outcome(str, Enum):
    """Why a drain stopped; only EMPTY and DELIVERED mean every pending event was accepted."""

    EMPTY = "empty"  # nothing was pending
    DELIVERED = "delivered"  # everything pending was accepted
    REJECTED = "rejected"  # the service refused some events for good (dead-lettered)
    LOST = "lost"  # events were dropped unsent: expired (7 days), evicted (10 MiB cap) or unreadable (quarantined)
    BACKING_OFF = "backing-off"  # a retriable failure: the rest waits for the backoff
    DEADLINE = "deadline"  # the sender's lifetime ran out: the rest waits for the next sender
    DISABLED = "disabled"  # telemetry is off (opted out, or no connection string)
    LOCKED = "locked"  # another sender holds the spool
    UNSAFE = "unsafe"  # the spool (or our own files in it) cannot be used safely

    def __str__(self) -> str:
        return self.value

    @property
    def all_accepted(self) -> bool:
        """True when nothing that was pending is left undelivered (exit code 0)."""
        return self in (Outcome.EMPTY, Outcome.DELIVERED)


_LOSS_FIELDS = {
    LossReason.EXPIRED: "expired",
    LossReason.EVICTED: "evicted",
    LossReason.REJECTED: "rejected",
    LossReason.QUARANTINED: "quarantined",
    LossReason.OPTED_OUT: "opted_out",
}
_SUMMARY_LABELS = (("retried", "kept for retry"), ("rejected", "rejected"), ("quarantined", "quarantined"),
                   ("expired", "expired"), ("evicted", "evicted"), ("opted_out", "deleted (opted out)"))


@dataclass
class DrainReport:  # pylint: disable=too-many-instance-attributes  # a report: one field per count
    """What one drain did (so far) and why it stopped."""

    sent: int = 0
    retried: int = 0
    rejected: int = 0
    quarantined: int = 0
    batches: int = 0
    expired: int = 0
    evicted: int = 0
    opted_out: int = 0
    trimmed: int = 0  # of `sent`: accepted without fields their spool file held (sender/dictionary.py)
    outcome: Outcome = Outcome.EMPTY
    next_attempt: str | None = None
    detail: str = ""
    rejection: str = ""  # the service's message on the first event it rejected
    rejection_status: int | None = None  # and its HTTP status
    claimed: int = 0  # files leased by this drain (how it notices that nothing more can be claimed)

    def __post_init__(self) -> None:
        self.outcome = Outcome(self.outcome)  # "delivered" and Outcome.DELIVERED alike

    def lose(self, state: dict[str, Any], reason: LossReason, number: int = 1) -> None:
        """Count `number` events lost for `reason`, here and in the saved counters alike."""
        if number <= 0:
            return
        name = _LOSS_FIELDS[reason]
        setattr(self, name, getattr(self, name) + number)
        state["lost"][reason.value] = count(state["lost"].get(reason.value)) + number

    def trim(self, state: dict[str, Any], number: int = 1) -> None:
        """Count `number` events sent without fields their file held, here and in state.json alike."""
        if number <= 0:
            return
        self.trimmed += number
        state["trimmed"] = count(state.get("trimmed")) + number

    @property
    def settled(self) -> int:
        """Events this drain settled one way or another: sent, rejected, quarantined, expired or evicted."""
        return self.sent + self.rejected + self.quarantined + self.expired + self.evicted

    def finish(self, outcome: Outcome, next_attempt: str | None = None) -> "DrainReport":
        """Set why the drain stopped; a drain that ran to the end says whether all was accepted."""
        lost = {"expired": self.expired, "evicted": self.evicted, "quarantined": self.quarantined}
        if outcome is Outcome.EMPTY and self.rejected:
            outcome = Outcome.REJECTED
            self.detail = self.detail or f"the service rejected {self.rejected}: {self.rejection}"
        elif outcome is Outcome.EMPTY and any(lost.values()):
            outcome = Outcome.LOST  # not every pending event was accepted: exit code 0 would hide them
            self.detail = self.detail or "dropped unsent: " + ", ".join(f"{n} {w}" for w, n in lost.items() if n)
        elif outcome is Outcome.EMPTY and self.sent:
            outcome = Outcome.DELIVERED
        self.outcome = outcome
        self.next_attempt = next_attempt if outcome in (Outcome.BACKING_OFF, Outcome.DEADLINE) else None
        return self

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able data (`send --json`)."""
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "claimed"}
        doc["outcome"] = self.outcome.value
        return doc

    def summary(self) -> str:
        """One line for people."""
        parts = [f"{self.outcome}: sent {self.sent}" + (f" ({self.trimmed} trimmed)" if self.trimmed else "")]
        parts += [f"{label} {getattr(self, name)}" for name, label in _SUMMARY_LABELS if getattr(self, name)]
        if self.next_attempt:
            parts.append(f"next attempt {self.next_attempt}")
        if self.detail:
            parts.append(self.detail)
        return ", ".join(parts)
