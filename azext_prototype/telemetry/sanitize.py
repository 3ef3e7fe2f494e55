"""The public sanitizers (DESIGN.md, "Contract — library API" and "Contract — sanitizing").

The rules live in `telemetry_sender.privacy`, where the sender re-runs them on the way
out; this module is the recorder's door to them (the one rule only az can apply, masking
free text, is the event builder's). Both public sanitizers are pure and never raise.
The error sanitizer and its vocabulary load only when a command failed.
"""

from __future__ import annotations

from telemetry_sender.privacy.parameters import MAX_TEXT_BYTES, REDACTED, parameters_json
from telemetry_sender.privacy.parameters import sanitize_parameters, truncate_utf8

__all__ = ["MAX_TEXT_BYTES", "REDACTED", "parameters_json", "sanitize_error",
           "sanitize_parameters", "truncate_utf8"]


def sanitize_error(text: str) -> str:
    """The error text kept by allow-list, secrets and personal data as typed placeholders, at most 1 KB."""
    try:
        from telemetry_sender.privacy.errors import sanitize_error as impl
    except Exception:  # pylint: disable=broad-exception-caught  # the contract: never raise
        return ""
    return impl(text)
