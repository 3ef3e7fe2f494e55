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

from telemetry_sender.spool.private_files import UnsafePathError, ensure_private_dir, read_regular_file, write_private_atomic
from telemetry_sender.spool.layout import LEASE_SUFFIX, TEMP_SUFFIX, WHY_SUFFIX, SpoolLayout
from telemetry_sender.protocol import (
    LEASE_MAX_AHEAD_SECONDS,
    MAX_ITEM_BYTES,
    QUARANTINE_CAP_BYTES,
    REJECTED_CAP_BYTES,
    RETENTION_SECONDS,
    SPOOL_CAP_BYTES,
    STALE_TEMP_SECONDS,
)
from telemetry_sender.spool.layout import is_pending_name, lease_name, parse_lease_name, recorded_ns
from telemetry_sender.spool.state import format_time
from telemetry_sender.spool.frozen import FrozenValue

LIST_CHUNK = 4096  # names held in memory per directory scan, whatever the spool's size


class Unsendable(Exception):
    """A claimed file that must be quarantined; the message is the reason."""


class SweepResult(FrozenValue):
    """What housekeeping did: losses (expired, evicted) and repairs (temp files, dead leases)."""

    __slots__ = ("expired", "evicted", "stale_temp", "released_leases", "pending", "pending_bytes")
    _defaults = dict.fromkeys(__slots__, 0)


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


def claim(layout: SpoolLayout, name: str, deadline: int) -> Path | None:
    """Lease `name` by atomic rename; None when another drainer got it first (or it is gone)."""
    lease = layout.spool / lease_name(name, deadline)
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


def _check_envelope(value: object) -> dict[str, Any]:
    """The parsed value when it has the envelope's required shape (PROTOCOL.md); else Unsendable."""
    if not isinstance(value, dict):
        raise Unsendable("not an envelope: not a JSON object")
    for key in ("name", "time"):
        if not isinstance(value.get(key), str) or not value[key]:
            raise Unsendable(f"not an envelope: no {key}")
    data = value.get("data")
    base = data.get("baseData") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("baseType"), str) or not isinstance(base, dict):
        raise Unsendable("not an envelope: no data.baseType/baseData")
    if not isinstance(base.get("name"), str) or base.get("ver") != 2:
        raise Unsendable("not an envelope: baseData needs name and ver 2")
    if "iKey" in value and not isinstance(value["iKey"], str):
        raise Unsendable("not an envelope: iKey is not text")
    return value


def read_claimed(lease: Path) -> dict[str, Any]:
    """The envelope in a leased file; raise Unsendable (the quarantine reason) for anything else.

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
    return _check_envelope(value)


def _free_name(folder: Path, name: str) -> Path:
    """`folder/name`, or a numbered variant when that exists already."""
    target = folder / name
    number = 1
    while os.path.lexists(target) or os.path.lexists(folder / f"{target.name}{WHY_SUFFIX}"):
        target = folder / f"{name}.{number}"
        number += 1
    return target


def quarantine(layout: SpoolLayout, path: Path, name: str, reason: str, now: datetime) -> int:
    """Move a file aside unchanged (never followed) with a `.why.json`; returns how many old ones the cap dropped."""
    folder = ensure_private_dir(layout.quarantine)
    target = _free_name(folder, name)
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return 0
    why = {"reason": reason, "quarantined_at": format_time(now)}
    write_private_atomic(folder / f"{target.name}{WHY_SUFFIX}", json.dumps(why).encode("utf-8"))
    return cap_folder(folder, QUARANTINE_CAP_BYTES)


def dead_letter(
    layout: SpoolLayout, lease: Path, name: str, envelope: Mapping[str, Any], status: int, message: str, now: datetime
) -> int:
    """Keep a rejected envelope with the service's message for support; returns how many old ones the cap dropped."""
    folder = ensure_private_dir(layout.rejected)
    record = {"status": status, "message": message, "rejected_at": format_time(now), "envelope": envelope}
    write_private_atomic(_free_name(folder, name), json.dumps(record, ensure_ascii=False).encode("utf-8"))
    delete(lease)
    return cap_folder(folder, REJECTED_CAP_BYTES)


