"""The telemetry types the ingestion service knows, field by field, and how it judges one baseData.

Facts from the service's API spec (the Application Insights v2.1 swagger the official
exporter is generated from): which fields each base type requires, their JSON types and
maximum lengths. Messages imitate the service's numbered wording ("109: Field 'message'
on type 'ExceptionDetails' is required but missing or empty. ..."). Pure: no I/O.
"""

from __future__ import annotations

# JSON types are exact here, as the service sees them: True is not an int, 1 is not a float.
# pylint: disable=unidiomatic-typecheck

import enum
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from telemetry_sender import protocol


class Kind(enum.Enum):
    """A field's JSON type as the spec defines it."""

    STRING = "string"
    BOOLEAN = "bool"
    INT = "int"
    NUMBER = "double"
    DURATION = "duration"  # a string, DD.HH:MM:SS.MMMMMM
    SEVERITY = "SeverityLevel"
    DATA_POINT_KIND = "DataPointType"
    PROPERTIES = "properties"  # string -> string
    MEASUREMENTS = "measurements"  # string -> finite double
    LIST = "list"  # of the nested type named by `Field.item`


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a type: its JSON name, kind, whether it is required, its maximum length."""

    name: str
    kind: Kind
    required: bool = False
    max_chars: int | None = None
    item: str | None = None  # the nested type of a LIST


_PROPS = Field("properties", Kind.PROPERTIES)
_MEASURES = Field("measurements", Kind.MEASUREMENTS)

# Base types (data.baseType) and the nested types they hold, as in the spec. The spec calls
# the metric type MetricsData, but on the wire (and in every SDK) its baseType is MetricData.
TYPES: Mapping[str, tuple[Field, ...]] = {
    "EventData": (Field("name", Kind.STRING, True, 512), _PROPS, _MEASURES),
    "MessageData": (
        Field("message", Kind.STRING, True, 32768),
        Field("severityLevel", Kind.SEVERITY),
        _PROPS,
        _MEASURES,
    ),
    "ExceptionData": (
        Field("exceptions", Kind.LIST, True, item="ExceptionDetails"),
        Field("severityLevel", Kind.SEVERITY),
        Field("problemId", Kind.STRING, max_chars=1024),
        _PROPS,
        _MEASURES,
    ),
    "MetricData": (Field("metrics", Kind.LIST, True, item="DataPoint"), _PROPS),
    "RequestData": (
        Field("id", Kind.STRING, True, 512),
        Field("name", Kind.STRING, max_chars=1024),
        Field("duration", Kind.DURATION, True),
        Field("success", Kind.BOOLEAN, True),
        Field("responseCode", Kind.STRING, True, 1024),
        Field("source", Kind.STRING, max_chars=1024),
        Field("url", Kind.STRING, max_chars=2048),
        _PROPS,
        _MEASURES,
    ),
    "RemoteDependencyData": (
        Field("id", Kind.STRING, max_chars=512),
        Field("name", Kind.STRING, True, 1024),
        Field("resultCode", Kind.STRING, max_chars=1024),
        Field("data", Kind.STRING, max_chars=8192),
        Field("type", Kind.STRING, max_chars=1024),
        Field("target", Kind.STRING, max_chars=1024),
        Field("duration", Kind.DURATION, True),
        Field("success", Kind.BOOLEAN),
        _PROPS,
        _MEASURES,
    ),
    "PageViewData": (
        Field("id", Kind.STRING, True, 512),
        Field("name", Kind.STRING, True, 1024),
        Field("url", Kind.STRING, max_chars=2048),
        Field("duration", Kind.DURATION),
        Field("referredUri", Kind.STRING, max_chars=2048),
        _PROPS,
        _MEASURES,
    ),
    "PageViewPerfData": (
        Field("id", Kind.STRING, True, 512),
        Field("name", Kind.STRING, True, 1024),
        Field("url", Kind.STRING, max_chars=2048),
        Field("duration", Kind.DURATION),
        _PROPS,
        _MEASURES,
    ),
    "AvailabilityData": (
        Field("id", Kind.STRING, True, 512),
        Field("name", Kind.STRING, True, 1024),
        Field("duration", Kind.DURATION, True),
        Field("success", Kind.BOOLEAN, True),
        Field("runLocation", Kind.STRING, max_chars=1024),
        Field("message", Kind.STRING, max_chars=8192),
        _PROPS,
        _MEASURES,
    ),
}
NESTED_TYPES: Mapping[str, tuple[Field, ...]] = {
    "ExceptionDetails": (
        Field("id", Kind.INT),
        Field("outerId", Kind.INT),
        Field("typeName", Kind.STRING, max_chars=1024),
        Field("message", Kind.STRING, True, 32768),
        Field("hasFullStack", Kind.BOOLEAN),
        Field("stack", Kind.STRING, max_chars=32768),
        Field("parsedStack", Kind.LIST, item="StackFrame"),
    ),
    "StackFrame": (
        Field("level", Kind.INT, True),
        Field("method", Kind.STRING, True, 1024),
        Field("assembly", Kind.STRING, max_chars=1024),
        Field("fileName", Kind.STRING, max_chars=1024),
        Field("line", Kind.INT),
    ),
    "DataPoint": (
        Field("ns", Kind.STRING, max_chars=256),
        Field("name", Kind.STRING, True, 1024),
        Field("kind", Kind.DATA_POINT_KIND),
        Field("value", Kind.NUMBER, True),
        Field("count", Kind.INT),
        Field("min", Kind.NUMBER),
        Field("max", Kind.NUMBER),
        Field("stdDev", Kind.NUMBER),
    ),
}
KNOWN_BASE_TYPES = frozenset(TYPES)

# Enums travel as their names (the exporter, .NET) or their numbers (the JS SDKs).
_SEVERITY = ("Verbose", "Information", "Warning", "Error", "Critical")
_DATA_POINT_KINDS = ("Measurement", "Aggregation")
_ENUMS = {Kind.SEVERITY: _SEVERITY, Kind.DATA_POINT_KIND: _DATA_POINT_KINDS}
_INT32 = (-(2**31), 2**31 - 1)
MAX_DURATION_DAYS = 999  # "Must be less than 1000 days"
# .NET TimeSpan "c" form: [d.]hh:mm:ss[.fffffff]; the SDKs send 1 to 7 fraction digits.
_DURATION_RE = re.compile(r"(?:(\d{1,3})\.)?(\d{1,2}):(\d\d):(\d\d)(?:\.(\d{1,7}))?\Z")
_SHOWN_CHARS = 40  # how much of a bad value a message repeats


def _shown(value: Any) -> str:
    if value is None:
        return "undefined"
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 1] + "…"


def missing(field: str, owner: str, expected: str, value: Any) -> str:
    """The service's 109: a required field absent, null or empty."""
    return (
        f"109: Field '{field}' on type '{owner}' is required but missing or empty. "
        f"Expected: {expected}, Actual: {_shown(value)}"
    )


