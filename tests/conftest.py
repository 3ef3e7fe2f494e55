"""Shared pytest fixtures: the real az with this extension, loaded as a dev folder or as a wheel.

Fixtures (see tests/azcli.py for the environment they build):
- dev_sources (session): Path for AZURE_EXTENSION_DEV_SOURCES holding `prototype` -> repo.
- dev_az_env (function): dict env running az with the dev extension; own AZURE_CONFIG_DIR
  (<tmp_path>/azure), empty AZURE_EXTENSION_DIR, no network.
- prototype_wheel (session): Path of prototype-<version>-py3-none-any.whl built from a copy
  of the sources (the repository is never written).
- wheel_extension_dir (session): Path used as AZURE_EXTENSION_DIR, into which
  `az extension add --source <wheel> --yes` installed the extension (once per session).
- wheel_az_env (function): dict env running az with the wheel-installed extension only.
- az_install (function, parametrized "dev" / "wheel"): (kind, env) to run one test both ways.
Our own telemetry settings are left out of every env: pass them with
`{**env, "APPLICATIONINSIGHTS_CONNECTION_STRING": ...}` or `azcli.az_env(tmp_path, ...)`.

And the pieces most tests share:
- layout (function): SpoolLayout of an empty spool root under tmp_path (`<tmp_path>/telemetry`).
- clock (function): helpers.FakeClock at helpers.SESSION_START (real time, whole seconds); `advance` it.
- emu (function): the loopback ingestion emulator (telemetry_sender.emulator.server), stopped after the test.
- spool (function): Path of a spool root copied from a user (tests/copied_spool.py).
Plain helpers (the one envelope builder, time names, settings) are in tests/helpers.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

import azcli  # noqa: E402  (tests/ is put on sys.path just above)
from copied_spool import build_copied_spool  # noqa: E402  (likewise)
from helpers import SESSION_START, FakeClock  # noqa: E402  (likewise)
from telemetry_sender.emulator.server import Emulator  # noqa: E402
from telemetry_sender.spool.layout import SpoolLayout  # noqa: E402

# CI (.ci/run sets HYPOTHESIS_PROFILE=ci) replays the same examples on every run, so a landing is never
# refused by an example met by chance; a developer's `make test` keeps drawing new ones (how a
# fixed-point break in the error sanitizer was found), and each one found is pinned with @example.
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def dev_sources(tmp_path_factory) -> Path:
    """AZURE_EXTENSION_DEV_SOURCES folder with the repository linked as `prototype`."""
    return azcli.dev_sources_dir(tmp_path_factory.mktemp("dev-extension"))


@pytest.fixture
def dev_az_env(tmp_path, dev_sources) -> dict:
    """Environment for az with the extension loaded from the source tree (dev extension)."""
    return azcli.dev_extension_env(tmp_path, dev_sources)


@pytest.fixture(scope="session")
def prototype_wheel(tmp_path_factory) -> Path:
    """The extension wheel, built once per session from a copy of the sources."""
    return azcli.build_wheel(tmp_path_factory.mktemp("wheel-build"))


@pytest.fixture(scope="session")
def wheel_extension_dir(tmp_path_factory, prototype_wheel) -> Path:
    """An AZURE_EXTENSION_DIR where `az extension add --source <wheel>` installed the extension."""
    return azcli.install_wheel(prototype_wheel, tmp_path_factory.mktemp("wheel-install"))


@pytest.fixture
def wheel_az_env(tmp_path, wheel_extension_dir) -> dict:
    """Environment for az with the wheel-installed extension (no dev sources)."""
    return azcli.wheel_extension_env(tmp_path, wheel_extension_dir)


@pytest.fixture(params=["dev", "wheel"])
def az_install(request, tmp_path) -> tuple:
    """("dev" | "wheel", env): runs the test once per way users install the extension."""
    if request.param == "dev":
        return "dev", azcli.dev_extension_env(tmp_path, request.getfixturevalue("dev_sources"))
    return "wheel", azcli.wheel_extension_env(tmp_path, request.getfixturevalue("wheel_extension_dir"))


@pytest.fixture
def spool(tmp_path) -> Path:
    """A spool root copied from a user: pending, leased, temp, corrupt, dead-lettered and quarantined files."""
    return build_copied_spool(tmp_path / "copied" / "telemetry")


@pytest.fixture
def layout(tmp_path) -> SpoolLayout:
    """An empty spool root of our own under tmp_path."""
    return SpoolLayout(tmp_path / "telemetry")


@pytest.fixture
def clock() -> FakeClock:
    """A settable clock starting at the session's real start, so real-clock file stamps line up with it."""
    return FakeClock(SESSION_START)


@pytest.fixture
def emu():
    """The loopback ingestion emulator, running for the test."""
    with Emulator() as emulator:
        yield emulator
