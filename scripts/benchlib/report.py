"""BENCHMARKS.md: a short header (machine, how each row was measured), then the table."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from benchlib.environment import machine_lines
from benchlib.table import Row, render

HOW = """\
How each row was measured (all traffic on 127.0.0.1; every az/sender process got its own
temporary AZURE_CONFIG_DIR; HTTP(S) proxies pointed at a closed loopback port with loopback
exempt, so nothing could reach the internet; the four endpoints are `telemetry_sender.emulator.server`
instances: healthy, down = a stopped emulator's refusing port, hanging = holds each request
120 s, throttling = 429 with Retry-After 120):

1. Recorder in-process: a no-op function with `prototype status`'s signature wrapped in
   `@track`, called with a fake az `cmd` (cli_ctx.config, parser's specified_arguments,
   safe_params), with a signed-in profile and a project file present; per-call µs by
   perf_counter_ns, blocks of calls per endpoint interleaved round by round after a warm-up.
   Each endpoint has its own spool and state: down/throttling are backing off after a real
   sender attempt, hanging has a real sender hung on the endpoint holding the lock, healthy
   has no sender running so every call spawns one (killed right after the call, outside the
   timing). Every arm is compared with the same function undecorated (the floor), in the same
   kind of process. "FIRST call" rows (1b) run one call in a fresh interpreter that has
   imported the extension's telemetry package and preloaded the stdlib modules az has loaded
   by then (zlib and fcntl included: checked in a real az process), and has parsed the
   signed-in profile as az's start-up does (azure.cli.core._session.ACCOUNT, which the
   recorder reads the tenant from instead of the file; row 1a reads the file); what the call imports,
   writes and spawns is what one az command pays. "command fails" arms raise from the
   command: the error path loads the scrubber and its vocabulary (against a floor that
   raises alike). Row 1d splits the first enabled call (healthy, a sender due) by phase:
   the recorder's import timed on its own, then the steps the recorder's Tracer.phase marks.
   Row 1e adds to each 1b arm the same process's import of azext_prototype.telemetry (timed
   after `import azext_prototype`, which brings azure.cli.core, az's own cost): the command's
   module pays that import on every command, so it is the whole telemetry cost of one command,
   and moving code between the import and the call would not lower it. Row 1f times, in the
   same kind of fresh process and with none of our code, the import of one empty module (its
   finder already made) and the first os.posix_spawn of the interpreter: what each module on
   the path and the start of any sender cost on this machine. Before each
   fresh-process run the bench calls os.sync(), so the write-back of what earlier rows wrote
   is not timed as the recorder's spool write.
   Alternatives, same envelope: a synchronous `requests.post(..., timeout=5)`
   inside the command (healthy, refusing, hanging: the hanging one costs the full 5 s, so only
   2 calls), and Azure CLI's own `azure.cli.telemetry.save(config_dir, payload)` with a payload
   shaped like az's (CLI key: cache write + uploader process per call, the uploader waited for
   between calls; an extension's own key: synchronous urllib POST inside the process, refused
   by the dead proxy here, so a lower bound).
2. Whole command: the real `az prototype status` (dev extension via tests/azcli.py's hermetic
   env) in a project, telemetry off (DO_NOT_TRACK=1) vs on against each endpoint; one warm-up
   each, then rounds with the order rotated; after each run the bench waits (bounded) for the
   processes az left (our sender, az's own uploader) to exit, except a sender hung on the
   hanging endpoint. Δ is the median of per-round paired differences against "off"; whole-az
   noise is large (see the IQR), so this row is a sanity check that nothing is badly wrong:
   the recorder's own cost is measured precisely in rows 1a, 1b and 1d.
3. Import time in fresh interpreters, perf_counter around the import statement inside the
   process (start-up excluded), variants interleaved; heavy modules checked in sys.modules.
4. 10,000 events written with `telemetry_sender.spool.write.write_event`, then one
   `python -m telemetry_sender send --spool DIR` process to the healthy emulator (wall time
   from spawn to exit, interpreter start-up included). Alternative: a script doing one
   `requests.post` per event (new connection each) on 1,000 events; its rate is extrapolated.
5. Peak RSS of one sender process (ru_maxrss from os.wait4) per spool size, healthy endpoint.
   The 10 MiB spool cap evicts the oldest events of the 50,000 first (reported).
6. Seconds from `az prototype status` exiting (healthy endpoint, fresh spool) to the emulator
   having accepted its event (Emulator.wait_for_accepted); the sender waits for az to exit first.
7. 20 MiB of events written, then one sender run against the refusing endpoint; pending bytes
   (sum of file sizes of spool/*.json) afterwards.
"""


def write(path: Path, rows: Sequence[Row], elapsed: float, notes: Sequence[str] = ()) -> str:
    """Write BENCHMARKS.md; return the table text."""
    table = render(rows)
    lines = ["# Benchmarks", "", "Generated by `make bench` (scripts/bench.py); do not edit by hand.", "",
             *machine_lines(), f"- Bench wall time: {elapsed:.0f} s", "", HOW, "## Results", "", table, ""]
    if notes:
        lines += ["## Notes", "", *[f"- {note}" for note in notes], ""]
    path.write_text("\n".join(lines))
    return table
