"""Keep track of every process the bench starts, directly or through az, and end them by pid.

The bench makes itself a child subreaper (Linux), so detached senders and az's own
telemetry uploader, orphaned when their az exits, become its children: it can wait
for them to finish between runs and kill whatever is left at the end. Where that is
unavailable, processes are also found by their command line naming the bench's
temporary folder.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import time
from pathlib import Path
from typing import Callable, Iterable

logger = logging.getLogger(__name__)
PR_SET_CHILD_SUBREAPER = 36
_PROC = Path("/proc")


def become_subreaper() -> bool:
    """Adopt orphaned descendants (prctl PR_SET_CHILD_SUBREAPER); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _ppid(pid: int) -> int | None:
    try:
        stat = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    fields = stat[stat.rfind(")") + 2:].split()
    return int(fields[1]) if len(fields) > 1 else None


def _all_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir(_PROC) if name.isdigit()]
    except OSError:
        return []


def children(parent: int | None = None) -> set[int]:
    """Live (or zombie) children of `parent` (default: this process)."""
    parent = os.getpid() if parent is None else parent
    found: set[int] = set()
    task_dir = _PROC / str(parent) / "task"
    try:
        for task in os.listdir(task_dir):
            text = (task_dir / task / "children").read_text()
            found.update(int(pid) for pid in text.split())
        return found
    except (OSError, ValueError):
        pass
    return {pid for pid in _all_pids() if _ppid(pid) == parent}


def cmdline(pid: int) -> str:
    """The process's command line, arguments joined by spaces ("" when gone)."""
    try:
        return (_PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def reap(pid: int) -> bool:
    """Collect a finished child without blocking; True when it is gone."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return done == pid


def kill(pid: int) -> None:
    """SIGKILL one process by pid and collect it if it is ours."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError:
        return
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


def kill_children(keep: Iterable[int] = ()) -> int:
    """Kill every child except `keep`; return how many were killed."""
    keep = set(keep)
    victims = children() - keep
    for pid in victims:
        kill(pid)
    return len(victims)


def settle(timeout: float, keep: Iterable[int] = (), ignore: Callable[[int], bool] | None = None) -> set[int]:
    """Wait (polling, bounded) until every child but `keep`/`ignore`d ones has exited; return those still alive."""
    keep = set(keep)
    deadline = time.monotonic() + timeout
    while True:
        alive = {pid for pid in children() - keep if not reap(pid)}
        if ignore is not None:
            alive = {pid for pid in alive if not ignore(pid)}
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.01)


def _owned(pid: int) -> bool:
    try:
        return (_PROC / str(pid)).stat().st_uid == os.getuid()
    except OSError:
        return False


def processes_mentioning(text: str) -> set[int]:
    """Processes (of any parent) whose command line contains `text`, this process excluded."""
    me = os.getpid()
    return {pid for pid in _all_pids() if pid != me and text in cmdline(pid)}


def ancestors() -> set[int]:
    """This process's parent chain (never to be killed, even if its command line names the marker)."""
    found, pid = set(), os.getppid()
    while pid and pid > 1 and pid not in found:
        found.add(pid)
        pid = _ppid(pid) or 0
    return found


def end_everything(marker: str, keep: Iterable[int] = ()) -> int:
    """At exit: kill our children and any of our user's processes naming `marker` (the bench's temp folder)."""
    keep = set(keep) | ancestors()
    mine = {pid for pid in processes_mentioning(marker) if _owned(pid)}
    victims = (children() | mine) - keep
    for pid in victims:
        kill(pid)
    if victims:
        logger.debug("ended %d leftover processes", len(victims))
    return len(victims)
