"""Start the detached sender (DESIGN.md, "Rules that shape the flow"): what a command does
once its event is written and recording.claim_sender_lock says a sender is due.

The command line carries only the spool path (argv shows in `ps`); the child starts
in its own session with stdio on the null device, no other inherited descriptor but
the lock (one CLOSEFROM spawn action where Python has it, 3.13+; else the ones
/proc/self/fd lists), idle CPU priority and the spool root as its working directory;
`python -I` keeps the user's working directory and PYTHON* variables out of its
imports, and a tiny bootstrap puts this package's folder on sys.path, because inside
az it is only there by az's doing. Windows: CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP,
never DETACHED_PROCESS (it flashes consoles and breaks stdio). Beside the floor (not
in sender/) and cheap to import: the recorder loads it inside az whenever a sender is due.
"""

from __future__ import annotations

import os
import sys

from telemetry_sender.recording import unlock

TYPE_CHECKING = False  # typing is loaded by az, but the annotations need nothing at run time
if TYPE_CHECKING:
    from typing import Any, Mapping

    from telemetry_sender.recording import PathLike

# Windows process-creation flags (winbase.h); spelled out so they can be tested anywhere.
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_NO_WINDOW = 0x08000000
BELOW_NORMAL_PRIORITY_CLASS = 0x00004000
DETACHED_PROCESS = 0x00000008  # never used: listed so tests can assert its absence
WINDOWS_CREATION_FLAGS = CREATE_NO_WINDOW | CREATE_NEW_PROCESS_GROUP | BELOW_NORMAL_PRIORITY_CLASS

