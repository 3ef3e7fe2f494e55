"""`az prototype telemetry status|show|flush|purge`: the support view of the spool, in az's formats.

The same data as `python -m telemetry_sender status|show|send|purge`: the functions
return plain dicts and lists and az renders them (`-o json|yaml|tsv`; `-o table` through
the `*_table` views below), with keys in az's camelCase (azext_prototype.output_keys).
These commands record no telemetry of their own: they would change what a support
engineer is inspecting. az imports this module only to run one of them, and the
telemetry_sender modules are imported inside the functions.

Exit codes: 0 when the command did its job; 1 (an az error with the reason) when
`flush` could not deliver everything it meant to (service backing off or unreachable,
a sender still running, telemetry disabled, lifetime reached), when `purge` finds a
sender running or cannot delete a file, or when purge is not confirmed.
"""

from __future__ import annotations

# az passes `cmd` to every command; some of these read nothing from it.
# pylint: disable=unused-argument

import os
import sys
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

WAIT_SECONDS = 30.0  # flush --wait: the longest we wait for a background sender to finish
# A flush never outlives a sender's hard lifetime (60 s, protocol.SENDER_LIFETIME_SECONDS) by much.
FLUSH_LIMIT_SECONDS = 65.0


def _layout():
    from telemetry_sender.spool.layout import SpoolLayout

    return SpoolLayout.default(os.environ)


def _error(message: str) -> Exception:
    from knack.util import CLIError

    return CLIError(message)


def _unsafe_root(layout: Any, exc: OSError) -> Exception:
    """The clean error for a spool root that is a link or not a folder (nothing under it is read)."""
    why = _printable(exc.strerror or str(exc))
    return _error(f"the spool root {_printable(str(layout.root))} is not a real folder ({why}); nothing read")


def _for_output(cmd, value):
    """`value` as az will print it: with `-o tsv` (raw text) every string from the spool is escaped.

    JSON and YAML escape by themselves.
    """
    if _output_format(cmd) != "tsv":
        return value
    from telemetry_sender.text import printable_tree

    return printable_tree(value)


# --- status -----------------------------------------------------------------------------------


def telemetry_status(cmd) -> dict[str, Any]:
    """Whether telemetry is on and why, what is pending since when, the last attempt, the losses."""
    from azext_prototype.output_keys import status_to_az
    from telemetry_sender.support.command import collect_status
    from telemetry_sender.support.reader import UnsafeRootError

    layout = _layout()
    try:
        status = collect_status(layout, os.environ, datetime.now(timezone.utc))
    except UnsafeRootError as exc:
        raise _unsafe_root(layout, exc) from None
    return _for_output(cmd, status_to_az(status))


def telemetry_status_table(result: dict[str, Any]) -> list[OrderedDict]:
    """`-o table`: the human summary as Field/Value rows, the spool's facts apart from this machine's."""
    from azext_prototype.output_keys import status_from_az
    from telemetry_sender.support.render import status_rows

    return [OrderedDict(row) for row in status_rows(status_from_az(result))]


# --- show -------------------------------------------------------------------------------------


def telemetry_show(cmd, last=None, command_name=None, failed=False, include_all=False) -> list[dict[str, Any]] | None:
    """The pending events exactly as they will be sent (with --all, dead letters and quarantine too).

    `--command NAME` arrives as `command_name`: az's namespace keeps the command being run
    under "command".
    """
    if last is not None and last < 1:
        from azure.cli.core.azclierror import InvalidArgumentValueError

        raise InvalidArgumentValueError("--last must be 1 or more")
    from azext_prototype.output_keys import show_item_to_az
    from telemetry_sender.support.command import collect_show
    from telemetry_sender.support.reader import UnsafeRootError

    layout = _layout()
    skipped: list = []
    try:
        items = collect_show(layout, last=last, command=command_name, failed=bool(failed),
                             include_all=bool(include_all), skipped=skipped)
    except UnsafeRootError as exc:
        raise _unsafe_root(layout, exc) from None
    from telemetry_sender.support.report import pending_unknown

    unknown = pending_unknown(skipped)
    if unknown:  # "no events" must not stand for "not read" (python -m telemetry_sender show exits 1 alike)
        raise _error(f"pending events not all read: {_printable(unknown)}")
    if not items and _output_format(cmd) == "table":
        # az prints a bare newline for an empty table; say it in words on stderr instead.
        from knack.log import get_logger

        get_logger(__name__).warning("No events to show in %s.", _printable(str(layout.root)))
        return None
    return _for_output(cmd, [show_item_to_az(item) for item in items])


def _output_format(cmd) -> str | None:
    """The -o format of this invocation, when az tells."""
    invocation = getattr(getattr(cmd, "cli_ctx", None), "invocation", None)
    return getattr(invocation, "data", {}).get("output") if invocation is not None else None


def telemetry_show_table(result: list[dict[str, Any]]) -> list[OrderedDict]:
    """`-o table`: time, command, outcome, error, key dimensions, the note whole and file; empty columns left out."""
    from azext_prototype.output_keys import show_item_from_az
    from telemetry_sender.support.render import az_show_rows

    return [OrderedDict(row) for row in az_show_rows([show_item_from_az(item) for item in result])]


# --- flush ------------------------------------------------------------------------------------


