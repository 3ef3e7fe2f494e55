"""The drain: as the one sender of a spool, claim pending events, POST them in batches, apply the verdicts.

`drain` reads as the process: refuse what must not be drained, take the lock (setting
aside whatever sits at our own files' names), then pass after pass of housekeeping and
batches until the spool is empty, the service asks us to wait, or the lifetime is up.
Every dependency (transport, clock, random, lifetime) is a parameter; the command shell
around it is telemetry_sender.sender.command.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from telemetry_sender import VERSION
from telemetry_sender.protocol import LEASE_SECONDS, SENDER_LIFETIME_SECONDS
from telemetry_sender.sender import lifetime, ownership, state_writes
from telemetry_sender.sender.batch import (
    BatchBuffer,
    encode_body,
    encode_item,
    new_request_id,
    refresh_late_time,
    request_headers,
)
from telemetry_sender.sender.clock import ClockEvidence, carried_offset, expiry_now, parse_http_date, saved_answer
from telemetry_sender.sender.clock import stamp_now
from telemetry_sender.sender.dictionary import enforce_dictionary
from telemetry_sender.sender.policy import BatchVerdict, ItemRejection, VerdictKind, classify
from telemetry_sender.sender.report import DrainReport, Outcome
from telemetry_sender.spool import store
from telemetry_sender.spool.layout import SpoolLayout, is_pending_name, parse_lease_name, recorded_ns
from telemetry_sender.spool.lock import SpoolLock
from telemetry_sender.recording import backing_off, endpoint_id, parse_time
from telemetry_sender.spool.state import LossReason, for_endpoint, load_state, record_target, save_state
from telemetry_sender.text import printable  # names and messages from disk or the service: escaped in logs

__all__ = ["DrainReport", "Outcome", "drain"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Progress = Callable[[DrainReport], None]


@dataclass
class _Item:
    name: str
    lease: Path
    envelope: dict[str, Any]
    data: bytes
    trimmed: bool = False  # the data dictionary cut fields off its file (counted when it is accepted)


@dataclass
class _Context:  # pylint: disable=too-many-instance-attributes  # what every step of one drain shares
    layout: SpoolLayout
    settings: Any
    transport: Any
    clock: Clock
    rng: random.Random
    deadline: float
    monotonic: Callable[[], float]
    report: DrainReport = field(default_factory=DrainReport)
    holder: str = ""  # the lock holder's name, written into every lease this drain takes
    evidence: ClockEvidence = field(default_factory=ClockEvidence)
    boot: Callable[[], tuple[str, float] | None] = lambda: None  # this boot's id and clock (lifetime.boot_clock)

    def remaining(self) -> float:
        return self.deadline - self.monotonic()

    @property
    def endpoint(self) -> str:
        """The ingestion endpoint and key the saved backoff and redirect belong to."""
        connection = self.settings.connection
        return endpoint_id(connection.ingestion_endpoint, connection.instrumentation_key)

    def stop(self, outcome: Outcome, detail: str = "") -> DrainReport:
        """The report, finished with `outcome` (and the saved next attempt when it matters)."""
        if detail:
            self.report.detail = detail
        state = load_state(self.layout.state_file)
        return self.report.finish(outcome, state.get("next_attempt"))


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _lease_seconds(ctx: _Context) -> int:
    """How long a claim holds: past this drain's own end by the default margin, whatever its lifetime."""
    return max(LEASE_SECONDS, math.ceil(ctx.remaining()) + LEASE_SECONDS - SENDER_LIFETIME_SECONDS)


def _opted_out(settings: Any) -> bool:
    """Disabled by the user's choice (DO_NOT_TRACK, collect_telemetry=no), not merely unconfigured."""
    return not settings.enabled and bool(getattr(settings, "opted_out", False))


# --- claiming a batch -------------------------------------------------------------


