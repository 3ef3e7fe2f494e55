"""Build the documented event properties from what a command did. Pure: no I/O, no clock.

Exactly the keys of TELEMETRY.md (DESIGN.md, "Contract — the event" and "— details"):
every key always present ("" when unknown), `error` only on failure, plus `eventId`
and the `durationMs` measurement.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any, Iterable, Mapping

from telemetry_sender.rules import (
    LOCATION_NAME_WORDS,
    REDACTED,
    is_command_name,
    is_enum_like,
    is_guid,
    is_model_name,
    is_resource_type,
    parameters_json,
    region_or_empty,
    split_words,
)
from telemetry_sender.recording import PROPERTY_KEYS, FrozenValue  # the data dictionary's owner


class Invocation(FrozenValue):  # pylint: disable=too-few-public-methods  # a value: fields, no behaviour
    """What happened: the command, the arguments, the outcome and when (all facts, no I/O).

    `given`: the parameters the user typed; `arguments`: every argument the function
    received (defaults included); `resources`: the Azure resources the command names;
    `free_text`: given arguments az accepts any text for (no declared choices).
    """

    __slots__ = ("command_name", "given", "arguments", "error", "time_ns", "duration_ms", "resources", "free_text")
    _defaults = {"resources": (), "free_text": frozenset()}


class ProjectFacts(FrozenValue):  # pylint: disable=too-few-public-methods  # a value: fields, no behaviour
    """What the event reports about the project: never its name."""

    __slots__ = ("project_id", "provider", "model", "location")
    _defaults = {"project_id": "", "provider": "", "model": "", "location": ""}


def mask_free_text(params: dict, free_text: frozenset[str]) -> dict:
    """Text given to arguments without declared choices becomes ***, except models and regions,
    which are judged by shape; flags, numbers and az-checked choices stay."""
    masked = dict(params)
    for name in free_text:
        value = masked.get(name)
        if value is None or isinstance(value, (bool, int, float)):
            continue  # a flag or a number: usage signal, no text of the user's
        texts = value if isinstance(value, (list, tuple)) else [value]
        if not texts:
            continue
        if not all(isinstance(item, str) for item in texts):
            masked[name] = REDACTED  # a mapping or a mixed list: text inside, whatever its shape
            continue
        words = split_words(name)
        if "model" in words or "models" in words or LOCATION_NAME_WORDS.intersection(words):
            continue
        masked[name] = REDACTED
    return masked


_PROVIDER_ARGS = ("ai_provider", "provider")
_MODEL_ARGS = ("model", "ai_model")
_LOCATION_ARGS = ("location",)
# azext_prototype.project.AI_PROVIDERS (not imported: it loads yaml); a test keeps them equal.
PROVIDERS = ("azure-openai", "copilot", "github-models")


class Event(FrozenValue):  # pylint: disable=too-few-public-methods  # a value: fields, no behaviour
    """The envelope's `properties` (str -> str) and `measurements` (str -> number)."""

    __slots__ = ("properties", "measurements")
    properties: dict[str, str]
    measurements: dict[str, float]


def guid_or_empty(value: object) -> str:
    """A GUID in lower case, or "" for anything else (tenant and project ids only)."""
    return value.strip().lower() if isinstance(value, str) and is_guid(value.strip()) else ""


def _word(value: object) -> str:
    return value if isinstance(value, str) and is_enum_like(value) else ""


def _checked(value: object, keep: str) -> str:
    """`keep` when the value passed its check, "" when there was no value, *** when it did not pass."""
    if keep:
        return keep
    return REDACTED if isinstance(value, str) and value.strip() else ""


def provider_field(value: object) -> str:
    """One of the known AI providers (any case), "" when unknown, *** for anything else."""
    folded = value.strip().lower() if isinstance(value, str) else ""
    return _checked(value, folded if folded in PROVIDERS else "")


def model_field(value: object) -> str:
    """A known model id; a chosen name (an Azure OpenAI deployment's) becomes ***."""
    text = value.strip() if isinstance(value, str) else ""
    return _checked(value, text if is_model_name(text) else "")


