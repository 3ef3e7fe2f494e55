"""The detached sender start: argv, session, stdio, descriptors, cwd, priority, Windows flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import start_sender_if_due
from telemetry_sender import spawn
from telemetry_sender.spool.layout import SpoolLayout
from waiting import wait_until

FAKE_CLI = '''
import json, os, sys
def run(argv):
    fds = sorted(int(n) for n in os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else []
    report = {
        "argv": argv, "cwd": os.getcwd(), "sid": os.getsid(0), "pid": os.getpid(),
        "module": __file__, "sys_path0": sys.path[0], "fds": fds,
        "stdio": [os.path.realpath("/proc/self/fd/%d" % fd) for fd in (0, 1, 2)] if fds else [],
        "isolated": sys.flags.isolated,
        "sched": os.sched_getscheduler(0) if hasattr(os, "sched_getscheduler") else None,
        "nice": os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else None,
    }
    tmp = "report.json.tmp"
    with open(tmp, "w") as fh:
        json.dump(report, fh)
    os.replace(tmp, "report.json")
    return 0
'''


def fake_package(parent: Path, body: str) -> Path:
    pkg = parent / "telemetry_sender"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli.py").write_text(body)
    return parent


def start_with_a_leaked_descriptor(root: Path, parent: Path) -> int:
    """Start the fake sender while descriptor 57 is open and inheritable, as a careless library in az might leave one."""
    leaked_r, leaked_w = os.pipe()
    leaked = os.dup2(leaked_w, 57, inheritable=True)
    try:
        return start_sender_if_due(root, env=dict(os.environ), package_parent=parent)
    finally:
        for fd in (leaked_r, leaked_w, leaked):
            os.close(fd)


def wait_for(path: Path, timeout: float = 20.0) -> dict:
    """The JSON a spawned fake sender writes to `path`, once it appears."""
    wait_until(path.exists, timeout, f"{path} to appear")
    return json.loads(path.read_text())


def test_argv_carries_only_the_spool_path(tmp_path):
    argv = spawn.sender_argv("/usr/bin/python3", tmp_path / "root", Path("/opt/ext"))
    assert argv[:4] == ["/usr/bin/python3", "-I", "-S", "-c"]
    assert argv[5:] == ["send", "--spool", str(tmp_path / "root"), "--background"]
    code = argv[4]
    assert "'/opt/ext'" in code and "telemetry_sender.cli" in code
    # site-packages and imports come only after the wait for the parent's exit
    assert code.index("getppid") < code.index("site.main()") < code.index("telemetry_sender.cli")


def test_a_user_site_az_uses_is_kept_for_the_sender(tmp_path):
    """`-I` drops the user site-packages; an az installed with pip --user has requests there."""
    user_site = str(tmp_path / "user-site")
    (tmp_path / "user-site").mkdir()
    (tmp_path / "user-site" / "marker_module_for_test.py").write_text("")
    code = spawn.sender_argv(sys.executable, tmp_path, Path("/opt/ext"), user_site)[4]
    probe = code.split("sys.path.insert")[0].replace("os.chdir(a[a.index('--spool')+1])\n", "")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", probe + "import marker_module_for_test\n"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert "u=''" in spawn.sender_argv(sys.executable, tmp_path, Path("/opt/ext"), "")[4]  # none: nothing added


def test_windows_arguments():
    kwargs = spawn.windows_popen_kwargs(Path("C:/Users/u/.azure/prototype/telemetry"))
    flags = kwargs["creationflags"]
    assert flags & spawn.CREATE_NO_WINDOW and flags & spawn.CREATE_NEW_PROCESS_GROUP
    assert not flags & spawn.DETACHED_PROCESS
    assert (spawn.CREATE_NO_WINDOW, spawn.CREATE_NEW_PROCESS_GROUP, spawn.DETACHED_PROCESS) == (0x08000000, 0x200, 0x8)
    assert kwargs["cwd"] == str(Path("C:/Users/u/.azure/prototype/telemetry"))
    assert kwargs["close_fds"] is True
    assert kwargs["stdin"] == kwargs["stdout"] == kwargs["stderr"] == subprocess.DEVNULL


@pytest.mark.skipif(not hasattr(os, "posix_spawn"), reason="POSIX only")
def test_posix_file_actions_hand_the_lock_down_first_then_close_the_rest():
    read_end, write_end = os.pipe()
    leaked = os.dup2(write_end, 57, inheritable=True)
    try:
        actions = spawn.posix_file_actions("/dev/null", lock_fd=7)
    finally:
        for fd in (read_end, write_end, leaked):
            os.close(fd)
    assert actions[:4] == [
        (os.POSIX_SPAWN_DUP2, 7, 3),  # before stdio is opened on 0-2, before anything is closed
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    if hasattr(os, "POSIX_SPAWN_CLOSEFROM"):
        assert actions[4:] == [(os.POSIX_SPAWN_CLOSEFROM, 4)]
    else:
        assert (os.POSIX_SPAWN_CLOSE, 57) in actions[4:]
        assert all(kind == os.POSIX_SPAWN_CLOSE and fd > 2 and fd != 3 for kind, fd in actions[4:])
    assert spawn.posix_file_actions("/dev/null", lock_fd=3)[0] == (os.POSIX_SPAWN_DUP2, 3, 4)


@pytest.mark.skipif(os.name != "posix", reason="POSIX descriptors")
def test_a_lock_on_a_stdio_number_is_moved_above_stdio_first(tmp_path):
    """az started with stdin closed gets the lock on 0: the child's null-device stdio must not replace it."""
    from telemetry_sender.recording import acquire_lock_fd
    from telemetry_sender.spool.lock import is_held

    saved = os.dup(0)
    lock = acquire_lock_fd(tmp_path / "sender.lock")
    try:
        os.dup2(lock, 0, inheritable=False)
        os.close(lock)
        moved = spawn._above_stdio(0)
        assert moved > 2 and is_held(tmp_path / "sender.lock")
        with pytest.raises(OSError):
            os.fstat(0)  # the stdio number is given back
        os.close(moved)
        assert not is_held(tmp_path / "sender.lock")
    finally:
        os.dup2(saved, 0)
        os.close(saved)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inspects /proc")
