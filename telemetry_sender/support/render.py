"""The support documents in words for a terminal: every string from a spool escaped, reasons shown whole.

Pure: takes the `status`/`show` documents of `report` and returns text (or rows for az's
table view). Nothing here writes; `--json` never comes here (JSON escapes by itself).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from telemetry_sender.recording import parse_time
from telemetry_sender.support.report import note, show_row, table_columns
from telemetry_sender.text import printable, shorten, wrap

WIDTH = 100  # wrap long values at this many characters
_CELL_CHARS = 40  # an error or note cell longer than this is cut; the notes under the table have it whole
_CUT_COLUMNS = frozenset({"error", "note"})

SPOOL_SECTION = "Spool folder (what the user's sender recorded)"
MACHINE_SECTION = "This machine (where this command runs)"


# --- small words ------------------------------------------------------------------------


def plural(count: int, noun: str) -> str:
    """`1 event`, `2 events`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def size_text(n: int) -> str:
    """`512 B`, `1.5 KiB`, `2.0 MiB`."""
    if n < 1024:
        return f"{n} B"
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / (1024 * 1024):.1f} MiB"


def ago(when: str | None, now: datetime) -> str:
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


# --- show -------------------------------------------------------------------------------


def show_table(items: Sequence[Mapping[str, Any]], width: int = WIDTH) -> str:
    """Aligned columns of the `show` items, then every note (rejection, quarantine reason) whole and wrapped."""
    rows = [show_row(item) for item in items]
    columns = table_columns(rows)
    cells = [[title for _, title in columns]]
    cells += [[_cell(key, row.get(key, "")) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
    text = "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells)
    notes = [(row["file"], row["note"]) for row in rows if row["note"]]
    if notes:
        text += "\n\nNotes:\n" + "\n".join(
            f"  {printable(name)}\n" + "\n".join(wrap(why, width, "    ")) for name, why in notes)
    return text


def _cell(key: str, value: str) -> str:
    text = printable(value)
    return shorten(text, _CELL_CHARS) if key in _CUT_COLUMNS else text


def az_show_rows(items: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Rows for az's `-o table`: the same columns, titled in az's style (`ResourceType`), escaped, notes whole."""
    rows = [show_row(item) for item in items]
    columns = table_columns(rows)
    return [{key[0].upper() + key[1:]: printable(row[key]) for key, _ in columns} for row in rows]


def show_one(item: Mapping[str, Any], width: int = WIDTH) -> str:
    """One `show` item in full: where it is, why, and its envelope (escaped JSON, nothing cut)."""
    lines = [f"File:     {printable(item.get('file', ''))}", f"State:    {printable(item.get('state', ''))}",
             f"Path:     {printable(item.get('path', ''))}", f"Size:     {size_text(int(item.get('size') or 0))}"]
    why = note(item)
    if why:
        lines.append("Note:")
        lines.extend(wrap(why, width, "  "))
    for key in ("rejected_at", "quarantined_at"):
        if item.get(key):
            lines.append(f"{key.replace('_', ' ').capitalize() + ':':<9} {printable(item[key])}")
    if item.get("envelope") is not None:
        lines.append("Envelope:")
        body = json.dumps(item["envelope"], indent=2, ensure_ascii=False, sort_keys=False)
        lines.extend("  " + printable(line) for line in body.splitlines())
    elif item.get("preview"):
        lines.append("Start of the file:")
        lines.extend(wrap(item["preview"], width, "  "))
    return "\n".join(lines)


def empty_show_text(include_all: bool, filtered: bool, root: str) -> str:
    """`No pending events in ROOT.` (or `... match ...`)."""
    what = "events" if include_all else "pending events"
    return f"No {what}{' match' if filtered else ''} in {printable(root)}."


def skipped_lines(skipped: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per entry left alone: path (escaped) and why."""
    return [f"{printable(s['path'])}: {printable(s['reason'])}" for s in skipped]


# --- status -----------------------------------------------------------------------------


def status_sections(doc: Mapping[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """(section title, [(label, value)]): the spool's facts apart from this machine's."""
    now = parse_time(doc.get("now")) or datetime.now(timezone.utc)
    return [(SPOOL_SECTION, _spool_lines(doc, now)), (MACHINE_SECTION, _machine_lines(doc))]


def _pending_text(doc: Mapping[str, Any], now: datetime) -> str:
    """How many events wait, since when; "unknown" (and why) when spool/ could not be read."""
    if doc.get("pending_unknown"):
        return f"unknown: {doc['pending_unknown']}"
    pending = f"{plural(doc['pending'], 'event')}, {size_text(doc['pending_bytes'])}"
    if doc.get("leased_by_dead_sender"):
        pending += (f" ({doc['leased_by_dead_sender']} claimed by a sender that is no longer running: "
                    "the next sender or `send` takes them back)")
    elif doc.get("leased"):
        pending += f" ({doc['leased']} claimed by a sender)"
    if doc.get("oldest"):
        pending += f", oldest {doc['oldest']} ({ago(doc['oldest'], now)})"
    return pending


def _spool_lines(doc: Mapping[str, Any], now: datetime) -> list[tuple[str, str]]:
    lines = [("Spool", str(doc["spool"]))]
    hints = doc.get("copied_hints") or []
    if doc.get("looks_copied"):
        lines.append(("Looks copied", "yes: " + "; ".join(hints)))
    lines.append(("Pending", _pending_text(doc, now)))
    lines.append(("Last attempt", _last_attempt_text(doc, now)))
    if doc.get("last_detail"):
        lines.append(("Service message", str(doc["last_detail"])))
    if doc.get("next_attempt"):
        lines.append(("Backoff until", f"{doc['next_attempt']} ({ago(doc['next_attempt'], now)})"))
    else:
        lines.append(("Backoff until", "none"))
    if doc.get("consecutive_failures"):
        lines.append(("Failures in a row", str(doc["consecutive_failures"])))
    lost = doc.get("lost") or {}
    lines.append(("Lost", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in lost.items())))
    lines.append(("Trimmed", f"{plural(doc.get('trimmed') or 0, 'event')} sent cut to the data dictionary "
                  "(field names in the sender log)"))
    dropped = doc.get("dropped") or {}
    lines.append(("Dead letters", f"{doc['rejected']} in rejected/" + _dropped_text(dropped.get("rejected"))))
    lines.append(("Quarantined", f"{doc['quarantined']} in quarantine/" + _dropped_text(dropped.get("quarantine"))))
    lines.append(("Sent to", _sent_to_text(doc)))
    if doc.get("sender_instrumentation_key"):
        lines.append(("Instrumentation key", str(doc["sender_instrumentation_key"])))
    lines.append(("Sender", "running" if doc["sender_running"] else "not running"))
    if doc.get("state_file_problem"):
        lines.append(("State file", str(doc["state_file_problem"])))
    for problem in doc.get("own_file_problems") or ():
        lines.append(("Not sending", str(problem)))
    previous = doc.get("previous_endpoint")
    if previous:
        lines.append(("Earlier endpoint", f"{previous.get('endpoint_host') or 'unknown'}: last attempt "
                      f"{previous.get('last_attempt') or 'none'} {previous.get('last_outcome') or ''}".rstrip()))
    for entry in doc.get("skipped") or []:
        lines.append(("Not read", f"{entry['path']}: {entry['reason']}"))
    return lines


def _machine_lines(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    lines = [("Telemetry", f"enabled ({doc['connection_source']})" if doc["enabled"] else f"disabled: {doc['reason']}")]
    lines.append(("Endpoint", doc.get("endpoint_host") or "none"))
    if doc.get("this_machine_spool") and doc["this_machine_spool"] != doc["spool"]:
        lines.append(("Own spool", str(doc["this_machine_spool"])))
    return lines


def _sent_to_text(doc: Mapping[str, Any]) -> str:
    host = doc.get("sender_endpoint_host")
    if not host:
        text = "not recorded (no attempt since this was recorded)"
    else:
        text = host
        if doc.get("sender_sent_to_host") and doc["sender_sent_to_host"] != host:
            text += f" (answered by {doc['sender_sent_to_host']})"
        if doc.get("sender_target_time"):
            text += f", last at {doc['sender_target_time']}"
    if doc.get("redirect_host"):
        text += f"; redirect remembered to {doc['redirect_host']}"
    return text


def _dropped_text(count: Any) -> str:
    return f" ({count} older removed by the folder's 1 MiB cap)" if isinstance(count, int) and count else ""


def _last_attempt_text(doc: Mapping[str, Any], now: datetime) -> str:
    if not doc.get("last_attempt"):
        return "none"
    text = f"{doc['last_attempt']} ({ago(doc['last_attempt'], now)}): {doc.get('last_outcome') or 'unknown'}"
    return text + (f" (HTTP {doc['last_status']})" if doc.get("last_status") else "")


def render_status(doc: Mapping[str, Any], width: int = WIDTH) -> str:
    """The human summary: two titled blocks, labels aligned, values escaped and wrapped whole."""
    sections = status_sections(doc)
    label_width = max(len(label) for _, lines in sections for label, _ in lines) + 1
    out = []
    for title, lines in sections:
        out.append(title)
        for label, value in lines:
            indent = " " * (2 + label_width + 1)
            wrapped = wrap(value, width, indent)
            out.append(f"  {label + ':':<{label_width}} {wrapped[0][len(indent):]}")
            out.extend(wrapped[1:])
    return "\n".join(out)


def status_rows(doc: Mapping[str, Any]) -> list[dict[str, str]]:
    """Rows for az's `-o table`: a title row per block, then Field/Value pairs, values escaped and whole."""
    rows = []
    for title, lines in status_sections(doc):
        rows.append({"Field": title, "Value": ""})
        rows.extend({"Field": label, "Value": printable(value)} for label, value in lines)
    return rows


# --- flush ------------------------------------------------------------------------------


def _flushed_before_the_lock_went(report: Any) -> str:
    """What a flush did before another sender took the lock between its passes ("" when nothing)."""
    if not report.settled:
        return ""
    counts = [(report.sent, "sent"), (report.rejected, "rejected by the service"), (report.quarantined, "quarantined"),
              (report.expired, "expired"), (report.evicted, "evicted")]
    return "before it took over: " + ", ".join(f"{n} {what}" for n, what in counts if n) + "; the rest waits for it"


def flush_problem(report: Any, root: str, reason: str = "", wait_seconds: float = 30.0) -> str | None:
    """Why a manual flush did not deliver what it meant to, or None when it did (the one owner of that answer)."""
    if flush_succeeded(report):
        return None
    outcome = str(getattr(report.outcome, "value", report.outcome))
    if outcome == "locked":
        done = _flushed_before_the_lock_went(report)
        return (f"a background sender is already sending from {root}; {done or 'nothing was flushed'}. "
                f"Use --wait to let it finish (at most {wait_seconds:.0f} s) and flush after it.")
    if outcome == "disabled":
        deleted = f"; {report.opted_out} pending event(s) deleted unsent" if report.opted_out else ""
        why = report.detail or reason or "see 'az prototype telemetry status'"
        return f"telemetry is disabled ({printable(why)}): nothing was sent{deleted}."
    kept = f"{report.retried} event{'' if report.retried == 1 else 's'} kept for a later attempt"
    detail = printable(report.detail) if report.detail else ""
    if outcome == "backing-off":
        when = f"; next automatic attempt after {report.next_attempt}" if report.next_attempt else ""
        why = f" ({detail})" if detail else ""
        return f"the ingestion service is unreachable or asked us to wait{why}: sent {report.sent}, {kept}{when}."
    return f"flush stopped ({outcome}{': ' + detail if detail else ''}): sent {report.sent}, {kept}."


def flush_succeeded(report: Any) -> bool:
    """True only when every pending event was accepted (DESIGN.md exit codes of `send` and `flush`)."""
    return str(getattr(report.outcome, "value", report.outcome)) in ("empty", "delivered")
