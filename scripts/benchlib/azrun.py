"""Rows 2 and 6: the real `az prototype status` (dev extension, hermetic env from tests/azcli.py).

Row 2 times whole commands with our telemetry off (DO_NOT_TRACK=1) and on against each
endpoint, interleaved round by round (rotating the order), and reports the per-round
paired difference against "off". Row 6 times an event from the command's exit to its
acceptance at a healthy emulator. Between runs the bench waits (bounded) for the
processes az left behind (our sender, az's own telemetry uploader) to finish, except
a sender hung on the hanging endpoint, so runs do not steal each other's CPU.
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from benchlib import procs
from benchlib.endpoints import Endpoints
from benchlib.environment import REPO
from benchlib.fixtures import write_profile
from benchlib.stats import fmt, ratio, summarize
from benchlib.table import Row

SCENARIOS = ("off", "healthy", "down", "hanging", "throttling")
CONNECTION_VAR = "APPLICATIONINSIGHTS_CONNECTION_STRING"
SETTLE_SECONDS = 6.0


def _azcli() -> Any:
    """tests/azcli.py: the one hermetic way to run the real az with the dev extension."""
    tests = str(REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import azcli

    return azcli


@dataclass
class AzScenario:
    name: str
    env: dict[str, str]
    marker: str  # its config dir: names its sender's --spool in `ps`
    samples: list[float] = field(default_factory=list)


def _check(done: subprocess.CompletedProcess, what: str) -> None:
    if done.returncode != 0 or "Traceback" in done.stderr:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stderr[-2000:]}")


class AzBench:
    """A dev-extension az set up once: a project, one hermetic env per scenario."""

    def __init__(self, tmp: Path, endpoints: Endpoints) -> None:
        self.azcli = _azcli()
        self.tmp = tmp
        self.endpoints = endpoints
        self.sources = self.azcli.dev_sources_dir(tmp)
        init_env = self.azcli.dev_extension_env(tmp / "init", self.sources, DO_NOT_TRACK="1")
        init_env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with cached bytecode, as users run
        work = tmp / "work"
        work.mkdir(parents=True, exist_ok=True)
        done = self.azcli.run_az(["prototype", "init", "--name", "bench", "--location", "westus3"], init_env, cwd=work)
        _check(done, "az prototype init")
        self.project = work / "bench"

    def scenario(self, name: str, endpoint_name: str | None = None) -> AzScenario:
        """A scenario with its own config dir (spool, state), signed-in profile and connection string."""
        endpoint = self.endpoints.by_name(endpoint_name or name)
        extra = {CONNECTION_VAR: endpoint.connection_string}
        if name == "off":
            extra["DO_NOT_TRACK"] = "1"
        env = self.azcli.dev_extension_env(self.tmp / name, self.sources, **extra)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with cached bytecode, as users run
        write_profile(Path(env["AZURE_CONFIG_DIR"]))
        return AzScenario(name, env, env["AZURE_CONFIG_DIR"])

    def run_status(self, scenario: AzScenario) -> float:
        """One `az prototype status` in the project; wall milliseconds (it must succeed)."""
        started = time.perf_counter()
        done = self.azcli.run_az(["prototype", "status"], scenario.env, cwd=self.project)
        elapsed = (time.perf_counter() - started) * 1000.0
        _check(done, f"az prototype status ({scenario.name})")
        return elapsed


def _ignore_hung(marker: str) -> Callable[[int], bool]:
    return lambda pid: marker in procs.cmdline(pid)


def measure_commands(bench: AzBench, *, rounds: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Interleaved whole-command timings per scenario, plus how many healthy events arrived."""
    scenarios = [bench.scenario(name) for name in SCENARIOS]
    hung = _ignore_hung(scenarios[SCENARIOS.index("hanging")].marker)
    before = len(bench.endpoints.healthy.accepted)
    try:
        for scenario in scenarios:  # warm-up, not counted: caches, first sender, first backoff
            bench.run_status(scenario)
            procs.settle(SETTLE_SECONDS, ignore=hung)
        for round_no in range(rounds):
            shift = round_no % len(scenarios)
            for scenario in scenarios[shift:] + scenarios[:shift]:
                scenario.samples.append(bench.run_status(scenario))
                procs.settle(SETTLE_SECONDS, ignore=hung)
            progress(f"az: round {round_no + 1}/{rounds}: "
                     + ", ".join(f"{s.name} {s.samples[-1]:.0f} ms" for s in scenarios))
        bench.endpoints.healthy.wait_for_accepted(before + rounds + 1, timeout=10)
    finally:
        procs.kill_children()
    return {"scenarios": {s.name: s for s in scenarios}, "rounds": rounds,
            "delivered": len(bench.endpoints.healthy.accepted) - before,
            "spooled_off": (Path(scenarios[0].marker) / "prototype").exists()}


