"""Batches: count and byte limits, late events sent with the send time."""

from __future__ import annotations

from hypothesis import given, strategies as st

from helpers import FIXED_NOW
from telemetry_sender.sender.batch import BatchBuffer, refresh_late_time


def test_late_events_get_the_send_time_but_keep_their_timestamp():
    old = {"time": "2026-11-20T09:00:00.000000Z", "data": {"baseData": {"properties": {"timestamp": "2026-11-20T09:00:00Z"}}}}
    fresh = refresh_late_time(old, FIXED_NOW)
    assert fresh["time"] == "2026-11-25T09:00:00.000000Z"
    assert fresh["data"]["baseData"]["properties"]["timestamp"] == "2026-11-20T09:00:00Z"
    assert old["time"] == "2026-11-20T09:00:00.000000Z"  # input untouched
    recent = {"time": "2026-11-24T09:00:00.000000Z"}
    assert refresh_late_time(recent, FIXED_NOW) == recent
    skewed = {"time": "2026-11-25T12:00:00.000000Z"}  # 3 h ahead: the recording clock was wrong
    assert refresh_late_time(skewed, FIXED_NOW)["time"] == "2026-11-25T09:00:00.000000Z"
    unparsable = {"time": "yesterday"}
    assert refresh_late_time(unparsable, FIXED_NOW)["time"] == "2026-11-25T09:00:00.000000Z"


@given(st.lists(st.integers(min_value=1, max_value=5000), max_size=2000))
def test_batches_respect_count_and_byte_limits(sizes):
    buffers, current = [], BatchBuffer(max_items=512, max_bytes=100_000)
    for size in sizes:
        item = b"x" * size
        if not current.fits(item):
            buffers.append(current)
            current = BatchBuffer(max_items=512, max_bytes=100_000)
        current.add(item)
    buffers.append(current)
    assert sum(len(b.items) for b in buffers) == len(sizes)
    for buf in buffers:
        assert len(buf.items) <= 512
        assert buf.size == len(b"[" + b",".join(buf.items) + b"]") or not buf.items
        assert buf.size <= 100_000 or len(buf.items) == 1
