"""The recorder: runs inside az on every command, so it imports nothing heavy.

Public API (DESIGN.md, "Contract — library API"):
    track(command_name, *, resources=None)  -- the command decorator
    sanitize_parameters(params) -> dict      -- pure, never raises
    sanitize_error(text) -> str               -- pure, never raises
"""

from azext_prototype.telemetry.track import track  # noqa: F401
from azext_prototype.telemetry.sanitize import sanitize_error, sanitize_parameters  # noqa: F401

__all__ = ["track", "sanitize_parameters", "sanitize_error"]
