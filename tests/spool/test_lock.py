"""The sender lock: exclusive, and probeable without taking it."""

from __future__ import annotations

import os

import pytest

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


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_at_the_lock_is_never_opened(tmp_path, monkeypatch):
    from telemetry_sender.spool import lock as lock_module

    fifo = tmp_path / "sender.lock"
    os.mkfifo(fifo)
    opened = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda path, *a, **k: opened.append(str(path)) or real_open(path, *a, **k))
    assert lock_module.is_held(fifo) is False
    with pytest.raises(OSError):
        lock_module.try_acquire(fifo)
    assert str(fifo) not in opened
