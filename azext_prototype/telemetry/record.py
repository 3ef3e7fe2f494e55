"""Record one command: decide, build, write to the spool, start a sender. Runs inside az.

The I/O shell around the pure builders: settings (opt-out, connection string), the
tenant and project files, the spool write, the spawn and the first-use notice. Disabled
telemetry touches nothing on disk. The Tracer tells the story in `az --debug`; with
AZ_PROTOTYPE_TELEMETRY_DEBUG=1 it also prints each envelope to stderr as it is recorded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Mapping, TextIO

from azext_prototype.telemetry.azcontext import Invocation
from azext_prototype.telemetry.trace import Tracer
from telemetry_sender.spool.layout import SpoolLayout, az_config_dir
from telemetry_sender.settings import COLLECT_ENV_VAR, TelemetrySettings, parse_az_bool, resolve_settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from azext_prototype.telemetry.event import Event

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


def _start_sender(layout: SpoolLayout, env: Mapping[str, str]) -> str:
    """Start a sender unless one runs or the service asked us to wait; say what happened."""
    from telemetry_sender.sender.spawn import should_spawn, spawn_sender

    if not should_spawn(layout, env=env):
        return "sender not started (one is running, or the service asked to wait)"
    try:
        pid = spawn_sender(layout, env)
        return f"sender started (pid {pid})" if pid else "sender not started (one is running)"
    except OSError as exc:
        return f"sender not started ({type(exc).__name__})"


def record(
    invocation: Invocation,
    *,
    az_setting: tuple[bool, str | None] = (False, None),
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    spawn: bool = True,
    stream: TextIO | None = None,
    quiet: bool = False,
) -> Path | None:
    """Write the command's event to the spool and start a sender; None when disabled or not written.

    `quiet` (az's --only-show-errors) defers the first-use notice to a later command.
    """
    env = os.environ if env is None else env
    stream = stream or sys.stderr
    tracer = Tracer(stream if debug_enabled(env) else None)
    settings = current_settings(env, az_setting)
    if not settings.enabled:
        tracer.off(settings.reason)
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
    tracer.recording(envelope)
    layout = SpoolLayout.default(env)
    try:
        path = write_event(layout, envelope)
    except OSError as exc:
        tracer.not_written(exc)
        return None
    sender = _start_sender(layout, env) if spawn else "sender not started (spawn off)"
    tracer.written(settings.connection_source, path, sender)
    if not quiet:
        _first_use_notice(layout, stream, tracer)
    return path


def _first_use_notice(layout: SpoolLayout, stream: TextIO, tracer: Tracer) -> None:
    """Tell the user once per machine (az config dir) that usage is recorded and how to opt out."""
    from azext_prototype.telemetry.notice import show_once

    marker = show_once(layout.root.parent, stream)
    if marker is not None:
        tracer.notice_shown(marker)


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