def _remove(path: Path) -> None:
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        import shutil  # rare (a planted folder); shutil is not cheap to import

        shutil.rmtree(path, ignore_errors=True)
    else:
        os.unlink(path)


def cap_folder(folder: Path, cap_bytes: int) -> int:
    """Drop the oldest entries (a file and its `.why.json` together) until the folder fits; returns files dropped."""
    groups: dict[str, list[tuple[Path, int]]] = {}
    total = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    size = entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
                base = entry.name[: -len(WHY_SUFFIX)] if entry.name.endswith(WHY_SUFFIX) else entry.name
                groups.setdefault(base, []).append((Path(entry.path), size))
                total += size
    except FileNotFoundError:
        return 0
    dropped = 0
    for base in sorted(groups):
        if total <= cap_bytes:
            break
        for path, size in groups[base]:
            try:
                _remove(path)
            except OSError:
                continue
            total -= size
        dropped += 1
    return dropped


def _is_temp_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def reap_stale_temp(folder: Path, now_unix: float) -> int:
    """Delete temp files of atomic writes whose writer died (older than an hour); returns how many."""
    reaped = 0
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not _is_temp_name(entry.name):
                    continue
                try:
                    old = entry.stat(follow_symlinks=False).st_mtime < now_unix - STALE_TEMP_SECONDS
                except OSError:
                    continue
                if old and delete(Path(entry.path)):
                    reaped += 1
    except OSError:  # missing, or not a folder we can read: nothing of ours to reap
        return 0
    return reaped


def _expired(name: str, mtime: float, now_unix: float, retention: float) -> bool:
    stamp = recorded_ns(name)
    recorded = stamp / 1e9 if stamp is not None else mtime
    return recorded < now_unix - retention


def sweep(
    layout: SpoolLayout,
    now_unix: float,
    retention: float = RETENTION_SECONDS,
    cap_bytes: int = SPOOL_CAP_BYTES,
) -> SweepResult:
    """Housekeeping under the lock: reap stale temp files (every folder), give back dead leases, expire, cap."""
    expired = stale = released = pending = total = 0
    dead_leases: list[tuple[Path, str, float, int]] = []
    try:
        scan = os.scandir(layout.spool)
    except FileNotFoundError:
        return SweepResult()
    with scan as entries:
        for entry in entries:
            name = entry.name
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if _is_temp_name(name):
                if st.st_mtime < now_unix - STALE_TEMP_SECONDS and delete(Path(entry.path)):
                    stale += 1
            elif name.endswith(LEASE_SUFFIX):
                parsed = parse_lease_name(name)
                original, deadline = parsed if parsed else (name[: -len(LEASE_SUFFIX)], 0)
                if deadline < now_unix or deadline > now_unix + LEASE_MAX_AHEAD_SECONDS:
                    dead_leases.append((Path(entry.path), original, st.st_mtime, st.st_size))
            elif is_pending_name(name):
                if _expired(name, st.st_mtime, now_unix, retention):
                    expired += delete(Path(entry.path))
                else:
                    pending += 1
                    total += st.st_size
    # Given back after the scan, so each is counted once (a renamed entry may or may not show up in it).
    for lease, original, mtime, size in dead_leases:
        if not release(layout, lease, original):
            continue
        released += 1
        if not is_pending_name(original):
            continue
        if _expired(original, mtime, now_unix, retention):
            expired += delete(layout.spool / original)
        else:
            pending += 1
            total += size
    # state.json, dead letters and quarantine notes are written the same way: reap there too.
    for folder in (layout.root, layout.rejected, layout.quarantine):
        if not os.path.islink(folder):
            stale += reap_stale_temp(folder, now_unix)
    evicted = 0
    if total > cap_bytes:
        for name in iter_pending_names(layout):
            if total <= cap_bytes:
                break
            path = layout.spool / name
            try:
                size = os.lstat(path).st_size
            except FileNotFoundError:
                continue
            if delete(path):
                evicted += 1
                pending -= 1
                total -= size
    return SweepResult(expired, evicted, stale, released, pending, total)
