"""The parameters sanitizer (DESIGN.md, "Contract — sanitizing"): keep usage signal, nothing identifying.

Pure and never raising. Kept: which flags were used, booleans, small numbers, enum-like
words (`infra`, `terraform`, `westus3`), known model ids and regions; everything else is
`***`. Caps: 1 KB of UTF-8 for the parameters' JSON text. The recorder runs this on every
command and the sender again on the way out, so it stays free of regexes.
"""

from __future__ import annotations

import json
import math
from typing import Any

from telemetry_sender.privacy.shapes import is_count_name, is_enum_like, is_identifying_name, is_model_name
from telemetry_sender.privacy.shapes import is_name_like_key, is_sensitive_name, region_or_empty, split_words

REDACTED = "***"
MAX_TEXT_BYTES = 1024
MAX_DEPTH = 8
MAX_ITEMS = 64  # per dict or list: beyond this the output is over the cap anyway
ELLIPSIS = "…"  # the value of an entry cut short by the cap
# Counts, sizes and timeouts are usage signal; 8+ digit numbers can be phone, account or ID numbers.
_MAX_NUMBER = 10**7
REGION_WORDS = frozenset({"location", "locations", "region", "regions"})


def _type_name(value: object) -> str:
    try:
        return type(value).__name__
    except Exception:  # pylint: disable=broad-exception-caught  # odd metaclasses
        return "object"


def _is_small_int_text(text: str) -> bool:
    digits = text[1:] if text[:1] == "-" else text
    return digits.isdigit() and len(digits) <= 7


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


def _clean_string(value: str, name: str) -> str:
    """Enum-like words are kept; a model must be a known model id, a location a region (short form)."""
    if value in (ELLIPSIS, REDACTED):
        return value
    if is_count_name(name):  # a count holds a number; text under a count's name is not usage signal
        return value if value in ("int", "float") else REDACTED
    words = split_words(name)
    if "model" in words or "models" in words:
        return value if is_model_name(value) else REDACTED
    if REGION_WORDS.intersection(words):
        return region_or_empty(value) or REDACTED
    return value if is_enum_like(value) else REDACTED


def _flag_hides_next(item: object) -> bool:
    """`--password`, `-p`-style list items whose next item is their value: secret or identifying."""
    if not isinstance(item, str) or not item.startswith("-"):
        return False
    name = item.split("=", 1)[0]
    return is_sensitive_name(name) or is_identifying_name(name)


def _clean_list(items: list, name: str, depth: int, seen: frozenset[int]) -> list:
    """Items of a list; the value after a secret or identifying flag (`["--password", "X"]`) is ***."""
    cleaned: list = []
    hide_next = False
    for item in items[:MAX_ITEMS]:
        cleaned.append(REDACTED if hide_next and item is not None else _clean(item, name, depth, seen))
        hide_next = _flag_hides_next(item)
    return cleaned


def _clean(value: Any, name: str, depth: int, seen: frozenset[int]) -> Any:  # pylint: disable=too-many-return-statements  # one return per kind of value
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
    return _clean_list(list(value), name, depth + 1, inner)


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
    except Exception:  # pylint: disable=broad-exception-caught  # the contract: never raise; an empty record is safe
        return {}


def truncate_utf8(text: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, on a character boundary."""
    data = text.encode("utf-8", "replace")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def parameters_json(params: dict) -> str:
    """Sanitized parameters as compact JSON text of at most 1 KB, always valid JSON."""
    try:
        cleaned = sanitize_parameters(params)
        text = _dumps(cleaned)
        if len(text.encode("utf-8")) <= MAX_TEXT_BYTES:
            return text
        return _fit(cleaned)
    except Exception:  # pylint: disable=broad-exception-caught  # the contract: never raise
        return "{}"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _fit(cleaned: dict[str, Any]) -> str:
    """Keep whole entries while they fit; shorten the rest to a marker; drop what still does not fit."""
    kept: dict[str, Any] = {}
    for key, value in cleaned.items():
        for candidate in (value, ELLIPSIS):
            trial = {**kept, truncate_utf8(key, 64): candidate}
            if len(_dumps(trial).encode("utf-8")) <= MAX_TEXT_BYTES:
                kept = trial
                break
    return _dumps(kept)
