"""Pure report building for the support tools: what a spool holds, why, and what was lost.

No I/O here: `support.py` reads the files (read-only) and hands in bytes, names,
sizes, the state document, the settings and the clock; this module turns them into
the `status` and `show` documents and their plain-text renderings.
Tolerant by design: a spool copied from another machine or OS may carry a UTF-8 BOM,
CRLF line ends, odd times or corrupt files, and every one of them must render.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from telemetry_sender.spool.layout import is_pending_name, parse_lease_name, recorded_ns
from telemetry_sender.spool.state import LOSS_REASONS, count, format_time, merge_saved, parse_time

PENDING = "pending"
LEASED = "leased"
REJECTED = "rejected"
QUARANTINED = "quarantined"

DIMENSIONS = ("provider", "model", "location", "resourceType", "sku")
_PREVIEW_CHARS = 200
_ERROR_SNIPPET_CHARS = 40
_NOTE_CHARS = 50


@dataclass(frozen=True)
class SpoolFile:
    """One file of the spool root, as listed (and maybe read) by the I/O side."""

    state: str  # pending | leased | rejected | quarantined
    name: str  # the event's file name: NAME.json (lease suffix removed) or the quarantined name
    path: str  # relative to the root, forward slashes, e.g. "spool/NAME.json"
    size: int
    data: bytes | None = None  # the file's bytes when read
    read_error: str | None = None  # why it could not be read
    why: bytes | None = None  # quarantine only: the .why.json bytes


@dataclass(frozen=True)
class SettingsView:
    """The part of the resolved settings a support engineer may see (never the key)."""

    enabled: bool
    reason: str
    source: str
    endpoint: str | None


# --- names and parsing -------------------------------------------------------------------


def classify_spool_name(name: str) -> tuple[str, str] | None:
    """(state, event name) for a file in spool/, or None for temp, hidden and foreign files."""
    lease = parse_lease_name(name)
    if lease and is_pending_name(lease[0]):
        return LEASED, lease[0]
    if is_pending_name(name):
        return PENDING, name
    return None


def name_time(name: str) -> datetime | None:
    """The recording time encoded in `<20-digit ns>-<hex>.json`, or None for other names."""
    stamp = recorded_ns(name)
    if stamp is None:
        return None
    try:
        return datetime.fromtimestamp(stamp / 1e9, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def decode_json(data: bytes) -> tuple[Any, str | None]:
    """Parse JSON bytes written on any OS (UTF-8/16/32, with or without BOM, CRLF); never raises."""
    try:
        return json.loads(data), None
    except (ValueError, RecursionError) as exc:
        return None, f"not valid JSON ({str(exc).splitlines()[0][:80]})"


def envelope_problem(value: Any) -> str | None:
    """Why `value` is not an event envelope we can show, or None when it is one."""
    if not isinstance(value, dict):
        return "not a JSON object"
    data = value.get("data")
    base = data.get("baseData") if isinstance(data, dict) else None
    if not isinstance(base, dict):
        return "no data.baseData"
    if not isinstance(base.get("properties", {}), dict):
        return "data.baseData.properties is not an object"
    return None


def properties(envelope: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The envelope's custom properties, or {} when it has none."""
    if not isinstance(envelope, Mapping):
        return {}
    data = envelope.get("data")
    base = data.get("baseData") if isinstance(data, Mapping) else None
    props = base.get("properties") if isinstance(base, Mapping) else None
    return props if isinstance(props, Mapping) else {}


def normal_time(value: Any) -> str | None:
    """Any ISO time (Z or offset, naive taken as UTC) as our UTC `...Z` form; None when unusable."""
    parsed = parse_time(value)
    return format_time(parsed) if parsed else None


def event_time(envelope: Mapping[str, Any] | None, name: str) -> str | None:
    """The command's time: properties.timestamp, else envelope time, else the file name's stamp."""
    props = properties(envelope)
    for candidate in (props.get("timestamp"), envelope.get("time") if isinstance(envelope, Mapping) else None):
        normal = normal_time(candidate)
        if normal:
            return normal
    stamp = name_time(name)
    return format_time(stamp) if stamp else None


