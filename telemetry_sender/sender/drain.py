"""The drain: one sender per spool, claim by lease, POST in batches, apply the policy, persist backoff.

`drain` is the whole job with every dependency injectable (transport, clock, random,
lifetime); `command_send` is the `python -m telemetry_sender send` shell around it,
including the detached `--background` mode the recorder spawns. What a drain writes to
state.json lives in drain_state; the process's hard lifetime (watchdog) in lifetime.
"""

from __future__ import annotations

import json
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
from telemetry_sender.sender import bookkeeping
from telemetry_sender.sender import lifetime
from telemetry_sender.spool import store
from telemetry_sender.sender.batch import (
    BatchBuffer,
    encode_body,
    encode_item,
    new_request_id,
    refresh_late_time,
    request_headers,
)
from telemetry_sender.sender.dictionary import enforce_dictionary
from telemetry_sender.sender.report import DrainProgress, DrainReport
from telemetry_sender.spool.private_files import ensure_private_dir
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.lock import SpoolLock, try_acquire
from telemetry_sender.sender.policy import ItemRejection, Verdict, classify
from telemetry_sender.protocol import LEASE_SECONDS, SENDER_LIFETIME_SECONDS
from telemetry_sender.spool.state import backing_off, format_time, load_state, record_target, save_state

__all__ = ["DrainProgress", "DrainReport", "command_send", "drain"]

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]
_EXIT_MARGIN_SECONDS = 5.0  # the drain stops this long before the watchdog would kill it


@dataclass
class _Tally:
    sent: int = 0
    retried: int = 0
    rejected: int = 0
    quarantined: int = 0
    expired: int = 0
    evicted: int = 0
    opted_out: int = 0
    batches: int = 0
    claimed: int = 0
    detail: str = ""


@dataclass
class _Item:
    name: str
    lease: Path
    envelope: dict[str, Any]
    data: bytes


@dataclass
class _Context:
    layout: SpoolLayout
    settings: Any
    transport: Any
    clock: Clock
    rng: random.Random
    deadline: float
    monotonic: Callable[[], float]
    tally: _Tally = field(default_factory=_Tally)

    def remaining(self) -> float:
        return self.deadline - self.monotonic()


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
            lease = store.claim(ctx.layout, name, int(now.timestamp()) + _lease_seconds(ctx))
            if lease is None:
                continue  # another drainer took it
            ctx.tally.claimed += 1
            try:
                envelope = store.read_claimed(lease)
                envelope = enforce_dictionary(envelope, ctx.settings.connection.instrumentation_key, name)
                envelope = refresh_late_time(envelope, now)
                data = encode_item(envelope)
            except store.Unsendable as exc:
                self._quarantine(lease, name, str(exc), now)
                continue
            except (ValueError, RecursionError):  # NaN slipped in, or too deep to encode again
                self._quarantine(lease, name, "corrupt: not serializable", now)
                continue
            return _Item(name, lease, envelope, data)
        return None

    def _quarantine(self, lease: Path, name: str, reason: str, now: datetime) -> None:
        logger.warning("quarantined %s: %s", name, reason)
        try:
            dropped = store.quarantine(self._ctx.layout, lease, name, reason, now)
        except OSError as exc:  # no usable quarantine folder: never let one file block the spool
            logger.warning("cannot quarantine (%s): deleting %s", type(exc).__name__, name)
            store.delete(lease)
            dropped = 0
        self._ctx.tally.quarantined += 1
        bookkeeping.lose(self._state, "corrupt", 1)
        bookkeeping.drop(self._state, "quarantine", dropped)


# --- one pass under the lock -------------------------------------------------------


def _apply(ctx: _Context, state: dict[str, Any], items: list[_Item], verdict: Verdict, now: datetime) -> None:
    """Delete accepted items, dead-letter rejected ones, give back the rest."""
    done: set[int] = set()
    for index in verdict.accepted:
        store.delete(items[index].lease)
        ctx.tally.sent += 1
        done.add(index)
    for rejection in verdict.rejected:
        _dead_letter(ctx, state, items[rejection.index], rejection, now)
        done.add(rejection.index)
    for index, item in enumerate(items):
        if index not in done:
            store.release(ctx.layout, item.lease, item.name)
            ctx.tally.retried += 1


def _dead_letter(ctx: _Context, state: dict[str, Any], item: _Item, rejection: ItemRejection, now: datetime) -> None:
    try:
        dropped = store.dead_letter(ctx.layout, item.lease, item.name, item.envelope, rejection.status,
                                    rejection.message, now)
    except OSError as exc:  # no usable rejected/ folder: the item is lost either way, count it
        logger.warning("cannot dead-letter (%s): deleting %s", type(exc).__name__, item.name)
        store.delete(item.lease)
        dropped = 0
    ctx.tally.rejected += 1
    bookkeeping.lose(state, "rejected", 1)
    bookkeeping.drop(state, "rejected", dropped)


