"""The sender process's hard lifetime: a watchdog that ends it whatever it is blocked on.

Timeouts bound the sockets, but not DNS resolution, a hung disk or a stuck lock; so a
daemon thread calls `os._exit` when the lifetime is up. Leases left behind are taken
back by the next sender at once (the spool loses nothing). Also the process's own start-up politeness
(low CPU priority).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Callable

logger = logging.getLogger(__name__)

EXIT_CODE = 3  # `send` ended by its watchdog
_GRACE_SECONDS = 1.0  # how long the goodbye may take before the exit happens anyway


def process_age() -> float:
    """Seconds since this process started (Linux: from /proc; elsewhere 0, i.e. counted from now)."""
    try:
        with open("/proc/self/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, starttime, in ticks since boot
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id"


def boot_clock() -> tuple[str, float] | None:
    """(this boot's id, seconds since boot, suspend included): a clock the wall clock's changes do not move.
    None where there is none (not Linux)."""
    try:
        with open(BOOT_ID_FILE, encoding="ascii") as handle:
            boot_id = handle.read(64).strip()
        return (boot_id, time.clock_gettime(time.CLOCK_BOOTTIME)) if boot_id else None
    except (OSError, ValueError, AttributeError):
        return None


def start_watchdog(seconds: float, on_expire: Callable[[], None]) -> threading.Event:
    """Call `on_expire` after `seconds` unless the returned event is set first (set it to cancel)."""
    cancelled = threading.Event()

    def watch() -> None:
        if not cancelled.wait(max(0.0, seconds)):
            on_expire()

    threading.Thread(target=watch, name="sender-lifetime", daemon=True).start()
    return cancelled


def hard_exit(background: bool) -> None:
    """Say why, then `os._exit(3)`; the exit is armed first, since the goodbye itself may block."""
    # The stuck main thread may hold a logging or stderr lock: exit regardless after a grace period.
    start_watchdog(_GRACE_SECONDS, lambda: os._exit(EXIT_CODE))
    if not background:
        sys.stderr.write("telemetry sender: lifetime exceeded, stopping (unsent events stay in the spool)\n")
        sys.stderr.flush()
    else:
        logger.error("lifetime exceeded: exiting hard (the next sender takes back our leases)")
        for handler in logging.getLogger().handlers:
            try:
                handler.flush()
            except Exception:  # pylint: disable=broad-exception-caught  # exiting anyway
                pass
    os._exit(EXIT_CODE)


def lower_own_priority() -> None:
    """Nice the process to at least 10 (the spawner may already have made it idle)."""
    if hasattr(os, "nice"):
        try:
            if os.nice(0) < 10:
                os.nice(10 - os.nice(0))
        except OSError:
            pass
