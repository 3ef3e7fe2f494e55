"""Record one command: decide, build, write to the spool, start a sender. Runs inside az.

The I/O shell around the pure builders: settings (opt-out, connection string), the
tenant and project files, the spool write and the spawn. Disabled telemetry touches
nothing on disk. Debug mode (AZ_PROTOTYPE_TELEMETRY_DEBUG=1) prints each envelope to
stderr as it is recorded, and where it went.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Mapping, TextIO

from azext_prototype.telemetry.azcontext import Invocation
from telemetry_sender.spool.layout import SpoolLayout, az_config_dir
from telemetry_sender.settings import COLLECT_ENV_VAR, TelemetrySettings, parse_az_bool, resolve_settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from azext_prototype.telemetry.event import Event

logger = logging.getLogger(__name__)
DEBUG_ENV_VAR = "AZ_PROTOTYPE_TELEMETRY_DEBUG"


def debug_enabled(env: Mapping[str, str]) -> bool:
    """AZ_PROTOTYPE_TELEMETRY_DEBUG=1 (or any az 'true') for one run."""
    return parse_az_bool(env.get(DEBUG_ENV_VAR, "")) is True


def current_settings(env: Mapping[str, str], az_setting: tuple[bool, str | None]) -> TelemetrySettings:
    """The decision, using az's own resolved core.collect_telemetry when az gave us one."""
    known, value = az_setting
    if not known or COLLECT_ENV_VAR in env:
        return resolve_settings(env)
    return resolve_settings(env, value, "in the az configuration")


def project_dir_for(command_name: str, arguments: Mapping[str, Any], cwd: str) -> str:
    """Where the command's prototype.yaml is: init's new folder, --project-dir, or the cwd."""
    if command_name.split()[-1:] == ["init"] and isinstance(arguments.get("name"), str):
        base = arguments.get("output_dir") or cwd
        return os.path.join(os.path.expanduser(str(base)), arguments["name"])
    project_dir = arguments.get("project_dir")
    return str(project_dir) if isinstance(project_dir, (str, os.PathLike)) and str(project_dir) else cwd


def _debug_print(stream: TextIO, title: str, payload: Any = None) -> None:
    text = f"az prototype telemetry: {title}\n"
    if payload is not None:
        text += json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    stream.write(text)
    stream.flush()


def _start_sender(layout: SpoolLayout, env: Mapping[str, str]) -> str:
    """Start a sender unless one runs or the service asked us to wait; say what happened."""
    from telemetry_sender.sender.spawn import should_spawn, spawn_sender

    if not should_spawn(layout, env=env):
        return "sender not started (one is running, or the service asked to wait)"
    try:
        pid = spawn_sender(layout, env)
        return f"sender started (pid {pid})" if pid else "sender not started (one is running)"
    except OSError as exc:
        logger.debug("telemetry sender not started (%s)", type(exc).__name__)
        return f"sender not started ({type(exc).__name__})"


def record(
    invocation: Invocation,
    *,
    az_setting: tuple[bool, str | None] = (False, None),
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    spawn: bool = True,
    stream: TextIO | None = None,
) -> Path | None:
    """Write the command's event to the spool and start a sender; None when disabled or not written."""
    env = os.environ if env is None else env
    debug = debug_enabled(env)
    stream = stream or sys.stderr
    settings = current_settings(env, az_setting)
    if not settings.enabled:
        if debug:
            _debug_print(stream, f"disabled ({settings.reason}); nothing recorded")
        return None
    # Only now the builders: a disabled command pays for the settings check alone.
    from azext_prototype.telemetry.event import build_event, iso_utc, new_event_id
    from azext_prototype.telemetry.sources import read_project_facts, read_tenant_id
    from azext_prototype.version import VERSION
    from telemetry_sender.spool.write import write_event

    config_dir = az_config_dir(env)
    project = read_project_facts(project_dir_for(invocation.command_name, invocation.arguments, cwd or os.getcwd()))
    timestamp = iso_utc(invocation.time_ns)
    event = build_event(
        invocation,
        tenant_id=read_tenant_id(config_dir),
        project=project,
        extension_version=VERSION,
        event_id=new_event_id(),
        timestamp=timestamp,
    )
    envelope = envelope_for(event, settings, timestamp, VERSION)
    if debug:
        _debug_print(stream, "recording event", envelope)
    layout = SpoolLayout.default(env)
    try:
        path = write_event(layout, envelope)
    except OSError as exc:
        logger.debug("telemetry event not written (%s)", type(exc).__name__)
        if debug:
            _debug_print(stream, f"not written: {type(exc).__name__}: {exc.strerror or exc}")
        return None
    outcome = _start_sender(layout, env) if spawn else "sender not started (spawn off)"
    if debug:
        _debug_print(stream, f"written to {path}; {outcome}")
    return path


def envelope_for(event: Event, settings: TelemetrySettings, timestamp: str, version: str) -> dict[str, Any]:
    """The envelope for `event`, addressed by the connection string's instrumentation key."""
    from telemetry_sender.spool.envelope import build_envelope

    assert settings.connection is not None
    return build_envelope(
        event.properties,
        event.measurements,
        instrumentation_key=settings.connection.instrumentation_key,
        time=timestamp,
        version=version,
    )