def _send_batch(ctx: _Context, state: dict[str, Any], items: list[_Item]) -> Verdict:
    """POST one batch (following redirects by policy) and apply the verdict."""
    from telemetry_sender.sender import redirect

    configured = ctx.settings.connection.ingestion_endpoint
    body = encode_body([item.data for item in items])
    headers = request_headers(new_request_id(ctx.rng), VERSION)
    delivery = redirect.deliver(ctx.transport, state, configured, body, headers, ctx.clock, max(0.5, ctx.remaining()))
    now = ctx.clock()
    record_target(state, configured, delivery.endpoint, ctx.settings.connection.instrumentation_key, now)
    verdict = classify(delivery.result, len(items), now)
    if delivery.refused:
        verdict = Verdict("retry", verdict.status, retry_after=verdict.retry_after, detail=delivery.refused)
    _apply(ctx, state, items, verdict, now)
    ctx.tally.batches += 1
    if verdict.stop_pass:
        bookkeeping.record_failure(state, verdict, now, ctx.rng)
    else:
        bookkeeping.record_success(state, verdict, now, len(verdict.accepted))
    return verdict


def _pass(ctx: _Context, manual: bool, progress: Callable[[DrainProgress], None] | None) -> str:
    """Housekeeping then batches until the spool is empty, a retriable failure, or the deadline."""
    layout = ctx.layout
    state = load_state(layout.state_file)
    # Housekeeping first, even when backing off: retention and the size cap hold on every run.
    swept = store.sweep(layout, ctx.clock().timestamp())
    ctx.tally.expired += swept.expired
    ctx.tally.evicted += swept.evicted
    bookkeeping.lose(state, "expired", swept.expired)
    bookkeeping.lose(state, "evicted", swept.evicted)
    if swept.expired or swept.evicted or swept.released_leases or swept.stale_temp:
        logger.info("housekeeping: %d expired, %d evicted, %d dead leases released, %d stale temp files",
                    swept.expired, swept.evicted, swept.released_leases, swept.stale_temp)
    if not manual and backing_off(state, ctx.clock()):
        save_state(layout.state_file, state)  # keep the loss counters of the sweep
        return "backing-off"
    source = _BatchSource(ctx, state)
    try:
        while True:
            if ctx.remaining() <= 0:
                return "deadline"
            items = source.next_batch()
            if not items:
                return "empty"
            verdict = _send_batch(ctx, state, items)
            save_state(layout.state_file, state)
            if progress is not None:
                t = ctx.tally
                progress(DrainProgress(t.sent, t.retried, t.rejected, t.quarantined, t.batches))
            if verdict.stop_pass:
                ctx.tally.detail = verdict.detail
                return "backing-off"
    finally:
        source.release_carry()
        save_state(layout.state_file, state)


# --- opt-out -------------------------------------------------------------------------


def _purge_opted_out(ctx: _Context) -> None:
    """Telemetry is off now: delete what is pending, unsent, and count it."""
    state = load_state(ctx.layout.state_file)
    swept = store.sweep(ctx.layout, ctx.clock().timestamp(), cap_bytes=2**62)  # give back dead leases first
    ctx.tally.expired += swept.expired
    bookkeeping.lose(state, "expired", swept.expired)
    deleted = 0
    for name in store.iter_pending_names(ctx.layout):
        lease = store.claim(ctx.layout, name, int(ctx.clock().timestamp()) + LEASE_SECONDS)
        if lease is not None and store.delete(lease):
            deleted += 1
    ctx.tally.opted_out += deleted
    bookkeeping.lose(state, "opted_out", deleted)
    state["last_attempt"] = {"time": format_time(ctx.clock()), "outcome": "disabled", "status": None,
                             "detail": f"{ctx.settings.reason}; {deleted} pending deleted unsent"}
    save_state(ctx.layout.state_file, state)


# --- the drain -------------------------------------------------------------------------


def _report(ctx: _Context, outcome: str) -> DrainReport:
    t = ctx.tally
    state = load_state(ctx.layout.state_file) if ctx.layout.state_file.exists() else {}
    next_attempt = state.get("next_attempt") if outcome in ("backing-off", "deadline") else None
    return DrainReport(t.sent, t.retried, t.rejected, t.quarantined, t.expired, t.evicted, outcome,
                       next_attempt, t.opted_out, t.detail)


