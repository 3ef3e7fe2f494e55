"""telemetry_sender.sender.lifetime: the sender's hard lifetime and its own start-up politeness."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from telemetry_sender.sender import lifetime
from waiting import wait_until


def test_the_watchdog_fires_once_its_time_is_up():
    fired = threading.Event()
    lifetime.start_watchdog(0.05, fired.set)
    wait_until(fired.is_set, timeout=10)


def test_a_cancelled_watchdog_never_fires():
    fired = threading.Event()
    before = set(threading.enumerate())
    cancel = lifetime.start_watchdog(0.2, fired.set)
    watcher = [t for t in threading.enumerate() if t not in before and t.name == "sender-lifetime"]
    cancel.set()
    wait_until(lambda: not any(t.is_alive() for t in watcher), timeout=10)  # it ended without firing
    assert not fired.is_set()


def test_process_age_counts_from_the_process_start():
    age = lifetime.process_age()
    assert 0.0 <= age < 24 * 3600
    if sys.platform.startswith("linux"):
        assert age > 0.0


CHILD = """
import logging, os, sys, time
from telemetry_sender.sender import lifetime
logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
lifetime.lower_own_priority()
print("nice", os.nice(0), flush=True)
lifetime.start_watchdog(0.1, lambda: lifetime.hard_exit(background=sys.argv[1] == "background"))
time.sleep(60)  # stuck: only the watchdog ends this
"""


def test_a_stuck_sender_is_ended_by_its_watchdog_with_exit_code_3():
    for mode in ("background", "foreground"):
        done = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, timeout=30,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert done.returncode == lifetime.EXIT_CODE, done.stderr
        assert int(done.stdout.split()[1]) >= 10  # "nice N": the sender lowered its own priority
        said = done.stdout if mode == "background" else done.stderr
        assert "lifetime exceeded" in said
