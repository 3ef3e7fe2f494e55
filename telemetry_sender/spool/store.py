"""The sender's side of the spool: listing, claiming, reading, quarantine, dead letters, expiry, caps.

Used by the sender (under its lock) and never by the recorder, which only writes
(`spool.write_event`). File names are parsed by the format helpers in `spool`.
"""

from __future__ import annotations

import errno
import heapq
import json
import os
import stat
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

from telemetry_sender.recording import TEMP_SUFFIX, FrozenValue, UnsafePathError, read_regular_file
from telemetry_sender.spool.safe_dir import Entry, Kind, SafeDir
from telemetry_sender.spool.layout import LEASE_SUFFIX, WHY_SUFFIX, SpoolLayout
from telemetry_sender.protocol import (
    LEASE_MAX_AHEAD_SECONDS,
    MAX_ITEM_BYTES,
    QUARANTINE_CAP_BYTES,
    REJECTED_CAP_BYTES,
    RETENTION_SECONDS,
    SPOOL_CAP_BYTES,
    STALE_TEMP_SECONDS,
)
from telemetry_sender.spool.layout import is_pending_name, lease_holder, lease_name, parse_lease_name, recorded_ns
from telemetry_sender.spool.state import format_time

LIST_CHUNK = 4096  # names held in memory per directory scan, whatever the spool's size


class Unsendable(Exception):
    """A claimed file that must be quarantined; the message is the reason."""


class SweepResult(FrozenValue):  # pylint: disable=too-few-public-methods  # a value: fields, no behaviour
    """What housekeeping did: losses (expired, evicted) and repairs (temp files, dead leases)."""

    __slots__ = ("expired", "evicted", "stale_temp", "released_leases", "pending", "pending_bytes")
    _defaults = dict.fromkeys(__slots__, 0)
    expired: int
    evicted: int
    stale_temp: int
    released_leases: int
    pending: int
    pending_bytes: int


def iter_pending_names(layout: SpoolLayout, chunk: int = LIST_CHUNK) -> Iterator[str]:
    """Pending names, oldest recorded first, holding at most `chunk` names at a time."""
    last = ""
    while True:
        try:
            with os.scandir(layout.spool) as entries:
                names = heapq.nsmallest(chunk, (e.name for e in entries if is_pending_name(e.name) and e.name > last))
        except FileNotFoundError:
            return
        yield from names
        if len(names) < chunk:
            return
        last = names[-1]


def unsafe_reason(layout: SpoolLayout) -> str | None:
    """Why the sender must not touch this spool (a symlinked, foreign or non-folder root or spool/); None when safe.

    Checked with lstat, like the official exporter's owner check: a drain never follows a
    planted link to send, move or delete files somewhere else.
    """
    for label, path in (("root", layout.root), ("spool", layout.spool)):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return None  # nothing to drain yet
        except OSError as exc:
            return f"{label} folder {path} is unreadable ({errno.errorcode.get(exc.errno or 0, 'error')})"
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            return f"{label} folder {path} is not a real folder (a symlink or a file): refusing to follow it"
        if hasattr(os, "getuid") and st.st_uid != os.getuid():
            return f"{label} folder {path} is owned by another user"
    return None


def has_pending(layout: SpoolLayout) -> bool:
    """True when at least one pending file exists (stops at the first)."""
    try:
        with os.scandir(layout.spool) as entries:
            return any(is_pending_name(e.name) for e in entries)
    except FileNotFoundError:
        return False


def claim(layout: SpoolLayout, name: str, deadline: int, holder: str = "") -> Path | None:
    """Lease `name` by atomic rename; None when another drainer got it first (or it is gone)."""
    lease = layout.spool / lease_name(name, deadline, holder)
    try:
        os.rename(layout.spool / name, lease)
    except OSError:  # gone (another drainer won) or not ours to move
        return None
    return lease


def release(layout: SpoolLayout, lease: Path, name: str) -> bool:
    """Give a leased file back to the spool, unchanged, for a later sender; False when it could not be.

    Never raises: a planted folder in the way must not crash every sender (the lease stays).
    """
    try:
        os.rename(lease, layout.spool / name)
        return True
    except OSError:
        return False


def delete(path: Path) -> bool:
    """Remove a file the service accepted (or that must go); False when it was gone or cannot be removed."""
    try:
        os.unlink(path)
        return True
    except OSError:  # gone, or a folder planted under a file's name: never a crash loop
        return False


