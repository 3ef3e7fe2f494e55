"""The shared spool primitives: layout, private atomic files, the lock, the state file."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timedelta, timezone

import pytest

from telemetry_sender.spool import recording as fsutil
from telemetry_sender.spool import lock
from telemetry_sender.spool import state
from telemetry_sender.spool.layout import SpoolLayout


def test_default_root_follows_azure_config_dir(tmp_path):
    layout = SpoolLayout.default({"AZURE_CONFIG_DIR": str(tmp_path)})
    assert layout.root == tmp_path / "prototype" / "telemetry"
    assert layout.spool == layout.root / "spool"


def test_spool_argument_accepts_root_or_its_spool_folder(tmp_path):
    assert SpoolLayout.from_arg(tmp_path).root == tmp_path
    assert SpoolLayout.from_arg(tmp_path / "spool").root == tmp_path


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


def test_lock_is_exclusive_and_probeable(tmp_path):
    path = tmp_path / "sender.lock"
    assert not fsutil.is_held(path)
    held = lock.try_acquire(path)
    assert held is not None
    # flock locks belong to the open file description: a second open contends.
    assert lock.try_acquire(path) is None
    assert fsutil.is_held(path)
    held.release()
    assert not fsutil.is_held(path)


def test_state_round_trip_and_corrupt_file_reads_fresh(tmp_path):
    path = tmp_path / "state.json"
    now = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    saved = state.empty_state()
    saved["next_attempt"] = state.format_time(now + timedelta(seconds=30))
    saved["lost"]["expired"] = 3
    state.save_state(path, saved)
    loaded = state.load_state(path)
    assert loaded["lost"]["expired"] == 3
    assert fsutil.backing_off(loaded, now)
    assert not fsutil.backing_off(loaded, now + timedelta(seconds=31))
    path.write_text("{not json")
    assert state.load_state(path) == state.empty_state()


def test_written_events_sort_in_recording_order(tmp_path):
    from telemetry_sender.spool.write import write_event

    layout = SpoolLayout(tmp_path / "root")
    first = write_event(layout, {"n": 1}, now_ns=1)
    second = write_event(layout, {"n": 2}, now_ns=2)
    assert sorted(p.name for p in layout.spool.glob("*.json")) == [first.name, second.name]
    assert stat.S_IMODE(os.stat(layout.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o600
