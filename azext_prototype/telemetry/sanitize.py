"""The public sanitizers (DESIGN.md, "Contract — library API" and "Contract — sanitizing").

The rules live in `telemetry_sender.privacy`, where the sender re-runs them on the way
out; this module is the recorder's door to them, plus the one rule only az can apply
(`mask_free_text`: az knows which flags took free text). Both public sanitizers are pure
and never raise. The error sanitizer and its vocabulary load only when a command failed.
"""

from __future__ import annotations

from telemetry_sender.privacy.parameters import MAX_TEXT_BYTES, REDACTED, REGION_WORDS, parameters_json
from telemetry_sender.privacy.parameters import sanitize_parameters, truncate_utf8
from telemetry_sender.privacy.shapes import split_words

__all__ = ["MAX_TEXT_BYTES", "REDACTED", "mask_free_text", "parameters_json", "sanitize_error",
           "sanitize_parameters", "truncate_utf8"]


def sanitize_error(text: str) -> str:
    """The error text kept by allow-list, secrets and personal data as typed placeholders, at most 1 KB."""
    try:
        from telemetry_sender.privacy.errors import sanitize_error as impl
    except Exception:  # pylint: disable=broad-exception-caught  # the contract: never raise
        return ""
    return impl(text)


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
        if "model" in words or "models" in words or REGION_WORDS.intersection(words):
            continue
        masked[name] = REDACTED
    return masked
