"""Rows 1b, 1d, 1e and 1f: the recorder's FIRST call in a fresh interpreter, which is what each az command pays.

Each run is one child process that has loaded what az has loaded by then (the extension's
package, azure.cli.core and the standard modules below), imports the telemetry package
(timed: row 1e adds it) and makes one call (row 1b); row 1d splits that call by phase.
Row 1f measures, in the same kind of process, what its parts cost with none of our code: one
empty module's import and the first process start. The scenarios, their spools and the
undecorated floor are row 1's (benchlib.recorder).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from benchlib import procs
from benchlib.endpoints import Endpoints
from benchlib.fixtures import write_profile
from benchlib.recorder import Scenario, ScenarioKeeper, scenario_rows, make_scenarios, us_cells, scenario_env
from benchlib.stats import fmt, ratio, summarize
from benchlib.table import Row


def quiet_disk() -> None:
    """Flush what earlier rows wrote (thousands of spool files, sender logs) before a timed call, so that
    the kernel's write-back of their pages is not timed as our spool write (a quiet machine's disk)."""
    if hasattr(os, "sync"):
        os.sync()


# --- the first call in a fresh process (what each az command really pays) -------------------

# Standard modules az has already imported when a command function runs (checked with -X importtime).
# The az `cmd` a command function receives, as much of it as the recorder reads (child-process code).
_FAKE_CMD = """
parser = SimpleNamespace(subparser_map={"prototype status": SimpleNamespace(specified_arguments=["project_dir"])})
config = SimpleNamespace(get=lambda section, option, fallback=None: fallback)
cli_ctx = SimpleNamespace(invocation=SimpleNamespace(parser=parser), data={"safe_params": ["--project-dir"]},
                          config=config)
cmd = SimpleNamespace(cli_ctx=cli_ctx, name="prototype status", arguments={})
"""
# What AzCli.__init__ does before any command: parse the signed-in profile (azure.cli.core._session.ACCOUNT).
_AZ_STARTUP = """import os
from azure.cli.core._session import ACCOUNT
ACCOUNT.load(os.path.join(os.environ["AZURE_CONFIG_DIR"], "azureProfile.json"))
"""
AZ_PRELOADED = ("json", "logging", "re", "pathlib", "typing", "datetime", "subprocess", "argparse", "zlib", "fcntl",
                "dataclasses", "configparser", "uuid", "inspect", "functools", "enum", "urllib.parse")
_COLD = """
import {preloaded}
import sys, time
from types import SimpleNamespace
import azext_prototype  # az loads the extension's package (and azure.cli.core) before the command's module
{az_startup}began = time.perf_counter()
from azext_prototype.telemetry import track  # the command's module imports it: every command pays this
imported = time.perf_counter() - began

def status(cmd, project_dir=None):
    if {fail}:
        raise ValueError("Deployment contoso-hr-api-056 failed for jane@contoso.com: quota exceeded in westus3")
    return {{"name": "bench"}}

tracked = track("prototype status")(status) if {decorate} else status
{fake_cmd}started = time.perf_counter()
try:
    tracked(cmd, project_dir=sys.argv[1])
except ValueError:
    pass
