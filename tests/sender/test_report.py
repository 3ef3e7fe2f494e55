"""sender/report: the one tally of a drain and the outcome that decides the exit code."""

from __future__ import annotations

import json

from telemetry_sender.sender.report import DrainReport, Outcome
from telemetry_sender.spool.state import LossReason, empty_state, merge_saved


def test_a_loss_is_counted_in_the_report_and_the_saved_counters_together():
    state, report = empty_state(), DrainReport()
    report.lose(state, LossReason.QUARANTINED, 2)
    report.lose(state, LossReason.EXPIRED, 0)
    assert report.quarantined == 2 and state["lost"]["quarantined"] == 2 and state["lost"]["expired"] == 0


def test_a_drain_that_ran_to_the_end_says_whether_all_was_accepted():
    assert DrainReport().finish(Outcome.EMPTY).outcome is Outcome.EMPTY
    assert DrainReport(sent=2).finish(Outcome.EMPTY).outcome is Outcome.DELIVERED
    rejected = DrainReport(sent=1, rejected=2, rejection="HTTP 400: Invalid instrumentation key").finish(Outcome.EMPTY)
    assert rejected.outcome is Outcome.REJECTED and not rejected.outcome.all_accepted
    assert rejected.detail == "the service rejected 2: HTTP 400: Invalid instrumentation key"
    assert rejected.summary().startswith("rejected: sent 1, rejected 2")


def test_backing_off_keeps_its_next_attempt_and_wins_over_rejections():
    report = DrainReport(rejected=1).finish(Outcome.BACKING_OFF, "2026-11-30T12:00:00.000000Z")
    assert report.outcome is Outcome.BACKING_OFF and report.next_attempt == "2026-11-30T12:00:00.000000Z"
    assert DrainReport().finish(Outcome.LOCKED, "2026-11-30T12:00:00.000000Z").next_attempt is None


def test_the_json_form_keeps_the_documented_keys_and_plain_strings():
    doc = json.loads(json.dumps(DrainReport(sent=3).finish(Outcome.EMPTY).to_dict()))
    assert doc["outcome"] == "delivered"
    assert {"sent", "retried", "rejected", "quarantined", "expired", "evicted", "outcome", "next_attempt",
            "opted_out", "detail"} <= set(doc) and "claimed" not in doc


def test_outcomes_accept_their_words():
    assert DrainReport(outcome="backing-off").outcome is Outcome.BACKING_OFF and str(Outcome.LOCKED) == "locked"


def test_a_trimmed_event_is_counted_in_the_report_and_state_json_together():
    state, report = empty_state(), DrainReport(sent=3)
    report.trim(state)
    report.trim(state, 0)
    assert report.trimmed == 1 and state["trimmed"] == 1
    assert report.finish(Outcome.EMPTY).summary() == "delivered: sent 3 (1 trimmed)"
    assert json.loads(json.dumps(report.to_dict()))["trimmed"] == 1
    assert DrainReport(sent=2).finish(Outcome.EMPTY).summary() == "delivered: sent 2"


def test_state_files_from_before_the_trimmed_counter_still_load():
    assert merge_saved({"lost": {"expired": 2}})["trimmed"] == 0  # written by an older sender
    assert merge_saved({"trimmed": 5})["trimmed"] == 5
    for edited in (-3, "7", True, None, [1]):  # state.json is a file a person may edit
        assert merge_saved({"trimmed": edited})["trimmed"] == 0
    state = merge_saved({"lost": {"expired": 2}})
    DrainReport().trim(state, 2)
    assert state["trimmed"] == 2 and state["lost"]["expired"] == 2


def test_events_dropped_unsent_are_never_reported_as_delivered():
    report = DrainReport(sent=2, quarantined=1).finish(Outcome.EMPTY)
    assert report.outcome is Outcome.LOST and not report.outcome.all_accepted
    assert report.detail == "dropped unsent: 1 quarantined"
    expired = DrainReport(expired=3, evicted=1).finish(Outcome.EMPTY)
    assert expired.outcome is Outcome.LOST and expired.detail == "dropped unsent: 3 expired, 1 evicted"
    assert DrainReport(sent=1, rejected=1, expired=1).finish(Outcome.EMPTY).outcome is Outcome.REJECTED
    assert DrainReport(sent=1).finish(Outcome.EMPTY).outcome is Outcome.DELIVERED