def drain(
    layout: SpoolLayout,
    settings: Any,
    *,
    manual: bool,
    transport: Any = None,
    now: Clock | None = None,
    progress: Callable[[DrainProgress], None] | None = None,
    lifetime_seconds: float = SENDER_LIFETIME_SECONDS,
    rng: random.Random | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> DrainReport:
    """Deliver the pending spool once, as the only drainer, within `lifetime_seconds`.

    A loser of the lock returns at once ("locked"); an automatic drain respects the
    saved backoff, a manual one (`send`, `flush`) ignores it.
    """
    ctx = _Context(layout, settings, transport, now or _utcnow, rng or random.Random(),
                   monotonic() + lifetime_seconds, monotonic)
    if not settings.enabled and manual and not _opted_out(settings):
        # A person ran `send` on a machine without a connection string (say, on a copied
        # folder): refuse and keep everything. An automatic sender that finds telemetry off
        # for any reason deletes the pending events below (DESIGN.md, "Contract — configuration").
        ctx.tally.detail = f"{settings.reason}: nothing sent, nothing deleted"
        return _report(ctx, "disabled")
    unsafe = store.unsafe_reason(layout)
    if unsafe:
        logger.warning("not draining: %s", unsafe)
        ctx.tally.detail = unsafe
        return _report(ctx, "unsafe")
    if not layout.root.is_dir() or not layout.spool.is_dir():
        return _report(ctx, "disabled" if not settings.enabled else "empty")
    try:
        held: SpoolLock | None = _acquire(layout)
    except OSError as exc:  # sender.lock is a symlink (O_NOFOLLOW) or otherwise unusable
        ctx.tally.detail = f"cannot take the lock {layout.lock_file.name} ({type(exc).__name__}): refusing to drain"
        logger.warning("not draining: %s", ctx.tally.detail)
        return _report(ctx, "unsafe")
    if held is None:
        return _report(ctx, "locked")
    owned_transport = None
    try:
        if not settings.enabled:
            _purge_opted_out(ctx)
            ctx.tally.detail = settings.reason
            return _report(ctx, "disabled")
        if ctx.transport is None:
            from telemetry_sender.sender.transport import RequestsTransport

            ctx.transport = owned_transport = RequestsTransport()
        idle_passes = 0
        while True:
            claimed_before = ctx.tally.claimed
            outcome = _pass(ctx, manual, progress)
            if outcome != "empty":
                break
            # A recorder that saw our lock did not spawn: look again after letting go.
            _release(held)
            held = None
            # Two passes in a row that could claim nothing: what is left cannot be claimed, stop.
            idle_passes = idle_passes + 1 if ctx.tally.claimed == claimed_before else 0
            if idle_passes >= 2 or not store.has_pending(layout):
                break
            try:
                held = _acquire(layout)
            except OSError:
                held = None
            if held is None:
                break  # a newer sender has it (or the lock file became unusable)
        if outcome == "empty" and ctx.tally.sent:
            outcome = "delivered"
        return _report(ctx, outcome)
    finally:
        if held is not None:
            _release(held)
        if owned_transport is not None:
            owned_transport.close()  # the pooled connections are ours to close


def _acquire(layout: SpoolLayout) -> SpoolLock | None:
    held = try_acquire(layout.lock_file)  # raises OSError for a symlinked or unusable lock file
    if held is not None:
        # The monotonic stamps let tests check that drains never overlap (one live drainer).
        logger.info("lock acquired by pid %d at monotonic %.6f", os.getpid(), time.monotonic())
    return held


def _release(held: SpoolLock) -> None:
    logger.info("lock released by pid %d at monotonic %.6f", os.getpid(), time.monotonic())
    held.release()


# --- the command -----------------------------------------------------------------------


def _background(layout: SpoolLayout, deadline: float) -> int:
    """The detached sender: quiet, low priority, logging to its own file; always exits 0."""
    os.umask(0o077)
    lifetime.lower_priority()
    try:
        ensure_private_dir(layout.root)
        from telemetry_sender.sender.log import setup_sender_log

        setup_sender_log(layout.log_file)
    except OSError:
        return 0
    try:
        from telemetry_sender.settings import resolve_settings

        left = deadline - time.monotonic() - _EXIT_MARGIN_SECONDS
        report = drain(layout, resolve_settings(os.environ), manual=False, lifetime_seconds=max(1.0, left))
        logger.info("sender finished: %s", report.summary())
    except Exception:  # guard once, at the boundary: a background sender never crashes loudly
        logger.exception("sender failed")
    finally:
        logging.shutdown()
    return 0


def command_send(args: Any, layout: SpoolLayout, *, lifetime_seconds: float = SENDER_LIFETIME_SECONDS) -> int:
    """`send`: deliver now (a person: backoff ignored, report printed) or `--background` (spawned by az).

    A background sender's lifetime counts from its process start (the spawn bootstrap may
    have waited for the command to exit first); a watchdog ends it whatever it is blocked on.
    """
    background = bool(getattr(args, "background", False))
    deadline = time.monotonic() + lifetime_seconds - (lifetime.process_age() if background else 0.0)
    if deadline <= time.monotonic():
        return 0 if background else 1  # too late to start anything: the next command spawns a fresh sender
    watchdog = lifetime.start_watchdog(deadline - time.monotonic(), lambda: lifetime.hard_exit(background))
    try:
        return _background(layout, deadline) if background else _foreground(args, layout, deadline)
    finally:
        watchdog.set()  # returning normally: nothing left to kill (matters when called in-process)


def _foreground(args: Any, layout: SpoolLayout, deadline: float) -> int:
    """A person ran `send`: ignore the backoff and say what happened."""
    from telemetry_sender.settings import resolve_settings

    settings = resolve_settings(os.environ)
    left = deadline - time.monotonic() - _EXIT_MARGIN_SECONDS
    report = drain(layout, settings, manual=True, lifetime_seconds=max(1.0, left))
    if getattr(args, "json", False):
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    # As `az prototype telemetry flush`: success only when nothing is left undelivered by this run.
    return 0 if report.outcome in ("empty", "delivered") else 1