def preview(data: bytes | None) -> str:
    """The start of an unreadable file as text, so "what does it contain" has an answer."""
    if not data:
        return ""
    text = data[: _PREVIEW_CHARS * 4].decode("utf-8", errors="replace").lstrip("\ufeff")
    return text[:_PREVIEW_CHARS]


# --- show -------------------------------------------------------------------------------


def show_item(item: SpoolFile) -> dict[str, Any]:
    """One `show --json` element: {"file", "state", "path", "envelope", ...state details}."""
    doc: dict[str, Any] = {"file": item.name, "state": item.state, "path": item.path, "size": item.size}
    if item.read_error is not None:
        doc.update(envelope=None, corrupt=f"unreadable: {item.read_error}")
        return doc
    parsed, problem = decode_json(item.data or b"")
    if item.state == REJECTED:
        parsed, problem = _unwrap_rejected(parsed, problem, doc)
    if item.state == QUARANTINED:
        doc.update(_quarantine_details(item.why))
    if problem is None:
        problem = envelope_problem(parsed)
    if problem is None:
        doc["envelope"] = parsed
    else:
        doc.update(envelope=None, corrupt=problem, preview=preview(item.data))
    return doc


def _unwrap_rejected(parsed: Any, problem: str | None, doc: dict[str, Any]) -> tuple[Any, str | None]:
    """Move a dead letter's service verdict into `doc`; return its inner envelope."""
    if problem is not None:
        return None, problem
    if not isinstance(parsed, dict) or "envelope" not in parsed:
        return None, "not a dead-letter record (no envelope)"
    doc["status"] = parsed.get("status")
    doc["message"] = str(parsed.get("message", ""))
    doc["rejected_at"] = normal_time(parsed.get("rejected_at"))
    return parsed.get("envelope"), None


def _quarantine_details(why: bytes | None) -> dict[str, Any]:
    """The reason and time from a `.why.json`, tolerating a missing or corrupt one."""
    if why is None:
        return {"reason": "unknown (no .why.json)", "quarantined_at": None}
    parsed, problem = decode_json(why)
    if problem is not None or not isinstance(parsed, dict):
        return {"reason": f"unknown (.why.json {problem or 'is not an object'})", "quarantined_at": None}
    return {"reason": str(parsed.get("reason", "unknown")), "quarantined_at": normal_time(parsed.get("quarantined_at"))}


def command_key(text: str) -> str:
    """`az prototype config get`, `prototype config get` and `config get` all compare equal."""
    words = str(text).lower().split()
    for prefix in ("az", "prototype"):
        if words and words[0] == prefix:
            words = words[1:]
    return " ".join(words)


def iter_select(items: Iterable[dict[str, Any]], *, last: int | None = None, command: str | None = None,
                failed: bool = False) -> Iterable[dict[str, Any]]:
    """Filter `show` items by command and failure, then keep the `last` most recent; lazy without `last`."""
    wanted = command_key(command) if command else None
    chosen = (
        item for item in items
        if (wanted is None or command_key(properties(item.get("envelope")).get("commandName", "")) == wanted)
        and (not failed or str(properties(item.get("envelope")).get("success", "")).lower() == "false")
    )
    if last is None:
        return chosen
    return deque(chosen, maxlen=last) if last > 0 else []


def show_row(item: Mapping[str, Any]) -> dict[str, str]:
    """The readable columns of one `show` item: time, command, outcome, dimensions, file."""
    props = properties(item.get("envelope"))
    time = event_time(item.get("envelope"), str(item.get("file", ""))) or ""
    success = str(props.get("success", ""))
    row = {
        "time": time.replace("T", " ")[:19] + ("Z" if time else ""),
        "state": str(item.get("state", "")),
        "command": str(props.get("commandName", "")),
        "success": success,
        "error": _snippet(str(props.get("error", ""))) if success.lower() == "false" else "",
    }
    row.update({dim: str(props.get(dim, "")) for dim in DIMENSIONS})
    row["note"] = _note(item)
    row["file"] = str(item.get("file", ""))
    return row


