"""The recorder: runs inside az on every command, so importing it costs next to nothing.

Public API (DESIGN.md, "Contract — library API"):
    track(command_name, *, resources=None)  -- the command decorator
    sanitize_parameters(params) -> dict      -- pure, never raises
    sanitize_error(text) -> str               -- pure, never raises
The sanitizers (and `re`) load on first use, not when az imports the extension.
"""

from __future__ import annotations

from azext_prototype.telemetry.track import track

__all__ = ["track", "sanitize_parameters", "sanitize_error"]


def sanitize_parameters(params: dict) -> dict:
    """Parameters with secrets and identifying values redacted to ***; pure, never raises."""
    try:
        from azext_prototype.telemetry.sanitize import sanitize_parameters as impl
    except Exception:  # pylint: disable=broad-exception-caught  # the contract: never raise
        return {}
    return impl(params)


def sanitize_error(text: str) -> str:
    """Error text with secrets and personal data scrubbed, capped at 1 KB of UTF-8; never raises."""
    try:
        from azext_prototype.telemetry.sanitize import sanitize_error as impl
    except Exception:  # pylint: disable=broad-exception-caught  # the contract: never raise
        return ""
    return impl(text)
