"""The public sanitizers (DESIGN.md, "Contract — library API" and "Contract — sanitizing").

The rules live in `telemetry_sender.rules` (parameters) and `telemetry_sender.privacy` (error
text), where the sender re-runs them on the way out; this module is the recorder's door to
them (the one rule only az can apply, masking free text, is the event builder's). Both
public sanitizers are pure and never raise.
`error_text` words a failed command's error for its event; the error sanitizer and its
vocabulary load only then.
"""

from __future__ import annotations

from typing import Any, Mapping

from telemetry_sender.rules import MAX_TEXT_BYTES, REDACTED, parameters_json
from telemetry_sender.rules import sanitize_parameters, truncate_utf8

__all__ = ["MAX_TEXT_BYTES", "REDACTED", "error_text", "parameters_json", "sanitize_error",
           "sanitize_parameters", "truncate_utf8"]


def sanitize_error(text: str) -> str:
    """The error text kept by allow-list, secrets and personal data as typed placeholders, at most 1 KB."""
    try:
        from telemetry_sender.privacy.errors import sanitize_error as impl
    except Exception:  # pylint: disable=broad-exception-caught  # the contract: never raise
        return ""
    return impl(text)


def _typed_strings(value: object, depth: int = 0) -> list[str]:
    """The strings in a typed value, also inside lists and mappings (nargs, key=value pairs)."""
    if isinstance(value, str):
        return [value.strip()]
    if depth >= 4:
        return []
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [s for item in list(value)[:64] for s in _typed_strings(item, depth + 1)]
    return []


def _redacted_values(given: Mapping[str, Any], parameters: str) -> list[str]:
    """The typed values the parameters text did not keep as values: they must not reappear in the error.

    Compared with the values kept, not with the text: a value that is also a parameter's name
    (`--name location`) was not kept just because the text holds `"location"` as a key.
    """
    import json

    try:
        kept = set(_typed_strings(json.loads(parameters)))
    except ValueError:
        kept = set()
    values = {v for v in _typed_strings(list(given.values())) if len(v) >= 3 and v not in kept}
    return sorted(values, key=len, reverse=True)


def error_text(error: BaseException, given: Mapping[str, Any], parameters: str) -> str:
    """`<ExceptionType>: <sanitized message>`, at most 1 KB of UTF-8."""
    try:
        message = str(error)
    except Exception:  # pylint: disable=broad-exception-caught  # a broken __str__ must not cost the event
        message = ""
    redacted = _redacted_values(given, parameters)
    if redacted:
        import re

        for value in redacted:
            message = re.sub(rf"(?i)(?<!\w){re.escape(value)}(?!\w)", REDACTED, message)
    name = type(error).__name__
    # A bare kind goes through the sanitizer too: the sender re-checks `error` with it, and the
    # spool must hold exactly what will be sent.
    return sanitize_error(f"{name}: {message}" if message else name)
