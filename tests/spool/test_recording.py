"""spool.recording: private files (folders 0700, files 0600 whatever the umask, symlinks never followed), the lock probe and the backoff rule."""

from __future__ import annotations

import os
import stat

import pytest

from telemetry_sender.spool import recording as fsutil


def test_private_dir_and_file_modes(tmp_path):
    folder = fsutil.ensure_private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    target = fsutil.write_private_atomic(folder / "x.json", b"{}")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["x.json"]


def test_missing_parents_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        fsutil.ensure_private_dir(tmp_path / "prototype" / "telemetry" / "spool")
    finally:
        os.umask(old)
    for folder in ("prototype", "prototype/telemetry", "prototype/telemetry/spool"):
        assert stat.S_IMODE(os.stat(tmp_path / folder).st_mode) == 0o700, folder


def test_symlinked_dir_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(fsutil.UnsafePathError):
        fsutil.ensure_private_dir(tmp_path / "link")


def test_symlinked_file_is_not_read(tmp_path):
    (tmp_path / "secret").write_text("x")
    (tmp_path / "link.json").symlink_to(tmp_path / "secret")
    with pytest.raises(OSError):
        fsutil.read_regular_file(tmp_path / "link.json", 100)
