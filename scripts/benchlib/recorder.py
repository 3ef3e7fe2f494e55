"""Row 1: what @track costs a command in-process, whatever the endpoint does, and what the alternatives cost.

Each scenario has its own AZURE_CONFIG_DIR (own spool, own backoff state) and a
signed-in profile and project, so the recorder does all its real work: settings,
tenant, project file, event, spool write, and the sender spawn when one is due.
A sender spawned during a timed call is killed right after the call (outside the
timing): only the call's own cost is measured here; row 2 measures whole commands.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from benchlib import procs
from benchlib.endpoints import Endpoints
from benchlib.fixtures import az_cli_payload, fake_cmd, fill_spool, fresh_copy, make_project, write_profile
from benchlib.stats import Summary, fmt, ratio, summarize
from benchlib.table import Row

from azext_prototype.telemetry import track
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.recording import backing_off, read_saved_state
from telemetry_sender.spool.lock import is_held

logger = logging.getLogger(__name__)
SCENARIOS = ("off", "healthy", "down", "hanging", "throttling")
CONNECTION_VAR = "APPLICATIONINSIGHTS_CONNECTION_STRING"


def _status(cmd: Any, project_dir: str | None = None) -> dict[str, str]:
    """A no-op command function with prototype status's signature."""
    return {"name": "bench"}


TRACKED = track("prototype status")(_status)


@contextlib.contextmanager
def environ(overlay: dict[str, str | None]) -> Iterator[None]:
    """Temporarily set (str) or remove (None) variables of os.environ: the recorder reads it per call."""
    saved = {key: os.environ.get(key) for key in overlay}
    try:
        for key, value in overlay.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class Scenario:
    """One endpoint condition with its own config dir, spool and project."""

    name: str
    config_dir: Path
    project_dir: Path
    overlay: dict[str, str | None]
    samples: list[float] = field(default_factory=list)
    imports: list[float] = field(default_factory=list)  # µs to import azext_prototype.telemetry (first-call rows)
    spawns: int = 0
    calls: int = 0
    conditions: set[str] = field(default_factory=set)

    @property
    def layout(self) -> SpoolLayout:
        return SpoolLayout.default({"AZURE_CONFIG_DIR": str(self.config_dir)})


def scenario_env(scenario: Scenario) -> dict[str, str]:
    """os.environ with the scenario's overlay applied (None removes a variable)."""
    env = dict(os.environ)
    for key, value in scenario.overlay.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def sender_due(layout: SpoolLayout) -> bool:
    """Would a command start a sender now (recording.claim_sender_lock's question, asked without the lock)."""
    return not is_held(layout.lock_file) and not backing_off(read_saved_state(layout.state_file), datetime.now(timezone.utc))


def _send_command(layout: SpoolLayout) -> list[str]:
    return [sys.executable, "-m", "telemetry_sender", "send", "--spool", str(layout.root)]