def test_real_spawn_is_detached_private_and_idle(tmp_path, monkeypatch):
    parent = fake_package(tmp_path / "ext", FAKE_CLI)
    # A hostile working directory: its telemetry_sender must never be imported.
    hostile = fake_package(tmp_path / "cwd", "raise SystemExit('imported from the working directory')\n")
    monkeypatch.chdir(hostile)
    layout = SpoolLayout(tmp_path / "root")
    layout.root.mkdir()
    pid = start_with_a_leaked_descriptor(layout.root, parent)
    report = wait_for(layout.root / "report.json")
    assert report["pid"] == pid
    # The spawner took the lock for its child and handed it down (issue 10: one sender per burst).
    assert report["argv"][:4] == ["send", "--spool", str(layout.root), "--background"]
    assert report["argv"][4] == "--lock-fd"
    lock_fd = int(report["argv"][5])
    assert report["module"] == str(parent / "telemetry_sender" / "cli.py")
    assert report["cwd"] == str(layout.root)
    assert report["sid"] == pid  # leader of its own session
    assert report["stdio"] == ["/dev/null"] * 3
    others = set(report["fds"]) - {0, 1, 2, lock_fd}  # stdio and the lock handed down
    assert len(others) <= 1 and 57 not in others  # only the descriptor listing /proc/self/fd
    assert report["isolated"] == 1
    assert report["sched"] == getattr(os, "SCHED_IDLE", report["sched"]) or report["nice"] >= 10
    os.waitpid(pid, 0)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inspects /proc")
def test_the_popen_fallback_also_hands_the_lock_down_and_nothing_else(tmp_path, monkeypatch):
    def no_posix_spawn(*_args):
        raise NotImplementedError("no POSIX_SPAWN_SETSID here")

    monkeypatch.setattr(spawn, "_spawn_posix", no_posix_spawn)
    parent = fake_package(tmp_path / "ext", FAKE_CLI)
    layout = SpoolLayout(tmp_path / "root")
    layout.root.mkdir()
    pid = start_with_a_leaked_descriptor(layout.root, parent)
    report = wait_for(layout.root / "report.json")
    assert report["pid"] == pid and report["argv"][4] == "--lock-fd"
    lock_fd = int(report["argv"][5])
    assert lock_fd in report["fds"] and report["stdio"] == ["/dev/null"] * 3
    assert len(set(report["fds"]) - {0, 1, 2, lock_fd}) <= 1 and 57 not in report["fds"]
    assert report["sid"] == pid
    os.waitpid(pid, 0)


def test_lower_priority_on_a_real_child():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        how = spawn.lower_child_priority(child.pid)
        # on Linux (same user) one of the two must work: "normal" would mean it silently failed
        assert how in (("idle", "nice") if sys.platform.startswith("linux") else ("idle", "nice", "normal"))
        if how == "idle":
            assert os.sched_getscheduler(child.pid) == os.SCHED_IDLE
        elif how == "nice":
            assert os.getpriority(os.PRIO_PROCESS, child.pid) >= 10
    finally:
        child.communicate(b"")


def test_a_path_root_is_named_by_its_own_text(tmp_path, monkeypatch):
    root = tmp_path / "telemetry"
    root.mkdir()
    seen = []
    monkeypatch.setattr(spawn, "_spawn_posix", lambda argv, env, lock_fd: seen.append(argv) or 4242)
    monkeypatch.setattr(spawn, "_spawn_popen", lambda argv, env, spool_root, keep: seen.append(argv) or 4242)
    monkeypatch.setattr(spawn, "lower_child_priority", lambda pid: "normal")
    assert spawn.start_sender(root, {}, None) == 4242
    argv = seen[0]
    assert argv[argv.index("--spool") + 1] == str(root)  # never a Path's own .root ("/")


def test_a_failed_start_lets_the_lock_go(tmp_path, monkeypatch):
    from telemetry_sender.recording import acquire_lock_fd
    from telemetry_sender.spool.lock import is_held

    def refuse(*_args):
        raise OSError(7, "E2BIG")

    monkeypatch.setattr(spawn, "_spawn_posix", refuse)
    monkeypatch.setattr(spawn, "_spawn_popen", refuse)
    fd = acquire_lock_fd(tmp_path / "sender.lock")
    with pytest.raises(OSError):
        spawn.start_sender(tmp_path, {}, fd)
    assert not is_held(tmp_path / "sender.lock")  # our descriptor was closed: no one holds the lock
