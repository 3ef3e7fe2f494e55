"""The sender lock: exclusive, and probeable without taking it."""

from __future__ import annotations

from telemetry_sender.spool import lock


def test_lock_is_exclusive_and_probeable(tmp_path):
    path = tmp_path / "sender.lock"
    assert not lock.is_held(path)
    held = lock.try_acquire(path)
    assert held is not None
    # flock locks belong to the open file description: a second open contends.
    assert lock.try_acquire(path) is None
    assert lock.is_held(path)
    held.release()
    assert not lock.is_held(path)
