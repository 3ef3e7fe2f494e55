"""Read a spool folder that may come from another machine: never through a link, never outside its root.

Every folder is opened with `SafeDir` (no link followed, names resolved inside the open
folder only) and every file read with a size bound and without blocking, so a copied
spool full of symlinks, FIFOs, devices or huge files is listed as such and never hangs.
What is left alone is kept as `skipped`, with the reason, for the person to see.
"""

from __future__ import annotations

import errno
from dataclasses import replace
from typing import Any, Iterator

from telemetry_sender.spool.layout import WHY_SUFFIX, SpoolLayout
from telemetry_sender.spool.safe_dir import Kind, SafeDir, Skipped, describe, lstat_entry
from telemetry_sender.recording import MAX_STATE_BYTES
from telemetry_sender.support import report

# Bigger than any valid item (64 KB) with room for a dead-letter wrapper; larger files
# are listed and counted but not read into memory.
MAX_READ_BYTES = 1024 * 1024

_PARTS = (("spool", None), ("rejected", report.REJECTED), ("quarantine", report.QUARANTINED))


class UnsafeRootError(OSError):
    """The spool root itself is a link or not a folder: nothing under it is read."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or errno.errorcode.get(exc.errno or 0, "unreadable")
    return str(exc)


class SpoolReader:
    """The opened parts of one spool root; use as a context manager."""

    def __init__(self, layout: SpoolLayout) -> None:
        self.layout = layout
        self.skipped: list[Skipped] = []
        self.root_foreign_uid: int | None = None
        self._parts: dict[str, SafeDir] = {}
        try:
            self._root: SafeDir | None = SafeDir.open_root(layout.root)
        except FileNotFoundError:
            self._root = None  # a fresh spool: nothing recorded yet
            return
        except OSError as exc:
            raise UnsafeRootError(exc.errno or errno.ENOTDIR, f"{layout.root}: {_reason(exc)}") from None
        root_entry = lstat_entry(layout.root)
        if root_entry is not None and root_entry.foreign:
            self.root_foreign_uid = root_entry.uid
        for name, _ in _PARTS:
            self._open_part(name)

    def _open_part(self, name: str) -> None:
        assert self._root is not None
        entry = self._root.lstat(name)
        if entry is None:
            return
        if entry.kind is not Kind.FOLDER:
            self.skipped.append(Skipped(name, entry.kind, describe(entry)))
            return
        try:
            self._parts[name] = self._root.open_sub(name)
        except OSError as exc:
            self.skipped.append(Skipped(name, Kind.FOLDER, f"not opened: {_reason(exc)}"))

    def close(self) -> None:
        """Close every opened folder."""
        for part in self._parts.values():
            part.close()
        self._parts.clear()
        if self._root is not None:
            self._root.close()
            self._root = None

    def __enter__(self) -> "SpoolReader":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def exists(self) -> bool:
        """True when the root is a real folder."""
        return self._root is not None

    def has_any_part(self) -> bool:
        """True when the root holds at least one of spool/, rejected/, quarantine/, state.json."""
        names = ("spool", "rejected", "quarantine", "state.json")
        return self._root is not None and any(self._root.exists(n) for n in names)

    # --- listing -------------------------------------------------------------------------

    def pending(self) -> list[report.SpoolFile]:
        """Pending and leased events in spool/, oldest first; temp and unrelated names are left out."""
        files = []
        for entry in self._entries("spool"):
            kind = report.classify_spool_name(entry.name)
            if kind is None:
                continue
            if self._plain(entry, "spool"):
                files.append(self._file(kind[0], kind[1], "spool", entry))
        return sorted(files, key=lambda f: f.name)

    def rejected(self) -> list[report.SpoolFile]:
        """Dead letters in rejected/ (NAME.json, or NAME.json.1 when a name was taken)."""
        return [self._file(report.REJECTED, e.name, "rejected", e) for e in self._entries("rejected")
                if not e.name.startswith(".") and self._plain(e, "rejected")]

    def quarantined(self) -> list[report.SpoolFile]:
        """Quarantined files (original bytes); each one's reason is in `<name>.why.json` beside it."""
        return [self._file(report.QUARANTINED, e.name, "quarantine", e) for e in self._entries("quarantine")
                if not e.name.startswith(".") and not e.name.endswith(WHY_SUFFIX) and self._plain(e, "quarantine")]

    def why_names(self) -> list[str]:
        """The `.why.json` notes in quarantine/ that are plain files (purge deletes them with their file)."""
        return [e.name for e in self._entries("quarantine")
                if e.name.endswith(WHY_SUFFIX) and not e.name.startswith(".") and e.kind is Kind.FILE]

    def everything(self, include_all: bool) -> list[report.SpoolFile]:
        """Pending files, and with `include_all` dead letters and quarantine, in name order."""
        files = self.pending()
        if include_all:
            files += self.rejected() + self.quarantined()
            files.sort(key=lambda f: (f.name, f.state))
        return files

    def _entries(self, part: str) -> Iterator[Any]:
        folder = self._parts.get(part)
        if folder is None:
            return iter(())
        try:
            return iter(folder.entries())
        except OSError as exc:
            self.skipped.append(Skipped(part, Kind.FOLDER, f"not listed: {_reason(exc)}"))
            return iter(())

    def _plain(self, entry: Any, part: str) -> bool:
        """True for a regular file; anything else is noted as skipped (shown, never followed or opened)."""
        if entry.kind is Kind.FILE:
            return True
        self.skipped.append(Skipped(f"{part}/{entry.name}", entry.kind, describe(entry)))
        return False

    @staticmethod
    def _file(state: str, name: str, part: str, entry: Any) -> report.SpoolFile:
        return report.SpoolFile(state=state, name=name, path=f"{part}/{entry.name}", size=entry.size,
                                foreign_uid=entry.uid if entry.foreign else None)

    # --- reading ------------------------------------------------------------------------

    def read(self, path: str, max_bytes: int = MAX_READ_BYTES) -> tuple[bytes | None, str | None]:
        """The bytes of `part/name` (a path from a listed SpoolFile), or None and why."""
        part, _, name = path.partition("/")
        folder = self._parts.get(part)
        if folder is None:
            return None, f"{part}/ is not a readable folder"
        try:
            return folder.read(name, max_bytes), None
        except (OSError, ValueError) as exc:
            return None, _reason(exc)

    def load(self, item: report.SpoolFile) -> report.SpoolFile:
        """`item` with its bytes (and a quarantined file's `.why.json`) read, or why they could not be."""
        data, error = self.read(item.path)
        why = self.read(item.path + WHY_SUFFIX, MAX_READ_BYTES)[0] if item.state == report.QUARANTINED else None
        return replace(item, data=data, read_error=error, why=why)

    def state(self) -> tuple[Any, str | None]:
        """The raw state.json document and a problem description (None when fine or absent)."""
        if self._root is None:
            return None, None
        entry = self._root.lstat("state.json")
        if entry is None:
            return None, None
        if entry.kind is not Kind.FILE:
            self.skipped.append(Skipped("state.json", entry.kind, describe(entry)))
            return None, f"state.json unreadable: {describe(entry)}"
        try:
            data = self._root.read("state.json", MAX_STATE_BYTES)
        except (OSError, ValueError) as exc:
            return None, f"state.json unreadable: {_reason(exc)}"
        doc, problem = report.decode_json(data)
        if problem is None and not isinstance(doc, dict):
            problem = "not a JSON object"
        return (doc, None) if problem is None else (None, f"state.json ignored: {problem}")

    # --- deleting (purge, under the sender lock) ----------------------------------------

    def delete(self, path: str) -> bool:
        """Delete a listed plain file `part/name` inside the root; False when it was gone."""
        part, _, name = path.partition("/")
        folder = self._parts.get(part)
        if folder is None:
            return False
        entry = folder.lstat(name)
        if entry is None:
            return False
        if entry.kind is not Kind.FILE:  # swapped since it was listed: leave it, say so
            self.skipped.append(Skipped(path, entry.kind, describe(entry) + "; not deleted"))
            raise OSError(errno.EPERM, f"{path} is no longer a plain file")
        return folder.unlink(name)