class _BatchSource:
    """Claims pending files oldest first and packs them into batches; bad files go to quarantine."""

    def __init__(self, ctx: _Context, state: dict[str, Any]) -> None:
        self._ctx = ctx
        self._state = state
        self._names = store.iter_pending_names(ctx.layout)
        self._carry: _Item | None = None

    def next_batch(self) -> list[_Item]:
        """The next batch of claimed items (empty when the spool is drained)."""
        buffer = BatchBuffer()
        items: list[_Item] = []
        if self._carry is not None:
            items.append(self._carry)
            buffer.add(self._carry.data)
            self._carry = None
        while not buffer.full:
            item = self._claim_next()
            if item is None:
                break
            if not buffer.fits(item.data):
                self._carry = item
                break
            buffer.add(item.data)
            items.append(item)
        return items

    def release_carry(self) -> None:
        """Give back a claimed item that did not fit the last batch."""
        if self._carry is not None:
            store.release(self._ctx.layout, self._carry.lease, self._carry.name)
            self._carry = None

    def _claim_next(self) -> _Item | None:
        ctx = self._ctx
        for name in self._names:
            now = ctx.clock()
            lease = store.claim(ctx.layout, name, int(now.timestamp()) + _lease_seconds(ctx), ctx.holder)
            if lease is None:
                continue  # another drainer took it
            ctx.report.claimed += 1
            try:
                envelope = store.read_claimed(lease)
                envelope, trimmed = enforce_dictionary(envelope, ctx.settings.connection.instrumentation_key, name)
                envelope = refresh_late_time(envelope, stamp_now(now, ctx.evidence))
                data = encode_item(envelope)
            except store.Unsendable as exc:
                self._quarantine(lease, name, str(exc), now)
                continue
            except (ValueError, RecursionError):  # NaN slipped in, or too deep to encode again
                self._quarantine(lease, name, "corrupt: not serializable", now)
                continue
            except Exception as exc:  # pylint: disable=broad-exception-caught  # a file we did not foresee
                # must not stop every later sender at the same oldest file: set it aside, say what broke
                self._quarantine(lease, name, f"unreadable: {type(exc).__name__} while checking it", now)
                continue
            return _Item(name, lease, envelope, data, trimmed)
        return None

    def _quarantine(self, lease: Path, name: str, reason: str, now: datetime) -> None:
        logger.warning("quarantined %s: %s", printable(name), printable(reason))
        try:
            dropped = store.quarantine(self._ctx.layout, lease, name, reason, now)
        except OSError as exc:  # no usable quarantine folder: never let one file block the spool
            logger.warning("cannot quarantine (%s): deleting %s", type(exc).__name__, printable(name))
            store.delete(lease)
            dropped = 0
        self._ctx.report.lose(self._state, LossReason.QUARANTINED)
        state_writes.drop(self._state, "quarantine", dropped)


# --- one batch ---------------------------------------------------------------------


# pylint: disable-next=too-many-positional-arguments  # one batch's facts, as the drain loop has them
def _apply(ctx: _Context, state: dict[str, Any], items: list[_Item], verdict: BatchVerdict, now: datetime,
           resend: frozenset[int]) -> None:
    """Delete accepted items, dead-letter rejected ones, give back the rest (except those to `resend`)."""
    done: set[int] = set(resend)
    for index in verdict.accepted:
        store.delete(items[index].lease)
        ctx.report.sent += 1
        if items[index].trimmed:
            ctx.report.trim(state)
        done.add(index)
    for rejection in verdict.rejected:
        if rejection.index not in resend:
            _dead_letter(ctx, state, items[rejection.index], rejection, now)
            done.add(rejection.index)
    for index, item in enumerate(items):
        if index not in done:
            store.release(ctx.layout, item.lease, item.name)
            ctx.report.retried += 1


def _dead_letter(ctx: _Context, state: dict[str, Any], item: _Item, rejection: ItemRejection, now: datetime) -> None:
    try:
        dropped = store.dead_letter(ctx.layout, item.lease, item.name, item.envelope, rejection.status,
                                    rejection.message, now)
    except OSError as exc:  # no usable rejected/ folder: the item is lost either way, count it
        logger.warning("cannot dead-letter (%s): deleting %s", type(exc).__name__, printable(item.name))
        store.delete(item.lease)
        dropped = 0
    if not ctx.report.rejection:
        ctx.report.rejection = f"HTTP {rejection.status}: {rejection.message}"[:300]
        ctx.report.rejection_status = rejection.status
    ctx.report.lose(state, LossReason.REJECTED)
    state_writes.drop(state, "rejected", dropped)


