"""Is telemetry on, and where does it go? One decision shared by the recorder, the sender and `status`.

Precedence (DESIGN.md, "Contract — details"): DO_NOT_TRACK (any non-empty value but
"0") disables; else core.collect_telemetry, its environment form
AZURE_CORE_COLLECT_TELEMETRY winning over the az config file; else a connection
string must exist and parse. The rules are telemetry_sender.recording's (a recording
command decides with them, without the reasons); this adds the reasons `status` and
`--debug` show, and reads the az config file itself outside az (configparser only when
the file mentions the setting).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from telemetry_sender.recording import (
    COLLECT_ENV_VAR,
    DO_NOT_TRACK_ENV_VAR,
    ConnectionString,
    ConnectionStringError,
    FrozenValue,
    config_dir_text,
    decode_text,
    do_not_track,
    parse_az_bool,
    parse_connection_string,
    raw_connection_string,
    read_regular_file,
)

_UNSET = object()
_MAX_CONFIG_BYTES = 1024 * 1024


class TelemetrySettings(FrozenValue):  # pylint: disable=too-few-public-methods  # a value: fields, no behaviour
    """The decision and why: `reason` is shown by `status` ("enabled" when on).

    `opted_out` tells the user's choice (DO_NOT_TRACK, collect_telemetry=no), which makes
    a sender delete pending events, from a missing or broken connection string, which
    only keeps them waiting.
    """

    __slots__ = ("enabled", "reason", "connection", "connection_source", "opted_out")
    _defaults = {"opted_out": False}
    enabled: bool
    reason: str
    connection: ConnectionString | None
    connection_source: str
    opted_out: bool


def config_file_path(env: Mapping[str, str]) -> Path:
    """The az config file: <AZURE_CONFIG_DIR or ~/.azure>/config."""
    return Path(config_dir_text(env), "config")


def read_config_collect_telemetry(path: Path) -> str | None:
    """core.collect_telemetry from an az config file; None when absent or unreadable."""
    try:
        # Regular files only: a FIFO or device in its place must not hang the command.
        text = decode_text(read_regular_file(path, _MAX_CONFIG_BYTES, follow_symlinks=True))
    except (OSError, ValueError):
        return None
    if "collect_telemetry" not in text.lower() or len(text) > _MAX_CONFIG_BYTES:
        return None  # the common case: skip importing configparser
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=str(path))
        return parser.get("core", "collect_telemetry", fallback=None)
    except configparser.Error:
        return None


def _collect_setting(env: Mapping[str, str]) -> tuple[str | None, str]:
    """The raw core.collect_telemetry value and where it came from (env first, as in az)."""
    value = env.get(COLLECT_ENV_VAR)
    if value is not None and value.strip():
        return value, COLLECT_ENV_VAR
    path = config_file_path(env)
    return read_config_collect_telemetry(path), f"in {path}"


def _opt_out_reason(value: str | None, source: str) -> str | None:
    """Why core.collect_telemetry disables telemetry, or None when it allows it."""
    if value is None or not value.strip():
        return None
    label = f"{COLLECT_ENV_VAR}={value.strip()}" if source == COLLECT_ENV_VAR else (
        f"core.collect_telemetry={value.strip()} {source}".rstrip()
    )
    flag = parse_az_bool(value)
    if flag is True:
        return None
    if flag is None:
        # az itself refuses such a value; when unsure, respect the attempt to configure it.
        return f"{label} is not a boolean (yes/no, true/false, on/off, 1/0)"
    return label


def resolve_settings(
    env: Mapping[str, str],
    collect_telemetry: str | None | object = _UNSET,
    collect_telemetry_source: str = "",
) -> TelemetrySettings:
    """Decide whether telemetry is on and where it goes, with a human-readable reason.

    Inside az pass `collect_telemetry` as az resolved it (`cli_ctx.config`, which already
    applies the environment form); otherwise it is read from env, then the config file.
    """
    raw_connection, source = raw_connection_string(env)
    connection: ConnectionString | None = None
    connection_error = ""
    if raw_connection:
        try:
            connection = parse_connection_string(raw_connection)
        except ConnectionStringError as exc:
            connection_error = str(exc)

    def result(enabled: bool, reason: str, opted_out: bool = False) -> TelemetrySettings:
        return TelemetrySettings(enabled, reason, connection, source, opted_out)

    if do_not_track(env):
        return result(False, f"{DO_NOT_TRACK_ENV_VAR} is set", opted_out=True)
    if collect_telemetry is _UNSET:
        value, where = _collect_setting(env)
    else:
        value, where = collect_telemetry, collect_telemetry_source  # type: ignore[assignment]
    opt_out = _opt_out_reason(value, where)  # type: ignore[arg-type]
    if opt_out:
        return result(False, opt_out, opted_out=True)
    if not raw_connection:
        return result(False, "no connection string")
    if connection is None:
        return result(False, f"invalid connection string: {connection_error}")
    return result(True, "enabled")
