"""`python -m telemetry_sender status|show|purge`: the support view of a spool, on disk.

Reading is strictly read-only (no folder, lock, state or quarantine is created or
changed), so it works on a spool copied from another machine or OS. The reports
themselves are built by the pure `support_report` module; this module lists and
reads files, probes the lock, resolves the settings and prints. `purge` is the only
writer here, and it deletes only while holding the sender lock.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import stat
import sys
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, TextIO

from telemetry_sender.support import report
from telemetry_sender.spool.private_files import read_regular_file
from telemetry_sender.spool.layout import WHY_SUFFIX, SpoolLayout
from telemetry_sender.spool.state import MAX_STATE_BYTES

logger = logging.getLogger(__name__)

# Bigger than any valid item (64 KB) with room for a dead-letter wrapper; larger files
# are listed and counted but not read into memory.
MAX_READ_BYTES = 1024 * 1024

EXIT_OK = 0
EXIT_FAILED = 1  # a sender holds the lock, a deletion failed, or the user said no
EXIT_USAGE = 2  # bad arguments, no such spool, or purge needs --yes without a terminal


class SenderRunningError(RuntimeError):
    """A sender holds the spool lock; purging now would race it."""


@dataclass(frozen=True)
class PurgeCounts:
    """How many files purge deleted (or would delete), by folder."""

    pending: int = 0
    rejected: int = 0
    quarantined: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.rejected + self.quarantined

    def as_dict(self) -> dict[str, int]:
        """The JSON form, for `--json` and az."""
        return {"pending": self.pending, "rejected": self.rejected, "quarantined": self.quarantined,
                "failed": self.failed}


# --- read-only listing ----------------------------------------------------------------------


def _regular_files(folder: Path) -> list[tuple[str, Path, int]]:
    """(name, path, size) of the regular files in `folder`, sorted; [] when it does not exist."""
    found = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        found.append((entry.name, Path(entry.path), entry.stat(follow_symlinks=False).st_size))
                except OSError:
                    continue
    except OSError:
        return []
    return sorted(found)


def _read_regular(path: Path, max_bytes: int) -> bytes:
    """`read_regular_file`, refusing a FIFO or device up front (opening one could block)."""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise ValueError(f"{path.name} is not a regular file")
    return read_regular_file(path, max_bytes)


def _read(path: Path) -> tuple[bytes | None, str | None]:
    """A file's bytes, or None and why (too big, a symlink, unreadable)."""
    try:
        return _read_regular(path, MAX_READ_BYTES), None
    except (OSError, ValueError) as exc:
        return None, exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _spool_file(state: str, name: str, folder: str, path: Path, size: int) -> report.SpoolFile:
    return report.SpoolFile(state=state, name=name, path=f"{folder}/{path.name}", size=size)


def load(layout: SpoolLayout, item: report.SpoolFile) -> report.SpoolFile:
    """`item` with its bytes (and a quarantined file's `.why.json`) read, or why they could not be."""
    data, error = _read(layout.root / item.path)
    why = _read(layout.root / (item.path + WHY_SUFFIX))[0] if item.state == report.QUARANTINED else None
    return replace(item, data=data, read_error=error, why=why)


def list_pending(layout: SpoolLayout) -> list[report.SpoolFile]:
    """Pending and leased events in spool/, oldest first; temp and foreign files are skipped."""
    files = []
    for file_name, path, size in _regular_files(layout.spool):
        kind = report.classify_spool_name(file_name)
        if kind:
            files.append(_spool_file(kind[0], kind[1], layout.spool.name, path, size))
    return sorted(files, key=lambda f: f.name)


def list_rejected(layout: SpoolLayout) -> list[report.SpoolFile]:
    """Dead letters in rejected/ (each a record with the service's status and message)."""
    return [
        _spool_file(report.REJECTED, name, layout.rejected.name, path, size)
        for name, path, size in _regular_files(layout.rejected)
        if not name.startswith(".")  # NAME.json, or NAME.json.1 when a name was taken
    ]


def list_quarantined(layout: SpoolLayout) -> list[report.SpoolFile]:
    """Quarantined files (original bytes); each one's reason is in `<name>.why.json` beside it."""
    return [
        _spool_file(report.QUARANTINED, name, layout.quarantine.name, path, size)
        for name, path, size in _regular_files(layout.quarantine)
        if not name.startswith(".") and not name.endswith(WHY_SUFFIX)
    ]


def read_state(layout: SpoolLayout) -> tuple[Any, str | None]:
    """The raw state.json document and a problem description (None when fine or absent)."""
    try:
        data = _read_regular(layout.state_file, MAX_STATE_BYTES)
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, f"state.json unreadable: {exc}"
    doc, problem = report.decode_json(data)
    if problem is None and not isinstance(doc, dict):
        problem = "not a JSON object"
    return (doc, None) if problem is None else (None, f"state.json ignored: {problem}")


