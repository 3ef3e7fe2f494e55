"""telemetry_sender.sender.state_writes: what a drain writes into state.json, read back as a hand-edited file may be."""

from __future__ import annotations

import random
from datetime import timedelta

from helpers import FIXED_NOW
from telemetry_sender.recording import backing_off, parse_time
from telemetry_sender.sender import state_writes
from telemetry_sender.sender.report import DrainReport
from telemetry_sender.sender.policy import BatchVerdict, ItemRejection, VerdictKind
from telemetry_sender.spool.state import empty_state


def test_a_retriable_failure_writes_not_before_t_and_counts_the_failures():
    state = empty_state()
    throttled = BatchVerdict(VerdictKind.RETRY, 429, retry_after=120.0, detail="throttled")
    assert state_writes.record_failure(state, throttled, FIXED_NOW, random.Random(1)) == 120.0
    assert state["consecutive_failures"] == 1 and state["backoff_seconds"] == 120.0
    assert parse_time(state["next_attempt"]) == FIXED_NOW + timedelta(seconds=120)
    assert backing_off(state, FIXED_NOW + timedelta(seconds=119)) and not backing_off(state, FIXED_NOW + timedelta(seconds=121))
    assert state["last_attempt"] == {"time": state["last_attempt"]["time"], "outcome": "retry", "status": 429,
                                     "detail": "throttled"}
    offline = BatchVerdict(VerdictKind.RETRY, None, offline=True, detail="connection refused")
    wait = state_writes.record_failure(state, offline, FIXED_NOW, random.Random(1))
    assert state["consecutive_failures"] == 2 and 0 < wait <= 60  # merely offline: never more than a minute


def test_a_hand_edited_failure_count_reads_as_zero():
    state = empty_state()
    state["consecutive_failures"] = "many"
    state_writes.record_failure(state, BatchVerdict(VerdictKind.RETRY, 503), FIXED_NOW, random.Random(2))
    assert state["consecutive_failures"] == 1


def _answered(state, report, verdict, now):
    """What the drain does with one answered batch: count it into the report, then write the attempt."""
    report.sent += len(verdict.accepted)
    for rejection in verdict.rejected:
        report.rejected += 1
        report.rejection = report.rejection or f"HTTP {rejection.status}: {rejection.message}"
        report.rejection_status = report.rejection_status or rejection.status
    state_writes.record_answer(state, verdict, now, report)


def test_an_answer_clears_the_backoff_and_says_delivered_only_when_nothing_was_rejected():
    state = empty_state()
    state_writes.record_failure(state, BatchVerdict(VerdictKind.RETRY, 500), FIXED_NOW, random.Random(3))
    _answered(state, DrainReport(), BatchVerdict(VerdictKind.ACCEPTED, 200, accepted=(0, 1)), FIXED_NOW)
    assert state["next_attempt"] is None and state["consecutive_failures"] == 0
    assert state["last_attempt"]["outcome"] == "delivered" and state["last_attempt"]["detail"] == "2 sent"
    assert parse_time(state["last_success"]) == FIXED_NOW
    later = FIXED_NOW + timedelta(minutes=1)
    mixed = BatchVerdict(VerdictKind.PARTIAL, 206, accepted=(0,), rejected=(ItemRejection(1, 400, "bad field"),))
    _answered(state, DrainReport(), mixed, later)
    assert state["last_attempt"]["outcome"] == "rejected" and state["last_attempt"]["status"] == 400
    assert state["last_attempt"]["detail"] == "1 accepted, 1 rejected (HTTP 400: bad field)"
    assert parse_time(state["last_success"]) == later  # one event did arrive
    _answered(state, DrainReport(), BatchVerdict(VerdictKind.REJECTED, 400, rejected=(ItemRejection(0, 400, "x"),)),
              later + timedelta(minutes=1))
    assert parse_time(state["last_success"]) == later  # nothing arrived: the last success stays


def test_a_batch_accepted_after_a_rejected_one_does_not_hide_the_rejection():
    state, drain = empty_state(), DrainReport()
    _answered(state, drain, BatchVerdict(VerdictKind.REJECTED, 400, rejected=(ItemRejection(0, 400, "bad time"),)),
              FIXED_NOW)
    _answered(state, drain, BatchVerdict(VerdictKind.ACCEPTED, 200, accepted=(0, 1, 2)), FIXED_NOW)
    assert state["last_attempt"] == {"time": state["last_attempt"]["time"], "outcome": "rejected", "status": 400,
                                     "detail": "3 accepted, 1 rejected (HTTP 400: bad time)"}
    assert parse_time(state["last_success"]) == FIXED_NOW


def test_dropped_dead_letters_are_counted_per_folder_over_a_planted_value():
    state = empty_state()
    state_writes.drop(state, "rejected", 0)
    assert state["dropped"] == {"rejected": 0, "quarantine": 0}
    state["dropped"] = "planted"
    state_writes.drop(state, "quarantine", 3)
    state_writes.drop(state, "quarantine", 2)
    assert state["dropped"] == {"quarantine": 5}


def test_a_disabled_drain_says_how_many_it_deleted_and_why():
    state = empty_state()
    state_writes.record_disabled(state, FIXED_NOW, "DO_NOT_TRACK is set", 4)
    assert state["last_attempt"]["outcome"] == "disabled"
    assert state["last_attempt"]["detail"] == "DO_NOT_TRACK is set; 4 pending deleted unsent"
