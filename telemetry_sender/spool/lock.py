"""One drainer per spool: a non-blocking OS file lock (the primitives and the probe az runs are spool.recording's).

The spawner takes it for its child (spawn.py), so a burst of commands starts one sender.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from telemetry_sender.spool.recording import FILE_MODE, NOFOLLOW, lock_nonblocking as _lock, unlock as _unlock


def new_holder() -> str:
    """A name for one lock holder, written into the leases it takes: `<pid>-<random hex>`."""
    return f"{os.getpid()}-{os.urandom(4).hex()}"


class SpoolLock:
    """A held lock; release it (or let the process die, which releases it too).

    `holder` names this holder in its leases: while it holds the lock, every lease
    naming another holder belongs to a sender that died.
    """

    def __init__(self, fd: int, holder: str | None = None) -> None:
        self._fd: int | None = fd
        self.holder = holder or new_holder()

    @property
    def fd(self) -> int | None:
        return self._fd

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            _unlock(self._fd)
        finally:
            os.close(self._fd)
            self._fd = None

    def detach(self) -> None:
        """Close this process's descriptor without unlocking: a child that inherited it keeps the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "SpoolLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    """True when `fd` is the regular file now at `path` (not one set aside or replaced meanwhile)."""
    held = os.fstat(fd)
    try:
        current = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(held.st_mode) and (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino)


def try_acquire(path: Path, attempts: int = 3) -> SpoolLock | None:
    """Take the lock at once or return None: a loser never waits.

    Raises OSError when `path` is no usable lock file (a symlink, a folder, another
    non-file): see telemetry_sender.spool.repair. A lock taken on a file that was
    replaced meanwhile does not count, so two holders never lock two different files.
    """
    for _ in range(attempts):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW | getattr(os, "O_NONBLOCK", 0), FILE_MODE)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise IsADirectoryError(f"{path.name} is not a regular file")
        if not _lock(fd):
            os.close(fd)
            return None
        if _same_file(fd, path):
            return SpoolLock(fd)
        _unlock(fd)
        os.close(fd)
    return None


def adopt(fd: int, path: Path) -> SpoolLock | None:
    """The lock a spawner took for this process and passed down as `fd`; None when it is not that lock."""
    try:
        if not _same_file(fd, path):
            os.close(fd)
            return None
        os.set_inheritable(fd, False)
    except OSError:
        return None
    return SpoolLock(fd)
