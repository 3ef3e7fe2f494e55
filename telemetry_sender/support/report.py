"""Pure report building for the support tools: what a spool holds, why, and what was lost.

No I/O here: `reader` lists and reads the files (read-only, never through a link) and
`command` hands in bytes, names, sizes, the state document, the settings and the clock;
this module turns them into the `status` and `show` documents (`render` puts them into
words for a terminal).
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

from telemetry_sender.spool.envelope import envelope_problem
from telemetry_sender.spool.layout import is_pending_name, parse_lease_name, recorded_ns
from telemetry_sender.spool.safe_dir import Kind, Skipped
from telemetry_sender.spool.state import LOSS_REASONS, count, format_time, merge_saved
from telemetry_sender.recording import parse_time
from telemetry_sender.text import SHOWN_PROPERTIES

PENDING = "pending"
LEASED = "leased"
REJECTED = "rejected"
QUARANTINED = "quarantined"

_PREVIEW_CHARS = 200


@dataclass(frozen=True)
class SpoolFile:  # pylint: disable=too-many-instance-attributes  # a value: one field per fact of a file
    """One file of the spool root, as listed (and maybe read) by the I/O side."""

    state: str  # pending | leased | rejected | quarantined
    name: str  # the event's file name: NAME.json (lease suffix removed) or the quarantined name
    path: str  # relative to the root, forward slashes, e.g. "spool/NAME.json"
    size: int
    foreign_uid: int | None = None  # the owner, when it is not the user running the command
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
    endpoint_id: str | None = None  # spool.state.endpoint_id of the configured connection string


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


def shown_problem(value: Any) -> str | None:
    """Why `value` cannot be shown as an envelope (the spool's own check, which the sender applies), or None."""
    problem = envelope_problem(value)
    if not problem and not isinstance(value["data"]["baseData"].get("properties", {}), dict):
        problem = "data.baseData.properties is not an object"
    return problem or None


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


def pending_unknown(skipped: Iterable[Skipped]) -> str | None:
    """Why the pending events cannot be counted (spool/ itself, or entries in it, could not be looked at),
    or None: "0 pending" must never stand for "not read"."""
    for item in skipped:
        if item.path == "spool":
            return f"spool/ {item.reason}"
        if item.path.startswith("spool/") and item.kind is Kind.UNREADABLE:
            return f"{item.path} {item.reason}"
    return None


def show_item(item: SpoolFile) -> dict[str, Any]:
    """One `show --json` element: {"file", "state", "path", "envelope", ...state details}."""
    doc: dict[str, Any] = {"file": item.name, "state": item.state, "path": item.path, "size": item.size}
    if item.foreign_uid is not None:
        doc["owner_uid"] = item.foreign_uid
    if item.read_error is not None:
        doc.update(envelope=None, corrupt=f"unreadable: {item.read_error}")
        return doc
    parsed, problem = decode_json(item.data or b"")
    if item.state == REJECTED:
        parsed, problem = _unwrap_rejected(parsed, problem, doc)
    if item.state == QUARANTINED:
        doc.update(_quarantine_details(item.why))
    if problem is None:
        problem = shown_problem(parsed)
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
    """The readable columns of one `show` item (raw text: renderers escape it): time, command, outcome, note, file."""
    props = properties(item.get("envelope"))
    time = event_time(item.get("envelope"), str(item.get("file", ""))) or ""
    success = str(props.get("success", ""))
    row = {
        "time": time.replace("T", " ")[:19] + ("Z" if time else ""),
        "state": str(item.get("state", "")),
        "command": str(props.get("commandName", "")),
        "success": success,
        "error": str(props.get("error", "")) if success.lower() == "false" else "",
    }
    row.update({dim: str(props.get(dim, "")) for dim in SHOWN_PROPERTIES})
    row["note"] = note(item)
    row["file"] = str(item.get("file", ""))
    return row


def note(item: Mapping[str, Any]) -> str:
    """Why the item is where it is, whole: the service's verdict, the quarantine reason, corruption, a foreign owner."""
    parts = []
    if item.get("state") == REJECTED and "status" in item:
        parts.append(f"rejected {item.get('status')}: {item.get('message', '')}")
    if item.get("state") == QUARANTINED:
        parts.append(f"quarantined: {item.get('reason', '')}")
    if item.get("corrupt"):
        parts.append(f"corrupt: {item['corrupt']}")
    if item.get("owner_uid") is not None:
        parts.append(f"owned by uid {item['owner_uid']}, not by you")
    return "; ".join(parts)


COLUMNS = (
    ("time", "TIME"), ("state", "STATE"), ("command", "COMMAND"), ("success", "OK"), ("error", "ERROR"),
    ("provider", "PROVIDER"), ("model", "MODEL"), ("location", "LOCATION"), ("resourceType", "RESOURCE TYPE"),
    ("sku", "SKU"), ("note", "NOTE"), ("file", "FILE"),
)
_ALWAYS = frozenset({"time", "command", "success", "file"})


def table_columns(rows: Sequence[Mapping[str, str]]) -> list[tuple[str, str]]:
    """(key, title) of the columns worth showing: optional ones empty in every row are left out."""
    columns = [(key, title) for key, title in COLUMNS if key in _ALWAYS or any(r.get(key) for r in rows)]
    if not any(r.get("state") != PENDING for r in rows):
        columns = [(k, t) for k, t in columns if k != "state"]
    return columns


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


@dataclass(frozen=True)
class FolderFacts:
    """Where the spool folder is and what it looks like, beside this machine's own spool location."""

    this_machine_root: str  # this machine's default spool root
    root_owner_uid: int | None = None  # set when the root is owned by another user
    skipped: tuple[Skipped, ...] = ()  # what was left alone (links, FIFOs, devices, folders, ...)


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
    folder: FolderFacts | None = None,
    own_file_problems: Sequence[str] = (),
) -> dict[str, Any]:
    """The `status` document (DESIGN.md contract keys plus additive details)."""
    files = list(files)
    folder = folder or FolderFacts(this_machine_root=root)
    pending = sorted((f for f in files if f.state in (PENDING, LEASED)), key=lambda f: f.name)
    state = merge_saved(state_doc)  # as the sender reads it
    previous = _other_endpoint(state, settings)
    own = root == folder.this_machine_root  # a copied folder's state is its machine's, whatever ours says
    if own and state.get("endpoint") not in (None, settings.endpoint_id) and settings.endpoint_id:
        # The backoff, redirect and last attempt belong to an endpoint no longer configured.
        state.update(next_attempt=None, last_attempt=None, redirect=None, consecutive_failures=0)
    leased = sum(1 for f in pending if f.state == LEASED)
    last = state.get("last_attempt") if isinstance(state.get("last_attempt"), dict) else {}
    next_attempt = normal_time(state.get("next_attempt"))
    redirect = state.get("redirect") if isinstance(state.get("redirect"), dict) else {}
    dropped = state.get("dropped") if isinstance(state.get("dropped"), dict) else {}
    target = state.get("target") if isinstance(state.get("target"), dict) else {}
    redirect_live = bool(redirect) and (parse_time(redirect.get("expires")) or now) > now
    hints = copied_hints(root, folder, sender_running)
    # spool/ itself unopened or unlisted: its events are not known to be 0 (null, and why).
    unread = pending_unknown(folder.skipped)
    return {
        "enabled": settings.enabled,
        "reason": settings.reason,
        "connection_source": settings.source,
        "endpoint_host": endpoint_host(settings.endpoint),
        "redirect_host": endpoint_host(redirect.get("endpoint")) if redirect_live else None,
        "spool": root,
        "pending": None if unread else len(pending),
        "pending_bytes": None if unread else sum(f.size for f in pending),
        "pending_unknown": unread,
        "leased": leased,
        # Claims of a sender that is no longer running: the next sender (or `send`) takes them back at once.
        "leased_by_dead_sender": 0 if sender_running else leased,
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
        # Events sent without fields their spool file held (undocumented, or re-sanitized): not lost.
        "trimmed": count(state.get("trimmed")),
        "dropped": {folder_name: count(dropped.get(folder_name)) for folder_name in ("rejected", "quarantine")},
        "rejected": sum(1 for f in files if f.state == REJECTED),
        "rejected_bytes": sum(f.size for f in files if f.state == REJECTED),
        "quarantined": sum(1 for f in files if f.state == QUARANTINED),
        "quarantined_bytes": sum(f.size for f in files if f.state == QUARANTINED),
        "sender_running": sender_running,
        "state_file_problem": state_problem,
        "sender_endpoint_host": endpoint_host(_text_or_none(target.get("endpoint"))),
        "sender_sent_to_host": endpoint_host(_text_or_none(target.get("sent_to"))),
        "sender_instrumentation_key": _text_or_none(target.get("ikey")),
        "sender_target_time": normal_time(target.get("time")),
        "this_machine_spool": folder.this_machine_root,
        "looks_copied": bool(hints) and hints != ["no sender running"],
        "copied_hints": hints,
        "skipped": [{"path": s.path, "kind": s.kind.value, "reason": s.reason} for s in folder.skipped],
        "own_file_problems": list(own_file_problems),
        "previous_endpoint": previous,
        "now": format_time(now),
    }