def settings_view(env: Mapping[str, str]) -> report.SettingsView:
    """This machine's telemetry decision (from the environment and the az config file)."""
    try:
        from telemetry_sender.settings import resolve_settings

        settings = resolve_settings(env)
    except Exception as exc:  # the support view must render even when settings cannot be read
        logger.debug("settings could not be resolved: %s", type(exc).__name__)
        return report.SettingsView(False, f"settings could not be read ({type(exc).__name__})", "", None)
    endpoint = settings.connection.ingestion_endpoint if settings.connection else None
    return report.SettingsView(settings.enabled, settings.reason, settings.connection_source, endpoint)


def sender_running(layout: SpoolLayout) -> bool:
    """True while a live sender holds this spool's lock (probing never creates the lock file)."""
    try:
        from telemetry_sender.spool.lock import is_held

        return is_held(layout.lock_file)
    except OSError:
        return False


def wait_for_sender(layout: SpoolLayout, timeout: float, *, poll: float = 0.2,
                    monotonic: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                    running: Callable[[SpoolLayout], bool] = sender_running) -> bool:
    """Wait at most `timeout` seconds for a running sender to finish; True once none holds the lock."""
    deadline = monotonic() + timeout
    while running(layout):
        if monotonic() >= deadline:
            return False
        sleep(poll)
    return True


# --- the three reports ----------------------------------------------------------------------


def collect_status(layout: SpoolLayout, env: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """The `status` document for `layout`; reads only the oldest pending event's body."""
    pending = list_pending(layout)
    oldest_envelope = None
    if pending:
        data, _ = _read(layout.root / pending[0].path)
        parsed, problem = report.decode_json(data) if data is not None else (None, "unreadable")
        oldest_envelope = parsed if problem is None and isinstance(parsed, dict) else None
    state_doc, state_problem = read_state(layout)
    return report.build_status(
        root=str(layout.root),
        files=pending + list_rejected(layout) + list_quarantined(layout),
        oldest_envelope=oldest_envelope,
        state_doc=state_doc,
        state_problem=state_problem,
        settings=settings_view(env),
        sender_running=sender_running(layout),
        now=now,
    )


def collect_show(layout: SpoolLayout, *, last: int | None = None, command: str | None = None,
                 failed: bool = False, include_all: bool = False) -> list[dict[str, Any]]:
    """The `show` items, oldest first: pending (and with include_all, rejected and quarantined)."""
    return list(iter_show(layout, last=last, command=command, failed=failed, include_all=include_all))


def iter_show(layout: SpoolLayout, *, last: int | None = None, command: str | None = None,
              failed: bool = False, include_all: bool = False) -> Iterable[dict[str, Any]]:
    """`collect_show` as a stream: one file's bytes in memory at a time."""
    files = list_pending(layout)
    if include_all:
        files += list_rejected(layout) + list_quarantined(layout)
        files.sort(key=lambda f: (f.name, f.state))
    if last is not None and not (command or failed):
        files = files[-last:] if last > 0 else []  # read only what will be shown
    items = (report.show_item(load(layout, f)) for f in files)
    return report.iter_select(items, last=last, command=command, failed=failed)


# --- purge ----------------------------------------------------------------------------------


def _purge_targets(layout: SpoolLayout, include_all: bool) -> list[tuple[str, Path]]:
    """(kind, path) of every file purge deletes; a recorder's in-flight temp files are left alone."""
    targets = [("pending", layout.root / f.path) for f in list_pending(layout)]
    if include_all:
        targets += [("rejected", layout.root / f.path) for f in list_rejected(layout)]
        for name, path, _ in _regular_files(layout.quarantine):
            if not name.startswith("."):
                targets.append(("why" if name.endswith(WHY_SUFFIX) else "quarantined", path))
    return targets


def plan_purge(layout: SpoolLayout, include_all: bool) -> PurgeCounts:
    """What purge would delete now (read-only), for the confirmation question."""
    kinds = [kind for kind, _ in _purge_targets(layout, include_all)]
    return PurgeCounts(kinds.count("pending"), kinds.count("rejected"), kinds.count("quarantined"))


def purge(layout: SpoolLayout, *, include_all: bool) -> PurgeCounts:
    """Delete pending events (and with include_all, dead letters and quarantine) under the lock."""
    if not layout.root.is_dir():
        return PurgeCounts()
    from telemetry_sender.spool.lock import try_acquire

    held = try_acquire(layout.lock_file)
    if held is None:
        raise SenderRunningError(f"a sender is delivering from {layout.root} right now")
    counts = {"pending": 0, "rejected": 0, "quarantined": 0, "why": 0, "failed": 0}
    with held:
        for kind, path in _purge_targets(layout, include_all):
            try:
                path.unlink()
                counts[kind] += 1
            except FileNotFoundError:
                continue
            except OSError as exc:
                logger.warning("could not delete %s: %s", path.name, exc.strerror)
                counts["failed"] += 1
    return PurgeCounts(counts["pending"], counts["rejected"], counts["quarantined"], counts["failed"])


def describe_counts(counts: PurgeCounts, include_all: bool) -> str:
    """`12 pending events, 1 dead letter and 2 quarantined files`."""
    parts = [f"{counts.pending} pending event{'s' if counts.pending != 1 else ''}"]
    if include_all:
        parts.append(f"{counts.rejected} dead letter{'s' if counts.rejected != 1 else ''}")
        parts.append(f"{counts.quarantined} quarantined file{'s' if counts.quarantined != 1 else ''}")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# --- command line ---------------------------------------------------------------------------


def _print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, indent=2) + "\n")