class _ProgressLine:
    """Running totals on one stderr line (rewritten in place on a terminal), silent with --only-show-errors."""

    def __init__(self, stream, quiet: bool) -> None:
        self._stream = stream
        self._quiet = quiet
        self._live = not quiet and hasattr(stream, "isatty") and stream.isatty()
        self._drawn = False

    def update(self, progress) -> None:
        if self._live:
            self._stream.write(f"\rSending telemetry: {progress.sent} sent, {progress.retried} kept for retry, "
                               f"{progress.rejected} rejected ({progress.batches} batches)")
            self._stream.flush()
            self._drawn = True

    def finish(self, summary: str) -> None:
        if self._drawn:
            self._stream.write("\n")
        if not self._quiet:
            self._stream.write(f"Flush {summary}\n")
            self._stream.flush()


def bounded_drain(layout, settings, progress, limit: float = FLUSH_LIMIT_SECONDS):
    """One manual drain in a daemon thread, given up after `limit` seconds; None when it did not finish.

    Socket timeouts bound connects and reads, but not a hung DNS lookup: the command
    must return all the same. What a given-up drain had claimed returns to the spool
    when its lease expires, so nothing is lost.
    """
    import threading

    from telemetry_sender.sender.drain import drain

    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["report"] = drain(layout, settings, manual=True, progress=progress)
        except BaseException as exc:  # pylint: disable=broad-exception-caught  # re-raised in the command's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="telemetry-flush", daemon=True)
    worker.start()
    worker.join(limit)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("report")


def _drain_once(layout, settings, wait: bool, progress: _ProgressLine):
    """One manual drain; with `wait`, first let a running background sender finish (bounded)."""
    from telemetry_sender.support.command import wait_for_sender

    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if wait and not wait_for_sender(layout, max(0.0, deadline - time.monotonic())):
            return None
        report = bounded_drain(layout, settings, progress.update)
        if report is None:
            raise _error(f"the ingestion endpoint did not answer within {FLUSH_LIMIT_SECONDS:.0f} s "
                         "(a name lookup or connection hung); the events stay pending and are sent later.")
        locked = report.outcome == "locked"  # an Outcome, a str enum
        # a drain that settled events before the lock was taken stays the answer: a retry's fresh report would hide it
        if not locked or not wait or report.settled or time.monotonic() >= deadline:
            return report


def telemetry_flush(cmd, wait=False) -> dict[str, Any]:
    """Send pending events now in the foreground (ignoring backoff), with a progress line and a summary."""
    from telemetry_sender.settings import resolve_settings

    layout = _layout()
    quiet = bool(getattr(getattr(cmd, "cli_ctx", None), "only_show_errors", False))
    progress = _ProgressLine(sys.stderr, quiet)
    settings = resolve_settings(os.environ)
    report = _drain_once(layout, settings, bool(wait), progress)
    if report is None:
        raise _error(f"a background sender was still sending from {layout.root} after {WAIT_SECONDS:.0f} s; "
                     "nothing was flushed. Run the flush again later.")
    progress.finish(_printable(report.summary()))  # the service's message is in it
    from telemetry_sender.support.render import flush_problem

    failure = flush_problem(report, str(layout.root), settings.reason, WAIT_SECONDS)
    if failure:
        raise _error(failure)  # every outcome but empty/delivered, rejections included
    from azext_prototype.output_keys import report_to_az

    return report_to_az(dict(report.to_dict(), spool=str(layout.root)))


def telemetry_flush_table(result: dict[str, Any]) -> list[OrderedDict]:
    """`-o table`: one row of counts."""
    return [OrderedDict([("Outcome", result.get("outcome")), ("Sent", result.get("sent")),
                         ("Retried", result.get("retried")), ("Rejected", result.get("rejected")),
                         ("Quarantined", result.get("quarantined")), ("Expired", result.get("expired")),
                         ("Evicted", result.get("evicted")), ("NextAttempt", result.get("nextAttempt") or "")])]


# --- purge ------------------------------------------------------------------------------------


def telemetry_purge(cmd, yes=False, include_all=False) -> dict[str, Any]:
    """Delete pending events unsent (with --all also dead letters and quarantine), under the sender lock."""
    from azure.cli.core.util import user_confirmation
    from telemetry_sender.support.command import PurgeOutcome, run_purge

    layout = _layout()

    def confirm(question: str) -> bool:
        user_confirmation(question, yes=bool(yes))  # raises when declined or when no terminal can be asked
        return True

    result = run_purge(layout, include_all=bool(include_all), yes=bool(yes), confirm=confirm,
                       status_hint="'az prototype telemetry status'")
    for entry in result.skipped:
        sys.stderr.write(f"WARNING: left alone: {_printable(entry.path)}: {_printable(entry.reason)}\n")
    if result.outcome is not PurgeOutcome.DONE:
        raise _error(result.message)
    from azext_prototype.output_keys import report_to_az

    return report_to_az({"spool": str(layout.root), "deleted": result.counts.as_dict()})


def _printable(text: str) -> str:
    from telemetry_sender.text import printable

    return printable(text)


def telemetry_purge_table(result: dict[str, Any]) -> list[OrderedDict]:
    """`-o table`: one row of deleted counts."""
    deleted = result.get("deleted", {})
    return [OrderedDict([("Pending", deleted.get("pending", 0)), ("Rejected", deleted.get("rejected", 0)),
                         ("Quarantined", deleted.get("quarantined", 0)), ("Spool", result.get("spool"))])]
