"""Being the one sender of a spool: the lock, handed down by the spawner or taken here.

Whatever sits at our own files' names instead of them (a folder, a symlink, a FIFO at
sender.lock or state.json) is set aside first (telemetry_sender.spool.repair); when even
that is impossible, the reason is returned for the log and the report.
"""

from __future__ import annotations

import logging
import os
import time

from telemetry_sender.spool import repair
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.lock import SpoolLock, try_acquire
from telemetry_sender.text import printable

logger = logging.getLogger(__name__)


def take_lock(layout: SpoolLayout, lock: SpoolLock | None) -> tuple[SpoolLock | None, str]:
    """The spool lock (`lock` when one was passed down; None when another sender has it), or why
    it cannot be had at all. A folder, symlink or other non-file at sender.lock or state.json is
    set aside first.
    """
    problems = []
    ours = (layout.state_file,) if lock is not None else (layout.lock_file, layout.state_file)
    for path in ours:
        moved, problem = repair.set_aside(path, time.time_ns())
        if moved:
            logger.warning("%s", printable(moved))
        if problem:
            problems.append(problem)
    if problems:
        if lock is not None:
            lock.release()
        return None, "; ".join(problems)
    if lock is not None:
        log_held(lock)
        _take_back_folders(layout)
        return lock, ""
    try:
        return acquire(layout), ""
    except OSError as exc:
        return None, f"cannot take the lock {layout.lock_file.name} ({type(exc).__name__}): refusing to drain"


def _take_back_folders(layout: SpoolLayout) -> None:
    """Under the lock: a link or file planted at rejected/ or quarantine/ is set aside, so what the
    drain sets aside lands in a real folder instead of being deleted for want of one."""
    for path in (layout.rejected, layout.quarantine):
        moved, problem = repair.set_aside(path, time.time_ns(), folder=True)
        if moved or problem:
            logger.warning("%s", printable(moved or problem))


def acquire(layout: SpoolLayout) -> SpoolLock | None:
    """The lock at once, or None when another sender has it (never waits); our folders are taken back under it."""
    held = try_acquire(layout.lock_file)  # raises OSError for a symlinked or unusable lock file
    if held is not None:
        log_held(held)
        _take_back_folders(layout)
    return held


def log_held(_held: SpoolLock) -> None:
    """Say in the log when this process became the sender (monotonic: tests check drains never overlap)."""
    logger.info("lock acquired by pid %d at monotonic %.6f", os.getpid(), time.monotonic())


def release(held: SpoolLock) -> None:
    """Let go of the lock, saying so in the log first."""
    logger.info("lock released by pid %d at monotonic %.6f", os.getpid(), time.monotonic())
    held.release()
