"""What the ingestion service does with a request, as pure functions: decode, validate, answer.

The emulator (telemetry_sender.emulator.server) wraps these in HTTP; each telemetry type's
fields are judged by telemetry_sender.emulator.schema (the service's API spec). Facts come from
PROTOCOL.md; the item error messages imitate the service's wording.
No I/O here: time is a parameter, so every rule is tested directly.
"""

from __future__ import annotations

# JSON types are exact here, as the service sees them: True is not an int, 1 is not a float.
# pylint: disable=unidiomatic-typecheck

import functools
import json
import math
import re
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import formatdate
from http import HTTPStatus
from typing import Any, Iterable, Mapping

from telemetry_sender import protocol
from telemetry_sender.emulator import schema

TRACK_PATHS = frozenset({protocol.TRACK_PATH, protocol.LEGACY_TRACK_PATH})
DEFAULT_IKEY = "00000000-0000-4000-8000-000000000000"  # the emulator's key when none is given
MAX_BODY_BYTES = 64 * 1024 * 1024  # a request body (decompressed too) past this is refused
INVALID_IKEY_MESSAGE = "Invalid instrumentation key"
ITEM_TOO_LARGE_MESSAGE = f"Telemetry item length must not exceed {protocol.MAX_ITEM_BYTES}"
_MAX_UTF8_BYTES_PER_CHAR = 4

_TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z\Z")
_SPACE_RE = re.compile(r"[ \t\n\r]*")
_SPACE_CHARS = frozenset(" \t\n\r")  # "" is not in it: end of text is never skipped
_SAFE_ITEM_CHARS = protocol.MAX_ITEM_BYTES // _MAX_UTF8_BYTES_PER_CHAR  # never over the limit in UTF-8


class BodyError(ValueError):
    """The request body cannot be read as telemetry (bad gzip, bad JSON, too big)."""


@dataclass(frozen=True, slots=True)
class DecodedBody:
    """The items of one request, and which of them are over the serialized-size limit."""

    items: list[Any]
    oversize: frozenset[int]


@dataclass(frozen=True, slots=True)
class ItemError:
    """One entry of the response's `errors` list."""

    index: int
    status: int
    message: str

    def as_json(self) -> dict[str, Any]:
        """The service's wire form of this error."""
        return {"index": self.index, "statusCode": self.status, "message": self.message}


# --- Decoding -------------------------------------------------------------------------------


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def decompress(raw: bytes, content_encoding: str | None) -> bytes:
    """Undo `Content-Encoding` (gzip or none), refusing bodies that inflate past MAX_BODY_BYTES."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "x-gzip"):
        raise BodyError(f"unsupported Content-Encoding {encoding!r}")
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(raw, MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise BodyError(f"body is not valid gzip: {exc}") from None
    if len(data) > MAX_BODY_BYTES or inflater.unconsumed_tail:
        raise BodyError(f"decompressed body exceeds {MAX_BODY_BYTES} bytes")
    if not inflater.eof:
        raise BodyError("body is not valid gzip: truncated stream")
    return data


def _is_oversize(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] is over the item limit in UTF-8, encoding only when it could matter."""
    chars = end - start
    if chars * _MAX_UTF8_BYTES_PER_CHAR <= protocol.MAX_ITEM_BYTES:
        return False
    if chars > protocol.MAX_ITEM_BYTES:
        return True
    return len(text[start:end].encode("utf-8")) > protocol.MAX_ITEM_BYTES


def _decode_array(text: str, start: int) -> DecodedBody:
    """A JSON array, item by item, so each item's serialized size is its span in the body."""
    items: list[Any] = []
    oversize: set[int] = set()
    raw_decode, space, append, limit = _DECODER.raw_decode, _SPACE_RE.match, items.append, _SAFE_ITEM_CHARS
    pos = space(text, start + 1).end()
    closed = text.startswith("]", pos)
    if closed:
        pos += 1
    while not closed:
        item, end = raw_decode(text, pos)
        if end - pos > limit and _is_oversize(text, pos, end):
            oversize.add(len(items))
        append(item)
        sep = text[end:end + 1]
        if sep in _SPACE_CHARS:
            end = space(text, end).end()
            sep = text[end:end + 1]
        if sep == "]":
            closed = True
        elif sep != ",":
            raise ValueError(f"expected ',' or ']' at character {end}")
        pos = end + 1
        if text[pos:pos + 1] in _SPACE_CHARS:
            pos = space(text, pos).end()
    end = space(text, pos).end()
    if end != len(text):
        raise ValueError(f"extra data after the array at character {end}")
    return DecodedBody(items, frozenset(oversize))


