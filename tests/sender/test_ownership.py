"""telemetry_sender.sender.ownership: being the one sender of a spool, with our own files taken back first."""

from __future__ import annotations

import os

from telemetry_sender.sender import ownership
from telemetry_sender.spool.lock import is_held, try_acquire


def test_the_lock_is_taken_here_when_none_was_handed_down(layout):
    layout.root.mkdir(parents=True)
    held, why = ownership.take_lock(layout, None)
    assert held is not None and why == "" and is_held(layout.lock_file)  # held: even a second open here contends
    assert try_acquire(layout.lock_file) is None
    ownership.release(held)
    assert try_acquire(layout.lock_file) is not None


def test_another_sender_holding_the_lock_is_no_problem_just_no_lock(layout):
    layout.root.mkdir(parents=True)
    other = try_acquire(layout.lock_file)
    try:
        assert ownership.take_lock(layout, None) == (None, "")
    finally:
        other.release()


def test_a_handed_down_lock_is_kept_as_it_is(layout):
    layout.root.mkdir(parents=True)
    handed = try_acquire(layout.lock_file)
    held, why = ownership.take_lock(layout, handed)
    assert held is handed and why == ""
    held.release()


def test_folders_planted_at_our_names_are_set_aside_then_the_lock_is_taken(layout):
    layout.root.mkdir(parents=True)
    layout.lock_file.mkdir()
    layout.state_file.mkdir()
    held, why = ownership.take_lock(layout, None)
    assert held is not None and why == ""
    assert layout.lock_file.is_file() and not layout.state_file.exists()
    assert sorted(n.split(".set-aside-")[0] for n in os.listdir(layout.root) if ".set-aside-" in n) == [
        "sender.lock", "state.json"]
    held.release()


def test_what_cannot_be_set_aside_is_said_and_a_handed_down_lock_let_go(layout, monkeypatch):
    import errno

    from telemetry_sender.spool import repair

    layout.root.mkdir(parents=True)
    layout.state_file.mkdir()
    handed = try_acquire(layout.lock_file)

    def refuse(*_args):  # a read-only folder, or another owner's (root would not be refused a chmod'ed one)
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(repair.os, "rename", refuse)
    held, why = ownership.take_lock(layout, handed)
    assert held is None and why == "state.json is a folder and cannot be set aside (EACCES): nothing is sent until it is removed"
    assert try_acquire(layout.lock_file) is not None  # the handed-down lock was released
