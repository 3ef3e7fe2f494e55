"""The state file: saved and loaded whole, a corrupt one read as fresh, backoff read from it."""

from __future__ import annotations

from datetime import timedelta

from helpers import FIXED_NOW
from telemetry_sender import recording
from telemetry_sender.spool import state


def test_state_round_trip_and_corrupt_file_reads_fresh(tmp_path):
    path = tmp_path / "state.json"
    now = FIXED_NOW
    saved = state.empty_state()
    saved["next_attempt"] = state.format_time(now + timedelta(seconds=30))
    saved["lost"]["expired"] = 3
    state.save_state(path, saved)
    loaded = state.load_state(path)
    assert loaded["lost"]["expired"] == 3
    assert recording.backing_off(loaded, now)
    assert not recording.backing_off(loaded, now + timedelta(seconds=31))
    path.write_text("{not json")
    assert state.load_state(path) == state.empty_state()


def test_old_state_files_count_corrupt_as_quarantined():
    from telemetry_sender.spool.state import merge_saved

    assert merge_saved({"lost": {"corrupt": 2, "quarantined": 1}})["lost"]["quarantined"] == 3