def _decode_lines(text: str) -> DecodedBody:
    """Newline-delimited JSON (application/x-json-stream): one item a line, blank lines skipped."""
    items: list[Any] = []
    oversize: set[int] = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        if _is_oversize(line, 0, len(line)):
            oversize.add(len(items))
        items.append(_DECODER.decode(line))
    return DecodedBody(items, frozenset(oversize))


def decode_body(raw: bytes, content_encoding: str | None = None) -> DecodedBody:
    """The telemetry items of a request body: a JSON array or JSON lines, gzip or not."""
    if len(raw) > MAX_BODY_BYTES:
        raise BodyError(f"body exceeds {MAX_BODY_BYTES} bytes")
    data = decompress(raw, content_encoding)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    start = _SPACE_RE.match(text).end()
    try:
        if text.startswith("[", start):
            return _decode_array(text, start)
        return _decode_lines(text)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise BodyError(f"body is not valid JSON: {exc}") from None


# --- Item validation ------------------------------------------------------------------------


def _missing(name: str, owner: str, expected: str, value: Any) -> str:
    return schema.missing(name, owner, expected, value)


@functools.lru_cache(maxsize=1024)
def _day_start(date: str) -> float | None:
    """Seconds since the epoch at midnight UTC of a YYYY-MM-DD date, or None when no such day."""
    try:
        return datetime(int(date[0:4]), int(date[5:7]), int(date[8:10]), tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def parse_envelope_time(text: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 UTC time ending in `Z`, or None when malformed."""
    match = _TIME_RE.match(text)
    if match is None:
        return None
    day = _day_start(text[:10])
    hour, minute, second, fraction = int(match[1]), int(match[2]), int(match[3]), match[4]
    if day is None or hour > 23 or minute > 59 or second > 59:
        return None
    return day + hour * 3600 + minute * 60 + second + (float("0." + fraction) if fraction else 0.0)


def _time_error(value: Any, now: float) -> str | None:
    if not isinstance(value, str) or not value:
        return _missing("time", "Envelope", "string", value)
    moment = parse_envelope_time(value)
    if moment is None:
        return f"Field 'time' on type 'Envelope' is not a valid ISO 8601 UTC time ending in Z. Actual: {value[:40]}"
    if moment < now - protocol.TIME_WINDOW_PAST_SECONDS:
        return (
            "Field 'time' on type 'Envelope' is older than the allowed min date. "
            f"Expected: now - {protocol.TIME_WINDOW_PAST_SECONDS * 1000}ms, Actual: {value}"
        )
    if moment > now + protocol.TIME_WINDOW_FUTURE_SECONDS:
        return (
            "Field 'time' on type 'Envelope' is newer than the max date. "
            f"Expected: now + {protocol.TIME_WINDOW_FUTURE_SECONDS * 1000}ms, Actual: {value}"
        )
    return None


def _data_error(data: Any) -> str | None:
    if type(data) is not dict:
        return _missing("data", "Envelope", "object", data)
    base_type = data.get("baseType")
    if type(base_type) is not str or not base_type:
        return _missing("baseType", "Data", "string", base_type)
    base = data.get("baseData")
    if type(base) is not dict:
        return _missing("baseData", "Data", "object", base)
    return schema.base_data_error(base_type, base)


def _tags_error(tags: Any) -> str | None:
    if tags is None:
        return None
    if type(tags) is not dict:
        return f"Field 'tags' on type 'Envelope' must be an object. Actual: {type(tags).__name__}"
    for key, value in tags.items():
        if type(value) is not str:
            return schema.incorrect_type(key, "Envelope.tags", "string", value)
    return None


# pylint: disable-next=too-many-return-statements  # one return per rule the service applies
def item_error(item: Any, *, now: float, ikey: str | None = None, oversize: bool = False) -> str | None:
    """Why the service would reject this item with an item-level 400, or None when it accepts it."""
    if oversize:
        return ITEM_TOO_LARGE_MESSAGE
    if type(item) is not dict:
        return f"Telemetry item must be a JSON object. Actual: {type(item).__name__}"
    name = item.get("name")
    if type(name) is not str or not name:
        return _missing("name", "Envelope", "string", name)
    problem = _time_error(item.get("time"), now)
    if problem:
        return problem
    key = item.get("iKey")
    if type(key) is not str or not key:
        return _missing("iKey", "Envelope", "string", key)
    if ikey is not None and key.strip().lower() != ikey.strip().lower():
        return INVALID_IKEY_MESSAGE
    return _tags_error(item.get("tags")) or _data_error(item.get("data"))


def validate_items(body: DecodedBody, *, now: float, ikey: str | None = None) -> list[ItemError]:
    """Every item-level rejection of a request, in item order."""
    errors: list[ItemError] = []
    oversize = body.oversize
    for index, item in enumerate(body.items):
        problem = item_error(item, now=now, ikey=ikey, oversize=index in oversize)
        if problem is not None:
            errors.append(ItemError(index, 400, problem))
    return errors


# --- Answers --------------------------------------------------------------------------------


def response_body(received: int, errors: Iterable[ItemError]) -> dict[str, Any]:
    """The service's JSON answer: counts, per-item errors, and `appId` (always null here)."""
    error_list = sorted(errors, key=lambda e: e.index)
    return {
        "itemsReceived": received,
        "itemsAccepted": received - len(error_list),
        "errors": [e.as_json() for e in error_list],
        "appId": None,
    }


def track_status(received: int, errors: list[ItemError]) -> int:
    """200 all accepted, 206 some, else the first item's status (400 for an empty request)."""
    if not errors:
        return 200 if received else 400
    if len(errors) < received:
        return 206
    return min(errors, key=lambda e: e.index).status


def reason_phrase(status: int) -> str:
    """The standard reason phrase of a status, for scripted item messages."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Status {status}"


# --- Scripted answers -----------------------------------------------------------------------

SAMPLED_OUT = "sampled_out"  # fail_items shorthand: the item error "Telemetry sampled out."
SAMPLED_OUT_STATUS = 500  # the status the service pairs with it; SDKs go by the message
_RULE_KEYS = frozenset(
    {"status", "retry_after", "retry_after_date", "fail_items", "location", "max_age"}
    | {"hang", "delay", "drop", "repeat"}
)


class ScriptError(ValueError):
    """A scripted rule that cannot be followed (unknown key, wrong type, missing location)."""


@dataclass(frozen=True, slots=True)
class Rule:  # pylint: disable=too-many-instance-attributes  # a value: one field per part of a scripted answer
    """One scripted answer; see `parse_rule` for the dict form (the `--script` file's items)."""

    status: int | None = None
    retry_after: str | None = None
    retry_after_date: float | None = None
    fail_items: tuple[tuple[int, int, str], ...] = ()
    location: str | None = None
    max_age: int | None = None
    hang: float | None = None
    delay: float | None = None
    drop: bool = False
    repeat: int = 1


def _number(rule: Mapping[str, Any], key: str) -> float | None:
    value = rule.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or not math.isfinite(value):
        raise ScriptError(f"{key!r} must be a non-negative number of seconds, not {value!r}")
    return float(value)


def _fail_items(value: Any) -> tuple[tuple[int, int, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ScriptError("'fail_items' must map item indexes to a status, 'sampled_out' or {status, message}")
    failures = []
    for key, spec in value.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise ScriptError(f"'fail_items' key {key!r} is not an item index") from None
        if spec == SAMPLED_OUT:
            status, message = SAMPLED_OUT_STATUS, protocol.SAMPLED_OUT_MESSAGE
        elif isinstance(spec, Mapping) and isinstance(spec.get("status"), int):
            status = spec["status"]
            message = str(spec.get("message") or reason_phrase(status))
        elif isinstance(spec, int) and not isinstance(spec, bool):
            status, message = spec, reason_phrase(spec)
        else:
            raise ScriptError(f"'fail_items' entry {key!r} must be a status, 'sampled_out' or {{status, message}}")
        failures.append((index, status, message))
    return tuple(sorted(failures))


def parse_rule(rule: Mapping[str, Any]) -> Rule:
    """A Rule from its dict form, e.g. {"status": 429, "retry_after": "3", "repeat": 2}."""
    if not isinstance(rule, Mapping):
        raise ScriptError(f"a rule must be a JSON object, not {type(rule).__name__}")
    unknown = set(rule) - _RULE_KEYS
    if unknown:
        raise ScriptError(f"unknown rule keys: {', '.join(sorted(unknown))} (known: {', '.join(sorted(_RULE_KEYS))})")
    status = rule.get("status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599):
        raise ScriptError(f"'status' must be an HTTP status between 200 and 599, not {status!r}")
    repeat = rule.get("repeat", 1)
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ScriptError(f"'repeat' must be a positive integer, not {repeat!r}")
    location = rule.get("location")
    if status in protocol.REDIRECT_STATUSES and not isinstance(location, str):
        raise ScriptError(f"a {status} rule needs a 'location' (e.g. http://127.0.0.1:PORT)")
    max_age = _number(rule, "max_age")
    retry_after = rule.get("retry_after")
    return Rule(
        status=status,
        retry_after=None if retry_after is None else str(retry_after),
        retry_after_date=_number(rule, "retry_after_date"),
        fail_items=_fail_items(rule.get("fail_items")),
        location=location,
        max_age=None if max_age is None else int(max_age),
        hang=_number(rule, "hang"),
        delay=_number(rule, "delay"),
        drop=bool(rule.get("drop", False)),
        repeat=repeat,
    )


def parse_script(rules: Any) -> tuple[Rule, ...]:
    """The rules of a `--script` file: a JSON list of rule objects (a single object also works)."""
    if isinstance(rules, Mapping):
        rules = [rules]
    if not isinstance(rules, list):
        raise ScriptError("a script must be a JSON list of rule objects")
    return tuple(parse_rule(rule) for rule in rules)


def scripted_headers(rule: Rule, path: str, now: float) -> dict[str, str]:
    """Retry-After, Location and Cache-Control headers a scripted rule asks for."""
    headers: dict[str, str] = {}
    if rule.retry_after is not None:
        headers["Retry-After"] = rule.retry_after
    elif rule.retry_after_date is not None:
        headers["Retry-After"] = formatdate(now + rule.retry_after_date, usegmt=True)
    if rule.location is not None:
        target = rule.location
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*/?\Z", target):  # scheme and host only: keep our path
            target = target.rstrip("/") + path
        headers["Location"] = target
    if rule.max_age is not None:
        headers["Cache-Control"] = f"max-age={rule.max_age}"
    return headers


def scripted_errors(rule: Rule, received: int, validation: list[ItemError]) -> list[ItemError]:
    """The item errors of a scripted answer: all items fail for a whole-request failure,
    the chosen ones (over validation) for a 206."""
    status = rule.status or 200
    if status in (200, 206):
        chosen = {index: ItemError(index, s, m) for index, s, m in rule.fail_items if 0 <= index < received}
        merged = {e.index: e for e in validation}
        merged.update(chosen)
        return [merged[i] for i in sorted(merged)]
    phrase = reason_phrase(status)
    return [ItemError(index, status, phrase) for index in range(received)]


@dataclass(frozen=True, slots=True)
class ServiceAnswer:
    """The service's decision on one request: status (None: close unanswered), item errors, body, headers."""

    status: int | None
    errors: tuple[ItemError, ...] = ()
    body: dict[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def judge(
    body: DecodedBody | None, problem: str | None, rule: Rule | None, *, now: float, ikey: str | None, path: str
) -> ServiceAnswer:
    """Answer a track request: validate like the service, unless a scripted rule says otherwise.

    `body` is None when the request could not be decoded (`problem` says why).
    """
    if rule is not None and (rule.drop or rule.hang is not None):
        return ServiceAnswer(None)
    headers = scripted_headers(rule, path, now) if rule is not None else {}
    received = len(body.items) if body is not None else 0
    whole_request_failure = rule is not None and rule.status not in (None, 200, 206)
    if body is None and not whole_request_failure:
        error = ItemError(0, 400, problem or "invalid body")
        return ServiceAnswer(400, (error,), {**response_body(0, ()), "errors": [error.as_json()]}, headers)
    errors = [] if whole_request_failure or body is None else validate_items(body, now=now, ikey=ikey)
    if rule is not None:
        errors = scripted_errors(rule, received, errors)
    status = rule.status if rule is not None and rule.status not in (None, 200) else track_status(received, errors)
    answer = None if status in protocol.REDIRECT_STATUSES else response_body(received, errors)
    return ServiceAnswer(status, tuple(errors), answer, headers)