def location_field(argument: object, resource_regions: str, project_location: object) -> str:
    """The command's region, else its resources' (already checked, comma-joined), else the project's.

    *** when a value was given but is not an Azure region.
    """
    region = region_or_empty(argument) or resource_regions or region_or_empty(project_location)
    if region:
        return region
    return _checked(next((v for v in (argument, project_location) if isinstance(v, str) and v.strip()), ""), "")


def _first(arguments: Mapping[str, Any], names: Iterable[str]) -> object:
    for name in names:
        value = arguments.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


_MAX_JOINED_BYTES = 512


def _joined(values: Iterable[str]) -> str:
    """Distinct non-empty values in order, comma-joined (a command may name several resources), whole
    values only up to 512 bytes: a value cut in two would fail the sender's check of each item."""
    seen: list[str] = []
    size = -1  # no comma before the first
    for value in values:
        if value and value not in seen:
            cost = len(value.encode("utf-8")) + 1
            if size + cost > _MAX_JOINED_BYTES:
                break
            seen.append(value)
            size += cost
    return ",".join(seen)


def _resource_fields(resources: Iterable[Mapping[str, Any]]) -> tuple[str, str, str]:
    types, skus, locations = [], [], []
    for item in resources:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("resourceType")
        types.append(kind if is_resource_type(kind) else "")
        skus.append(_word(item.get("sku")))
        locations.append(region_or_empty(item.get("location")))
    return _joined(types), _joined(skus), _joined(locations)


def _succeeded(error: BaseException | None) -> bool:
    return error is None or (isinstance(error, SystemExit) and error.code in (0, None))


def build_event(
    invocation: Invocation,
    *,
    tenant_id: str,
    project: ProjectFacts,
    extension_version: str,
    event_id: str,
    timestamp: str,
) -> Event:
    """The documented properties and the duration measurement for one command."""
    arguments = invocation.arguments
    given = invocation.given
    parameters = parameters_json(mask_free_text(dict(invocation.given), invocation.free_text))
    resource_type, sku, resource_location = _resource_fields(invocation.resources)
    success = _succeeded(invocation.error)
    command = " ".join(invocation.command_name.split()).lower()
    properties = {
        "tenantId": guid_or_empty(tenant_id),
        "projectId": guid_or_empty(project.project_id),
        "commandName": command if is_command_name(command) else "",
        "parameters": parameters,
        # What the user typed, then the project's file, then the command's defaults.
        "provider": provider_field(
            _first(given, _PROVIDER_ARGS) or project.provider or _first(arguments, _PROVIDER_ARGS)
        ),
        "model": model_field(_first(given, _MODEL_ARGS) or project.model or _first(arguments, _MODEL_ARGS)),
        "resourceType": resource_type,
        "location": location_field(_first(arguments, _LOCATION_ARGS), resource_location, project.location),
        "sku": sku,
        "extensionVersion": extension_version,
        "success": "true" if success else "false",
        "timestamp": timestamp,
        "eventId": event_id,
    }
    if not success and invocation.error is not None:
        from azext_prototype.telemetry.sanitize import error_text  # a failed command only: the scrubber loads there

        properties["error"] = error_text(invocation.error, invocation.given, parameters)
    duration = float(invocation.duration_ms)
    measurements = {"durationMs": round(duration, 3)} if math.isfinite(duration) else {}
    return Event(properties={k: properties[k] for k in PROPERTY_KEYS if k in properties}, measurements=measurements)


def new_event_id(random_bytes: bytes | None = None) -> str:
    """A random UUID4 in its canonical text form (RFC 4122 version and variant bits set)."""
    raw = bytearray(os.urandom(16) if random_bytes is None else random_bytes[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def iso_utc(time_ns: int) -> str:
    """ISO 8601 UTC with microseconds, ending in Z: the form the service and our contract use."""
    seconds, nanos = divmod(time_ns, 1_000_000_000)
    t = time.gmtime(seconds)  # formatted by hand: strftime's first call costs more than the rest of this
    date = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
    return f"{date}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{nanos // 1000:06d}Z"
