"""`python -m telemetry_sender status|show|purge`: the support flows, returning values, and their command shell.

Reading is strictly read-only (no folder, lock, state or quarantine is created or
changed) and never goes through a link (`reader`), so it works on a spool copied from
another machine. `collect_status`, `iter_show` and `run_purge` return values that both
this shell and `az prototype telemetry …` render; `purge` is the only writer, and it
deletes only plain files inside the root while holding the sender lock.
"""

from __future__ import annotations

import argparse
import enum
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping, TextIO

from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.safe_dir import Skipped
from telemetry_sender.recording import endpoint_id
from telemetry_sender.support import render, report
from telemetry_sender.support.reader import SpoolReader, UnsafeRootError
from telemetry_sender.text import printable

logger = logging.getLogger(__name__)

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


# --- probes of this machine ---------------------------------------------------------------


def settings_view(env: Mapping[str, str]) -> report.SettingsView:
    """This machine's telemetry decision (from the environment and the az config file)."""
    try:
        from telemetry_sender.settings import resolve_settings

        settings = resolve_settings(env)
    except Exception as exc:  # pylint: disable=broad-exception-caught  # the support view renders even without settings
        logger.debug("settings could not be resolved: %s", type(exc).__name__)
        return report.SettingsView(False, f"settings could not be read ({type(exc).__name__})", "", None)
    connection = settings.connection
    endpoint = connection.ingestion_endpoint if connection else None
    endpoint_key = endpoint_id(connection.ingestion_endpoint, connection.instrumentation_key) if connection else None
    return report.SettingsView(settings.enabled, settings.reason, settings.connection_source, endpoint, endpoint_key)


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


# --- status and show ------------------------------------------------------------------------


