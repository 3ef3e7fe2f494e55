"""Our own files (sender.lock, state.json) and folders (rejected/, quarantine/) taken back when
something else sits at their name.

A folder, symlink, FIFO or foreign file planted there would stop every sender for
good; it is renamed aside (the entry itself: a symlink is never followed, nothing is
deleted through it) so a fresh file can take its place. When even that is impossible
(a read-only folder, another owner), the reason is returned for the log and `status`.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

SET_ASIDE_MARK = ".set-aside-"  # sender.lock.set-aside-<ns>: kept for a person to look at


def _kind(st: os.stat_result) -> str:
    if stat.S_ISLNK(st.st_mode):
        return "a symlink"
    if stat.S_ISDIR(st.st_mode):
        return "a folder"
    return "a file" if stat.S_ISREG(st.st_mode) else "not a regular file"


def problem(path: Path, folder: bool = False) -> str | None:
    """What is wrong at `path` for a file (or `folder`) of ours ("a folder", "a symlink", ...); None when
    absent or fine."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be examined ({errno.errorcode.get(exc.errno or 0, 'error')})"
    if not (stat.S_ISDIR(st.st_mode) if folder else stat.S_ISREG(st.st_mode)):
        return _kind(st)
    foreign = hasattr(os, "getuid") and st.st_uid != os.getuid()
    return "owned by another user" if foreign else None


def set_aside(path: Path, now_ns: int, folder: bool = False) -> tuple[str | None, str | None]:
    """(what was set aside, why it could not be) for our own file (or `folder`) at `path`; (None, None) when fine."""
    wrong = problem(path, folder)
    if wrong is None:
        return None, None
    target = path.with_name(f"{path.name}{SET_ASIDE_MARK}{now_ns}")
    try:
        os.rename(path, target)  # renames the entry itself, whatever it points to
    except FileNotFoundError:
        return None, None  # someone else set it aside first
    except OSError as exc:
        code = errno.errorcode.get(exc.errno or 0, "error")
        return None, f"{path.name} is {wrong} and cannot be set aside ({code}): nothing is sent until it is removed"
    return f"{path.name} was {wrong}: set aside as {target.name}", None