def _print_json_array(items: Iterable[Any], out: TextIO) -> None:
    """A JSON array written element by element, so a large spool never sits in memory as text."""
    out.write("[")
    count = 0
    for item in items:
        # indent the element as json.dumps would inside the array; strings never hold a raw newline
        out.write(("," if count else "") + "\n  " + json.dumps(item, indent=2).replace("\n", "\n  "))
        count += 1
    out.write("\n]\n" if count else "]\n")


def _missing_spool(args: argparse.Namespace, layout: SpoolLayout, err: TextIO) -> bool:
    """An explicit --spool that names no folder is an error; a fresh default spool is not."""
    if getattr(args, "spool", None) and not layout.root.is_dir():
        err.write(f"error: no spool folder at {layout.root}\n")
        return True
    if getattr(args, "spool", None) and not any(
        p.exists() for p in (layout.spool, layout.rejected, layout.quarantine, layout.state_file)
    ):
        err.write(f"warning: {layout.root} holds no spool/, rejected/, quarantine/ or state.json; "
                  "is this the spool root (the folder that contains spool/)?\n")
    return False


def command_status(args: argparse.Namespace, layout: SpoolLayout) -> int:
    """`status [--json]`: on or off and why, what waits, what was last tried, what was lost."""
    if _missing_spool(args, layout, sys.stderr):
        return EXIT_USAGE
    doc = collect_status(layout, os.environ, datetime.now(timezone.utc))
    if args.json:
        _print_json(doc, sys.stdout)
    else:
        sys.stdout.write(report.render_status(doc) + "\n")
    return EXIT_OK


def command_show(args: argparse.Namespace, layout: SpoolLayout) -> int:
    """`show [--last N] [--command NAME] [--failed] [--all] [--json]`: the events themselves."""
    if args.last is not None and args.last < 1:
        sys.stderr.write("error: --last must be 1 or more\n")
        return EXIT_USAGE
    if _missing_spool(args, layout, sys.stderr):
        return EXIT_USAGE
    items = iter_show(layout, last=args.last, command=args.command_name, failed=args.failed, include_all=args.all)
    if args.json:
        _print_json_array(items, sys.stdout)
        return EXIT_OK
    items = list(items)
    if not items:
        what = "events" if args.all else "pending events"
        sys.stdout.write(f"No {what}{' match' if (args.command_name or args.failed) else ''} in {layout.root}.\n")
    else:
        sys.stdout.write(report.render_table([report.show_row(i) for i in items]) + "\n")
        sys.stdout.write(f"\n{len(items)} shown from {layout.root}; --json prints the full envelopes.\n")
    return EXIT_OK


def _confirmed(question: str, stdin: TextIO, err: TextIO) -> bool | None:
    """True/False from a person at a terminal; None when nobody can be asked."""
    if not stdin.isatty():
        return None
    err.write(f"{question} [y/N] ")
    err.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


def command_purge(args: argparse.Namespace, layout: SpoolLayout) -> int:
    """`purge [--yes] [--all] [--json]`: delete unsent events without sending them."""
    if _missing_spool(args, layout, sys.stderr):
        return EXIT_USAGE
    planned = plan_purge(layout, args.all)
    if not args.yes and planned.total:
        answer = _confirmed(f"Delete {describe_counts(planned, args.all)} from {layout.root}?", sys.stdin, sys.stderr)
        if answer is None:
            sys.stderr.write("error: purge deletes events; stdin is not a terminal, so re-run with --yes to confirm\n")
            return EXIT_USAGE
        if not answer:
            sys.stderr.write("Nothing deleted.\n")
            return EXIT_FAILED
    try:
        counts = purge(layout, include_all=args.all)
    except SenderRunningError as exc:
        sys.stderr.write(f"error: {exc}; nothing deleted. Try again when it has finished "
                         "(`status` shows whether a sender is running).\n")
        return EXIT_FAILED
    except OSError as exc:
        sys.stderr.write(f"error: cannot purge {layout.root}: {exc}\n")
        return EXIT_FAILED
    if args.json:
        _print_json({"spool": str(layout.root), "deleted": counts.as_dict()}, sys.stdout)
    else:
        sys.stdout.write(f"Deleted {describe_counts(counts, args.all)} from {layout.root}.\n")
    if counts.failed:
        sys.stderr.write(f"error: {counts.failed} file(s) could not be deleted\n")
        return EXIT_FAILED
    return EXIT_OK