def collect_status(layout: SpoolLayout, env: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """The `status` document for `layout`; reads only the oldest pending event's body and state.json."""
    with SpoolReader(layout) as reader:
        pending = reader.pending()
        oldest_envelope = None
        if pending:
            data, _ = reader.read(pending[0].path)
            parsed, problem = report.decode_json(data) if data is not None else (None, "unreadable")
            oldest_envelope = parsed if problem is None and isinstance(parsed, dict) else None
        state_doc, state_problem = reader.state()
        files = pending + reader.rejected() + reader.quarantined()
        folder = report.FolderFacts(this_machine_root=str(SpoolLayout.default(env).root),
                                    root_owner_uid=reader.root_foreign_uid, skipped=tuple(reader.skipped))
    return report.build_status(
        root=str(layout.root),
        files=files,
        oldest_envelope=oldest_envelope,
        state_doc=state_doc,
        state_problem=state_problem,
        settings=settings_view(env),
        sender_running=sender_running(layout),
        now=now,
        folder=folder,
        own_file_problems=own_file_problems(layout),
    )


def own_file_problems(layout: SpoolLayout) -> list[str]:
    """What sits at the sender's own file names instead of its files (a sender sets it aside; lstat only)."""
    from telemetry_sender.spool import repair

    found = []
    for path in (layout.lock_file, layout.state_file):
        wrong = repair.problem(path)
        if wrong:
            found.append(f"{path.name} is {wrong}: the next sender sets it aside, or says in "
                         f"{layout.log_file.name} why it cannot")
    return found


def iter_show(layout: SpoolLayout, *, last: int | None = None, command: str | None = None,
              failed: bool = False, include_all: bool = False, skipped: list[Skipped] | None = None
              ) -> Iterator[dict[str, Any]]:
    """The `show` items, oldest first, as a stream; entries left alone are appended to `skipped`."""
    with SpoolReader(layout) as reader:
        files = reader.everything(include_all)
        if last is not None and not (command or failed):
            files = files[-last:] if last > 0 else []  # read only what will be shown
        items = (report.show_item(reader.load(f)) for f in files)
        yield from report.iter_select(items, last=last, command=command, failed=failed)
        if skipped is not None:
            skipped.extend(reader.skipped)


def collect_show(layout: SpoolLayout, *, last: int | None = None, command: str | None = None,
                 failed: bool = False, include_all: bool = False, skipped: list[Skipped] | None = None
                 ) -> list[dict[str, Any]]:
    """The `show` items, oldest first: pending (and with include_all, rejected and quarantined)."""
    return list(iter_show(layout, last=last, command=command, failed=failed, include_all=include_all,
                          skipped=skipped))


def find_item(layout: SpoolLayout, file_name: str) -> dict[str, Any] | None:
    """The `show` item of one file (pending, dead letter or quarantined) by its name; None when there is none."""
    for item in iter_show(layout, include_all=True):
        if file_name in (item.get("file"), item.get("path"), os.path.basename(str(item.get("path", "")))):
            return item
    return None


# --- purge ----------------------------------------------------------------------------------


class PurgeOutcome(enum.Enum):
    """How a purge ended; each front end maps it to its own exit code or error."""

    DONE = "done"  # every targeted file deleted (maybe none)
    PARTLY = "partly"  # some files could not be deleted
    DECLINED = "declined"  # the person said no
    NEEDS_YES = "needs-yes"  # nobody to ask and no --yes
    SENDER_RUNNING = "sender-running"
    UNSAFE = "unsafe"  # the root is a link or not a folder, or cannot be changed


@dataclass(frozen=True)
class PurgeResult:
    """What purge did, the words for the person, and what it left alone."""

    outcome: PurgeOutcome
    counts: PurgeCounts
    message: str
    skipped: tuple[Skipped, ...] = ()


def _targets(reader: SpoolReader, include_all: bool) -> list[tuple[str, str]]:
    """(kind, path) of every plain file purge deletes; a recorder's in-flight temp files are left alone."""
    targets = [("pending", f.path) for f in reader.pending()]
    if include_all:
        targets += [("rejected", f.path) for f in reader.rejected()]
        targets += [("quarantined", f.path) for f in reader.quarantined()]
        targets += [("why", f"quarantine/{name}") for name in reader.why_names()]
    return targets


def plan_purge(layout: SpoolLayout, include_all: bool) -> PurgeCounts:
    """What purge would delete now (read-only), for the confirmation question."""
    try:
        with SpoolReader(layout) as reader:
            kinds = [kind for kind, _ in _targets(reader, include_all)]
    except UnsafeRootError:
        return PurgeCounts()
    return PurgeCounts(kinds.count("pending"), kinds.count("rejected"), kinds.count("quarantined"))


def purge(layout: SpoolLayout, *, include_all: bool, skipped: list[Skipped] | None = None) -> PurgeCounts:
    """Delete pending events (with include_all, dead letters and quarantine) under the lock, inside the root only."""
    with SpoolReader(layout) as reader:
        if not reader.exists:
            return PurgeCounts()
        from telemetry_sender.spool.lock import try_acquire

        held = try_acquire(layout.lock_file)
        if held is None:
            raise SenderRunningError(f"a sender is delivering from {layout.root} right now")
        counts = {"pending": 0, "rejected": 0, "quarantined": 0, "why": 0, "failed": 0}
        with held:
            for kind, path in _targets(reader, include_all):
                try:
                    counts[kind] += reader.delete(path)
                except OSError as exc:
                    logger.warning("could not delete %s: %s", printable(path), printable(exc.strerror or exc))
                    counts["failed"] += 1
        if skipped is not None:
            skipped.extend(reader.skipped)
    return PurgeCounts(counts["pending"], counts["rejected"], counts["quarantined"], counts["failed"])


def run_purge(layout: SpoolLayout, *, include_all: bool, yes: bool,
              confirm: Callable[[str], bool | None], status_hint: str = "`status`") -> PurgeResult:
    """The whole purge flow: plan, ask (`confirm` returns None when nobody can be asked), delete, say what happened."""
    root = printable(layout.root)
    planned = plan_purge(layout, include_all)
    if not yes and planned.total:
        answer = confirm(f"Delete {describe_counts(planned, include_all)} from {root}?")
        if answer is None:
            return PurgeResult(PurgeOutcome.NEEDS_YES, PurgeCounts(),
                               "purge deletes events; stdin is not a terminal, so re-run with --yes to confirm")
        if not answer:
            return PurgeResult(PurgeOutcome.DECLINED, PurgeCounts(), "Nothing deleted.")
    skipped: list[Skipped] = []
    try:
        counts = purge(layout, include_all=include_all, skipped=skipped)
    except SenderRunningError as exc:
        return PurgeResult(PurgeOutcome.SENDER_RUNNING, PurgeCounts(),
                           f"{printable(exc)}; nothing deleted. Try again when it has finished "
                           f"({status_hint} shows whether a sender is running).")
    except OSError as exc:
        return PurgeResult(PurgeOutcome.UNSAFE, PurgeCounts(), f"cannot purge {root}: {printable(exc)}")
    done = f"Deleted {describe_counts(counts, include_all)} from {root}."
    unknown = report.pending_unknown(skipped)  # what could not be looked at was not deleted: not "done"
    if counts.failed or unknown:
        why = f"{counts.failed} file(s) could not be deleted." if counts.failed else f"Not read: {printable(unknown)}."
        return PurgeResult(PurgeOutcome.PARTLY, counts, f"{done} {why}", tuple(skipped))
    return PurgeResult(PurgeOutcome.DONE, counts, done, tuple(skipped))


def describe_counts(counts: PurgeCounts, include_all: bool) -> str:
    """`12 pending events, 1 dead letter and 2 quarantined files`."""
    parts = [render.plural(counts.pending, "pending event")]
    if include_all:
        parts.append(render.plural(counts.rejected, "dead letter"))
        parts.append(render.plural(counts.quarantined, "quarantined file"))
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


def _print_skipped(skipped: Iterable[Skipped], err: TextIO) -> None:
    lines = render.skipped_lines([{"path": s.path, "reason": s.reason} for s in skipped])
    if lines:
        err.write("Left alone (never followed or opened):\n" + "".join(f"  {line}\n" for line in lines))


def _missing_spool(args: argparse.Namespace, layout: SpoolLayout, err: TextIO) -> bool:
    """An explicit --spool that names no real folder is an error; a fresh default spool is not."""
    try:
        with SpoolReader(layout) as reader:
            exists, has_parts = reader.exists, reader.has_any_part()
    except UnsafeRootError as exc:
        err.write(f"error: the spool root is not a real folder ({printable(exc.strerror)}); nothing read\n")
        return True
    if getattr(args, "spool", None) and not exists:
        err.write(f"error: no spool folder at {printable(layout.root)}\n")
        return True
    if getattr(args, "spool", None) and not has_parts:
        err.write(f"warning: {printable(layout.root)} holds no spool/, rejected/, quarantine/ or state.json; "
                  "is this the spool root (the folder that contains spool/)?\n")
    return False


def command_status(args: argparse.Namespace, layout: SpoolLayout) -> int:
    """`status [--json]`: the spool's facts (pending, last attempts, losses) apart from this machine's."""
    if _missing_spool(args, layout, sys.stderr):
        return EXIT_USAGE
    doc = collect_status(layout, os.environ, datetime.now(timezone.utc))
    if args.json:
        _print_json(doc, sys.stdout)
    else:
        sys.stdout.write(render.render_status(doc) + "\n")
    return EXIT_OK


def command_show(args: argparse.Namespace, layout: SpoolLayout) -> int:
    """`show [--last N] [--command NAME] [--failed] [--all] [--file NAME] [--json]`: the events themselves."""
    if args.last is not None and args.last < 1:
        sys.stderr.write("error: --last must be 1 or more\n")
        return EXIT_USAGE
    if _missing_spool(args, layout, sys.stderr):
        return EXIT_USAGE
    if getattr(args, "file", None):
        return _show_file(args, layout)
    skipped: list[Skipped] = []
    items = iter_show(layout, last=args.last, command=args.command_name, failed=args.failed,
                      include_all=args.all, skipped=skipped)
    if args.json:
        _print_json_array(items, sys.stdout)
    else:
        shown = list(items)
        if not shown:
            sys.stdout.write(render.empty_show_text(args.all, bool(args.command_name or args.failed),
                                                    str(layout.root)) + "\n")
        else:
            sys.stdout.write(render.show_table(shown) + "\n")
            sys.stdout.write(f"\n{len(shown)} shown from {printable(layout.root)}; "
                             "--file NAME prints one in full, --json prints the envelopes exactly.\n")
    _print_skipped(skipped, sys.stderr)
    unknown = report.pending_unknown(skipped)
    if unknown:  # "none shown" must not stand for "none there"
        sys.stderr.write(f"error: pending events not all read: {printable(unknown)}\n")
        return EXIT_FAILED
    return EXIT_OK


def _show_file(args: argparse.Namespace, layout: SpoolLayout) -> int:
    item = find_item(layout, args.file)
    if item is None:
        sys.stderr.write(f"error: no file named {printable(args.file)} in spool/, rejected/ or quarantine/\n")
        return EXIT_FAILED
    if args.json:
        _print_json(item, sys.stdout)
    else:
        sys.stdout.write(render.show_one(item) + "\n")
    return EXIT_OK


def _confirmed(question: str, stdin: TextIO, err: TextIO) -> bool | None:
    """True/False from a person at a terminal; None when nobody can be asked."""
    if not stdin.isatty():
        return None
    err.write(f"{question} [y/N] ")
    err.flush()
    return stdin.readline().strip().lower() in ("y", "yes")


_PURGE_EXIT = {PurgeOutcome.DONE: EXIT_OK, PurgeOutcome.NEEDS_YES: EXIT_USAGE}


def command_purge(args: argparse.Namespace, layout: SpoolLayout) -> int:
    """`purge [--yes] [--all] [--json]`: delete unsent events without sending them."""
    if _missing_spool(args, layout, sys.stderr):
        return EXIT_USAGE
    result = run_purge(layout, include_all=args.all, yes=args.yes,
                       confirm=lambda question: _confirmed(question, sys.stdin, sys.stderr))
    if result.outcome in (PurgeOutcome.DONE, PurgeOutcome.PARTLY):
        if args.json:
            _print_json({"spool": str(layout.root), "deleted": result.counts.as_dict()}, sys.stdout)
        else:
            sys.stdout.write(f"Deleted {describe_counts(result.counts, args.all)} from {printable(layout.root)}.\n")
        if result.outcome is PurgeOutcome.PARTLY:
            sys.stderr.write(f"error: {result.message}\n")
    elif result.outcome is PurgeOutcome.DECLINED:
        sys.stderr.write(result.message + "\n")
    else:
        sys.stderr.write(f"error: {result.message}\n")
    _print_skipped(result.skipped, sys.stderr)
    return _PURGE_EXIT.get(result.outcome, EXIT_FAILED)
