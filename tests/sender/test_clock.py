"""The skew rules of telemetry_sender.sender.clock with fixed clocks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from telemetry_sender.sender.clock import ClockEvidence, carried_offset, expiry_now, parse_http_date, saved_answer, stamp_now

TRUE_NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
DAY = timedelta(days=1)


def test_a_right_clock_is_used_as_it_is():
    evidence = ClockEvidence(newest_file=TRUE_NOW - timedelta(seconds=2), last_success=TRUE_NOW - DAY)
    assert expiry_now(TRUE_NOW, evidence) == TRUE_NOW and stamp_now(TRUE_NOW, evidence) == TRUE_NOW


def test_no_evidence_leaves_the_clock_alone():
    assert expiry_now(TRUE_NOW, ClockEvidence()) == TRUE_NOW == stamp_now(TRUE_NOW, ClockEvidence())


def test_a_clock_days_ahead_of_the_newest_event_cannot_expire_it():
    evidence = ClockEvidence(newest_file=TRUE_NOW)
    assert expiry_now(TRUE_NOW + 8 * DAY, evidence) <= TRUE_NOW + timedelta(hours=1)
    # Re-stamping is not destructive: the service's answer corrects a wrong guess.
    assert stamp_now(TRUE_NOW + 8 * DAY, evidence) == TRUE_NOW + 8 * DAY


def test_a_clock_days_behind_the_newest_event_stamps_no_earlier_than_it():
    evidence = ClockEvidence(newest_file=TRUE_NOW)
    assert stamp_now(TRUE_NOW - 3 * DAY, evidence) == TRUE_NOW
    assert expiry_now(TRUE_NOW - 3 * DAY, evidence) == TRUE_NOW - 3 * DAY  # expiring less is never a loss


def test_the_services_date_overrules_everything():
    wrong = TRUE_NOW + 8 * DAY
    evidence = ClockEvidence(newest_file=wrong).with_service_date(TRUE_NOW, wrong)
    later = wrong + timedelta(minutes=5)
    assert expiry_now(later, evidence) == stamp_now(later, evidence) == TRUE_NOW + timedelta(minutes=5)


def test_an_answer_without_a_date_teaches_nothing():
    evidence = ClockEvidence(newest_file=TRUE_NOW)
    assert evidence.with_service_date(None, TRUE_NOW) == evidence


def test_http_dates():
    assert parse_http_date("Mon, 30 Nov 2026 12:00:00 GMT") == TRUE_NOW
    assert parse_http_date("yesterday") is None and parse_http_date(None) is None


BOOT = ("5b0c4e6f-0000-4000-8000-000000000001", 5000.0)


def test_the_services_last_answer_is_carried_forward_by_the_boot_clock():
    saved = saved_answer(TRUE_NOW, BOOT)
    later_boot = (BOOT[0], BOOT[1] + 600)  # ten minutes of this boot later, whatever the wall clock says
    wrong = TRUE_NOW + 8 * DAY + timedelta(minutes=10)
    offset = carried_offset(saved, later_boot, wrong)
    assert wrong + timedelta(seconds=offset) == TRUE_NOW + timedelta(minutes=10)


@pytest.mark.parametrize("saved, boot", [
    (None, BOOT),
    ({"boot": "another boot", "boot_seconds": 1.0, "service_time": "2026-11-30T12:00:00.000000Z"}, BOOT),
    ({"boot": BOOT[0], "boot_seconds": 9e9, "service_time": "2026-11-30T12:00:00.000000Z"}, BOOT),  # after now
    ({"boot": BOOT[0], "boot_seconds": True, "service_time": "2026-11-30T12:00:00.000000Z"}, BOOT),
    ({"boot": BOOT[0], "boot_seconds": 1.0, "service_time": "soon"}, BOOT),
    ("planted", BOOT),
    ({"boot": BOOT[0], "boot_seconds": 1.0, "service_time": "2026-11-30T12:00:00.000000Z"}, None),  # no boot clock
])
def test_an_answer_from_another_boot_or_a_planted_entry_carries_nothing(saved, boot):
    assert carried_offset(saved, boot, TRUE_NOW) is None
    assert saved_answer(TRUE_NOW, None) is None


def test_a_clock_that_jumped_ahead_and_stamped_new_events_cannot_expire_the_old_ones():
    wrong = TRUE_NOW + 8 * DAY
    offset = carried_offset(saved_answer(TRUE_NOW, BOOT), (BOOT[0], BOOT[1] + 60), wrong)
    evidence = ClockEvidence(newest_file=wrong, carried_offset=offset)  # a new event, stamped by the wrong clock
    assert expiry_now(wrong, evidence) <= TRUE_NOW + timedelta(hours=1, minutes=1)


def test_a_carried_answer_only_ever_holds_expiry_back():
    planted_future = ClockEvidence(carried_offset=(30 * DAY).total_seconds())
    assert expiry_now(TRUE_NOW, planted_future) == TRUE_NOW
    assert stamp_now(TRUE_NOW, planted_future) == TRUE_NOW  # and re-stamping does not follow it
