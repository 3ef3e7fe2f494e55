"""Start the detached sender (DESIGN.md, "Rules that shape the flow").

The command line carries only the spool path (argv shows in `ps`); the child starts
in its own session with stdio on the null device, no inherited descriptors, idle
CPU priority and the spool root as its working directory; `python -I` keeps the
user's working directory and PYTHON* variables out of its imports, and a tiny
bootstrap puts this package's folder on sys.path, because inside az it is only
there by az's doing. Windows: CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP, never
DETACHED_PROCESS (it flashes consoles and breaks stdio). Cheap to import.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping, Sequence

from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.lock import is_held
from telemetry_sender.spool.state import backing_off, load_state

# Windows process-creation flags (winbase.h); spelled out so they can be tested anywhere.
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000
BELOW_NORMAL_PRIORITY_CLASS = 0x00004000
DETACHED_PROCESS = 0x00000008  # never used: listed so tests can assert its absence
WINDOWS_CREATION_FLAGS = CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP | BELOW_NORMAL_PRIORITY_CLASS

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
# Runs first in the child, started with `python -I -S`: move to the spool root, then wait
# (for at most 2 s) until the command that spawned us has exited, and only then pay for
# site-packages and imports, so the sender's start-up never competes with the command's
# own finish for the CPU. Then find our package and run the sender.
_BOOTSTRAP = (
    "import os,sys,time\n"
    "a=sys.argv\n"
    "os.chdir(a[a.index('--spool')+1])\n"
    "p=os.getppid();e=time.monotonic()+2\n"
    "while p>1 and os.getppid()==p and time.monotonic()<e:time.sleep(.005)\n"
    "import site;site.main()\n"
    "u={user_site!r}\n"
    "if u:site.addsitedir(u)\n"
    "sys.path.insert(0,{parent!r})\n"
    "from telemetry_sender.cli import run\n"
    "sys.exit(run(a[1:]))\n"
)


def user_site_of_this_process() -> str:
    """The user site-packages this interpreter uses ("" when off): `-I` would drop it in the
    child, and an az installed with `pip install --user` finds `requests` only there."""
    site = sys.modules.get("site")
    if site is None or not getattr(site, "ENABLE_USER_SITE", False):
        return ""
    try:
        return str(site.getusersitepackages())
    except Exception:  # noqa: BLE001 - a frozen or odd interpreter: do without
        return ""


def sender_argv(
    executable: str, spool_root: Path, package_parent: Path = PACKAGE_PARENT, user_site: str = ""
) -> list[str]:
    """`<python> -I -S -c <bootstrap> send --spool <root> --background`: no event data."""
    code = _BOOTSTRAP.format(parent=str(package_parent), user_site=user_site)
    return [executable, "-I", "-S", "-c", code, "send", "--spool", str(spool_root), "--background"]


def windows_popen_kwargs(spool_root: Path) -> dict[str, Any]:
    """subprocess.Popen arguments for Windows: no console, own group, no inherited handles."""
    import subprocess

    return {
        "cwd": str(spool_root),
        "creationflags": WINDOWS_CREATION_FLAGS,
        "close_fds": True,
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": subprocess.DEVNULL,
    }


def should_spawn(layout: SpoolLayout, now: datetime | None = None) -> bool:
    """False while a sender holds the lock or the backoff state says "not before T"."""
    if is_held(layout.lock_file):
        return False
    return not backing_off(load_state(layout.state_file), now or datetime.now(timezone.utc))


def _inheritable_fds() -> list[int]:
    """Descriptors above stdio that a child would inherit (Python's own are close-on-exec)."""
    try:
        candidates = [int(name) for name in os.listdir("/proc/self/fd" if sys.platform.startswith("linux") else "/dev/fd")]
    except (OSError, ValueError):
        candidates = list(range(3, 256))
    found = []
    for fd in candidates:
        if fd > 2:
            try:
                if os.get_inheritable(fd):
                    found.append(fd)
            except OSError:
                pass  # closed meanwhile, or the directory's own descriptor
    return found


def posix_file_actions(devnull: str = os.devnull, inherited: Sequence[int] = ()) -> list[tuple]:
    """stdio on the null device, every inheritable descriptor closed."""
    actions: list[tuple] = [
        (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    actions.extend((os.POSIX_SPAWN_CLOSE, fd) for fd in inherited)
    return actions


def lower_priority(pid: int) -> str:
    """Put the sender on idle CPU time so it cannot slow the command; say how (for tests and debug).

    glibc's posix_spawn refuses SCHED_IDLE as a spawn attribute, so the parent sets it
    on the child right after the spawn returns (one system call, same user). Windows uses BELOW_NORMAL_PRIORITY_CLASS.
    """
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
            return "idle"
        except OSError:
            pass
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, pid, 19)
            return "nice"
        except OSError:
            pass
    return "normal"


def _spawn_posix(argv: list[str], env: Mapping[str, str]) -> int:
    return os.posix_spawn(
        argv[0], argv, env, file_actions=posix_file_actions(inherited=_inheritable_fds()), setsid=True
    )


def _spawn_popen(argv: list[str], env: Mapping[str, str], spool_root: Path) -> int:
    import subprocess

    if os.name == "nt":
        kwargs = windows_popen_kwargs(spool_root)
    else:
        kwargs = {
            "cwd": str(spool_root),
            "close_fds": True,
            "start_new_session": True,
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.DEVNULL,
            "stderr": subprocess.DEVNULL,
        }
    return subprocess.Popen(argv, env=dict(env), **kwargs).pid


def spawn_sender(
    layout: SpoolLayout,
    env: Mapping[str, str] | None = None,
    executable: str | None = None,
    package_parent: Path = PACKAGE_PARENT,
) -> int:
    """Start `send --background` for `layout` detached from this process; return its pid."""
    argv = sender_argv(executable or sys.executable, layout.root, package_parent, user_site_of_this_process())
    env = os.environ if env is None else env
    pid = None
    if os.name != "nt" and hasattr(os, "posix_spawn"):
        try:
            pid = _spawn_posix(argv, env)
        except NotImplementedError:
            pass  # e.g. no POSIX_SPAWN_SETSID on this platform
    if pid is None:
        pid = _spawn_popen(argv, env, layout.root)
    if os.name != "nt":
        lower_priority(pid)
    return pid
