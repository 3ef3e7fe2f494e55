"""`python -m telemetry_sender send`: a person's `send`, or the detached `--background` sender az spawns.

A background sender's lifetime counts from its process start (the spawn bootstrap may
have waited for its command to exit first) and a watchdog ends it whatever it is
blocked on; it adopts the lock its spawner took for it (`--lock-fd`).
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from telemetry_sender.protocol import SENDER_LIFETIME_SECONDS
from telemetry_sender.sender import lifetime
from telemetry_sender.sender.drain import drain
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.lock import SpoolLock, adopt
from telemetry_sender.recording import ensure_private_dir
from telemetry_sender.text import printable

logger = logging.getLogger(__name__)

_EXIT_MARGIN_SECONDS = 5.0  # the drain stops this long before the watchdog would kill it


def _adopted_lock(args: Any, layout: SpoolLayout) -> SpoolLock | None:
    """The lock the spawner (or the bootstrap) took for this process, when it passed one down."""
    fd = getattr(args, "lock_fd", None)
    return adopt(fd, layout.lock_file) if isinstance(fd, int) and fd > 2 else None


def _background(layout: SpoolLayout, deadline: float, lock: SpoolLock | None) -> int:
    """The detached sender: quiet, low priority, logging to its own file; always exits 0."""
    os.umask(0o077)
    lifetime.lower_own_priority()
    try:
        ensure_private_dir(layout.root)
        from telemetry_sender.sender.log import setup_sender_log

        setup_sender_log(layout.log_file)
    except OSError:
        return 0
    try:
        from telemetry_sender.settings import resolve_settings

        left = deadline - time.monotonic() - _EXIT_MARGIN_SECONDS
        report = drain(layout, resolve_settings(os.environ), manual=False, lifetime_seconds=max(1.0, left), lock=lock)
        logger.info("sender finished: %s", report.summary())
    except Exception:  # pylint: disable=broad-exception-caught  # the one guard: a background sender never crashes loudly
        logger.exception("sender failed")
    finally:
        logging.shutdown()
    return 0


def _foreground(args: Any, layout: SpoolLayout, deadline: float) -> int:
    """A person ran `send`: ignore the backoff, say what happened, exit 0 only when all was accepted."""
    from telemetry_sender.settings import resolve_settings

    settings = resolve_settings(os.environ)
    left = deadline - time.monotonic() - _EXIT_MARGIN_SECONDS
    report = drain(layout, settings, manual=True, lifetime_seconds=max(1.0, left))
    if getattr(args, "json", False):
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(printable(report.summary()))
    return 0 if report.outcome.all_accepted else 1


def command_send(args: Any, layout: SpoolLayout, *, lifetime_seconds: float = SENDER_LIFETIME_SECONDS) -> int:
    """`send`: deliver now (a person: backoff ignored, report printed) or `--background` (spawned by az)."""
    background = bool(getattr(args, "background", False))
    lock = _adopted_lock(args, layout) if background else None
    deadline = time.monotonic() + lifetime_seconds - (lifetime.process_age() if background else 0.0)
    if deadline <= time.monotonic():
        if lock is not None:
            lock.release()
        return 0 if background else 1  # too late to start anything: the next command spawns a fresh sender
    watchdog = lifetime.start_watchdog(deadline - time.monotonic(), lambda: lifetime.hard_exit(background))
    try:
        return _background(layout, deadline, lock) if background else _foreground(args, layout, deadline)
    finally:
        watchdog.set()  # returning normally: nothing left to kill (matters when called in-process)
