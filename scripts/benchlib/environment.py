"""The bench's own hermetic environment and a description of the machine it ran on.

Everything the bench starts inherits this environment: no AZURE_* / telemetry
variables from the user, AZURE_CONFIG_DIR under the bench's temp folder (never
~/.azure), and every HTTP(S) proxy pointing at a closed loopback port with loopback
exempt, so nothing can reach the internet while loopback endpoints stay reachable.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Mapping

REPO = Path(__file__).resolve().parents[2]
DEAD_LOOPBACK = "http://127.0.0.1:9"  # a closed port: refused at once, never leaves the host
LOOPBACK = "127.0.0.1,localhost,::1,[::1]"
_STRIPPED_PREFIXES = ("AZURE_", "APPLICATIONINSIGHTS_", "APPINSIGHTS_", "PIP_")
_STRIPPED_NAMES = frozenset(
    {"DO_NOT_TRACK", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "PYTHONPATH",
     "AZ_PROTOTYPE_TELEMETRY_DEBUG",
     # an installed extension has its bytecode cached (pip compiles it): so must the bench's
     "PYTHONDONTWRITEBYTECODE"}
)
# azure-cli-telemetry's uploader sends only cache records newer than this note.
AZ_TELEMETRY_NOTE = "telemetry.txt"
FAR_FUTURE_NOTE = "9999-12-31T23:59:59"


def hermetic(environ: Mapping[str, str], config_dir: Path) -> dict[str, str]:
    """`environ` without the user's Azure/telemetry/proxy settings, plus dead proxies and our config dir."""
    env = {
        k: v for k, v in environ.items()
        if not k.upper().startswith(_STRIPPED_PREFIXES) and k.upper() not in _STRIPPED_NAMES
    }  # fmt: skip
    env.update({
        "AZURE_CONFIG_DIR": str(config_dir),
        "HTTP_PROXY": DEAD_LOOPBACK, "HTTPS_PROXY": DEAD_LOOPBACK, "ALL_PROXY": DEAD_LOOPBACK,
        "http_proxy": DEAD_LOOPBACK, "https_proxy": DEAD_LOOPBACK, "all_proxy": DEAD_LOOPBACK,
        "NO_PROXY": LOOPBACK, "no_proxy": LOOPBACK,
        "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    })  # fmt: skip
    return env


def compile_sources() -> None:
    """Cache the bytecode of our packages, as `pip install` / `az extension add` do."""
    import compileall

    for package in ("azext_prototype", "telemetry_sender"):
        compileall.compile_dir(str(REPO / package), quiet=1)


def make_config_dir(path: Path) -> Path:
    """An az config folder whose telemetry note keeps az's own uploader from sending anything."""
    path.mkdir(parents=True, exist_ok=True)
    (path / AZ_TELEMETRY_NOTE).write_text(FAR_FUTURE_NOTE)
    return path


def apply_to_process(config_dir: Path) -> None:
    """Make this process's os.environ hermetic (in place, so children and libraries see it)."""
    wanted = hermetic(os.environ, make_config_dir(config_dir))
    for key in list(os.environ):
        if key not in wanted:
            del os.environ[key]
    os.environ.update(wanted)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _git_head() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=10, check=False)
        return done.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def az_version() -> str:
    """azure-cli's version as installed in the venv (without running az)."""
    try:
        from azure.cli.core import __version__

        return __version__
    except ImportError:
        return "not installed"


def machine_lines() -> list[str]:
    """Facts for the report header: cores, CPU, OS, Python, azure-cli, commit, date."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- Machine: {os.cpu_count()} cores ({_cpu_model()}), {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({sys.executable}), azure-cli {az_version()}",
        f"- Commit {_git_head()}, run {now}",
    ]
