"""Pure policy: response classification, Retry-After, jittered backoff (fake clock, seeded random)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given, strategies as st

from helpers import FIXED_NOW
from telemetry_sender.sender import policy
from telemetry_sender.sender.backoff import exponential_wait, next_wait, parse_retry_after
from telemetry_sender.sender.batch import BatchBuffer, refresh_late_time
from telemetry_sender.protocol import PERMANENT_STATUSES, REDIRECT_STATUSES, RETRIABLE_STATUSES
from telemetry_sender.sender.transport import ERROR_CONNECT, ERROR_READ_TIMEOUT, TransportResult


def result(status, body=None, **headers):
    raw = json.dumps(body).encode() if body is not None else b""
    return TransportResult(status=status, headers=headers, body=raw)


@pytest.mark.parametrize("status", [200, 202, 204])
def test_200_accepts_everything(status):
    verdict = policy.classify(result(status, {"itemsReceived": 3, "itemsAccepted": 3, "errors": []}), 3, FIXED_NOW)
    assert verdict.kind == policy.ACCEPTED and verdict.accepted == (0, 1, 2) and not verdict.stop_pass


def test_206_requeues_retriable_items_drops_the_rest_and_counts_sampled_out_as_accepted():
    body = {"itemsReceived": 5, "itemsAccepted": 1, "appId": None, "errors": [
        {"index": 1, "statusCode": 500, "message": "Internal"},
        {"index": 2, "statusCode": 400, "message": "Field 'time' on type 'Envelope' is older than the allowed min date."},
        {"index": 3, "statusCode": 206, "message": "Telemetry sampled out."},
        {"index": 4, "statusCode": 429, "message": "Throttled"},
    ]}
    verdict = policy.classify(result(206, body), 5, FIXED_NOW)
    assert verdict.kind == policy.PARTIAL
    assert verdict.accepted == (0, 3)
    assert verdict.requeue == (1, 4)
    assert [(r.index, r.status) for r in verdict.rejected] == [(2, 400)]
    assert "older than" in verdict.rejected[0].message
    assert verdict.stop_pass


def test_206_without_retriable_items_does_not_stop_the_pass():
    body = {"errors": [{"index": 0, "statusCode": 400, "message": "bad"}]}
    verdict = policy.classify(result(206, body), 2, FIXED_NOW)
    assert verdict.accepted == (1,) and not verdict.requeue and not verdict.stop_pass


@pytest.mark.parametrize("body", [
    {"itemsReceived": 3, "itemsAccepted": 1},  # no errors list: which two failed is unknown
    {"itemsReceived": 3, "itemsAccepted": 1, "errors": [{"index": 0, "statusCode": 400, "message": "bad"}]},
])
def test_206_that_does_not_name_every_failed_item_keeps_the_unnamed_ones(body):
    verdict = policy.classify(result(206, body), 3, FIXED_NOW)
    assert not verdict.accepted  # a duplicate (same eventId) is acceptable, a loss is not
    assert set(verdict.requeue) | {r.index for r in verdict.rejected} == {0, 1, 2} or verdict.kind == policy.RETRY


def test_206_with_unreadable_body_keeps_the_batch():
    verdict = policy.classify(TransportResult(status=206, body=b"<html>"), 2, FIXED_NOW)
    assert verdict.kind == policy.RETRY


@pytest.mark.parametrize("status", sorted(PERMANENT_STATUSES | {410, 413, 422}))
def test_permanent_rejections_dead_letter_with_the_service_message(status):
    body = {"itemsReceived": 2, "itemsAccepted": 0,
            "errors": [{"index": 0, "statusCode": status, "message": "Invalid instrumentation key"}]}
    verdict = policy.classify(result(status, body), 2, FIXED_NOW)
    assert verdict.kind == policy.REJECTED and not verdict.stop_pass
    assert [r.index for r in verdict.rejected] == [0, 1]
    assert all(r.message == "Invalid instrumentation key" and r.status == status for r in verdict.rejected)


def test_permanent_rejection_with_a_plain_body_keeps_its_text():
    verdict = policy.classify(TransportResult(status=400, body=b"Bad Request"), 1, FIXED_NOW)
    assert verdict.rejected[0].message == "Bad Request"
    assert policy.classify(TransportResult(status=404), 1, FIXED_NOW).rejected[0].message == "HTTP 404"


@pytest.mark.parametrize("status", sorted(RETRIABLE_STATUSES | REDIRECT_STATUSES | {301, 302, 501, 599}))
def test_retriable_statuses_keep_the_batch_and_stop(status):
    verdict = policy.classify(result(status), 4, FIXED_NOW)
    assert verdict.kind == policy.RETRY and verdict.stop_pass and not verdict.accepted and not verdict.rejected


def test_an_informational_status_is_unexpected_and_retried():
    verdict = policy.classify(result(100), 1, FIXED_NOW)
    assert verdict.kind == policy.RETRY and verdict.detail == "unexpected HTTP 100"


def test_network_errors_keep_the_batch_and_mark_offline():
    offline = policy.classify(TransportResult(error=ERROR_CONNECT), 2, FIXED_NOW)
    assert offline.kind == policy.RETRY and offline.offline
    slow = policy.classify(TransportResult(error=ERROR_READ_TIMEOUT), 2, FIXED_NOW)
    assert slow.kind == policy.RETRY and not slow.offline


def test_retry_after_seconds_and_http_date():
    assert policy.classify(result(429, **{"Retry-After": "7"}), 1, FIXED_NOW).retry_after == 7
    date = format_datetime(FIXED_NOW + timedelta(seconds=90), usegmt=True)
    assert policy.classify(result(503, **{"retry-after": date}), 1, FIXED_NOW).retry_after == 90