def _restamped(ctx: _Context, items: list[_Item], indexes: frozenset[int]) -> list[_Item]:
    """The items the service refused for their time, stamped with the service's own clock."""
    now = stamp_now(ctx.clock(), ctx.evidence)
    fresh = []
    for index in sorted(indexes):
        item = items[index]
        envelope = refresh_late_time(item.envelope, now)
        fresh.append(_Item(item.name, item.lease, envelope, encode_item(envelope), item.trimmed))
    return fresh


def _post(ctx: _Context, state: dict[str, Any], items: list[_Item]) -> tuple[BatchVerdict, datetime]:
    """POST one batch (redirect.py follows and remembers redirects); the verdict, and the service's clock."""
    from telemetry_sender.sender import redirect

    configured = ctx.settings.connection.ingestion_endpoint
    body = encode_body([item.data for item in items])
    headers = request_headers(new_request_id(ctx.rng), VERSION)
    delivery = redirect.deliver(ctx.transport, state, configured, body, headers, ctx.clock, max(0.5, ctx.remaining()))
    now = ctx.clock()
    service_date = parse_http_date(delivery.result.header("Date"))
    ctx.evidence = ctx.evidence.with_service_date(service_date, now)
    if service_date is not None:
        state["service_clock"] = saved_answer(service_date, ctx.boot())
    record_target(state, configured, delivery.endpoint, ctx.settings.connection.instrumentation_key, now)
    verdict = classify(delivery.result, len(items), now)
    if delivery.refused:
        verdict = BatchVerdict(VerdictKind.RETRY, verdict.status, retry_after=verdict.retry_after,
                               detail=delivery.refused)
    return verdict, now


def _send_batch(ctx: _Context, state: dict[str, Any], items: list[_Item], restamped: bool = False) -> BatchVerdict:
    """POST one batch and apply the verdict; items refused only for their time are re-stamped and sent once more."""
    verdict, now = _post(ctx, state, items)
    resend = frozenset() if restamped else frozenset(r.index for r in verdict.rejected if r.time_window)
    _apply(ctx, state, items, verdict, now, resend)
    ctx.report.batches += 1
    if verdict.stop_pass:
        state_writes.record_failure(state, verdict, now, ctx.rng)
    else:
        state_writes.record_answer(state, verdict, now, ctx.report)
    if resend:
        logger.info("re-stamping %d events the service refused for their time, sending once more", len(resend))
        fresh = _restamped(ctx, items, resend)
        if verdict.stop_pass:  # the rest of the batch waits: these wait with it
            for item in fresh:
                store.release(ctx.layout, item.lease, item.name)
                ctx.report.retried += 1
        else:
            return _send_batch(ctx, state, fresh, restamped=True)
    return verdict


# --- one pass under the lock -------------------------------------------------------


def _newest_recorded(layout: SpoolLayout) -> datetime | None:
    """When the newest event in the spool (pending or leased) was recorded: evidence for the clock."""
    newest = 0
    try:
        with os.scandir(layout.spool) as entries:
            for entry in entries:
                lease = parse_lease_name(entry.name)
                name = lease[0] if lease else entry.name
                stamp = recorded_ns(name) if is_pending_name(name) else None
                newest = max(newest, stamp or 0)
    except OSError:
        return None
    return datetime.fromtimestamp(newest / 1e9, tz=timezone.utc) if newest else None


def _load_state(ctx: _Context) -> dict[str, Any]:
    """state.json as this endpoint's: another endpoint's backoff and redirect move to history."""
    state = for_endpoint(load_state(ctx.layout.state_file), ctx.endpoint)
    carried = carried_offset(state.get("service_clock"), ctx.boot(), ctx.clock())
    ctx.evidence = ClockEvidence(ctx.evidence.service_offset, _newest_recorded(ctx.layout),
                                 parse_time(state.get("last_success")), carried)
    return state


