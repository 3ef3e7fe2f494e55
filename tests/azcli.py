"""Helpers for tests that drive the real `az` executable with this extension loaded.

Every az run gets a hermetic environment (`az_env`): its own AZURE_CONFIG_DIR, no
inherited AZURE_* / telemetry / proxy variables, and no way to reach the internet:

- az's OWN telemetry (azure-cli-telemetry) cannot be switched off without
  `core.collect_telemetry`, which also switches ours off. It uploads from a
  detached `python .../azure/cli/telemetry/__init__.py <config dir>` process
  that only sends cached records newer than the timestamp in
  `<config dir>/telemetry.txt`; `az_env` writes a far-future timestamp there,
  so that uploader sends nothing. Belt and braces: HTTP(S)_PROXY point at a
  closed loopback port (urllib and requests honour it; az's uploader uses
  urllib), so even a missed request fails locally at once.
- Loopback stays direct (NO_PROXY), so tests can reach a local ingestion emulator.
- The dev venv has this repository installed editable (easy-install.pth puts the repo
  on sys.path), and az APPENDS extension folders to sys.path: left alone, az would
  import the repository's code whatever way the extension was installed. `az_env`
  puts a `sitecustomize.py` on PYTHONPATH that drops the repository from sys.path at
  interpreter start, as on a user's machine, so each test runs the code of the
  extension it installed (dev folder or wheel). Processes az spawns inherit it.
- The extension index URL points at the closed loopback port; pip is told to
  use no index and skip its version check (`az extension add --source` runs pip).

Ways to load the extension (both are how users run extensions):
- dev directory: `dev_sources_dir()` makes a folder holding a symlink named
  `prototype` to the repository (which has prototype.egg-info from the editable
  install); az's DevExtension finds it through AZURE_EXTENSION_DEV_SOURCES.
- wheel: `build_wheel()` then `install_wheel()` (`az extension add --source`)
  into a folder used as AZURE_EXTENSION_DIR.

The pytest fixtures built on these live in tests/conftest.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

REPO = Path(__file__).resolve().parent.parent
# A closed loopback port: anything sent here is refused at once, never leaves the host.
DEAD_LOOPBACK = "http://127.0.0.1:9"
# az's telemetry uploader sends only records newer than this note (azure-cli-telemetry's TelemetryNote).
AZ_TELEMETRY_NOTE = "telemetry.txt"
FAR_FUTURE_NOTE = "9999-12-31T23:59:59"
DEFAULT_TIMEOUT = 120.0

_STRIPPED_PREFIXES = ("AZURE_", "APPLICATIONINSIGHTS_", "APPINSIGHTS_", "PIP_")
_STRIPPED_NAMES = frozenset(
    {"DO_NOT_TRACK", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "PYTHONPATH"}
)


def az_executable() -> Path:
    """The venv's real `az` (next to the running interpreter, else the repo's .venv)."""
    beside = Path(sys.executable).with_name("az")
    return beside if beside.exists() else REPO / ".venv" / "bin" / "az"


_SITECUSTOMIZE = '''"""Test isolation (tests/azcli.py): hide the editable install of the repository."""
import os
import sys

_REPO = os.path.realpath({repo!r})
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _REPO]
'''


def hide_repository_dir(parent: Path, repo: Path = REPO) -> Path:
    """A folder holding sitecustomize.py that removes `repo` from sys.path; put it on PYTHONPATH."""
    folder = Path(parent) / "hide-editable-install"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(_SITECUSTOMIZE.format(repo=str(repo)))
    return folder


def az_env(tmp_path: Path, *, hide_editable_install: bool = True, **extra: str) -> dict[str, str]:
    """A hermetic environment for running az: own config dir under tmp_path, no network.

    Returns a copy of os.environ without AZURE_*, APPLICATIONINSIGHTS_*, APPINSIGHTS_*,
    PIP_*, DO_NOT_TRACK, proxy and PYTHONPATH variables, plus:
      AZURE_CONFIG_DIR=<tmp_path>/azure (created; its telemetry.txt silences az's own uploader),
      AZURE_CORE_NO_COLOR, AZURE_CORE_SURVEY_MESSAGE=false, AZURE_CORE_ONLY_SHOW_ERRORS=true
      (no preview warnings on stderr), AZURE_CORE_DISABLE_CONFIRM_PROMPT, no dynamic extension
      install, a dead-loopback extension index and proxies, NO_PROXY for loopback, and
      PIP_NO_INDEX / PIP_DISABLE_PIP_VERSION_CHECK.
    Telemetry settings of OUR pipeline (AZURE_CORE_COLLECT_TELEMETRY, DO_NOT_TRACK,
    APPLICATIONINSIGHTS_CONNECTION_STRING) are left to the caller: pass them in `extra`,
    which is applied last and may override anything above.
    With hide_editable_install (default), PYTHONPATH names a sitecustomize.py that removes
    the repository from sys.path, so az runs only the extension code it installed.
    """
    config_dir = Path(tmp_path) / "azure"
    config_dir.mkdir(parents=True, exist_ok=True)
    note = config_dir / AZ_TELEMETRY_NOTE
    if not note.exists():
        note.write_text(FAR_FUTURE_NOTE)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(_STRIPPED_PREFIXES) and k.upper() not in _STRIPPED_NAMES
    }
    env.update(
        {
            "AZURE_CONFIG_DIR": str(config_dir),
            "AZURE_CORE_NO_COLOR": "true",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_ONLY_SHOW_ERRORS": "true",
            "AZURE_CORE_DISABLE_CONFIRM_PROMPT": "true",
            "AZURE_EXTENSION_USE_DYNAMIC_INSTALL": "no",
            "AZURE_EXTENSION_RUN_AFTER_DYNAMIC_INSTALL": "false",
            "AZURE_EXTENSION_INDEX_URL": DEAD_LOOPBACK + "/index.json",
            "HTTP_PROXY": DEAD_LOOPBACK,
            "HTTPS_PROXY": DEAD_LOOPBACK,
            "http_proxy": DEAD_LOOPBACK,
            "https_proxy": DEAD_LOOPBACK,
            "NO_PROXY": "127.0.0.1,localhost,::1,[::1]",
            "no_proxy": "127.0.0.1,localhost,::1,[::1]",
            "PIP_NO_INDEX": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra)
    if hide_editable_install:
        given = [extra["PYTHONPATH"]] if extra.get("PYTHONPATH") else []
        env["PYTHONPATH"] = os.pathsep.join([str(hide_repository_dir(tmp_path)), *given])
    return env


def run_az(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: str | os.PathLike[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run `az <args>` with `env` (from az_env) and return the finished process (text, captured).

    Never raises on a non-zero exit: assert on `.returncode`, `.stdout`, `.stderr`.
    `cwd` defaults to the config dir's parent so az never sees the repository as cwd.
    """
    workdir = cwd if cwd is not None else Path(env["AZURE_CONFIG_DIR"]).parent
    return subprocess.run(
        [str(az_executable()), *args],
        env=dict(env),
        cwd=str(workdir),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def az_json(args: Sequence[str], env: Mapping[str, str], cwd: str | os.PathLike[str] | None = None) -> Any:
    """Run `az <args> -o json`, assert it exited 0 without a traceback, and return the parsed output."""
    done = run_az([*args, "-o", "json"], env, cwd=cwd)
    assert done.returncode == 0, "az {} failed ({}):\n{}".format(" ".join(args), done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def dev_sources_dir(parent: Path, repo: Path = REPO) -> Path:
    """A folder for AZURE_EXTENSION_DEV_SOURCES holding `prototype` -> the repository.

    az names a dev extension after the folder holding *.egg-info, so the symlink's name
    makes it `prototype` whatever the clone is called.
    """
    if not list(repo.glob("*.egg-info")):
        raise RuntimeError(
            "{} has no *.egg-info; run `make install` (pip install -e .) first".format(repo)
        )
    sources = Path(parent) / "dev-sources"
    sources.mkdir(parents=True, exist_ok=True)
    link = sources / "prototype"
    if not link.exists():
        link.symlink_to(repo, target_is_directory=True)
    return sources


def dev_extension_env(tmp_path: Path, sources: Path, **extra: str) -> dict[str, str]:
    """az_env with the dev extension loaded from `sources` and an empty extension dir."""
    ext_dir = Path(tmp_path) / "no-extensions"
    ext_dir.mkdir(parents=True, exist_ok=True)
    base = {"AZURE_EXTENSION_DEV_SOURCES": str(sources), "AZURE_EXTENSION_DIR": str(ext_dir)}
    base.update(extra)
    return az_env(tmp_path, **base)


def wheel_extension_env(tmp_path: Path, extension_dir: Path, **extra: str) -> dict[str, str]:
    """az_env with the wheel-installed extension in `extension_dir` and no dev sources."""
    base = {"AZURE_EXTENSION_DIR": str(extension_dir)}
    base.update(extra)
    return az_env(tmp_path, **base)


def _copy_sources(repo: Path, dest: Path) -> Path:
    """Copy what setup.py packages into `dest`, so building never writes into the repository."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("setup.py", "setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in", "LICENSE"):
        if (repo / name).is_file():
            shutil.copy2(repo / name, dest / name)
    for package in ("azext_prototype", "telemetry_sender"):
        shutil.copytree(repo / package, dest / package, ignore=ignore)
    return dest


def build_wheel(workdir: Path, repo: Path = REPO) -> Path:
    """Build prototype-<version>-py3-none-any.whl from a copy of the sources; return its path."""
    source = _copy_sources(repo, Path(workdir) / "src")
    out = Path(workdir) / "dist"
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("PIP_")}
    env.update({"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        env=env,
        cwd=str(workdir),
        capture_output=True,
        text=True,
        timeout=DEFAULT_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError("building the wheel failed:\n" + done.stdout + done.stderr)
    wheels = sorted(out.glob("prototype-*-py3-none-any.whl"))
    if len(wheels) != 1:
        raise RuntimeError("expected one prototype wheel in {}, found {}".format(out, wheels))
    return wheels[0]


def install_wheel(wheel: Path, workdir: Path) -> Path:
    """`az extension add --source <wheel> --yes` into <workdir>/extensions; return that folder."""
    ext_dir = Path(workdir) / "extensions"
    ext_dir.mkdir(parents=True, exist_ok=True)
    env = az_env(Path(workdir) / "installer", AZURE_EXTENSION_DIR=str(ext_dir))
    done = run_az(["extension", "add", "--source", str(wheel), "--yes"], env)
    if done.returncode != 0:
        raise RuntimeError("az extension add failed:\n" + done.stdout + done.stderr)
    if not (ext_dir / "prototype" / "azext_prototype" / "__init__.py").is_file():
        raise RuntimeError("az extension add did not install azext_prototype into {}".format(ext_dir))
    return ext_dir


def assert_clean_error(done, *needles) -> None:
    """az failed with its own one-line error (no traceback) containing every needle."""
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "unexpected error" not in done.stderr
    assert done.stderr.startswith("ERROR:"), done.stderr
    for needle in needles:
        assert needle in done.stderr, done.stderr
