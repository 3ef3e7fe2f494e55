"""Which "now" a drain may trust: the local clock only when the evidence agrees with it.

A wrong clock must never destroy events: expiry (destructive) uses a now no later
than the evidence supports, and late-event re-stamping a now no earlier than it.
The evidence: the service's `Date` header (the truth, once it has answered), the
newest file in the spool and the last successful attempt (this machine's own past).
Pure: every time is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

# How far the local clock may stray from this machine's own past before it is doubted.
CLOCK_TOLERANCE_SECONDS = 3600


@dataclass(frozen=True)
class ClockEvidence:
    """What a drain knows about the time besides its own clock."""

    service_offset: float | None = None  # service Date minus the local clock, from an answer in this run
    newest_file: datetime | None = None  # the recording time of the newest pending event
    last_success: datetime | None = None  # when the service last accepted events

    def with_service_date(self, date: datetime | None, local_now: datetime) -> "ClockEvidence":
        """The evidence once the service answered with `date` (unchanged when it sent none)."""
        if date is None:
            return self
        return ClockEvidence((date - local_now).total_seconds(), self.newest_file, self.last_success)

    def anchor(self) -> datetime | None:
        known = [moment for moment in (self.newest_file, self.last_success) if moment is not None]
        return max(known) if known else None


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP `Date` header as an aware datetime; None when absent or malformed."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def service_now(local_now: datetime, evidence: ClockEvidence) -> datetime | None:
    """The service's clock as of `local_now`, when it has answered in this run."""
    if evidence.service_offset is None:
        return None
    return local_now + timedelta(seconds=evidence.service_offset)


def expiry_now(local_now: datetime, evidence: ClockEvidence) -> datetime:
    """The now retention may expire against: the service's clock, else never later than our own past allows.

    A clock days ahead of the newest event and the last success is not believed: events
    recorded at the right time are kept (sent late, re-stamped) rather than destroyed.
    """
    trusted = service_now(local_now, evidence)
    if trusted is not None:
        return trusted
    anchor = evidence.anchor()
    if anchor is None:
        return local_now
    return min(local_now, anchor + timedelta(seconds=CLOCK_TOLERANCE_SECONDS))


def stamp_now(local_now: datetime, evidence: ClockEvidence) -> datetime:
    """The now late envelopes are re-stamped with: the service's clock, else ours unless it is behind our own past.

    A clock days behind would stamp correct events with a time the service rejects. A
    clock ahead is believed (a laptop back from a long weekend looks just like it); if it
    is wrong, the service says so, and a time-window rejection is re-stamped from its
    `Date` and sent once more.
    """
    trusted = service_now(local_now, evidence)
    if trusted is not None:
        return trusted
    anchor = evidence.anchor()
    if anchor is not None and local_now < anchor - timedelta(seconds=CLOCK_TOLERANCE_SECONDS):
        return anchor
    return local_now
