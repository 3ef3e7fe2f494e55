"""Which "now" a drain may trust: the local clock only when the evidence agrees with it.

A wrong clock must never destroy events: expiry (destructive) uses a now no later
than the evidence supports, and late-event re-stamping a now no earlier than it.
The evidence: the service's `Date` header (the truth, once it has answered), the
service's last answer carried forward by the machine's boot clock (which a change of
the wall clock does not move; same boot only), the newest file in the spool and the last
successful attempt (this machine's own past, written by the same clock that may be wrong).
Pure: every time is a parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Mapping

from telemetry_sender.recording import PLAUSIBLE_YEARS, parse_time
from telemetry_sender.spool.state import format_time

# How far the local clock may stray from this machine's own past before it is doubted.
CLOCK_TOLERANCE_SECONDS = 3600


@dataclass(frozen=True)
class ClockEvidence:
    """What a drain knows about the time besides its own clock."""

    service_offset: float | None = None  # service Date minus the local clock, from an answer in this run
    newest_file: datetime | None = None  # the recording time of the newest pending event
    last_success: datetime | None = None  # when the service last accepted events
    carried_offset: float | None = None  # the same as service_offset, from an earlier run on this boot

    def with_service_date(self, date: datetime | None, local_now: datetime) -> "ClockEvidence":
        """The evidence once the service answered with `date` (unchanged when it sent none)."""
        if date is None:
            return self
        return ClockEvidence((date - local_now).total_seconds(), self.newest_file, self.last_success,
                             self.carried_offset)

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
    if when is None or when.year not in PLAUSIBLE_YEARS:
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def service_now(local_now: datetime, evidence: ClockEvidence) -> datetime | None:
    """The service's clock as of `local_now`, when it has answered in this run."""
    if evidence.service_offset is None:
        return None
    return local_now + timedelta(seconds=evidence.service_offset)


def expiry_now(local_now: datetime, evidence: ClockEvidence) -> datetime:
    """The now retention may expire against: the service's clock, else never later than the evidence allows.

    A clock days ahead of the newest event and the last success is not believed, nor one
    ahead of the service's last answer carried forward on this boot (which catches a clock
    that jumped ahead and then stamped new events): events recorded at the right time are
    kept (sent late, re-stamped) rather than destroyed. The carried answer only ever holds
    expiry back, so a planted state.json cannot make events expire early.
    """
    trusted = service_now(local_now, evidence)
    if trusted is not None:
        return trusted
    tolerance = timedelta(seconds=CLOCK_TOLERANCE_SECONDS)
    bounds = [local_now]
    anchor = evidence.anchor()
    if anchor is not None:
        bounds.append(anchor + tolerance)
    if evidence.carried_offset is not None:
        bounds.append(local_now + timedelta(seconds=evidence.carried_offset) + tolerance)
    return min(bounds)


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


def saved_answer(service_time: datetime, boot: tuple[str, float] | None) -> dict[str, Any] | None:
    """What state.json keeps of the service's answer for later runs on this boot (None: no boot clock here)."""
    if boot is None:
        return None
    boot_id, boot_seconds = boot
    return {"boot": boot_id, "boot_seconds": round(boot_seconds, 6), "service_time": format_time(service_time)}


def carried_offset(saved: object, boot: tuple[str, float] | None, local_now: datetime) -> float | None:
    """The service clock minus `local_now`, from an answer saved on this boot and carried forward by the
    boot clock; None when there is none (another boot, no boot clock, a malformed or planted entry)."""
    if boot is None or not isinstance(saved, Mapping):
        return None
    boot_id, boot_seconds = boot
    then, at = parse_time(saved.get("service_time")), saved.get("boot_seconds")
    if saved.get("boot") != boot_id or then is None or isinstance(at, bool) or not isinstance(at, (int, float)):
        return None
    if not 0 <= at <= boot_seconds:
        return None
    return (then + timedelta(seconds=boot_seconds - at) - local_now).total_seconds()
