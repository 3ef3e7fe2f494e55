"""`make bench`: measure DESIGN.md's budgets on loopback, print one table, write BENCHMARKS.md.

Rows: 1 recorder cost in-process (and its alternatives), 2 whole `az` command wall time,
3 import time, 4 sender drain rate, 5 sender peak memory, 6 end-to-end latency, 7 spool cap,
8 error scrubbing (4 KB message, vocabulary load, nothing loaded by a successful command),
9 sender processes during a burst of 50 commands, 10 crash → full delivery by the next `send`.
Progress goes to stderr, the table to stdout. Everything runs under one temporary folder
(removed at the end) with its own AZURE_CONFIG_DIR; every process the bench starts, directly
or through az, is ended by pid before it exits. Takes about 3-4 minutes on 2 cores.
`--quick` runs fewer iterations (for checking the script, not for numbers).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import environment, procs  # noqa: E402  (benchlib is found through the path set just above)

logger = logging.getLogger("bench")


def progress(message: str) -> None:
    """One progress line on stderr."""
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations; numbers are not for BENCHMARKS.md")
    parser.add_argument("--output", default=str(environment.REPO / "BENCHMARKS.md"), help="report file")
    return parser.parse_args(argv)


def run(tmp: Path, quick: bool) -> tuple[list, list[str]]:
    """All rows, in table order, plus notes for the report."""
    from benchlib import azrun, bursts, firstcall, imports, recorder, scrubbing, senderrun
    from benchlib.endpoints import Endpoints
    from benchlib.fixtures import make_project, sample_envelope

    sizes = dict(rec_rounds=2, per_block=20, cold=5, az_rounds=3, imports=5, latency=3, drain=2000, naive=200,
                 memory=(0, 200, 5000), cap=12 * 1024 * 1024, scrub=200, bursts=1, crashes=1) if quick else dict(
        rec_rounds=4, per_block=50, cold=15, az_rounds=40, imports=20, latency=6, drain=10_000, naive=1_000,
        memory=(0, 1_000, 50_000), cap=20 * 1024 * 1024, scrub=2_000, bursts=3, crashes=3)
    notes: list[str] = []
    endpoints = Endpoints.start()
    try:
        envelope = sample_envelope(endpoints.healthy.connection_string, make_project(tmp / "envelope-project"),
                                   tmp / "envelope-azure")
        progress("row 3: import times")
        imported = imports.measure(tmp, sizes["imports"], progress)
        progress("row 1: recorder in-process")
        measured = recorder.measure_recorder(tmp / "recorder", endpoints, envelope, rounds=sizes["rec_rounds"],
                                             per_block=sizes["per_block"], progress=progress)
        cold = firstcall.measure_cold(tmp / "cold", endpoints, envelope, sizes["cold"], progress)
        phases = firstcall.measure_phases(tmp / "phases", endpoints, envelope, sizes["cold"], progress)
        floors = firstcall.measure_floors(tmp / "floors", sizes["cold"], progress)
        alternatives = recorder.measure_alternatives(tmp / "alternatives", endpoints, envelope, progress=progress)
        progress("row 2: whole az commands (interleaved)")
        bench = azrun.AzBench(tmp / "az", endpoints)
        commands = azrun.measure_commands(bench, rounds=sizes["az_rounds"], progress=progress)
        progress("row 6: end-to-end latency")
        latencies = azrun.measure_latency(bench, runs=sizes["latency"], progress=progress)
        progress("row 4: sender drain")
        drain = senderrun.measure_drain(tmp / "sender", endpoints, envelope, sizes["drain"], sizes["naive"], progress)
        progress("row 5: sender memory")
        memory = senderrun.measure_memory(tmp / "sender", endpoints, envelope, sizes["memory"], progress)
        progress("row 7: spool cap")
        cap = senderrun.measure_cap(tmp / "sender", endpoints, envelope, sizes["cap"], progress)
        progress("row 8: error scrubbing")
        scrubbed = scrubbing.measure(tmp / "scrub", sizes["scrub"], progress)
        progress("row 9: a burst of 50 az commands")
        burst = bursts.measure_burst(bench, commands=50, rounds=sizes["bursts"], progress=progress)
        progress("row 10: crash, then send")
        crashes = bursts.measure_crash(tmp / "crash", envelope, runs=sizes["crashes"], count=2000, progress=progress)
    finally:
        endpoints.close()
    rows = [*recorder.rows(measured), *firstcall.cold_rows(cold), *firstcall.phase_rows(phases),
            *firstcall.whole_rows(cold), *firstcall.floor_rows(floors),
            *recorder.alternative_rows(measured, alternatives),
            *azrun.command_rows(commands), *imports.rows(imported), *senderrun.drain_rows(drain),
            *senderrun.memory_rows(memory), *azrun.latency_rows(latencies), *senderrun.cap_rows(cap),
            *scrubbing.rows(scrubbed), *bursts.burst_rows(burst), *bursts.crash_rows(crashes)]
    if quick:
        notes.append("--quick run: too few iterations for real numbers.")
    return rows, notes


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="prototype-bench-"))
    environment.apply_to_process(tmp / "bench-azure")
    environment.compile_sources()
    if not procs.become_subreaper():
        progress("warning: cannot adopt orphaned processes; leftovers are found by command line instead")
    try:
        rows, notes = run(tmp, args.quick)
    finally:
        leftovers = procs.end_everything(str(tmp))
        if leftovers:
            progress(f"ended {leftovers} leftover process(es)")
        shutil.rmtree(tmp, ignore_errors=True)
    from benchlib import report

    elapsed = time.monotonic() - started
    output = Path(args.output)
    table = report.write(output, rows, elapsed, notes)
    print(table)
    progress(f"done in {elapsed:.0f} s; wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