def _snippet(text: str, limit: int = _ERROR_SNIPPET_CHARS) -> str:
    """One line of at most `limit` characters, for a table cell."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _note(item: Mapping[str, Any]) -> str:
    """Why the item is where it is: the service's verdict, the quarantine reason, corruption."""
    parts = []
    if item.get("state") == REJECTED and "status" in item:
        parts.append(f"rejected {item.get('status')}: {item.get('message', '')}")
    if item.get("state") == QUARANTINED:
        parts.append(f"quarantined: {item.get('reason', '')}")
    if item.get("corrupt"):
        parts.append(f"corrupt: {item['corrupt']}")
    return _snippet("; ".join(parts), _NOTE_CHARS)


_COLUMNS = (
    ("time", "TIME"), ("state", "STATE"), ("command", "COMMAND"), ("success", "OK"), ("error", "ERROR"),
    ("provider", "PROVIDER"), ("model", "MODEL"), ("location", "LOCATION"), ("resourceType", "RESOURCE TYPE"),
    ("sku", "SKU"), ("note", "NOTE"), ("file", "FILE"),
)
_ALWAYS = frozenset({"time", "command", "success", "file"})


def table_columns(rows: Sequence[Mapping[str, str]]) -> list[tuple[str, str]]:
    """(key, title) of the columns worth showing: optional ones empty in every row are left out."""
    columns = [(key, title) for key, title in _COLUMNS if key in _ALWAYS or any(r.get(key) for r in rows)]
    if not any(r.get("state") != PENDING for r in rows):
        columns = [(k, t) for k, t in columns if k != "state"]
    return columns


def render_table(rows: Sequence[Mapping[str, str]]) -> str:
    """Aligned text columns for the `show` rows."""
    columns = table_columns(rows)
    cells = [[title for _, title in columns]] + [[str(r.get(key, "")) for key, _ in columns] for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells)


# --- status -----------------------------------------------------------------------------


def endpoint_host(endpoint: str | None) -> str | None:
    """`host[:port]` of an endpoint URL: enough to say where events go, never a key or path."""
    if not endpoint or not isinstance(endpoint, str):
        return None
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def build_status(
    *,
    root: str,
    files: Iterable[SpoolFile],
    oldest_envelope: Mapping[str, Any] | None,
    state_doc: Any,
    state_problem: str | None,
    settings: SettingsView,
    sender_running: bool,
    now: datetime,
) -> dict[str, Any]:
    """The `status` document (DESIGN.md contract keys plus additive details)."""
    files = list(files)
    pending = sorted((f for f in files if f.state in (PENDING, LEASED)), key=lambda f: f.name)
    state = merge_saved(state_doc)  # as the sender reads it
    last = state.get("last_attempt") if isinstance(state.get("last_attempt"), dict) else {}
    next_attempt = normal_time(state.get("next_attempt"))
    redirect = state.get("redirect") if isinstance(state.get("redirect"), dict) else {}
    dropped = state.get("dropped") if isinstance(state.get("dropped"), dict) else {}
    redirect_live = bool(redirect) and (parse_time(redirect.get("expires")) or now) > now
    return {
        "enabled": settings.enabled,
        "reason": settings.reason,
        "connection_source": settings.source,
        "endpoint_host": endpoint_host(settings.endpoint),
        "redirect_host": endpoint_host(redirect.get("endpoint")) if redirect_live else None,
        "spool": root,
        "pending": len(pending),
        "pending_bytes": sum(f.size for f in pending),
        "leased": sum(1 for f in pending if f.state == LEASED),
        "oldest": event_time(oldest_envelope, pending[0].name) if pending else None,
        "newest": _name_time_text(pending[-1].name) if pending else None,
        "last_attempt": normal_time(last.get("time")),
        "last_outcome": _text_or_none(last.get("outcome")),
        "last_status": last.get("status") if isinstance(last.get("status"), int) else None,
        "last_detail": _text_or_none(last.get("detail")),
        "next_attempt": next_attempt,
        "backing_off": bool(next_attempt) and parse_time(next_attempt) > now,
        "consecutive_failures": count(state.get("consecutive_failures")),
        "lost": {reason: count(state["lost"].get(reason)) for reason in LOSS_REASONS},
        "dropped": {folder: count(dropped.get(folder)) for folder in ("rejected", "quarantine")},
        "rejected": sum(1 for f in files if f.state == REJECTED),
        "rejected_bytes": sum(f.size for f in files if f.state == REJECTED),
        "quarantined": sum(1 for f in files if f.state == QUARANTINED),
        "quarantined_bytes": sum(f.size for f in files if f.state == QUARANTINED),
        "sender_running": sender_running,
        "state_file_problem": state_problem,
        "now": format_time(now),
    }