# abspath, not resolve(): the same folder without a realpath walk (nor pathlib) on every spawn
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Runs first in the child, started with `python -I -S`: move to the spool root; unless the
# spawner passed its lock down (`--lock-fd`), take the lock *now* and exit at once when
# another sender has it (a burst of commands leaves one sender, not one per command); then
# wait (for at most 2 s) until the command that spawned us has exited, and only then pay
# for site-packages and imports, so the sender's start-up never competes with the
# command's own finish for the CPU. Then find our package and run the sender. A lock file
# that cannot be opened (a planted folder, Windows) is left to the drain, which repairs it.
_BOOTSTRAP = (
    "import os,sys,time\n"
    "a=sys.argv\n"
    "os.chdir(a[a.index('--spool')+1])\n"
    "if '--background' in a and '--lock-fd' not in a:\n"
    " try:\n"
    "  import fcntl\n"
    "  f=os.open('sender.lock',os.O_RDWR|os.O_CREAT|os.O_NOFOLLOW|os.O_CLOEXEC|os.O_NONBLOCK,0o600)\n"
    " except (ImportError,AttributeError,OSError):f=-1\n"
    " if f>=0:\n"
    "  try:fcntl.flock(f,fcntl.LOCK_EX|fcntl.LOCK_NB)\n"
    "  except OSError:sys.exit(0)\n"
    "  a+=['--lock-fd',str(f)]\n"
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
    except Exception:  # pylint: disable=broad-exception-caught  # a frozen or odd interpreter: do without
        return ""


def sender_argv(
    executable: str, spool_root: PathLike, package_parent: PathLike = PACKAGE_PARENT, user_site: str = "",
    lock_fd: int | None = None,
) -> list[str]:
    """`<python> -I -S -c <bootstrap> send --spool <root> --background [--lock-fd N]`: no event data."""
    code = _BOOTSTRAP.format(parent=str(package_parent), user_site=user_site)
    argv = [executable, "-I", "-S", "-c", code, "send", "--spool", str(spool_root), "--background"]
    return argv + (["--lock-fd", str(lock_fd)] if lock_fd is not None else [])


def windows_popen_kwargs(spool_root: PathLike) -> dict[str, Any]:
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


def _inheritable_fds() -> list[int]:
    """Descriptors above stdio that a child would inherit (Python's own are close-on-exec)."""
    try:
        folder = "/proc/self/fd" if sys.platform.startswith("linux") else "/dev/fd"
        candidates = [int(name) for name in os.listdir(folder)]
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


def posix_file_actions(devnull: str = os.devnull, lock_fd: int | None = None) -> list[tuple]:
    """The lock handed down first (to the child's 3, or 4), then stdio on the null device, then
    every other inherited descriptor closed: the command's caller may have left some
    inheritable, a pipe it waits on among them."""
    keep = 2 if lock_fd is None else _child_lock_fd(lock_fd)
    # Duplicated in the child only: our descriptor stays close-on-exec, so no other process
    # this one starts meanwhile can inherit the lock (and a 4 leaves the child's 3 to close at exec).
    actions: list[tuple] = [] if lock_fd is None else [(os.POSIX_SPAWN_DUP2, lock_fd, keep)]
    actions += [
        (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    if hasattr(os, "POSIX_SPAWN_CLOSEFROM"):  # Python 3.13+: one action, no listing
        return actions + [(os.POSIX_SPAWN_CLOSEFROM, keep + 1)]
    return actions + [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inheritable_fds() if fd != keep]


def lower_child_priority(pid: int) -> str:
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


def _child_lock_fd(lock_fd: int) -> int:
    """The descriptor number the child finds the lock at (posix_spawn duplicates it there, in the child only)."""
    return 3 if lock_fd != 3 else 4


def _spawn_posix(argv: list[str], env: Mapping[str, str], lock_fd: int | None) -> int:
    return os.posix_spawn(argv[0], argv, env, file_actions=posix_file_actions(lock_fd=lock_fd), setsid=True)


def _above_stdio(lock_fd: int) -> int:
    """The lock on a descriptor above 2: an az started with stdin closed gives it 0, and the
    child's stdio on the null device (Popen's DEVNULL) would replace it."""
    if lock_fd > 2:
        return lock_fd
    import fcntl  # POSIX, and only in this rare case

    moved = fcntl.fcntl(lock_fd, fcntl.F_DUPFD_CLOEXEC, 3)
    os.close(lock_fd)
    return moved


def _spawn_popen(argv: list[str], env: Mapping[str, str], spool_root: PathLike, keep: int | None) -> int:
    import subprocess

    if os.name == "nt":
        kwargs = windows_popen_kwargs(spool_root)
    else:
        kwargs = {
            "cwd": str(spool_root),
            "close_fds": True,
            "pass_fds": (keep,) if keep is not None else (),
            "start_new_session": True,
            "stdin": subprocess.DEVNULL,
            "stdout": subprocess.DEVNULL,
            "stderr": subprocess.DEVNULL,
        }
    return subprocess.Popen(argv, env=dict(env), **kwargs).pid


def start_sender(
    root: PathLike,
    env: Mapping[str, str] | None,
    lock_fd: int | None,
    executable: str | None = None,
    package_parent: PathLike = PACKAGE_PARENT,
) -> int:
    """Start the sender for spool `root`, handing it the sender lock held as `lock_fd` (None: it takes its own).

    Our descriptor of the lock is closed either way: the child's copy keeps the lock, and
    when the start fails no one holds it, so the next command may try.
    """
    if os.name == "nt" and lock_fd is not None:
        unlock(lock_fd)  # Windows locks are not handed down (and must be unlocked before the close)
        os.close(lock_fd)
        lock_fd = None
    executable, user_site = executable or sys.executable, user_site_of_this_process()
    env = os.environ if env is None else env
    pid = None
    try:
        if lock_fd is not None and os.name != "nt":
            lock_fd = _above_stdio(lock_fd)
        if os.name != "nt" and hasattr(os, "posix_spawn"):
            child_fd = _child_lock_fd(lock_fd) if lock_fd is not None else None
            try:
                argv = sender_argv(executable, root, package_parent, user_site, child_fd)
                pid = _spawn_posix(argv, env, lock_fd)
            except NotImplementedError:
                pass  # e.g. no POSIX_SPAWN_SETSID on this platform
        if pid is None:
            argv = sender_argv(executable, root, package_parent, user_site, lock_fd)
            pid = _spawn_popen(argv, env, root, lock_fd)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)  # closing is not unlocking while the child's copy lives; unlocked otherwise
    if os.name != "nt":
        lower_child_priority(pid)
    return pid