print(imported, time.perf_counter() - started)
"""


def measure_cold(tmp: Path, endpoints: Endpoints, envelope: dict[str, Any], runs: int,
                 progress: Callable[[str], None]) -> dict[str, Scenario]:
    """µs of the first @track call in fresh interpreters (lazy imports, regex compiles, write, spawn) per scenario.

    "bare" runs the same function undecorated in the same kind of process: the floor.
    """
    scenarios = make_scenarios(tmp, endpoints)
    bare = Scenario("bare", tmp, scenarios[0].project_dir, dict(scenarios[0].overlay))
    healthy = next(s for s in scenarios if s.name == "healthy")
    bare_fails = Scenario("bare fails", tmp, bare.project_dir, dict(bare.overlay))
    healthy_fails = Scenario("healthy, command fails", healthy.config_dir.parent / "fails" / "azure",
                             healthy.project_dir, {**healthy.overlay, "AZURE_CONFIG_DIR": None})
    healthy_fails.overlay["AZURE_CONFIG_DIR"] = str(healthy_fails.config_dir)
    write_profile(healthy_fails.config_dir)
    floors = (bare, bare_fails)
    keeper = ScenarioKeeper(endpoints, envelope)
    try:
        for _ in range(runs):
            for scenario in [bare, *scenarios, bare_fails, healthy_fails]:
                if scenario not in floors:
                    scenario.conditions.add(keeper.prepare(scenario))
                code = _COLD.format(preloaded=", ".join(AZ_PRELOADED), az_startup=_AZ_STARTUP, fake_cmd=_FAKE_CMD,
                                    decorate=scenario not in floors,
                                    fail=scenario in (bare_fails, healthy_fails))
                quiet_disk()
                done = subprocess.run([sys.executable, "-c", code, str(scenario.project_dir)],
                                      env=scenario_env(scenario), cwd=str(tmp), capture_output=True, text=True,
                                      timeout=60, check=False)
                # a sender it spawned is orphaned to us: kill it, only the call is measured
                scenario.spawns += procs.kill_children(keeper.keep())
                scenario.calls += 1
                if done.returncode != 0:
                    raise RuntimeError("cold recorder call failed:\n" + done.stderr[-2000:])
                imported, called = (float(x) * 1e6 for x in done.stdout.strip().splitlines()[-1].split())
                scenario.samples.append(called)
                scenario.imports.append(imported)
    finally:
        keeper.stop_hanging_sender()
        procs.kill_children()
    progress(f"recorder: first call in {runs} fresh processes per scenario")
    result = {s.name: s for s in [*scenarios, healthy_fails]}
    result.update({"bare": bare, "bare fails": bare_fails})
    return result


def cold_rows(measured: dict[str, Scenario]) -> list[Row]:
    """Row 1b: the first call in a fresh process, per endpoint, against the undecorated floor."""
    return scenario_rows("1b", "FIRST call in a fresh process", measured)


def whole_rows(measured: dict[str, Scenario]) -> list[Row]:
    """Row 1e: row 1b with the import of azext_prototype.telemetry added (the command's module pays it on every
    command), against the same undecorated floor: code moved between the import and the call hides nothing."""
    out = []
    for name in [n for n in measured if n not in ("bare", "bare fails")]:
        scenario = measured[name]
        floor = summarize(measured["bare fails" if name.endswith("fails") else "bare"].samples)
        s = summarize([i + c for i, c in zip(scenario.imports, scenario.samples)])
        imported = summarize(scenario.imports)
        label = "telemetry off (DO_NOT_TRACK=1)" if name == "off" else f"endpoint {name}"
        out.append(Row("1e", f"telemetry's whole cost to one command in a fresh process, {label}: import of "
                       f"azext_prototype.telemetry (median {fmt(imported.median, 'µs')}) + the first call",
                       str(s.n), *us_cells(s), f"floor: +{fmt(s.median - floor.median, 'µs')}",
                       ratio(s.median, floor.median), ""))
    return out


# --- where the first call's time goes (row 1d) -----------------------------------------------------

PHASES = ("import", "settings", "files", "event", "write", "spawn", "rest")
_PHASED = """
import {preloaded}
import json, sys, time
from types import SimpleNamespace
import azext_prototype
{az_startup}from azext_prototype.telemetry import track

def status(cmd, project_dir=None):
    return {{"name": "bench"}}

tracked = track("prototype status")(status)
{fake_cmd}started = time.perf_counter_ns()
from azext_prototype.telemetry import record as recorder  # what the first enabled call imports
marks = [("import", time.perf_counter_ns())]

class Timed(recorder.Tracer):
    def phase(self, name):
        marks.append((name, time.perf_counter_ns()))

recorder.Tracer = Timed
call = time.perf_counter_ns()
tracked(cmd, project_dir=sys.argv[1])
ended = time.perf_counter_ns()
points = [("start", started), marks[0], ("call", call), *marks[1:], ("rest", ended)]
phases = {{"import": marks[0][1] - started}}
previous = call
for name, moment in [*marks[1:], ("rest", ended)]:
    phases[name] = moment - previous
    previous = moment
