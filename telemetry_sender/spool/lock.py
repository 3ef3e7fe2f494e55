"""One drainer per spool: a non-blocking OS file lock, cheap enough to probe from az.

Hand-written on fcntl/msvcrt rather than portalocker because the recorder probes it
on every command and portalocker costs about 28 ms to import (measured here).
"""

from __future__ import annotations

import os
from pathlib import Path

from telemetry_sender.spool.private_files import FILE_MODE, NOFOLLOW

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class SpoolLock:
    """A held lock; release it (or let the process die, which releases it too)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            _unlock(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "SpoolLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def try_acquire(path: Path) -> SpoolLock | None:
    """Take the lock at once or return None: a loser never waits."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW, FILE_MODE)
    if _lock(fd):
        return SpoolLock(fd)
    os.close(fd)
    return None


def is_held(path: Path) -> bool:
    """True when another process holds the lock; never creates the file."""
    try:
        fd = os.open(path, os.O_RDWR | NOFOLLOW)
    except OSError:
        return False
    try:
        if _lock(fd):
            _unlock(fd)
            return False
        return True
    finally:
        os.close(fd)