def read_claimed(lease: Path) -> object:
    """The JSON value in a leased file; raise Unsendable (the quarantine reason) when there is none.
    Whether it is an envelope is spool/envelope.py's to say (the drain's data dictionary asks it).

    Never follows a symlink, never blocks on a FIFO, never reads more than 64 KB.
    """
    try:
        st = os.lstat(lease)
    except OSError as exc:
        raise Unsendable(f"unreadable: {errno.errorcode.get(exc.errno or 0, 'error')}") from None
    if stat.S_ISLNK(st.st_mode):
        raise Unsendable("symlink")
    if not stat.S_ISREG(st.st_mode):
        raise Unsendable("not a regular file")
    if st.st_size == 0:
        raise Unsendable("empty")
    if st.st_size > MAX_ITEM_BYTES:
        raise Unsendable(f"oversized: {st.st_size} bytes (limit {MAX_ITEM_BYTES})")
    try:  # the lstat above and the open may see different files: read_regular_file checks again
        data = read_regular_file(lease, MAX_ITEM_BYTES)
    except UnsafePathError:
        raise Unsendable("not a regular file") from None
    except OSError as exc:
        raise Unsendable(f"unreadable: {errno.errorcode.get(exc.errno or 0, 'error')}") from None
    except ValueError:
        raise Unsendable(f"oversized: over {MAX_ITEM_BYTES} bytes") from None
    if not data.strip():
        raise Unsendable("empty")
    if len(data) > MAX_ITEM_BYTES:
        raise Unsendable(f"oversized: over {MAX_ITEM_BYTES} bytes")
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise Unsendable("corrupt: not UTF-8") from None
    except ValueError:
        raise Unsendable("corrupt: not JSON") from None
    except RecursionError:  # 64 KB of "[" is valid-looking input that no sender may crash on
        raise Unsendable("corrupt: nested too deeply") from None
    return value


def _free_name(folder: SafeDir, name: str) -> str:
    """`name`, or a numbered variant when that (or its `.why.json`) exists in `folder` already, or when
    `name` itself ends in `.why.json` (it would pass for a note, and the file be shown nowhere)."""
    target, number = name, 1
    while target.endswith(WHY_SUFFIX) or folder.exists(target) or folder.exists(f"{target}{WHY_SUFFIX}"):
        target = f"{name}.{number}"
        number += 1
    return target


def _open_part(layout: SpoolLayout, part: Path, *, create: bool) -> tuple[SafeDir, SafeDir]:
    """(root, part) opened without following links; UnsafePathError when either is a link or not a folder."""
    root = SafeDir.open_root(layout.root)
    try:
        return root, root.open_sub(part.name, create=create)
    except BaseException:
        root.close()
        raise


def quarantine(layout: SpoolLayout, path: Path, name: str, reason: str, now: datetime) -> int:
    """Move a file aside unchanged (never followed) with a `.why.json`; returns how many old ones the cap dropped."""
    root, folder = _open_part(layout, layout.quarantine, create=True)
    with root, folder, root.open_sub(path.parent.name) as source:
        target = _free_name(folder, name)
        try:
            source.rename(path.name, folder, target)
        except FileNotFoundError:
            return 0
        why = {"reason": reason, "quarantined_at": format_time(now)}
        folder.write_atomic(f"{target}{WHY_SUFFIX}", json.dumps(why).encode("utf-8"))
        return _cap(folder, QUARANTINE_CAP_BYTES, keep=target)


def dead_letter(  # pylint: disable=too-many-positional-arguments  # the file and the service's verdict, as the drain has them
    layout: SpoolLayout, lease: Path, name: str, envelope: Mapping[str, Any], status: int, message: str, now: datetime
) -> int:
    """Keep a rejected envelope with the service's message for support; returns how many old ones the cap dropped."""
    root, folder = _open_part(layout, layout.rejected, create=True)
    with root, folder:
        record = {"status": status, "message": message, "rejected_at": format_time(now), "envelope": envelope}
        folder.write_atomic(_free_name(folder, name), json.dumps(record, ensure_ascii=False).encode("utf-8"))
    delete(lease)
    return _capped(layout, layout.rejected, REJECTED_CAP_BYTES)


def _capped(layout: SpoolLayout, part: Path, cap_bytes: int) -> int:
    root, folder = _open_part(layout, part, create=False)
    with root, folder:
        return _cap(folder, cap_bytes)


def _cap(folder: SafeDir, cap_bytes: int, keep: str = "") -> int:
    """Drop the oldest entries (a file and its `.why.json` together) until the folder fits, never `keep`
    (the file just set aside: one bigger than the cap is kept for inspection, not deleted at once)."""
    groups: dict[str, list[Entry]] = {}
    total = 0
    for entry in folder.scan():
        if entry.name.startswith(".") or entry.kind is Kind.UNREADABLE:
            continue
        base = entry.name[: -len(WHY_SUFFIX)] if entry.name.endswith(WHY_SUFFIX) else entry.name
        groups.setdefault(base, []).append(entry)
        total += entry.size
    dropped = 0
    for base in sorted(groups):
        if total <= cap_bytes:
            break
        if base == keep:
            continue
        for entry in groups[base]:
            try:
                if entry.kind is Kind.FOLDER:  # a planted folder: emptied without following its links
                    folder.remove_tree(entry.name)
                else:
                    folder.unlink(entry.name)
            except OSError:
                continue
            total -= entry.size
        dropped += 1
    return dropped


def _is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def _reap(folder: SafeDir, now_unix: float) -> int:
    reaped = 0
    for entry in folder.scan():
        if _is_temp_name(entry.name) and entry.kind not in (Kind.FOLDER, Kind.UNREADABLE) and _stale(entry, now_unix):
            try:
                reaped += folder.unlink(entry.name)
            except OSError:
                continue
    return reaped


