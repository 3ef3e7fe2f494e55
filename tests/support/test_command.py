"""The support flows return values both front ends render: purge asks, refuses, deletes inside the root only."""

from __future__ import annotations

from telemetry_sender.spool import lock
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.support.command import PurgeOutcome, run_purge


def test_purge_flow_outcomes(spool):
    layout = SpoolLayout(spool)
    asked = []
    nobody = run_purge(layout, include_all=False, yes=False, confirm=lambda q: asked.append(q))
    assert nobody.outcome is PurgeOutcome.NEEDS_YES and "--yes" in nobody.message
    assert asked == [f"Delete 4 pending events from {spool}?"]
    declined = run_purge(layout, include_all=False, yes=False, confirm=lambda q: False)
    assert declined.outcome is PurgeOutcome.DECLINED and len(list((spool / "spool").iterdir())) == 5
    held = lock.try_acquire(layout.lock_file)
    assert held is not None
    with held:
        busy = run_purge(layout, include_all=True, yes=True, confirm=lambda q: True, status_hint="'az x status'")
    assert busy.outcome is PurgeOutcome.SENDER_RUNNING and "'az x status'" in busy.message
    done = run_purge(layout, include_all=True, yes=True, confirm=lambda q: None)
    assert done.outcome is PurgeOutcome.DONE and done.counts.as_dict() == {"pending": 4, "rejected": 1, "quarantined": 1, "failed": 0}
    assert done.message == f"Deleted 4 pending events, 1 dead letter and 1 quarantined file from {spool}."
