"""The skew rules of telemetry_sender.sender.clock with fixed clocks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from telemetry_sender.sender.clock import ClockEvidence, expiry_now, parse_http_date, stamp_now

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
