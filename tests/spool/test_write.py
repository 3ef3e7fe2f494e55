"""Writing an event: private files whose names sort in recording order."""

from __future__ import annotations

import os
import stat

from telemetry_sender.spool.layout import SpoolLayout


def test_written_events_sort_in_recording_order(tmp_path):
    from telemetry_sender.spool.write import write_event

    layout = SpoolLayout(tmp_path / "root")
    first = write_event(layout, {"n": 1}, now_ns=1)
    second = write_event(layout, {"n": 2}, now_ns=2)
    assert sorted(p.name for p in layout.spool.glob("*.json")) == [first.name, second.name]
    assert stat.S_IMODE(os.stat(layout.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o600
