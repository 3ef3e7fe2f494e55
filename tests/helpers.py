"""Helpers shared by the tests (plain functions and values; the fixtures are in conftest.py).

Time has three names, one per meaning:
- FIXED_NOW: a fixed instant for deterministic tests, never the machine's clock;
- wall_now(): the machine's real time, where files are stamped by the real clock;
- SESSION_START: the real time when the test session started, in whole seconds, where a
  FakeClock starts (the `clock` fixture) so that files the real clock stamped line up with it.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Mapping

from telemetry_sender.recording import ConnectionString, claim_sender_lock
from telemetry_sender.settings import TelemetrySettings
from telemetry_sender.spool.envelope import PROPERTY_KEYS, build_envelope
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.state import format_time
from telemetry_sender.spool.write import write_event

IKEY = "00000000-0000-0000-0000-000000000001"
PROJECT_ID = "4d9c3f6e-0000-4000-8000-000000000001"
VERSION = "0.1.0"
FAILURE = "DeploymentError: quota exceeded for Standard_DSv2 in westus3, please request more"

FIXED_NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def wall_now() -> datetime:
    """The machine's real UTC time: for tests whose files the real clock stamps."""
    return datetime.now(timezone.utc)


SESSION_START = wall_now().replace(microsecond=0)


def make_envelope(command: str = "prototype status", when: datetime | None = None, *, ok: bool = True,
                  ikey: str = IKEY, event_id: str | None = None, version: str = VERSION,
                  measurements: Mapping[str, float] | None = None, **properties: str) -> dict:
    """An envelope as the recorder writes it, every dictionary property filled, a unique eventId.

    The shape comes from the production builder (telemetry_sender.recording.build_envelope, its one owner);
    `properties` are then set as given, uncut, so a test can plant what the recorder never would
    (an oversized value, an undocumented key). `when` defaults to wall_now().
    """
    stamp = format_time(when or wall_now())
    dictionary = {key: "" for key in PROPERTY_KEYS if key != "error"}
    dictionary.update(projectId=PROJECT_ID, commandName=command, parameters="{}", extensionVersion=version,
                      success="true" if ok else "false", timestamp=stamp, eventId=event_id or str(uuid.uuid4()))
    if not ok:
        dictionary["error"] = FAILURE
    built = build_envelope(dictionary, {"durationMs": 12.5} if measurements is None else measurements,
                           instrumentation_key=ikey, time=stamp, version=version)
    built["data"]["baseData"]["properties"].update(properties)
    return built


def envelopes(count: int, **properties: str) -> list[dict]:
    """`count` envelopes, each with its own eventId."""
    return [make_envelope(**properties) for _ in range(count)]


def event_ids(items) -> list[str]:
    """The eventIds of envelopes, in order."""
    return [e["data"]["baseData"]["properties"]["eventId"] for e in items]


def spool_events(layout: SpoolLayout, count: int, when: datetime | None = None) -> list[str]:
    """Write `count` events; returns their eventIds in recording order."""
    ids = []
    for _ in range(count):
        item = make_envelope(when=when)
        stamp = int(when.timestamp() * 1e9) if when else None
        write_event(layout, item, now_ns=stamp + len(ids) if stamp else None)
        ids.append(item["data"]["baseData"]["properties"]["eventId"])
    return ids


def settings_for(
    endpoint: str, enabled: bool = True, reason: str = "enabled", opted_out: bool = False
) -> TelemetrySettings:
    """Settings pointing at `endpoint` (enabled unless told otherwise)."""
    return TelemetrySettings(enabled, reason, ConnectionString(IKEY, endpoint), "test", opted_out)


@dataclass
class FakeClock:
    """A settable UTC clock."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def start_sender_if_due(root, env: Mapping[str, str] | None = None, endpoint: str | None = None, **kwargs) -> int | None:
    """What the recorder does once its event is written: claim the right (backoff, then the lock), then start."""
    from telemetry_sender.spawn import start_sender

    lock_fd = claim_sender_lock(root, endpoint)
    return None if lock_fd is None else start_sender(root, env, lock_fd, **kwargs)
