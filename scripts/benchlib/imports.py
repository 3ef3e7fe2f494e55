"""Row 3: `import azext_prototype.telemetry` in fresh interpreters, against `import requests`.

The time is taken inside each process with perf_counter around the import statement,
so interpreter start-up is excluded; the child also reports which heavy modules the
import pulled in (there must be none).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

from benchlib.stats import fmt, ratio, summarize
from benchlib.table import Row

HEAVY = ("requests", "urllib3", "yaml", "uuid", "portalocker", "inspect", "importlib.metadata", "email")
MUST_NOT_LOAD = ("requests", "yaml")
_CHILD = """
import sys, time
{preload}
before = set(sys.modules)
t = time.perf_counter()
import {module}
elapsed = time.perf_counter() - t
import json
print(json.dumps({{"seconds": elapsed, "present": [m for m in {heavy!r} if m in sys.modules],
                  "added": [m for m in {heavy!r} if m in sys.modules and m not in before]}}))
"""
VARIANTS = {
    # what az has done before any command of ours runs: imported the extension package (and azure.cli.core)
    "in az": ("import azext_prototype", "azext_prototype.telemetry"),
    "bare": ("", "azext_prototype.telemetry"),
    "requests": ("", "requests"),
}


def time_import(preload: str, module: str, cwd: Path) -> dict:
    """{"seconds", "present", "added"} for one fresh interpreter importing `module` after `preload`."""
    code = _CHILD.format(preload=preload, module=module, heavy=HEAVY)
    done = subprocess.run([sys.executable, "-c", code], cwd=str(cwd), env=dict(os.environ), capture_output=True,
                          text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(cwd: Path, runs: int, progress: Callable[[str], None]) -> dict[str, object]:
    """Interleaved fresh-process imports: ours as az does it, ours from nothing, and requests."""
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    present: dict[str, set[str]] = {name: set() for name in VARIANTS}
    added: dict[str, set[str]] = {name: set() for name in VARIANTS}
    for _ in range(runs):
        for name, (preload, module) in VARIANTS.items():
            data = time_import(preload, module, cwd)
            times[name].append(float(data["seconds"]) * 1000.0)
            present[name].update(data["present"])
            added[name].update(data["added"])
    progress(f"imports: {runs} fresh interpreters per variant")
    return {"times": times, "present": present, "added": added}


def rows(measured: dict) -> list[Row]:
    """Row 3: ms per import; ratio against import requests; the heavy-module check in the label."""
    times, present, added = measured["times"], measured["present"], measured["added"]
    ref = summarize(times["requests"])
    out = []
    labels = (
        ("in az", "import azext_prototype.telemetry, fresh interpreter, after `import azext_prototype` "
                  "(what az has loaded by then: azure.cli.core)"),
        ("bare", "import azext_prototype.telemetry, fresh interpreter, nothing preloaded "
                 "(includes azure.cli.core via the package __init__)"),
    )
    for name, label in labels:
        s = summarize(times[name])
        leaked = sorted(set(MUST_NOT_LOAD) & present[name])
        ours = sorted(added[name]) if name == "in az" else sorted(present[name])
        check = ("requests, yaml: not in sys.modules" if not leaked else "FAIL: " + ", ".join(leaked) + " loaded")
        others = (f"; heavy modules it added: {', '.join(ours) or 'none'}" if name == "in az"
                  else f"; heavy present: {', '.join(ours) or 'none'}")
        if name == "in az":
            verdict = ("OK (< 5 ms)" if s.median < 5 else "OVER 5 ms") + ("" if not leaked else "; FAIL")
        else:
            verdict = "FAIL" if leaked else "(az's own import cost included)"
        out.append(Row("3", f"{label} [{check}{others}]", str(s.n), fmt(s.median, "ms"), fmt(s.p95, "ms"),
                       "import requests", ratio(s.median, ref.median), verdict))
    out.append(Row("3", "import requests, fresh interpreter (reference)", str(ref.n), fmt(ref.median, "ms"),
                   fmt(ref.p95, "ms"), "", "", ""))
    return out
