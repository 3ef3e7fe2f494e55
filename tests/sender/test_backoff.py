"""Backoff: Retry-After read, exponential waits jittered and capped, offline waits short."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, strategies as st

from helpers import FIXED_NOW
from telemetry_sender.sender.backoff import exponential_wait, next_wait, parse_retry_after


@pytest.mark.parametrize(
    "value, seconds",
    [("0", 0), ("12", 12), (" 3 ", 3), ("-5", 0), ("999999", 3600), ("soon", None), ("", None), (None, None),
     ("Wed, 25 Nov 2026 08:00:00 GMT", 0), ("Wed, 25 Nov 2026 09:00:30 GMT", 30), ("Fri, 25 Dec 2026 09:00:00 GMT", 3600)],
)
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, FIXED_NOW) == seconds


def test_exponential_backoff_grows_is_jittered_and_capped():
    rng = random.Random(7)
    waits = [exponential_wait(n, rng, offline=False) for n in range(1, 14)]
    for n, wait in enumerate(waits, start=1):
        upper = min(3600, 10 * 2 ** (n - 1))
        assert upper / 2 <= wait <= upper
    assert max(waits) <= 3600 and waits[-1] > 1800


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=2**32))
def test_offline_backoff_never_exceeds_a_minute(failures, seed):
    assert 0 < exponential_wait(failures, random.Random(seed), offline=True) <= 60


def test_retry_after_wins_over_exponential_and_is_capped():
    rng = random.Random(1)
    assert next_wait(9, rng, offline=False, retry_after=3.0) == 3.0
    assert next_wait(1, rng, offline=False, retry_after=99999) == 3600
