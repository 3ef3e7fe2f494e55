"""The public sanitizers (DESIGN.md, "Contract — library API" and "Contract — sanitizing").

Both are pure and never raise. `sanitize_parameters` keeps the usage signal (which
flags were used, booleans, numbers, enum-like words such as `infra`, `terraform`,
`westus3`) and nothing that identifies a person, a resource or a secret.
`sanitize_error` scrubs free text. Caps: 1 KB of UTF-8 for the parameters' JSON
text and for the error.
"""

from __future__ import annotations

import json
import math
from typing import Any

from azext_prototype.telemetry.shapes import is_enum_like, is_model_name, is_name_like_key, region_or_empty
from azext_prototype.telemetry.shapes import is_identifying_name, is_sensitive_name, split_words

REDACTED = "***"
MAX_TEXT_BYTES = 1024
MAX_DEPTH = 8
MAX_ITEMS = 64  # per dict or list: beyond this the output is over the cap anyway
_ELLIPSIS = "…"
# Counts, sizes and timeouts are usage signal; 8+ digit numbers can be phone, account or ID numbers.
_MAX_NUMBER = 10**7


def _type_name(value: object) -> str:
    try:
        return type(value).__name__
    except Exception:  # noqa: BLE001 - odd metaclasses
        return "object"


def _key_text(key: object) -> str | None:
    """A JSON object key for `key`, or None when the entry must be dropped.

    A key that does not read as a name (an e-mail, a GUID, a path, a token: data used as a
    key in a nested mapping) becomes ***, and so does its value (its name is ***).
    """
    if isinstance(key, str):
        text = str.__str__(key)
    elif isinstance(key, (int, float, bool)) or key is None:
        text = json.dumps(key)
    else:
        text = _type_name(key)
    if text.startswith("_"):
        return None
    return text if is_name_like_key(text) or text in ("null", "true", "false") or _is_small_int_text(text) else REDACTED


def _is_small_int_text(text: str) -> bool:
    digits = text[1:] if text[:1] == "-" else text
    return digits.isdigit() and len(digits) <= 7


_REGION_WORDS = frozenset({"location", "locations", "region", "regions"})


def _clean_string(value: str, name: str) -> str:
    """Enum-like words are kept; a model must be a known model id, a location a region (short form)."""
    words = split_words(name)
    if "model" in words or "models" in words:
        return value if is_model_name(value) else REDACTED
    if _REGION_WORDS.intersection(words):
        return region_or_empty(value) or REDACTED
    return value if is_enum_like(value) else REDACTED


def _clean(value: Any, name: str, depth: int, seen: frozenset[int]) -> Any:
    """The sanitized form of one value found under parameter `name`."""
    if is_sensitive_name(name) or name == REDACTED:
        return REDACTED
    if value is None or isinstance(value, bool):
        return value
    if is_identifying_name(name):
        return REDACTED
    if isinstance(value, int):
        # Small counts and sizes are usage signal; long numbers can be account or phone numbers.
        return int(value) if -_MAX_NUMBER < value < _MAX_NUMBER else _type_name(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) and -_MAX_NUMBER < value < _MAX_NUMBER else _type_name(value)
    if isinstance(value, str):
        return _clean_string(str.__str__(value), name)
    if not isinstance(value, (dict, list, tuple)):
        return _type_name(value)
    if depth >= MAX_DEPTH or id(value) in seen:
        return _type_name(value)
    inner = seen | {id(value)}
    if isinstance(value, dict):
        return _clean_mapping(value, depth + 1, inner)
    return [_clean(item, name, depth + 1, inner) for item in list(value)[:MAX_ITEMS]]


def _clean_mapping(params: dict, depth: int, seen: frozenset[int]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for count, (key, value) in enumerate(list(params.items())):
        if count >= MAX_ITEMS:
            break
        text = _key_text(key)
        if text is not None:
            cleaned[text] = _clean(value, text, depth, seen)
    return cleaned


def sanitize_parameters(params: dict) -> dict:
    """The parameters with secrets and identifying values redacted to ***; pure, never raises."""
    try:
        if not isinstance(params, dict):
            return {}
        return _clean_mapping(params, 0, frozenset({id(params)}))
    except Exception:  # noqa: BLE001 - the contract: never raise; an empty record is safe
        return {}


def truncate_utf8(text: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, on a character boundary."""
    data = text.encode("utf-8", "replace")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def sanitize_error(text: str) -> str:
    """The error text with secrets and personal data scrubbed, at most 1 KB of UTF-8; never raises."""
    try:
        raw = _as_text(text)
        # Scrub a bounded prefix: patterns must not be cut in two by the cap, and a
        # megabyte of text must not cost the user regex time.
        from azext_prototype.telemetry.scrub import scrub_text

        scrubbed = scrub_text(raw[: MAX_TEXT_BYTES * 4])
        return truncate_utf8(scrubbed.replace("\x00", ""))
    except Exception:  # noqa: BLE001 - the contract: never raise
        return ""


def mask_free_text(params: dict, free_text: frozenset[str]) -> dict:
    """Text given to arguments without declared choices becomes ***, except models and regions,
    which are judged by shape; flags, numbers and az-checked choices stay."""
    masked = dict(params)
    for name in free_text:
        value = masked.get(name)
        texts = value if isinstance(value, (list, tuple)) else [value]
        if not texts or not all(isinstance(item, str) for item in texts):
            continue
        words = split_words(name)
        if "model" in words or "models" in words or _REGION_WORDS.intersection(words):
            continue
        masked[name] = REDACTED
    return masked


def parameters_json(params: dict) -> str:
    """Sanitized parameters as compact JSON text of at most 1 KB, always valid JSON."""
    try:
        cleaned = sanitize_parameters(params)
        text = _dumps(cleaned)
        if len(text.encode("utf-8")) <= MAX_TEXT_BYTES:
            return text
        return _fit(cleaned)
    except Exception:  # noqa: BLE001
        return "{}"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _fit(cleaned: dict[str, Any]) -> str:
    """Keep whole entries while they fit; shorten the rest to a marker; drop what still does not fit."""
    kept: dict[str, Any] = {}
    for key, value in cleaned.items():
        for candidate in (value, _ELLIPSIS):
            trial = {**kept, truncate_utf8(key, 64): candidate}
            if len(_dumps(trial).encode("utf-8")) <= MAX_TEXT_BYTES:
                kept = trial
                break
    return _dumps(kept)