def incorrect_type(field: str, owner: str, expected: str, value: Any) -> str:
    """The service's 106: a field present with the wrong JSON type or an out-of-range value."""
    return f"106: Field '{field}' on type '{owner}' is of incorrect type. Expected: {expected}, Actual: {_shown(value)}"


def unknown_base_type(base_type: str) -> str:
    """The service's answer to a baseType it has no schema for."""
    return f"Unknown domain type 'Microsoft.ApplicationInsights.{base_type[:_SHOWN_CHARS]}'"


def parse_duration(text: str) -> float | None:
    """Seconds in a DD.HH:MM:SS.MMMMMM duration, or None when it is not one the service accepts."""
    match = _DURATION_RE.match(text)
    if match is None:
        return None
    days, hours, minutes, seconds = (int(part or 0) for part in match.group(1, 2, 3, 4))
    if hours > 23 or minutes > 59 or seconds > 59 or days > MAX_DURATION_DAYS:
        return None
    fraction = float("0." + match[5]) if match[5] else 0.0
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds + fraction


def _is_int(value: Any) -> bool:
    return type(value) is int and _INT32[0] <= value <= _INT32[1]


def _is_number(value: Any) -> bool:
    return (type(value) is int or type(value) is float) and math.isfinite(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _map_error(field: Field, owner: str, value: Any) -> str | None:
    strings = field.kind is Kind.PROPERTIES
    expected = "object of strings" if strings else "object of finite numbers"
    if type(value) is not dict:
        return incorrect_type(field.name, owner, expected, value)
    for key, item in value.items():
        if not (type(item) is str if strings else _is_number(item)):
            shown = "non-finite number" if type(item) is float else type(item).__name__
            return incorrect_type(field.name, owner, expected, f"key '{key[:150]}' has a {shown}")
    return None


def _value_error(field: Field, owner: str, value: Any) -> str | None:  # pylint: disable=too-many-return-statements  # one return per JSON type
    """Why a present value of this field is refused, or None."""
    kind = field.kind
    if kind is Kind.STRING:
        return None if type(value) is str else incorrect_type(field.name, owner, "string", value)
    if kind is Kind.BOOLEAN:
        return None if type(value) is bool else incorrect_type(field.name, owner, "bool", value)
    if kind is Kind.INT:
        return None if _is_int(value) else incorrect_type(field.name, owner, "int", value)
    if kind is Kind.NUMBER:
        return None if _is_number(value) else incorrect_type(field.name, owner, "double", value)
    if kind is Kind.DURATION:
        if type(value) is str and parse_duration(value) is not None:
            return None
        return (
            f"108: Field '{field.name}' on type '{owner}' is not a valid duration string. "
            f"Expected: TimeSpan DD.HH:MM:SS.MMMMMM format, Actual: {_shown(value)}"
        )
    if kind in _ENUMS:
        names = _ENUMS[kind]
        if value in names or (type(value) is int and 0 <= value < len(names)):
            return None
        return incorrect_type(field.name, owner, kind.value, value)
    if kind in (Kind.PROPERTIES, Kind.MEASUREMENTS):
        return _map_error(field, owner, value)
    if type(value) is not list:  # Kind.LIST
        return incorrect_type(field.name, owner, f"array of {field.item}", value)
    nested = NESTED_TYPES[field.item or ""]
    for element in value:
        if type(element) is not dict:
            return incorrect_type(field.name, owner, f"array of {field.item}", element)
        problem = fields_error(element, field.item or "", nested)
        if problem:
            return problem
    return None


def fields_error(data: Mapping[str, Any], owner: str, fields: tuple[Field, ...]) -> str | None:
    """The first rule of `owner`'s spec that `data` breaks, or None; unknown extra fields are ignored."""
    for field in fields:
        value = data.get(field.name)
        if _empty(value):
            if field.required:
                return missing(field.name, owner, field.item or field.kind.value, value)
            if value is None:
                continue
        problem = _value_error(field, owner, value)
        if problem:
            return problem
    return None


def base_data_error(base_type: str, base: Mapping[str, Any]) -> str | None:
    """Why the service rejects this baseData of this baseType, or None when it accepts it."""
    fields = TYPES.get(base_type)
    if fields is None:
        return unknown_base_type(base_type)
    ver = base.get("ver")
    if type(ver) is not int or ver != protocol.BASE_DATA_VERSION:
        if ver is None:
            return missing("ver", base_type, "int", ver)
        return f"Field 'ver' on type '{base_type}' must be {protocol.BASE_DATA_VERSION}. Actual: {_shown(ver)}"
    return fields_error(base, base_type, fields)


def _over(text: Any, limit: int) -> bool:
    return type(text) is str and len(text) > limit


def truncations(item: Any) -> list[str]:
    """Fields of an accepted item the service stores cut to their documented maximum length (PROTOCOL.md, Limits)."""
    data = item.get("data") if type(item) is dict else None
    base = data.get("baseData") if type(data) is dict else None
    base_type = data.get("baseType") if type(data) is dict else None
    if type(base) is not dict or type(base_type) is not str:
        return []
    fields = TYPES.get(base_type, ())
    notes = [
        f"{base_type}.{f.name} (over {f.max_chars} chars)"
        for f in fields
        if f.max_chars and _over(base.get(f.name), f.max_chars)
    ]
    for name in ("properties", "measurements"):
        values = base.get(name)
        if type(values) is not dict:
            continue
        for key, value in values.items():
            if len(key) > protocol.MAX_PROPERTY_KEY_CHARS:
                notes.append(f"{base_type}.{name} key {key[:20]!r}… (over {protocol.MAX_PROPERTY_KEY_CHARS} chars)")
            if name == "properties" and _over(value, protocol.MAX_PROPERTY_VALUE_CHARS):
                notes.append(f"{base_type}.{name}[{key[:40]!r}] (over {protocol.MAX_PROPERTY_VALUE_CHARS} chars)")
    return notes