def _housekeeping(ctx: _Context, state: dict[str, Any], holder: str | None) -> None:
    """Retention and the size cap, and every lease of a dead sender given back (`holder`: ours)."""
    when = expiry_now(ctx.clock(), ctx.evidence)
    swept = store.sweep(ctx.layout, when.timestamp(), holder=holder)
    ctx.report.lose(state, LossReason.EXPIRED, swept.expired)
    ctx.report.lose(state, LossReason.EVICTED, swept.evicted)
    if swept.expired or swept.evicted or swept.released_leases or swept.stale_temp:
        logger.info("housekeeping: %d expired, %d evicted, %d dead leases released, %d stale temp files",
                    swept.expired, swept.evicted, swept.released_leases, swept.stale_temp)


def _send_batches(ctx: _Context, state: dict[str, Any], progress: Progress | None) -> Outcome:
    """Batches until the spool is empty, a retriable failure, or the deadline."""
    source = _BatchSource(ctx, state)
    try:
        while True:
            if ctx.remaining() <= 0:
                return Outcome.DEADLINE
            items = source.next_batch()
            if not items:
                return Outcome.EMPTY
            verdict = _send_batch(ctx, state, items)
            save_state(ctx.layout.state_file, state)
            if progress is not None:
                progress(ctx.report)
            if verdict.stop_pass:
                ctx.report.detail = verdict.detail
                return Outcome.BACKING_OFF
    finally:
        source.release_carry()
        save_state(ctx.layout.state_file, state)


def _pass(ctx: _Context, manual: bool, progress: Progress | None) -> Outcome:
    """Housekeeping (even when backing off: retention and the cap hold on every run), then batches."""
    state = _load_state(ctx)
    _housekeeping(ctx, state, ctx.holder)
    if not manual and backing_off(state, ctx.clock(), ctx.endpoint):
        save_state(ctx.layout.state_file, state)  # keep the loss counters of the sweep
        return Outcome.BACKING_OFF
    return _send_batches(ctx, state, progress)


# --- opt-out -------------------------------------------------------------------------


def _purge_opted_out(ctx: _Context) -> None:
    """Telemetry is off now: delete what is pending, unsent, and count it."""
    state = load_state(ctx.layout.state_file)
    when = ctx.clock().timestamp()
    swept = store.sweep(ctx.layout, when, cap_bytes=2**62, holder=ctx.holder)  # give back dead leases first
    ctx.report.lose(state, LossReason.EXPIRED, swept.expired)
    deleted = 0
    for name in store.iter_pending_names(ctx.layout):
        lease = store.claim(ctx.layout, name, int(when) + LEASE_SECONDS, ctx.holder)
        if lease is not None and store.delete(lease):
            deleted += 1
    ctx.report.lose(state, LossReason.OPTED_OUT, deleted)
    state_writes.record_disabled(state, ctx.clock(), ctx.settings.reason, deleted)
    save_state(ctx.layout.state_file, state)


# --- without the lock ----------------------------------------------------------------------


def _cap_without_lock(ctx: _Context) -> None:
    """No lock can be had: still hold the spool to its cap and retention (leases only past their deadline)."""
    try:
        state = load_state(ctx.layout.state_file)
        _housekeeping(ctx, state, holder=None)
    except OSError as exc:
        logger.warning("cannot hold the spool to its cap (%s)", type(exc).__name__)


# --- the drain -------------------------------------------------------------------------


def _refusal(ctx: _Context, manual: bool) -> DrainReport | None:
    """The report for a spool that must not (or need not) be drained at all; None when it may be."""
    settings, layout = ctx.settings, ctx.layout
    if not settings.enabled and manual and not _opted_out(settings):
        # A person ran `send` on a machine without a connection string (say, on a copied
        # folder): refuse and keep everything. An automatic sender that finds telemetry off
        # for any reason deletes the pending events (DESIGN.md, "Contract — configuration").
        return ctx.stop(Outcome.DISABLED, f"{settings.reason}: nothing sent, nothing deleted")
    unsafe = store.unsafe_reason(layout)
    if unsafe:
        logger.warning("not draining: %s", printable(unsafe))
        return ctx.stop(Outcome.UNSAFE, unsafe)
    if not layout.root.is_dir() or not layout.spool.is_dir():
        return ctx.stop(Outcome.DISABLED if not settings.enabled else Outcome.EMPTY)
    return None


