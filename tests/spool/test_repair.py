"""spool/repair: whatever sits at our own files' names is set aside, never followed, never deleted through."""

from __future__ import annotations

import os

from telemetry_sender.spool import repair


def test_a_regular_file_of_ours_or_nothing_is_fine(tmp_path):
    assert repair.problem(tmp_path / "sender.lock") is None
    (tmp_path / "sender.lock").write_text("")
    assert repair.set_aside(tmp_path / "sender.lock", 1) == (None, None)


def test_a_symlink_is_renamed_itself_and_its_target_untouched(tmp_path):
    target = tmp_path / "precious"
    target.write_text("keep")
    (tmp_path / "state.json").symlink_to(target)
    moved, problem = repair.set_aside(tmp_path / "state.json", 7)
    assert problem is None and "a symlink" in moved
    assert (tmp_path / "state.json.set-aside-7").is_symlink() and target.read_text() == "keep"
    assert not os.path.lexists(tmp_path / "state.json")


def test_a_folder_is_set_aside_with_its_contents(tmp_path):
    (tmp_path / "sender.lock").mkdir()
    (tmp_path / "sender.lock" / "x").write_text("x")
    moved, _ = repair.set_aside(tmp_path / "sender.lock", 8)
    assert "a folder" in moved and (tmp_path / "sender.lock.set-aside-8" / "x").read_text() == "x"


def test_when_it_cannot_be_moved_the_reason_says_so(tmp_path, monkeypatch):
    (tmp_path / "sender.lock").mkdir()

    def refuse(*_a, **_k):
        raise PermissionError(13, "read-only")

    monkeypatch.setattr(os, "rename", refuse)
    moved, problem = repair.set_aside(tmp_path / "sender.lock", 9)
    assert moved is None and problem.startswith("sender.lock is a folder and cannot be set aside (EACCES)")