class ScenarioKeeper:
    """Puts each scenario's spool in its condition before a block: backing off, or locked by a hanging sender."""

    def __init__(self, endpoints: Endpoints, envelope: dict[str, Any]) -> None:
        self.endpoints = endpoints
        self.envelope = envelope
        self.hanging_sender: subprocess.Popen | None = None

    def prepare(self, scenario: Scenario) -> str:
        """Make the condition true now; return what it is ("no sender due", "backing off", "locked by a sender")."""
        layout = scenario.layout
        env = scenario_env(scenario)
        if scenario.name in ("down", "throttling") and sender_due(layout):
            fill_spool(layout, self.envelope, 1)
            subprocess.run(_send_command(layout), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60, check=False)
        if scenario.name == "hanging" and not is_held(layout.lock_file):
            self.stop_hanging_sender()
            fill_spool(layout, self.envelope, 1)
            seen = len(self.endpoints.hanging.requests)
            self.hanging_sender = subprocess.Popen(_send_command(layout), env=env, stdin=subprocess.DEVNULL,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.endpoints.hanging.wait_for_requests(seen + 1, timeout=15)
        if scenario.name == "off":
            return "telemetry off"
        if is_held(layout.lock_file):
            return "a sender holds the lock (hung)"
        return "backing off" if not sender_due(layout) else "no sender running: spawns one"

    def keep(self) -> set[int]:
        return {self.hanging_sender.pid} if self.hanging_sender is not None else set()

    def stop_hanging_sender(self) -> None:
        if self.hanging_sender is not None:
            procs.kill(self.hanging_sender.pid)
            self.hanging_sender.returncode = -9
            self.hanging_sender = None


def make_scenarios(tmp: Path, endpoints: Endpoints) -> list[Scenario]:
    project = make_project(tmp / "project")
    found = []
    for name in SCENARIOS:
        config_dir = tmp / name / "azure"
        write_profile(config_dir)
        overlay: dict[str, str | None] = {
            "AZURE_CONFIG_DIR": str(config_dir),
            CONNECTION_VAR: endpoints.by_name(name).connection_string,
            "DO_NOT_TRACK": "1" if name == "off" else None,
        }
        found.append(Scenario(name, config_dir, project, overlay))
    return found


def _time_block(scenario: Scenario, cmd: Any, count: int, keep: set[int]) -> None:
    clock = time.perf_counter_ns
    project_dir = str(scenario.project_dir)
    with environ(scenario.overlay):
        for _ in range(count):
            started = clock()
            TRACKED(cmd, project_dir=project_dir)
            elapsed = clock() - started
            scenario.samples.append(elapsed / 1000.0)
            scenario.spawns += procs.kill_children(keep)
            scenario.calls += 1


def _time_calls(func: Callable[[], Any], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter_ns()
        func()
        samples.append((time.perf_counter_ns() - started) / 1000.0)
    return samples


def measure_recorder(tmp: Path, endpoints: Endpoints, envelope: dict[str, Any], *, rounds: int = 4,
                     per_block: int = 50, progress: Callable[[str], None]) -> dict[str, Scenario]:
    """Time TRACKED in every scenario, blocks interleaved round by round; bare calls as a floor."""
    scenarios = make_scenarios(tmp, endpoints)
    keeper = ScenarioKeeper(endpoints, envelope)
    cmd = fake_cmd("prototype status", ["project_dir"])
    bare = Scenario("bare", tmp, scenarios[0].project_dir, {})
    try:
        for scenario in scenarios:  # warm-up: first-use imports, directories
            with environ(scenario.overlay):
                TRACKED(cmd, project_dir=str(scenario.project_dir))
            procs.kill_children(keeper.keep())
        for round_no in range(rounds):
            order = scenarios[round_no % len(scenarios):] + scenarios[:round_no % len(scenarios)]
            for scenario in order:
                scenario.conditions.add(keeper.prepare(scenario))
                _time_block(scenario, cmd, per_block, keeper.keep())
            bare.samples += _time_calls(lambda: _status(cmd, project_dir=str(bare.project_dir)), per_block)
            progress(f"recorder: round {round_no + 1}/{rounds} done")
    finally:
        keeper.stop_hanging_sender()
        procs.kill_children()
    result = {s.name: s for s in scenarios}
    result["bare"] = bare
    return result


def _post(url: str, envelope: dict[str, Any]) -> Callable[[], None]:
    import requests

    def call() -> None:
        try:
            requests.post(url, json=[fresh_copy(envelope)], timeout=5)
        except requests.RequestException:
            pass  # what the published extension does with a failure: nothing

    return call


@dataclass(frozen=True)
class SaveResult:
    samples: list[float]
    spawned_per_call: float
    uploader_ms: float
    cache_bytes: int


def measure_az_save(config_dir: Path, payload: str, count: int, *, wait_uploader: bool) -> SaveResult:
    """azure.cli.telemetry.save(config_dir, payload) per call; count the processes it starts and let them finish."""
    from azure.cli.telemetry import save
    from azure.cli.telemetry.components.telemetry_logging import LOGGER_NAME

    logging.getLogger(LOGGER_NAME).addHandler(logging.NullHandler())  # its "Upload failed" lines
    logging.getLogger(LOGGER_NAME).propagate = False
    save(str(config_dir), payload)  # warm-up: imports applicationinsights, portalocker
    procs.settle(30)
    samples, spawned, uploader = [], 0, []
    for _ in range(count):
        started = time.perf_counter_ns()
        save(str(config_dir), payload)
        samples.append((time.perf_counter_ns() - started) / 1000.0)
        after = time.perf_counter()
        kids = procs.children()
        spawned += len(kids)
        if wait_uploader:
            procs.settle(30)
            uploader.append((time.perf_counter() - after) * 1000.0)
        else:
            procs.kill_children()
    cache = config_dir / "telemetry"
    cache_bytes = sum(p.stat().st_size for p in cache.glob("cache*")) if cache.is_dir() else 0
    return SaveResult(samples, spawned / max(1, count), summarize(uploader).median if uploader else 0.0, cache_bytes)


def measure_alternatives(tmp: Path, endpoints: Endpoints, envelope: dict[str, Any], *,
                         progress: Callable[[str], None]) -> dict[str, Any]:
    """Synchronous POSTs with a 5 s timeout (healthy, refused, hanging) and Azure CLI's telemetry.save()."""
    import urllib.request

    proxies = urllib.request.getproxies()
    if "127.0.0.1:9" not in proxies.get("https", ""):
        raise RuntimeError(f"refusing to run azure.cli.telemetry without a dead HTTPS proxy: {proxies}")
    results: dict[str, Any] = {}
    import requests  # imported once, as the published extension does at load time

    _post(endpoints.healthy.track_url, envelope)()  # warm-up
    results["post healthy"] = _time_calls(_post(endpoints.healthy.track_url, envelope), 100)
    results["post refused"] = _time_calls(_post(endpoints.down.track_url, envelope), 100)
    progress("alternatives: synchronous POST to a hanging endpoint (5 s timeout, 2 calls)")
    results["post hanging"] = _time_calls(_post(endpoints.hanging.track_url, envelope), 2)
    progress("alternatives: azure.cli.telemetry.save()")
    from benchlib.environment import make_config_dir

    results["save cli"] = measure_az_save(make_config_dir(tmp / "az-save-cli"), az_cli_payload(), 15,
                                          wait_uploader=True)
    results["save ext"] = measure_az_save(make_config_dir(tmp / "az-save-ext"), az_cli_payload("bench-extension-ikey"),
                                          30, wait_uploader=False)
    return results


def us_cells(summary: Summary) -> tuple[str, str]:
    return fmt(summary.median, "µs"), fmt(summary.p95, "µs")


def _verdict(name: str, delta_us: float) -> str:
    """The budget each arm answers to (DESIGN.md "Budgets", issue budgets): off 50 µs, recording 1 ms."""
    if name == "off":
        return "OK (≤ 50 µs)" if delta_us <= 50 else "OVER 50 µs"
    if name.endswith("fails"):
        return "error path (scrubber loaded)"
    return "OK (≤ 1 ms)" if delta_us <= 1000 else "OVER 1 ms"


def scenario_rows(section: str, kind: str, measured: dict[str, Scenario]) -> list[Row]:
    """Every arm against the undecorated floor (a failing command against the floor that fails alike)."""
    bare = summarize(measured["bare"].samples)
    out = [Row(section, f"recorder, {kind}: the same function undecorated (floor)", str(bare.n), *us_cells(bare),
               "", "", "")]
    for name in [n for n in measured if n not in ("bare", "bare fails")]:
        scenario = measured[name]
        floor = summarize(measured["bare fails" if name.endswith("fails") else "bare"].samples)
        s = summarize(scenario.samples)
        delta = s.median - floor.median
        if name == "off":
            label = "@track, telemetry off (DO_NOT_TRACK=1)"
        else:
            detail = "; ".join(sorted(scenario.conditions))
            spawns = f"{scenario.spawns}/{scenario.calls} calls spawned a sender"
            label = f"@track, endpoint {name} ({detail}; {spawns})"
        out.append(Row(section, f"recorder, {kind}: {label}", str(s.n), *us_cells(s),
                       f"floor: +{fmt(delta, 'µs')}", ratio(s.median, floor.median), _verdict(name, delta)))
    return out


def rows(measured: dict[str, Scenario]) -> list[Row]:
    """Row 1a: µs per call in a warm process, against the undecorated floor."""
    return scenario_rows("1a", "warm, per call", measured)


def alternative_rows(measured: dict[str, Scenario], alternatives: dict[str, Any]) -> list[Row]:
    """Row 1c: the alternatives, against our warm healthy cost (the one that spawns)."""
    ours = summarize(measured["healthy"].samples)
    out: list[Row] = []
    for key, label in (("post healthy", "alt: sync requests.post(timeout=5) in the command, endpoint healthy"),
                       ("post refused", "alt: sync requests.post(timeout=5), endpoint refusing"),
                       ("post hanging", "alt: sync requests.post(timeout=5), endpoint hanging")):
        s = summarize(alternatives[key])
        out.append(Row("1c", label, str(s.n), *us_cells(s), "ours, warm, healthy", ratio(s.median, ours.median),
                       "over 5 ms" if s.median > 5000 else ""))
    cli: SaveResult = alternatives["save cli"]
    s = summarize(cli.samples)
    out.append(Row("1c", "alt: azure.cli.telemetry.save() (az's own, CLI key): writes its cache, starts an uploader "
                   f"process per call ({cli.spawned_per_call:.1f}/call; it ran {fmt(cli.uploader_ms, 'ms')} "
                   "and sent nothing here: far-future note, dead proxy)", str(s.n), *us_cells(s), "ours, warm, healthy",
                   ratio(s.median, ours.median), ""))
    ext: SaveResult = alternatives["save ext"]
    s = summarize(ext.samples)
    out.append(Row("1c", "alt: azure.cli.telemetry.save(), extension's own key: synchronous urllib POST "
                   "(10 s timeout) inside az; proxy refused here, so a lower bound", str(s.n), *us_cells(s),
                   "ours, warm, healthy", ratio(s.median, ours.median), ""))
    return out
