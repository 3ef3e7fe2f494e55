"""Turn an event's properties and measurements into an App Insights custom-event envelope. Pure.

The envelope is exactly what is spooled and sent (PROTOCOL.md, "Envelope of a custom
event"): tags carry only the cloud role, the SDK version and the application version,
never host, device, user or session identifiers (DESIGN.md, "Contract — details").
"""

from __future__ import annotations

from typing import Any, Mapping

from telemetry_sender.protocol import (
    BASE_DATA_VERSION,
    BASE_TYPE,
    CLOUD_ROLE,
    ENVELOPE_NAME,
    EVENT_NAME,
    MAX_PROPERTY_KEY_CHARS,
    MAX_PROPERTY_VALUE_CHARS,
    SDK_NAME,
    SDK_VERSION_MAX_CHARS,
)

def sdk_version_tag(version: str) -> str:
    """`NAME:SEMVER`, at most 64 characters (PROTOCOL.md)."""
    return f"{SDK_NAME}:{version}"[:SDK_VERSION_MAX_CHARS]


def build_envelope(
    properties: Mapping[str, str],
    measurements: Mapping[str, float],
    *,
    instrumentation_key: str,
    time: str,
    version: str,
) -> dict[str, Any]:
    """One `Microsoft.ApplicationInsights.Event` envelope; `time` is the event's ISO 8601 UTC time."""
    return {
        "name": ENVELOPE_NAME,
        "time": time,
        "iKey": instrumentation_key,
        "tags": {
            "ai.cloud.role": CLOUD_ROLE,
            "ai.internal.sdkVersion": sdk_version_tag(version),
            "ai.application.ver": version,
        },
        "data": {
            "baseType": BASE_TYPE,
            "baseData": {
                "ver": BASE_DATA_VERSION,
                "name": EVENT_NAME,
                "properties": {
                    str(k)[:MAX_PROPERTY_KEY_CHARS]: str(v)[:MAX_PROPERTY_VALUE_CHARS] for k, v in properties.items()
                },
                "measurements": {str(k)[:MAX_PROPERTY_KEY_CHARS]: float(v) for k, v in measurements.items()},
            },
        },
    }
