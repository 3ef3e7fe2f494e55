"""One drainer per spool: a non-blocking OS file lock (its primitives are telemetry_sender.recording's).

The command that starts a sender takes it for its child (spawn.py), so a burst of commands
starts one sender.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from telemetry_sender.recording import CLOEXEC, NOFOLLOW, NONBLOCK, acquire_lock_fd, same_file
from telemetry_sender.recording import lock_nonblocking as _lock, unlock as _unlock


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

    def __enter__(self) -> "SpoolLock":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def try_acquire(path: Path, attempts: int = 3) -> SpoolLock | None:
    """Take the lock at once or return None: a loser never waits (recording.acquire_lock_fd says how).

    Raises OSError when `path` is no usable lock file: see telemetry_sender.spool.repair. A FIFO or
    device there is refused before it is opened (the support tools never open one).
    """
    _refuse_special(path)
    fd = acquire_lock_fd(path, attempts)
    return SpoolLock(fd) if fd is not None else None


def _refuse_special(path: Path) -> None:
    """OSError when something other than a regular file, a folder or a link sits at `path` (lstat, no open)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        raise IsADirectoryError(f"{os.path.basename(path)} is not a regular file")


def is_held(path: Path) -> bool:
    """True when another process holds the lock; never creates the file, never opens a FIFO or device
    (`status` asks this of a user's folder)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False
        fd = os.open(path, os.O_RDWR | NOFOLLOW | NONBLOCK | CLOEXEC)
    except OSError:
        return False
    try:
        if _lock(fd):
            _unlock(fd)
            return False
        return True
    finally:
        os.close(fd)


def adopt(fd: int, path: Path) -> SpoolLock | None:
    """The lock a spawner took for this process and passed down as `fd`; None when it is not that lock."""
    try:
        if not same_file(fd, path):
            os.close(fd)
            return None
        os.set_inheritable(fd, False)
    except OSError:
        return None
    return SpoolLock(fd)
