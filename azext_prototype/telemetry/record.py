"""Record one command: what az knows of it, the files it reads, and the flow that writes its event.

Imported only when telemetry is on (track.py decides "off" without it), so everything the
recording path needs in az lives here in one module: the facts of the call (the flags
the user typed, az's telemetry setting), the tenant and project files, the decision,
the spool write (telemetry_sender.recording), the sender start and the first-use notice; and the
Tracer that tells the story in `az --debug` (with AZ_PROTOTYPE_TELEMETRY_DEBUG=1 it
also prints each envelope to stderr). The event itself is built by the pure event.py.
Disabled telemetry touches nothing on disk.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Mapping, TextIO

from azext_prototype.telemetry.event import Invocation, ProjectFacts, build_event, iso_utc, new_event_id
from azext_prototype.telemetry.names import NOTICE_MARKER, echo_wanted, logger, story_wanted
from telemetry_sender import VERSION
from telemetry_sender.rules import is_guid
from telemetry_sender.recording import (
    COLLECT_ENV_VAR,
    ConnectionString,
    build_envelope,
    claim_sender_lock,
    config_dir_text,
    decode_text,
    endpoint_id,
    read_regular_file,
    recording_connection,
    spool_root_text,
    write_envelope,
)

_MISSING = object()


# --- What az knows about the running command --------------------------------------------------
# az records the option strings the user typed (cli_ctx.data['safe_params']) and its parser
# lists the arguments it parsed from the command line (specified_arguments, by destination
# name = the function's keyword). Defaults az fills in are not "given". Outside az (a direct
# call), the keywords that differ from the function's defaults stand in.

def function_defaults(func: Callable) -> dict[str, Any]:
    """Keyword defaults of `func`, read from its code object (inspect costs milliseconds)."""
    code = getattr(func, "__code__", None)
    if code is None:
        return {}
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    positional = names[: code.co_argcount]
    defaults = dict(zip(positional[len(positional) - len(func.__defaults__ or ()):], func.__defaults__ or ()))
    defaults.update(func.__kwdefaults__ or {})
    return defaults


def bound_arguments(
    func: Callable, args: tuple, kwargs: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every argument by name: defaults, then positional, then keyword ones (never `cmd`)."""
    code = getattr(func, "__code__", None)
    named = dict(defaults or {})
    if code is not None:
        named.update(zip(code.co_varnames[: code.co_argcount], args))
    named.update(kwargs)
    return {k: v for k, v in named.items() if k != "cmd"}


def _specified_dests(cmd: Any) -> list[str] | None:
    """Destination names az's parser saw on the command line, or None when unavailable."""
    try:
        parser = cmd.cli_ctx.invocation.parser
        dests = parser.subparser_map[cmd.name].specified_arguments
    except (AttributeError, KeyError, TypeError):
        return None
    return [d for d in dests if isinstance(d, str)] if isinstance(dests, list) else None


def _from_safe_params(cmd: Any) -> list[str] | None:
    """Map az's recorded option strings (`--iac-tool`, `-n`) to destination names."""
    try:
        options = cmd.cli_ctx.data["safe_params"]
        arguments = cmd.arguments
    except (AttributeError, KeyError, TypeError):
        return None
    by_option: dict[str, str] = {}
    for dest, argument in arguments.items():
        settings = getattr(getattr(argument, "type", None), "settings", {}) or {}
        for option in settings.get("options_list") or ():
            if isinstance(option, str):
                by_option[option] = dest
    return [
        by_option.get(option, option.lstrip("-").replace("-", "_")) for option in options if isinstance(option, str)
    ]


