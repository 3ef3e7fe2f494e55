"""The sender's side of the envelope: cut a read envelope down to the data dictionary. Pure.

The envelope's shape and the dictionary's keys are telemetry_sender.recording's (the
recorder builds with them inside az); a spool file is untrusted input, so only the
documented fields leave the machine, each value re-checked by the privacy rules, and the
result is rebuilt with the same builder.
"""

from __future__ import annotations

import math
from typing import Any

from telemetry_sender.rules import is_version
from telemetry_sender.protocol import BASE_TYPE, CLOUD_ROLE, ENVELOPE_NAME, EVENT_NAME
from telemetry_sender.recording import (
    MEASUREMENT_KEYS, PROPERTY_KEYS, TAG_KEYS, FrozenValue, build_envelope, sdk_version_tag,
)

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


class Projection(FrozenValue):  # pylint: disable=too-few-public-methods  # a value: fields, no behaviour
    """A read envelope cut to the data dictionary: what is sent, and the names of what was not.

    `envelope` is None when the file is not an event of ours at all (the caller quarantines
    it, saying `reason`); `dropped` names dropped or replaced fields, never their values.
    """

    __slots__ = ("envelope", "dropped", "reason")
    _defaults = {"dropped": (), "reason": ""}
    envelope: dict[str, Any] | None
    dropped: tuple[str, ...]
    reason: str


def _loggable(name: object) -> str:
    """A field's name fit for the sender log: a name of data (an e-mail used as a key) is not shown."""
    text = name if isinstance(name, str) else type(name).__name__
    plain = 0 < len(text) <= 64 and set(text) <= _NAME_CHARS and "@" not in text
    return text if plain else "<key>"


def _version(value: object) -> str | None:
    return value if isinstance(value, str) and is_version(value) else None


def _tags(tags: object, dropped: list[str]) -> dict[str, str]:
    """The three documented tags; the version is the file's own when it has a version's shape."""
    given = tags if isinstance(tags, dict) else {}
    dropped.extend(f"tags.{_loggable(k)}" for k in given if k not in TAG_KEYS)
    version = _version(given.get("ai.application.ver")) or "unknown"
    expected = {"ai.cloud.role": CLOUD_ROLE, "ai.internal.sdkVersion": sdk_version_tag(version),
                "ai.application.ver": version}
    dropped.extend(f"tags.{k}" for k in TAG_KEYS if k in given and given[k] != expected[k])
    return expected


def _properties(properties: dict, dropped: list[str]) -> dict[str, str]:
    from telemetry_sender.privacy.recheck import recheck_property

    kept: dict[str, str] = {}
    for key, value in properties.items():
        if key not in PROPERTY_KEYS or not isinstance(value, str):
            dropped.append(f"properties.{_loggable(key)}")
            continue
        kept[key] = recheck_property(key, value)
        if kept[key] != value:
            dropped.append(f"properties.{key} (re-sanitized)")
    return kept


def _measurements(measurements: object, dropped: list[str]) -> dict[str, float]:
    given = measurements if isinstance(measurements, dict) else {}
    kept: dict[str, float] = {}
    for key, value in given.items():
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if key in MEASUREMENT_KEYS and number is not None and math.isfinite(number):
            kept[key] = float(number)
        else:
            dropped.append(f"measurements.{_loggable(key)}")
    return kept


def envelope_problem(value: object) -> str:
    """Why a parsed spool file is not an envelope of the service's shape (PROTOCOL.md); "" when it is."""
    if not isinstance(value, dict):
        return "not an envelope: not a JSON object"
    for key in ("name", "time"):
        if not isinstance(value.get(key), str) or not value[key]:
            return f"not an envelope: no {key}"
    data = value.get("data")
    base = data.get("baseData") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("baseType"), str) or not isinstance(base, dict):
        return "not an envelope: no data.baseType/baseData"
    if not isinstance(base.get("name"), str) or base.get("ver") != 2:
        return "not an envelope: baseData needs name and ver 2"
    if "iKey" in value and not isinstance(value["iKey"], str):
        return "not an envelope: iKey is not text"
    return ""


def project_envelope(envelope: object, *, instrumentation_key: str) -> Projection:
    """Only the documented envelope fields, tags, properties and measurements, with the configured
    instrumentation key; every property re-checked by its field's rule. Pure.

    `envelope` is a parsed spool file: anything else than an envelope of ours has envelope None and a reason.
    """
    problem = envelope_problem(envelope)
    if problem or not isinstance(envelope, dict):  # (a dict whenever there is no problem)
        return Projection(None, reason=problem)
    data, base = envelope["data"], envelope["data"]["baseData"]
    properties = base.get("properties")
    if not isinstance(properties, dict) or envelope["name"] != ENVELOPE_NAME:
        return Projection(None, reason="not an event: no custom-event envelope")
    if data["baseType"] != BASE_TYPE or base["name"] != EVENT_NAME:
        return Projection(None, reason="not an event: not a cli_command_executed event")
    dropped: list[str] = [_loggable(k) for k in envelope if k not in ("name", "time", "iKey", "tags", "data")]
    dropped += [f"data.{_loggable(k)}" for k in data if k not in ("baseType", "baseData")]
    dropped += [f"baseData.{_loggable(k)}" for k in base if k not in ("ver", "name", "properties", "measurements")]
    if envelope.get("iKey") not in (None, "", instrumentation_key):
        dropped.append("iKey")
    tags = _tags(envelope.get("tags"), dropped)
    cleaned = build_envelope({}, {}, instrumentation_key=instrumentation_key, time=envelope["time"],
                             version=tags["ai.application.ver"])
    cleaned["data"]["baseData"]["properties"] = _properties(properties, dropped)
    cleaned["data"]["baseData"]["measurements"] = _measurements(base.get("measurements"), dropped)
    return Projection(cleaned, tuple(dropped))
