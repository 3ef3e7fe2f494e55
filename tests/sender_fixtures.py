"""Shared helpers for the sender's tests: valid envelopes with a unique eventId, settings, a fake clock."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from telemetry_sender.spool.write import write_event
from telemetry_sender.connection_string import ConnectionString
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.settings import TelemetrySettings
from telemetry_sender.spool.state import format_time

IKEY = "00000000-0000-0000-0000-000000000001"


def make_envelope(when: datetime | None = None, event_id: str | None = None, **properties: str) -> dict:
    """A valid custom-event envelope (PROTOCOL.md) with a unique properties.eventId."""
    when = when or datetime.now(timezone.utc)
    props = {"commandName": "prototype status", "success": "true", "timestamp": format_time(when),
             "eventId": event_id or str(uuid.uuid4())}
    props.update(properties)
    return {
        "name": "Microsoft.ApplicationInsights.Event",
        "time": format_time(when),
        "iKey": IKEY,
        "tags": {"ai.cloud.role": "az-prototype", "ai.internal.sdkVersion": "azprototype:0.1.0"},
        "data": {"baseType": "EventData",
                 "baseData": {"ver": 2, "name": "cli_command_executed", "properties": props,
                              "measurements": {"duration": 1.5}}},
    }


def spool_events(layout: SpoolLayout, count: int, when: datetime | None = None) -> list[str]:
    """Write `count` events; returns their eventIds in recording order."""
    ids = []
    for _ in range(count):
        envelope = make_envelope(when)
        stamp = int((when or datetime.now(timezone.utc)).timestamp() * 1e9) if when else None
        write_event(layout, envelope, now_ns=stamp + len(ids) if stamp else None)
        ids.append(envelope["data"]["baseData"]["properties"]["eventId"])
    return ids


def settings_for(
    endpoint: str, enabled: bool = True, reason: str = "enabled", opted_out: bool = False
) -> TelemetrySettings:
    """Settings pointing at `endpoint` (enabled unless told otherwise)."""
    return TelemetrySettings(enabled, reason, ConnectionString(IKEY, endpoint), "test", opted_out)


def event_ids(envelopes) -> list[str]:
    """The eventIds of envelopes, in order."""
    return [e["data"]["baseData"]["properties"]["eventId"] for e in envelopes]


@dataclass
class FakeClock:
    """A settable UTC clock."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