def _name_time_text(name: str) -> str | None:
    stamp = name_time(name)
    return format_time(stamp) if stamp else None


def _text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _ago(when: str | None, now: datetime) -> str:
    """`3 min ago` / `in 40 s`, for the human summary only."""
    moment = parse_time(when)
    if moment is None:
        return ""
    seconds = int((now - moment).total_seconds())
    span = abs(seconds)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if span >= size:
            text = f"{span // size} {unit}"
            break
    else:
        text = f"{span} s"
    return f"{text} ago" if seconds >= 0 else f"in {text}"


def plural(count: int, noun: str) -> str:
    """`1 event`, `2 events`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MiB"


def render_status(doc: Mapping[str, Any]) -> str:
    """A short aligned human summary of a `status` document."""
    lines = status_lines(doc)
    width = max(len(label) for label, _ in lines) + 1
    return "\n".join(f"{label + ':':<{width}} {value}" for label, value in lines)


def status_lines(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of the human summary; also the rows of az's table view."""
    now = parse_time(doc.get("now")) or datetime.now(timezone.utc)
    lines = [("Telemetry", f"enabled ({doc['connection_source']})" if doc["enabled"] else f"disabled: {doc['reason']}")]
    endpoint = doc.get("endpoint_host") or "none"
    if doc.get("redirect_host"):
        endpoint += f" (redirected to {doc['redirect_host']})"
    lines.append(("Endpoint", endpoint))
    lines.append(("Spool", str(doc["spool"])))
    pending = f"{plural(doc['pending'], 'event')}, {_size(doc['pending_bytes'])}"
    if doc.get("leased"):
        pending += f" ({doc['leased']} claimed by a sender)"
    if doc.get("oldest"):
        pending += f", oldest {doc['oldest']} ({_ago(doc['oldest'], now)})"
    lines.append(("Pending", pending))
    lines.append(("Last attempt", _last_attempt_text(doc, now)))
    if doc.get("next_attempt"):
        lines.append(("Backoff until", f"{doc['next_attempt']} ({_ago(doc['next_attempt'], now)})"))
    else:
        lines.append(("Backoff until", "none"))
    lost = doc.get("lost") or {}
    lines.append(("Lost", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in lost.items())))
    dropped = doc.get("dropped") or {}
    lines.append(("Dead letters", f"{doc['rejected']} in rejected/" + _dropped_text(dropped.get("rejected"))))
    lines.append(("Quarantined", f"{doc['quarantined']} in quarantine/" + _dropped_text(dropped.get("quarantine"))))
    lines.append(("Sender", "running" if doc["sender_running"] else "not running"))
    if doc.get("state_file_problem"):
        lines.append(("State file", str(doc["state_file_problem"])))
    return lines


def _dropped_text(count: Any) -> str:
    return f" ({count} older removed by the folder's 1 MiB cap)" if isinstance(count, int) and count else ""


def _last_attempt_text(doc: Mapping[str, Any], now: datetime) -> str:
    if not doc.get("last_attempt"):
        return "none"
    text = f"{doc['last_attempt']} ({_ago(doc['last_attempt'], now)}): {doc.get('last_outcome') or 'unknown'}"
    details = [str(x) for x in (doc.get("last_status") and f"HTTP {doc['last_status']}", doc.get("last_detail")) if x]
    return text + (f" ({'; '.join(details)})" if details else "")
