"""The extension's version: the distribution's one version, kept by telemetry_sender (it ships in the same wheel)."""

from telemetry_sender import VERSION

__all__ = ["VERSION"]