print(json.dumps({{k: v / 1000 for k, v in phases.items()}}))
"""


def measure_phases(tmp: Path, endpoints: Endpoints, envelope: dict[str, Any], runs: int,
                   progress: Callable[[str], None]) -> dict[str, list[float]]:
    """µs per phase of the first enabled call in fresh processes (healthy endpoint, a sender due each time).

    The recorder's import is timed on its own, just before the call; the call's steps are
    marked by the recorder's Tracer.phase (settings includes collecting az's facts of the call).
    """
    healthy = next(s for s in make_scenarios(tmp, endpoints) if s.name == "healthy")
    keeper = ScenarioKeeper(endpoints, envelope)
    samples: dict[str, list[float]] = {name: [] for name in PHASES}
    try:
        for _ in range(runs):
            keeper.prepare(healthy)
            code = _PHASED.format(preloaded=", ".join(AZ_PRELOADED), az_startup=_AZ_STARTUP, fake_cmd=_FAKE_CMD)
            quiet_disk()
            done = subprocess.run([sys.executable, "-c", code, str(healthy.project_dir)], env=scenario_env(healthy),
                                  cwd=str(tmp), capture_output=True, text=True, timeout=60, check=False)
            procs.kill_children(keeper.keep())
            if done.returncode != 0:
                raise RuntimeError("phased recorder call failed:\n" + done.stderr[-2000:])
            for name, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
                samples.setdefault(name, []).append(value)
    finally:
        procs.kill_children()
    progress(f"recorder: phases of the first call in {runs} fresh processes")
    return samples


def phase_rows(samples: dict[str, list[float]]) -> list[Row]:
    """Row 1d: the first enabled call's cost by phase (medians; they add up to about row 1b healthy)."""
    labels = {"import": "import of the recorder (record.py and what it loads)",
              "settings": "az's facts of the call and the settings decision",
              "files": "the tenant (az profile) and project (prototype.yaml) files read",
              "event": "sanitize the parameters and fields, build the event and its envelope",
              "write": "spool write (0600 temp file, rename)", "spawn": "backoff check, the sender lock, spawn",
              "rest": "debug story, first-use notice check"}
    out = []
    for name in PHASES:
        values = samples.get(name) or []
        if values:
            s = summarize(values)
            out.append(Row("1d", f"recorder, FIRST call, phase: {labels[name]}", str(s.n), *us_cells(s), "", "", ""))
    return out


# --- what the parts cost with none of our code (row 1f) -------------------------------------------

_FLOORS = """
import {preloaded}
import os, sys, time
import azext_prototype
sys.path.insert(0, sys.argv[1])
import bench_warm  # the folder's finder is made: the timed import pays only its own module
started = time.perf_counter_ns()
import bench_empty
imported = time.perf_counter_ns() - started
argv = [sys.executable, "-I", "-S", "-c", "0"]
actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0), (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
           (os.POSIX_SPAWN_DUP2, 1, 2)]
started = time.perf_counter_ns()
pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions, setsid=True)
spawned = time.perf_counter_ns() - started
os.waitpid(pid, 0)
print(imported / 1000, spawned / 1000)
"""
FLOOR_LABELS = {
    "module": "import of one empty module (what each module on the path costs before its first byte)",
    "spawn": "first os.posix_spawn of the interpreter (`python -I -S -c 0`, stdio on the null device, own session): "
             "the start of any sender, none of our code",
}


def measure_floors(tmp: Path, runs: int, progress: Callable[[str], None]) -> dict[str, list[float]]:
    """µs of an empty module's import and of the first process start, each in a fresh process like 1b's."""
    folder = tmp / "floors"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("bench_warm", "bench_empty"):
        (folder / f"{name}.py").write_text("")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], check=True, capture_output=True)
    samples: dict[str, list[float]] = {name: [] for name in FLOOR_LABELS}
    code = _FLOORS.format(preloaded=", ".join(AZ_PRELOADED))
    for _ in range(runs):
        quiet_disk()
        done = subprocess.run([sys.executable, "-c", code, str(folder)], cwd=str(tmp), capture_output=True,
                              text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise RuntimeError("floor measurement failed:\n" + done.stderr[-2000:])
        imported, spawned = (float(x) for x in done.stdout.strip().splitlines()[-1].split())
        samples["module"].append(imported)
        samples["spawn"].append(spawned)
    progress(f"recorder: reference floors in {runs} fresh processes")
    return samples


def floor_rows(samples: dict[str, list[float]]) -> list[Row]:
    """Row 1f: the parts of a first call that no code of ours can go below, on this machine, in this run."""
    out = []
    for name, label in FLOOR_LABELS.items():
        s = summarize(samples[name])
        out.append(Row("1f", f"reference, FIRST in a fresh process like 1b's: {label}", str(s.n), *us_cells(s),
                       "", "", ""))
    return out
