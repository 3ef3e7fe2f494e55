"""Row 8: what scrubbing an error costs (only failed commands pay it), and proof that a success pays nothing.

The 4 KB message mixes az's wording with every kind of planted private value; it is
scrubbed in-process after a warm-up (vocabulary loaded, patterns compiled). The vocabulary
load is timed from its file each time. The import check records one successful and one
failed command in fresh interpreters and lists which privacy modules each loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from benchlib.stats import fmt, summarize
from benchlib.table import Row

SCRUB_MODULES = ("telemetry_sender.privacy.errors", "telemetry_sender.privacy.allowlist",
                 "telemetry_sender.privacy.scrub", "telemetry_sender.privacy.vocabulary")
_PIECES = (
    "(StorageAccountAlreadyTaken) The storage account named contosopayrollsa01 is already taken. ",
    "Could not connect to postgresql://pgadmin:S3cr3t-Pg!pw@contoso-pg.postgres.database.azure.com/app; ",
    "Token rejected: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c ",
    "cannot read /home/jane/contoso-app/prototype.yaml or C:\\Users\\jane\\My Documents\\main.bicep. ",
    "The resource /subscriptions/72f988bf-86f1-41af-91ab-2d7cd011db47/resourceGroups/contoso-rg was not found. ",
    "Please run 'az login' to set up an account for jane.doe@contoso.com (max_tokens: 4096, HTTP 429). ",
)
_CHILD = """
import json, sys, time
from azext_prototype.telemetry.event import Invocation
from azext_prototype.telemetry.record import record
failed = sys.argv[1] == "failed"
error = RuntimeError("could not reach contoso-hr-api-056") if failed else None
record(Invocation("prototype status", {{"scope": "infra"}}, {{}}, error, time.time_ns(), 3.0), spawn=False)
print(json.dumps([m for m in {modules!r} if m in sys.modules]))
"""


def message_4k() -> str:
    """A 4 KB error message: az's wording around planted private values."""
    text = ""
    while len(text) < 4096:
        text += _PIECES[len(text) % len(_PIECES)]
    return text[:4096]


def _loaded_by(outcome: str, env: dict[str, str]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _CHILD.format(modules=SCRUB_MODULES), outcome], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"recording a {outcome} command failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(tmp: Path, runs: int, progress: Callable[[str], None]) -> dict[str, object]:
    """Per-call scrub times (ms), vocabulary load times (ms), and what each outcome imported."""
    from telemetry_sender.privacy import vocabulary
    from telemetry_sender.privacy.errors import sanitize_error

    text = message_4k()
    sanitize_error(text)  # warm: the vocabulary and the patterns load once per process
    scrub = []
    for _ in range(runs):
        start = time.perf_counter()
        sanitize_error(text)
        scrub.append((time.perf_counter() - start) * 1000.0)
    load = []
    for _ in range(max(5, runs // 10)):
        start = time.perf_counter()
        vocabulary.load()
        load.append((time.perf_counter() - start) * 1000.0)
    progress("row 8: which modules a successful and a failed command load")
    env = dict(os.environ, AZURE_CONFIG_DIR=str(tmp / "scrub-azure"),
               APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=00000000-0000-0000-0000-000000000001;"
                                                     "IngestionEndpoint=http://127.0.0.1:9")
    env.pop("DO_NOT_TRACK", None)
    env.pop("AZURE_CORE_COLLECT_TELEMETRY", None)
    return {"scrub": scrub, "load": load, "entries": len(vocabulary.load()),
            "success": _loaded_by("success", env), "failed": _loaded_by("failed", env)}


def rows(measured: dict[str, object]) -> list[Row]:
    """Row 8: scrub a 4 KB message, load the vocabulary, modules a successful command loads."""
    scrub, load = summarize(measured["scrub"]), summarize(measured["load"])  # type: ignore[arg-type]
    success, failed = measured["success"], measured["failed"]
    return [
        Row("8", "sanitize_error, 4 KB message, vocabulary loaded", str(scrub.n), fmt(scrub.median, "ms"),
            fmt(scrub.p95, "ms"), budget="≤ 1 ms"),
        Row("8", f"vocabulary load ({measured['entries']} words)", str(load.n), fmt(load.median, "ms"),
            fmt(load.p95, "ms"), budget="≤ 5 ms"),
        Row("8", "scrubbing modules a successful command loads", "1", ", ".join(success) or "none",  # type: ignore[arg-type]
            baseline=f"failed command: {len(failed)} of {len(SCRUB_MODULES)}", budget="none"),  # type: ignore[arg-type]
    ]