def _drain_held(
    ctx: _Context, held: SpoolLock, manual: bool, progress: Progress | None
) -> tuple[Outcome, SpoolLock | None]:
    """Passes while we hold the lock; between passes the lock is let go, so an event written
    meanwhile by a command that saw it held is found, by us or by the sender that command starts."""
    idle_passes = 0
    while True:
        ctx.holder = held.holder
        claimed_before = ctx.report.claimed
        outcome = _pass(ctx, manual, progress)
        if outcome is not Outcome.EMPTY:
            return outcome, held
        ownership.release(held)
        if not store.has_pending(ctx.layout):
            return outcome, None
        # Two passes in a row that could claim nothing: what is left cannot be claimed, stop,
        # and say so: events that wait are not "empty" (an exit code 0 would hide them).
        idle_passes = idle_passes + 1 if ctx.report.claimed == claimed_before else 0
        if idle_passes >= 2:
            ctx.report.detail = ("pending events could not be claimed (a read-only spool/ folder, "
                                 "or files of another user): they wait")
            return Outcome.UNSAFE, None
        try:
            again = ownership.acquire(ctx.layout)
        except OSError as exc:
            ctx.report.detail = f"pending events wait: the lock file became unusable ({type(exc).__name__})"
            return Outcome.UNSAFE, None
        if again is None:  # events wait for the newer sender that has the lock: not "empty"
            ctx.report.detail = "pending events wait for another sender, which holds the lock"
            return Outcome.LOCKED, None
        held = again


def drain(
    layout: SpoolLayout,
    settings: Any,
    *,
    manual: bool,
    transport: Any = None,
    now: Clock | None = None,
    progress: Progress | None = None,
    lifetime_seconds: float = SENDER_LIFETIME_SECONDS,
    rng: random.Random | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    lock: SpoolLock | None = None,
    boot: Callable[[], tuple[str, float] | None] | None = None,
) -> DrainReport:
    """Deliver the pending spool once, as the only drainer, within `lifetime_seconds`.

    A loser of the lock returns at once ("locked"); an automatic drain respects the
    saved backoff, a manual one (`send`, `flush`) ignores it. `lock` is one already
    taken for this drain (the spawner's, passed down to its child). `boot` gives this
    boot's id and clock (lifetime.boot_clock, unless `now` is injected: then only if given).
    """
    ctx = _Context(layout, settings, transport, now or _utcnow, rng or random.Random(),
                   monotonic() + lifetime_seconds, monotonic)
    ctx.boot = boot or (lifetime.boot_clock if now is None else ctx.boot)
    refused = _refusal(ctx, manual)
    if refused is not None:
        if lock is not None:
            lock.release()
        return refused
    held, problem = ownership.take_lock(ctx.layout, lock)
    if problem:
        logger.warning("not draining: %s", printable(problem))
        _cap_without_lock(ctx)
        return ctx.stop(Outcome.UNSAFE, problem)
    if held is None:
        return ctx.stop(Outcome.LOCKED)
    owned_transport = None
    try:
        ctx.holder = held.holder
        if not settings.enabled:
            _purge_opted_out(ctx)
            return ctx.stop(Outcome.DISABLED, settings.reason)
        if ctx.transport is None:
            from telemetry_sender.sender.transport import RequestsTransport

            ctx.transport = owned_transport = RequestsTransport()
        outcome, held = _drain_held(ctx, held, manual, progress)
        return ctx.stop(outcome)
    finally:
        if held is not None:
            ownership.release(held)
        if owned_transport is not None:
            owned_transport.close()  # the pooled connections are ours to close
