"""The sender's second look at each property on the way out: a value must have its field's shape.

A spool file may come from an older or buggy version, or be planted: whatever its
properties hold, only values the recorder's own rules would have produced are sent.
The `error` and `parameters` sanitizers are fixed points, so a value they would change
is one they did not make; it is sanitized again, never sent raw.
"""

from __future__ import annotations

import json
from typing import Callable

from telemetry_sender.rules import REDACTED, parameters_json
from telemetry_sender.rules import is_command_name, is_enum_like, is_guid, is_model_name, is_resource_type
from telemetry_sender.rules import is_version, region_or_empty

_MAX_TIMESTAMP_CHARS = 40
_TIMESTAMP_CHARS = frozenset("0123456789-:.TZ+")


def _guid(value: str) -> str:
    return value if is_guid(value) else ""


def _command(value: str) -> str:
    """`prototype config get`: this extension's command words, never a flag or what follows one."""
    words = value.split(" ")
    ok = is_command_name(value) and words[0] == "prototype" and not any(w.startswith("-") for w in words)
    return value if ok else ""


def _enum(value: str) -> str:
    return value if value in ("", REDACTED) or is_enum_like(value) else REDACTED


def _model(value: str) -> str:
    return value if value in ("", REDACTED) or is_model_name(value) else REDACTED


def _listed(value: str, keep: Callable[[str], bool]) -> str:
    """A comma-joined list as the recorder writes it for several resources: each item judged alone.

    "" and *** pass; a list with an item that fails is *** (the recorder never writes one).
    """
    if value in ("", REDACTED):
        return value
    return value if all(keep(item) for item in value.split(",")) else REDACTED


def _locations(value: str) -> str:
    return _listed(value, lambda item: region_or_empty(item) == item)


def _skus(value: str) -> str:
    return _listed(value, is_enum_like)


def _resource_types(value: str) -> str:
    kept = [t for t in value.split(",") if is_resource_type(t)]
    return ",".join(kept)


def _version(value: str) -> str:
    return value if value == "" or is_version(value) else REDACTED


def _success(value: str) -> str:
    return value if value in ("true", "false") else ""


def _timestamp(value: str) -> str:
    ok = len(value) <= _MAX_TIMESTAMP_CHARS and set(value) <= _TIMESTAMP_CHARS
    return value if ok else ""


def _parameters(value: str) -> str:
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return "{}"
    return parameters_json(decoded) if isinstance(decoded, dict) else "{}"


def _error(value: str) -> str:
    from telemetry_sender.privacy.errors import sanitize_error

    return sanitize_error(value)


# One check per documented property (TELEMETRY.md, "Data dictionary").
CHECKS: dict[str, Callable[[str], str]] = {
    "tenantId": _guid, "projectId": _guid, "eventId": _guid, "commandName": _command, "parameters": _parameters,
    "provider": _enum, "model": _model, "resourceType": _resource_types, "location": _locations, "sku": _skus,
    "extensionVersion": _version, "success": _success, "error": _error, "timestamp": _timestamp,
}


def recheck_property(key: str, value: str) -> str:
    """The value as the recorder's rules would have written it (unchanged when it already is)."""
    check = CHECKS.get(key)
    return check(value) if check is not None else ""
