"""What `emulate` prints: one readable line per accepted event, per unusual answer, and a closing summary."""

from __future__ import annotations

from typing import Any, Mapping

from telemetry_sender.emulator import rules
from telemetry_sender.emulator.records import RequestRecord
from telemetry_sender.text import SHOWN_PROPERTIES, printable, shorten


def format_event(item: Mapping[str, Any]) -> str:
    """One readable line for an accepted envelope: time, command, outcome, key dimensions."""
    data = item.get("data") or {}
    base = data.get("baseData") or {}
    props = base.get("properties") or {}
    stamp = str(item.get("time", ""))[:19].replace("T", " ") + "Z"
    command = props.get("commandName") or base.get("name") or item.get("name")
    parts = [stamp, str(command)]
    if "success" in props:
        parts.append("ok" if props["success"] == "true" else "FAILED")
    parts.extend(f"{key}={props[key]}" for key in SHOWN_PROPERTIES if props.get(key))
    if props.get("error"):
        parts.append(f"error={shorten(props['error'], 60)!r}")
    return printable("  ".join(parts))


def format_answer(record: RequestRecord) -> str:
    """One line for an answer that is not a plain 200: what was asked, what came back, and why (a client's
    path and the values the service's messages repeat are escaped, as every line shown)."""
    return printable(_answer_line(record))


def _answer_line(record: RequestRecord) -> str:
    scripted = " (scripted)" if record.rule is not None else ""
    where = f"{record.method} {record.path}"
    if record.outcome == "dropped":
        return f"-> dropped the connection{scripted}: {where}, {record.items} items unanswered"
    if record.outcome == "hung":
        return f"-> hung {record.rule.hang:g}s, then closed unanswered{scripted}: {where}, {record.items} items"
    if record.status == 404:
        return f"-> 404: {where} is not a track path (POST /v2.1/track or /v2/track)"
    line = f"-> {record.status}{scripted}: {where}, {record.accepted} of {record.items} items accepted"
    extra = [f"{name}: {record_header}" for name, record_header in _answer_headers(record)]
    if record.errors:
        first = record.errors[0]
        more = f" (+{len(record.errors) - 1} more)" if len(record.errors) > 1 else ""
        extra.append(f"item {first.index}: {first.status} {shorten(first.message, 90)}{more}")
    return line + ("; " + "; ".join(extra) if extra else "")


def _answer_headers(record: RequestRecord) -> list[tuple[str, str]]:
    if record.rule is None:
        return []
    shown = rules.scripted_headers(record.rule, record.path, record.received_at)
    return [(name, shown[name]) for name in ("Retry-After", "Location", "Cache-Control") if name in shown]


def summary(requests: list[RequestRecord]) -> str:
    """The closing line of `emulate`: what arrived and what was accepted."""
    received = sum(r.items for r in requests)
    accepted = sum(r.accepted for r in requests)
    return (
        f"stopped: {len(requests)} requests, {received} items received, "
        f"{accepted} accepted, {received - accepted} not accepted"
    )