def _stale(entry: Entry, now_unix: float) -> bool:
    return entry.mtime < now_unix - STALE_TEMP_SECONDS


def _expired(name: str, mtime: float, now_unix: float, retention: float) -> bool:
    stamp = recorded_ns(name)
    recorded = stamp / 1e9 if stamp is not None else mtime
    return recorded < now_unix - retention


def _dead_lease(name: str, now_unix: float, holder: str | None = None) -> str | None:
    """The original name of a dead lease, else None: one not `holder`'s (when given: the lock holder's),
    or whose deadline has passed (or lies implausibly far ahead)."""
    parsed = parse_lease_name(name)
    original, deadline = parsed if parsed else (name[: -len(LEASE_SUFFIX)], 0)
    foreign = holder is not None and lease_holder(name) != holder
    return original if foreign or deadline < now_unix or deadline > now_unix + LEASE_MAX_AHEAD_SECONDS else None


class _Sweep:  # pylint: disable=too-many-instance-attributes  # one field per count of one sweep
    """One housekeeping pass over an opened spool/ folder; each step adds to the counts."""

    def __init__(self, spool: SafeDir, now_unix: float, retention: float, holder: str | None = None) -> None:
        self.spool, self.now, self.retention, self.holder = spool, now_unix, retention, holder
        self.expired = self.stale = self.released = self.pending = self.total = 0

    def scan(self) -> list[tuple[Entry, str]]:
        """Reap stale temp files, expire or count pending ones; return the dead leases to give back."""
        dead: list[tuple[Entry, str]] = []
        for entry in self.spool.scan():
            if entry.kind in (Kind.FOLDER, Kind.UNREADABLE):
                continue  # a planted folder is never entered or counted; what lstat refused is left alone
            if _is_temp_name(entry.name):
                if _stale(entry, self.now) and self._delete(entry.name):
                    self.stale += 1
            elif entry.name.endswith(LEASE_SUFFIX):
                original = _dead_lease(entry.name, self.now, self.holder)
                if original is not None:
                    dead.append((entry, original))
            elif is_pending_name(entry.name):
                self._keep_or_expire(entry.name, entry)
        return dead

    def release_dead_leases(self, dead: list[tuple[Entry, str]]) -> None:
        """Give dead leases back after the scan, so each is counted once."""
        for entry, original in dead:
            try:
                self.spool.rename(entry.name, self.spool, original)
            except OSError:
                continue
            self.released += 1
            if is_pending_name(original):
                self._keep_or_expire(original, entry)

    def evict_over(self, layout: SpoolLayout, cap_bytes: int) -> int:
        """Delete the oldest pending files until the spool fits `cap_bytes`; returns how many."""
        evicted = 0
        if self.total <= cap_bytes:
            return 0
        for name in iter_pending_names(layout):
            if self.total <= cap_bytes:
                break
            entry = self.spool.lstat(name)
            if entry is None or entry.kind is Kind.FOLDER:
                continue
            if self._delete(name):
                evicted += 1
                self.pending -= 1
                self.total -= entry.size
        return evicted

    def _keep_or_expire(self, name: str, entry: Entry) -> None:
        if _expired(name, entry.mtime, self.now, self.retention):
            self.expired += self._delete(name)
        else:
            self.pending += 1
            self.total += entry.size

    def _delete(self, name: str) -> bool:
        try:
            return self.spool.unlink(name)
        except OSError:
            return False


def sweep(
    layout: SpoolLayout,
    now_unix: float,
    retention: float = RETENTION_SECONDS,
    cap_bytes: int = SPOOL_CAP_BYTES,
    holder: str | None = None,
) -> SweepResult:
    """Housekeeping under the lock: reap stale temp files (every folder), give back dead leases, expire, cap.

    `holder` is the lock holder's lease name: every lease not its own belongs to a sender
    that died (only the lock holder claims), so it is given back at once; without a
    holder only leases past their deadline are.
    """
    try:
        root = SafeDir.open_root(layout.root)
    except OSError:  # no spool yet, or a root that is not a real folder: nothing to sweep
        return SweepResult()
    with root:
        try:
            spool = root.open_sub(layout.spool.name)
        except OSError:
            return SweepResult()
        with spool:
            pass_ = _Sweep(spool, now_unix, retention, holder)
            pass_.release_dead_leases(pass_.scan())
            pass_.stale += _reap_other_folders(root, layout, now_unix)
            evicted = pass_.evict_over(layout, cap_bytes)
    return SweepResult(pass_.expired, evicted, pass_.stale, pass_.released, pass_.pending, pass_.total)


def _reap_other_folders(root: SafeDir, layout: SpoolLayout, now_unix: float) -> int:
    """state.json, dead letters and quarantine notes are written the same way: reap their temp files too."""
    reaped = _reap(root, now_unix)
    for part in (layout.rejected, layout.quarantine):
        try:
            with root.open_sub(part.name) as folder:
                reaped += _reap(folder, now_unix)
        except OSError:  # missing, or a link: never entered
            continue
    return reaped