def _other_endpoint(state: Mapping[str, Any], settings: SettingsView) -> dict[str, Any] | None:
    """The last attempt at an endpoint other than the configured one (history), or None.

    Either the saved state still belongs to the earlier endpoint (no sender has run since the
    connection string changed), or the sender moved it to `history`.
    """
    saved, current = state.get("endpoint"), settings.endpoint_id
    if current is None:
        return None
    if isinstance(saved, str) and saved != current:
        earlier = {"endpoint": saved, "last_attempt": state.get("last_attempt")}
    else:
        history = [h for h in state.get("history") or () if isinstance(h, dict) and h.get("endpoint") != current]
        if not history:
            return None
        earlier = history[0]
    last = earlier.get("last_attempt") if isinstance(earlier.get("last_attempt"), dict) else {}
    host = endpoint_host(str(earlier.get("endpoint") or "").partition("#")[0])
    return {"endpoint_host": host, "last_attempt": normal_time(last.get("time")),
            "last_outcome": _text_or_none(last.get("outcome")), "last_detail": _text_or_none(last.get("detail"))}


def copied_hints(root: str, folder: FolderFacts, sender_running: bool) -> list[str]:
    """Signs that the spool folder is a copy from another machine, not this machine's live spool."""
    hints = []
    if root != folder.this_machine_root:
        hints.append("not this machine's spool folder")
    if folder.root_owner_uid is not None:
        hints.append(f"owned by uid {folder.root_owner_uid}, not by you")
    if not sender_running:
        hints.append("no sender running")
    return hints


def _name_time_text(name: str) -> str | None:
    stamp = name_time(name)
    return format_time(stamp) if stamp else None


def _text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)