def command_rows(measured: dict[str, Any]) -> list[Row]:
    """Row 2: medians, spread, and the paired per-round difference against telemetry off."""
    scenarios = measured["scenarios"]
    off = scenarios["off"].samples
    off_s = summarize(off)
    rounds = measured["rounds"]

    def spread(s: Any) -> str:
        return f"IQR {s.p25:.0f}–{s.p75:.0f}, range {s.minimum:.0f}–{s.maximum:.0f} ms"

    note = " (nothing spooled)" if not measured["spooled_off"] else " (WARNING: a spool folder exists)"
    out = [Row("2", f"sanity check: az prototype status, telemetry off (DO_NOT_TRACK=1){note}", str(off_s.n),
               fmt(off_s.median, "ms"), spread(off_s), "baseline", "1×", "")]
    for name in SCENARIOS[1:]:
        samples = scenarios[name].samples
        s = summarize(samples)
        deltas = summarize([a - b for a, b in zip(samples, off)])
        verdict = ("OK (< 1 ms target)" if deltas.median < 1 else "OK (≤ 5 ms)" if deltas.median <= 5
                   else "over 5 ms" + (" (within noise)" if deltas.p25 <= 5 else ""))
        label = f"sanity check: az prototype status, telemetry on, endpoint {name}"
        if name == "healthy":
            label += f" ({measured['delivered']}/{rounds + 1} events delivered)"
        out.append(Row("2", label, str(s.n), fmt(s.median, "ms"), spread(s),
                       f"off, paired Δ median {deltas.median:+.1f} ms (IQR {deltas.p25:+.0f}…{deltas.p75:+.0f})",
                       ratio(s.median, off_s.median), verdict))
    return out


def measure_latency(bench: AzBench, *, runs: int, progress: Callable[[str], None]) -> list[float]:
    """Seconds from `az prototype status` exiting to its event accepted by the healthy emulator."""
    scenario = bench.scenario("latency", "healthy")
    emulator = bench.endpoints.healthy
    latencies = []
    try:
        for run in range(runs):
            procs.settle(SETTLE_SECONDS)
            seen = len(emulator.accepted)
            bench.run_status(scenario)
            exited = time.perf_counter()
            arrived = emulator.wait_for_accepted(seen + 1, timeout=10)
            latencies.append(time.perf_counter() - exited if arrived else float("inf"))
            progress(f"latency: run {run + 1}/{runs}: {latencies[-1] * 1000:.0f} ms")
    finally:
        procs.settle(SETTLE_SECONDS)
        procs.kill_children()
    return latencies


def latency_rows(latencies: list[float]) -> list[Row]:
    """Row 6: median and worst of exit→acceptance."""
    s = summarize([x * 1000.0 for x in latencies])
    lost = sum(1 for x in latencies if x == float("inf"))
    verdict = ("OK (≤ 1 s target)" if s.median <= 1000 else "OK (≤ 2 s)" if s.median <= 2000 else "OVER 2 s")
    if lost:
        verdict += f"; {lost} not accepted within 10 s"
    return [Row("6", "end-to-end: az command exit → event accepted (healthy endpoint)", str(s.n),
                fmt(s.median, "ms"), f"max {fmt(s.maximum, 'ms')}", "budget 2 s",
                ratio(s.median, 2000.0), verdict)]