def given_parameters(
    cmd: Any, arguments: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """The arguments the user actually gave, by keyword name, in the order they were typed."""
    names = (_specified_dests(cmd) or _from_safe_params(cmd)) if cmd is not None else None
    if names is None:
        return {
            k: v for k, v in arguments.items() if defaults.get(k, _MISSING) is not v and defaults.get(k, _MISSING) != v
        }
    given: dict[str, Any] = {}
    for name in names:
        if name in arguments and name not in given:
            given[name] = arguments[name]
    return given


def free_text_arguments(cmd: Any, names: Any) -> frozenset[str]:
    """The given arguments for which az declares no choices: their text is the user's own.

    A value az checked against declared choices is a usage signal; any other text may be a
    resource, person or project name, so the recorder does not keep it (sanitize.mask_free_text).
    Outside az (no cmd) nothing is known and the pure sanitizer's judgement stands.
    """
    if cmd is None:
        return frozenset()
    try:
        arguments = cmd.arguments
    except AttributeError:
        return frozenset()
    free = set()
    for name in names:
        settings = getattr(getattr(arguments.get(name), "type", None), "settings", None) or {}
        if not settings.get("choices"):
            free.add(name)
    return frozenset(free)

# --- The tenant and the project (cheap, never raise) --------------------------------------------
# The tenant comes from az's profile (the copy az parsed at start-up, else the file; never
# a subscription id). prototype.yaml is the simple block mapping `init` writes (`project:`
# with name, id, location, environment, iac_tool; `ai:` with provider, model); PyYAML costs
# milliseconds to import, so the two-level scalars are read here directly and anything
# else is ignored.


PROFILE_FILE = "azureProfile.json"
_MAX_PROFILE_BYTES = 8 * 1024 * 1024


def tenant_from_profile(profile: object) -> str:
    """The default subscription's tenantId from a parsed azureProfile.json; "" when none is signed in."""
    if not isinstance(profile, dict):
        return ""
    subscriptions = profile.get("subscriptions")
    if not isinstance(subscriptions, list):
        return ""
    for entry in subscriptions:
        if isinstance(entry, dict) and entry.get("isDefault") is True:
            tenant = entry.get("tenantId")
            return tenant.lower() if is_guid(tenant) else ""
    return ""


def profile_az_loaded(path: str) -> object:
    """The profile az parsed at start-up (azure.cli.core._session.ACCOUNT) when it is the file at
    `path`; None otherwise (outside az, or another config folder), and the file is read instead."""
    session = sys.modules.get("azure.cli.core._session")
    account = getattr(session, "ACCOUNT", None)
    if account is None or getattr(account, "filename", None) != path:
        return None
    data = getattr(account, "data", None)
    return data if isinstance(data, dict) else None


def read_tenant_id(config_dir: str | os.PathLike[str]) -> str:
    """tenantId of the signed-in az profile under `config_dir`; "" when absent or unreadable."""
    path = os.path.join(config_dir, PROFILE_FILE)
    loaded = profile_az_loaded(path)
    if loaded is not None:
        return tenant_from_profile(loaded)  # az read and parsed it before the command ran: not twice
    try:
        # Regular files only: a FIFO or device here must not hang or flood the command.
        data = read_regular_file(path, _MAX_PROFILE_BYTES, follow_symlinks=True)
    except (OSError, ValueError):
        return ""
    if len(data) > _MAX_PROFILE_BYTES:
        return ""
    try:
        # az writes this file with a UTF-8 BOM on some platforms.
        return tenant_from_profile(json.loads(decode_text(data)))
    except (ValueError, RecursionError):
        return ""


PROJECT_FILE = "prototype.yaml"
_MAX_BYTES = 256 * 1024


def _scalar(text: str) -> str:
    """A plain, single- or double-quoted YAML scalar as text (trailing comments removed)."""
    text = text.strip()
    if text[:1] in ("'", '"'):
        quote = text[0]
        end = text.find(quote, 1)
        while quote == "'" and end != -1 and text[end + 1:end + 2] == "'":
            end = text.find(quote, end + 2)
        body = text[1:end] if end != -1 else text[1:]
        return body.replace("''", "'") if quote == "'" else body
    hash_at = text.find(" #")
    text = text[:hash_at] if hash_at != -1 else text
    return "" if text in ("~", "null", "Null", "NULL") else text.strip()


def parse_block_mapping(text: str) -> dict[str, dict[str, str]]:
    """Two-level `section:` / `  key: value` scalars of a YAML block mapping; the rest is ignored."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}  # a section's keys; a throwaway dict outside any section
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        key, sep, rest = stripped.partition(":")
        if not sep:
            continue
        key = _scalar(key) if key[:1] in ("'", '"') else key.strip()
        if not line[0].isspace():
            current = sections.setdefault(key, {}) if not rest.strip() else {}
        elif rest[:1] in (" ", "") and key not in current:
            current[key] = _scalar(rest)
    return sections


def facts_from_mapping(data: Mapping[str, Mapping[str, Any]]) -> ProjectFacts:
    """The event's project fields from a parsed project document."""
    project = data.get("project") or {}
    ai = data.get("ai") or {}
    return ProjectFacts(
        project_id=str(project.get("id") or ""),
        provider=str(ai.get("provider") or ""),
        model=str(ai.get("model") or ""),
        location=str(project.get("location") or ""),
    )


def read_project_facts(project_dir: str | os.PathLike[str] | None) -> ProjectFacts:
    """The project fields of `<project_dir or cwd>/prototype.yaml`; empty when absent or unreadable."""
    try:
        path = os.path.join(os.path.expanduser(project_dir or os.getcwd()), PROJECT_FILE)
        # Regular files only (a symlink to one is fine): a FIFO or /dev/zero must not hang us.
        data = read_regular_file(path, _MAX_BYTES, follow_symlinks=True)
        if len(data) > _MAX_BYTES:
            return ProjectFacts()
        return facts_from_mapping(parse_block_mapping(decode_text(data, "replace")))
    except (OSError, ValueError):
        return ProjectFacts()

# --- The story in `az --debug` -------------------------------------------------------------------
# One to three debug lines a command under az's `cli.` logger namespace: whether telemetry
# is on and why, the spool file written, the sender started (pid) or why not. Nothing above
# debug level. AZ_PROTOTYPE_TELEMETRY_DEBUG=1 also echoes the exact envelope (`echo`).


ECHO_PREFIX = "az prototype telemetry: "


class Tracer:
    """Debug lines for one recording; with `echo`, the same story and the envelope on a stream."""

    __slots__ = ("echo",)

    def __init__(self, echo: TextIO | None = None) -> None:
        self.echo = echo

    def _say(self, title: str, payload: Any = None) -> None:
        if self.echo is None:
            return
        text = ECHO_PREFIX + title + "\n"
        if payload is not None:
            text += json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
        self.echo.write(text)
        self.echo.flush()

    def telling(self) -> bool:
        """True when someone will read the story (echo, or az's --debug): worth wording the reasons."""
        return self.echo is not None or story_wanted()

    def off(self, reason: str) -> None:
        """Telemetry is off: nothing is written or started."""
        logger.debug("telemetry off (%s): nothing recorded", reason)
        self._say(f"disabled ({reason}); nothing recorded")

    def recording(self, envelope: Any) -> None:
        """The envelope about to be written (echo only: az's log never carries payload values)."""
        self._say("recording event", envelope)

    def not_written(self, error: OSError) -> None:
        """The spool refused the event; the command goes on."""
        logger.debug("telemetry on, but the event was not written (%s)", type(error).__name__)
        self._say(f"not written: {type(error).__name__}: {error.strerror or error}")

    def written(self, source: str, path: str, sender: str) -> None:
        """The event is in the spool; `sender` says whether a sender was started."""
        logger.debug("telemetry on (connection string from %s): event written to %s", source or "?", path)
        logger.debug("telemetry %s", sender)
        self._say(f"written to {path}; {sender}")

    def notice_shown(self, marker: Path) -> None:
        """The first-use notice went to stderr; the marker keeps it from showing again."""
        logger.debug("telemetry first-use notice shown; marker %s", marker)

    def phase(self, name: str) -> None:
        """A step of the recording ended ("settings", "files", "event", "write", "spawn"): `make bench` times them."""


# --- The flow -------------------------------------------------------------------------------------

def where_to_record(env: Mapping[str, str], az_setting: tuple[bool, str | None]) -> tuple[ConnectionString, str] | None:
    """(connection string, its source) when this command records, None when telemetry is off.

    Uses az's own resolved core.collect_telemetry when az gave us one; outside az (or when
    its environment form is set) the settings module reads it the way az does.
    """
    known, value = az_setting
    if known and COLLECT_ENV_VAR not in env:
        return recording_connection(env, value)
    from telemetry_sender.settings import resolve_settings  # outside az: reads the az config file

    settings = resolve_settings(env)
    return (settings.connection, settings.connection_source) if settings.enabled else None


def why_off(env: Mapping[str, str], az_setting: tuple[bool, str | None]) -> str:
    """The reason telemetry is off, for the debug story (settings.resolve_settings words it)."""
    from telemetry_sender.settings import resolve_settings

    known, value = az_setting
    if known and COLLECT_ENV_VAR not in env:
        return resolve_settings(env, value, "in the az configuration").reason
    return resolve_settings(env).reason


def project_dir_for(command_name: str, arguments: Mapping[str, Any], cwd: str) -> str:
    """Where the command's prototype.yaml is: init's new folder, --project-dir, or the cwd."""
    if command_name.split()[-1:] == ["init"] and isinstance(arguments.get("name"), str):
        base = arguments.get("output_dir") or cwd
        return os.path.join(os.path.expanduser(str(base)), arguments["name"])
    project_dir = arguments.get("project_dir")
    return str(project_dir) if isinstance(project_dir, (str, os.PathLike)) and str(project_dir) else cwd


def _start_sender(root: str, endpoint: str, env: Mapping[str, str]) -> str:
    """Start a sender unless one runs or the service asked us to wait; say what happened."""
    try:
        lock_fd = claim_sender_lock(root, endpoint)
    except OSError:
        lock_fd = -1  # no usable lock file: the sender started without it sets it aside
    if lock_fd is None:
        return "sender not started (one is running, or the service asked to wait)"
    try:
        from telemetry_sender.spawn import start_sender  # only when one is due
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the event is written: say what failed
        if lock_fd >= 0:
            os.close(lock_fd)  # no sender will hold it: let the next command try
        return f"sender not started ({type(exc).__name__})"
    try:  # start_sender closes our copy of the lock, started or not
        return f"sender started (pid {start_sender(root, env, lock_fd if lock_fd >= 0 else None)})"
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
    tracer: Tracer | None = None,
) -> str | None:
    """Write the command's event to the spool and start a sender; the file's path (text: a Path costs the
    first call ~20 µs), None when disabled or not written.

    `quiet` (az's --only-show-errors) defers the first-use notice to a later command.
    """
    env = os.environ if env is None else env
    stream = stream or sys.stderr
    tracer = tracer or Tracer(stream if echo_wanted(env) else None)
    target = where_to_record(env, az_setting)
    tracer.phase("settings")
    if target is None:
        if tracer.telling():
            tracer.off(why_off(env, az_setting))
        return None
    connection, source = target
    config_dir = config_dir_text(env)
    project = read_project_facts(project_dir_for(invocation.command_name, invocation.arguments, cwd or os.getcwd()))
    tenant_id = read_tenant_id(config_dir)
    tracer.phase("files")
    timestamp = iso_utc(invocation.time_ns)
    event = build_event(
        invocation,
        tenant_id=tenant_id,
        project=project,
        extension_version=VERSION,
        event_id=new_event_id(),
        timestamp=timestamp,
    )
    envelope = build_envelope(event.properties, event.measurements, instrumentation_key=connection.instrumentation_key,
                              time=timestamp, version=VERSION)
    tracer.phase("event")
    tracer.recording(envelope)
    root = spool_root_text(config_dir)
    try:
        path = write_envelope(root, envelope)
    except OSError as exc:
        tracer.not_written(exc)
        return None
    tracer.phase("write")
    endpoint = endpoint_id(connection.ingestion_endpoint, connection.instrumentation_key)
    sender = _start_sender(root, endpoint, env) if spawn else "sender not started (spawn off)"
    tracer.phase("spawn")
    tracer.written(source, path, sender)
    if not quiet:
        try:
            _first_use_notice(os.path.dirname(root), stream, tracer)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # a closed stderr: the event is written
            logger.debug("telemetry first-use notice not shown (%s)", type(exc).__name__)
    return path


def _first_use_notice(prototype_dir: str, stream: TextIO, tracer: Tracer) -> None:
    """Tell the user once per machine (az config dir) that usage is recorded and how to opt out."""
    if os.path.lexists(os.path.join(prototype_dir, NOTICE_MARKER)):
        return  # shown before: the notice's text is not even loaded
    from azext_prototype.telemetry.notice import show_once

    marker = show_once(Path(prototype_dir), stream)
    if marker is not None:
        tracer.notice_shown(marker)
