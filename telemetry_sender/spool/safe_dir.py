"""Spool folders opened without following links; every read, rename and delete is relative to an open folder.

A spool folder may come from another machine (DESIGN.md, "Contract — details"): a symlinked
`rejected/`, a planted FIFO or a huge file must never make the sender or a support command
read, change or delete anything outside the spool root, nor hang. Where the platform has
`dir_fd` (POSIX), each folder is an O_NOFOLLOW|O_DIRECTORY descriptor and names are resolved
against it, so a folder swapped for a link after the check is not followed either; elsewhere
(Windows) the same checks are made with lstat on each path.
"""

from __future__ import annotations

import enum
import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from telemetry_sender.recording import BINARY, DIR_MODE, NOFOLLOW, NONBLOCK, UnsafePathError, write_private_atomic

DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# dir_fd-relative calls exist together on POSIX; Windows has none of them.
HAS_DIR_FD = {os.open, os.stat, os.unlink, os.rename, os.mkdir} <= os.supports_dir_fd and os.scandir in os.supports_fd


class Kind(str, enum.Enum):
    """What a directory entry is, as lstat sees it (links are never resolved)."""

    FILE = "file"
    FOLDER = "folder"
    SYMLINK = "symlink"
    FIFO = "fifo"
    DEVICE = "device"
    SOCKET = "socket"
    OTHER = "other"
    UNREADABLE = "unreadable"  # listed, but lstat refused (a folder without search permission)


def kind_of(mode: int) -> Kind:
    """The Kind of an lstat mode."""
    for test, kind in ((stat.S_ISREG, Kind.FILE), (stat.S_ISDIR, Kind.FOLDER), (stat.S_ISLNK, Kind.SYMLINK),
                       (stat.S_ISFIFO, Kind.FIFO), (stat.S_ISCHR, Kind.DEVICE), (stat.S_ISBLK, Kind.DEVICE),
                       (stat.S_ISSOCK, Kind.SOCKET)):
        if test(mode):
            return kind
    return Kind.OTHER


def _foreign(st: os.stat_result) -> bool:
    return hasattr(os, "getuid") and st.st_uid != os.getuid()


@dataclass(frozen=True)
class Entry:
    """One name in a folder and what lstat says about it."""

    name: str
    kind: Kind
    size: int
    mtime: float
    uid: int
    foreign: bool  # owned by another user than the one running this process


@dataclass(frozen=True)
class Skipped:
    """Something in the spool that was left alone, and why (shown to the person, never followed)."""

    path: str  # relative to the spool root, forward slashes
    kind: Kind
    reason: str


def describe(entry: Entry) -> str:
    """Why an entry that is not a plain file of ours is left alone."""
    if entry.kind is Kind.SYMLINK:
        return "a symlink: not followed"
    if entry.kind is Kind.FOLDER:
        return "a folder where a file belongs: not entered"
    if entry.kind is Kind.UNREADABLE:
        return "listed but cannot be looked at (no permission): not opened"
    if entry.kind is not Kind.FILE:
        return f"a {entry.kind.value}, not a regular file: not opened"
    return f"owned by uid {entry.uid}, not by you" if entry.foreign else "a regular file"


def _entry(name: str, st: os.stat_result) -> Entry:
    return Entry(name, kind_of(st.st_mode), st.st_size, st.st_mtime, st.st_uid, _foreign(st))


def lstat_entry(path: Path) -> Entry | None:
    """What `path` itself is (its last component never followed); None when it does not exist or cannot be seen."""
    try:
        return _entry(Path(path).name, os.lstat(path))
    except OSError:
        return None


