"""What a drain reports: running progress for `flush`, and the final report for `send` and `status`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class DrainProgress:
    """Running totals, reported after each batch (for `flush` progress output)."""

    sent: int
    retried: int
    rejected: int
    quarantined: int
    batches: int


@dataclass(frozen=True)
class DrainReport:
    """What one drain did and why it stopped."""

    sent: int = 0
    retried: int = 0
    rejected: int = 0
    quarantined: int = 0
    expired: int = 0
    evicted: int = 0
    outcome: str = "empty"  # empty | delivered | backing-off | disabled | locked | deadline | unsafe
    next_attempt: str | None = None
    opted_out: int = 0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON-able data."""
        return asdict(self)

    def summary(self) -> str:
        """One line for people."""
        parts = [f"{self.outcome}: sent {self.sent}"]
        for label, value in (("kept for retry", self.retried), ("rejected", self.rejected),
                             ("quarantined", self.quarantined), ("expired", self.expired),
                             ("evicted", self.evicted), ("deleted (opted out)", self.opted_out)):
            if value:
                parts.append(f"{label} {value}")
        if self.next_attempt:
            parts.append(f"next attempt {self.next_attempt}")
        if self.detail:
            parts.append(self.detail)
        return ", ".join(parts)