class SafeDir:
    """An open spool folder (never reached through a link); names are resolved inside it only."""

    def __init__(self, path: Path, fd: int | None, rel: str) -> None:
        self.path = path  # for messages; operations go through `fd` where the platform allows
        self.rel = rel  # relative to the spool root ("" for the root)
        self._fd = fd

    # --- opening ---------------------------------------------------------------------------

    @classmethod
    def open_root(cls, path: Path) -> "SafeDir":
        """Open the spool root itself; its last component must be a real folder (parents are the engineer's)."""
        return cls._open(Path(path), None, Path(path), "")

    def open_sub(self, name: str, *, create: bool = False) -> "SafeDir":
        """Open the sub-folder `name` (made 0700 when `create`); UnsafePathError when it is a link or not a folder."""
        _check_name(name)
        if create:
            try:
                if self._fd is not None:
                    os.mkdir(name, DIR_MODE, dir_fd=self._fd)
                else:
                    os.mkdir(self.path / name, DIR_MODE)
            except FileExistsError:
                pass
        return SafeDir._open(Path(name), self._fd, self.path / name, f"{self.rel}/{name}" if self.rel else name)

    @classmethod
    def _open(cls, target: Path, dir_fd: int | None, full: Path, rel: str) -> "SafeDir":
        where = rel or str(full)
        st = os.lstat(target, dir_fd=dir_fd) if dir_fd is not None else os.lstat(full)
        kind = kind_of(st.st_mode)
        if kind is not Kind.FOLDER:
            raise UnsafePathError(errno.ENOTDIR, f"{where} is {describe(_entry(full.name, st))}")
        if not HAS_DIR_FD:
            return cls(full, None, rel)
        fd = os.open(target, os.O_RDONLY | DIRECTORY | NOFOLLOW | NONBLOCK, dir_fd=dir_fd)
        try:
            opened = os.fstat(fd)
            if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino) or not stat.S_ISDIR(opened.st_mode):
                raise UnsafePathError(errno.EAGAIN, f"{where} changed while it was opened")
        except BaseException:
            os.close(fd)
            raise
        return cls(full, fd, rel)

    def close(self) -> None:
        """Close the folder's descriptor (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "SafeDir":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- looking --------------------------------------------------------------------------

    def scan(self) -> Iterator[Entry]:
        """The entries of the folder as lstat sees them (a name gone meanwhile is left out; one lstat
        refuses is an UNREADABLE entry, never silently missing: it may be an event that waits)."""
        with os.scandir(self._fd if self._fd is not None else self.path) as entries:
            for item in entries:
                try:
                    yield _entry(item.name, item.stat(follow_symlinks=False))
                except FileNotFoundError:
                    continue
                except OSError:
                    yield Entry(item.name, Kind.UNREADABLE, 0, 0.0, -1, False)

    def entries(self) -> list[Entry]:
        """`scan`, sorted by name."""
        return sorted(self.scan(), key=lambda e: e.name)

    def lstat(self, name: str) -> Entry | None:
        """What `name` is here (never followed); None when it does not exist."""
        _check_name(name)
        try:
            st = os.lstat(name, dir_fd=self._fd) if self._fd is not None else os.lstat(self.path / name)
        except FileNotFoundError:
            return None
        return _entry(name, st)

    def exists(self, name: str) -> bool:
        """True when anything (even a dangling link) has this name here."""
        return self.lstat(name) is not None

    def child(self, name: str) -> str:
        """`name`'s path relative to the spool root, for messages."""
        return f"{self.rel}/{name}" if self.rel else name

    # --- reading --------------------------------------------------------------------------

    def read(self, name: str, max_bytes: int) -> bytes:
        """The bytes of the regular file `name`: UnsafePathError for a link, FIFO or device; ValueError when too big."""
        _check_name(name)
        flags = os.O_RDONLY | NOFOLLOW | NONBLOCK | BINARY
        try:
            fd = os.open(name, flags, dir_fd=self._fd) if self._fd is not None else self._open_by_path(name, flags)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePathError(errno.ELOOP, f"{self.child(name)} is a symlink: not followed") from None
            raise
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise UnsafePathError(errno.EINVAL, f"{self.child(name)} is {describe(_entry(name, st))}")
            if st.st_size > max_bytes:
                raise ValueError(f"{self.child(name)} is {st.st_size} bytes, over the {max_bytes} byte limit: not read")
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ValueError(f"{self.child(name)} grew over the {max_bytes} byte limit: not read")
        return data

    def _open_by_path(self, name: str, flags: int) -> int:
        path = self.path / name
        if stat.S_ISLNK(os.lstat(path).st_mode):  # no O_NOFOLLOW here: check first, then verify the handle
            raise OSError(errno.ELOOP, "symlink")
        return os.open(path, flags)

    # --- changing -------------------------------------------------------------------------

    def unlink(self, name: str) -> bool:
        """Delete the file (or link itself) `name`; never a folder, never through a link. False when gone."""
        _check_name(name)
        entry = self.lstat(name)
        if entry is None:
            return False
        if entry.kind is Kind.FOLDER:
            raise UnsafePathError(errno.EISDIR, f"{self.child(name)} is a folder")
        try:
            if self._fd is not None:
                os.unlink(name, dir_fd=self._fd)
            else:
                os.unlink(self.path / name)
        except FileNotFoundError:
            return False
        return True

    def remove_tree(self, name: str) -> None:
        """Delete a planted folder and what is in it, links removed as links (never followed)."""
        _check_name(name)
        with self.open_sub(name) as sub:
            for entry in sub.entries():
                if entry.kind is Kind.FOLDER:
                    sub.remove_tree(entry.name)
                else:
                    sub.unlink(entry.name)
        if self._fd is not None:
            os.rmdir(name, dir_fd=self._fd)
        else:
            os.rmdir(self.path / name)

    def rename(self, name: str, target: "SafeDir", new_name: str, *, replace: bool = False) -> None:
        """Move `name` to `target/new_name` (the entry itself: a link moves as a link)."""
        _check_name(name)
        _check_name(new_name)
        if not replace and target.exists(new_name):
            raise FileExistsError(errno.EEXIST, f"{target.child(new_name)} exists")
        target_fd = target._fd  # pylint: disable=protected-access  # another SafeDir: the same class
        if self._fd is not None and target_fd is not None:
            os.replace(name, new_name, src_dir_fd=self._fd, dst_dir_fd=target_fd)
        else:
            os.replace(self.path / name, target.path / new_name)

    def write_atomic(self, name: str, data: bytes) -> None:
        """Write `name` through an exclusive 0600 temp file in this folder and an atomic rename."""
        _check_name(name)
        if self._fd is not None:
            write_private_atomic(name, data, dir_fd=self._fd)
        else:
            write_private_atomic(self.path / name, data)


def _check_name(name: str) -> None:
    """A single name inside the folder: no separators, not `.` or `..`."""
    separators = {"/", os.sep}
    if name in ("", ".", "..") or any(sep in name for sep in separators) or "\0" in name:
        raise UnsafePathError(errno.EINVAL, f"{name!r} is not a plain file name")
