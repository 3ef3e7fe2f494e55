"""Where a spool root keeps its parts and how its files are named (DESIGN.md, "Spool root layout")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from telemetry_sender.recording import (
    LOCK_FILENAME, PENDING_SUFFIX, SPOOL_DIRNAME, STATE_FILENAME, FrozenValue, default_root,
)

# NAME.json -> NAME.json.<unix deadline>.<holder>.lease while a sender holds it; the holder
# names the drain that claimed it (older senders wrote NAME.json.<unix deadline>.lease).
LEASE_SUFFIX = ".lease"
# quarantine/NAME keeps its reason in quarantine/NAME.why.json.
WHY_SUFFIX = ".why.json"


class SpoolLayout(FrozenValue):
    """The paths under one spool root; building it touches no disk.

    A FrozenValue (telemetry_sender.recording), like the other values the wings share.
    """

    __slots__ = ("root",)
    root: Path

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> "SpoolLayout":
        """The contract location: <az config dir>/prototype/telemetry."""
        return cls(default_root(env))

    @classmethod
    def from_arg(cls, path: str | os.PathLike[str]) -> "SpoolLayout":
        """A layout for `--spool DIR`: DIR is the root, or the root's `spool/` folder."""
        p = Path(path).expanduser()
        if p.name == SPOOL_DIRNAME and not (p / SPOOL_DIRNAME).is_dir():
            return cls(p.parent)
        return cls(p)

    @property
    def spool(self) -> Path:
        return self.root / SPOOL_DIRNAME

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILENAME

    @property
    def log_file(self) -> Path:
        return self.root / "sender.log"

    @property
    def lock_file(self) -> Path:
        return self.root / LOCK_FILENAME


def is_pending_name(name: str) -> bool:
    """A pending event file (not a temp file, not a lease)."""
    return name.endswith(PENDING_SUFFIX) and not name.startswith(".")


def recorded_ns(name: str) -> int | None:
    """The recording time (ns since the epoch) encoded in a pending file name; None when absent."""
    stamp, dash, _ = name.partition("-")
    # isdecimal, not isdigit: int() refuses digit-like characters such as "²"
    return int(stamp) if dash and len(stamp) == 20 and stamp.isdecimal() else None


def lease_name(name: str, deadline: int, holder: str = "") -> str:
    """`NAME.json.<unix deadline>.<holder>.lease` (without a holder: `NAME.json.<deadline>.lease`)."""
    return f"{name}.{int(deadline)}{'.' + holder if holder else ''}{LEASE_SUFFIX}"


def _lease_parts(lease: str) -> tuple[str, int, str] | None:
    """(original name, deadline, holder or "") of a lease file name; None when it is not one."""
    if not lease.endswith(LEASE_SUFFIX):
        return None
    rest, _, last = lease[: -len(LEASE_SUFFIX)].rpartition(".")
    holder = ""
    if not last.isdecimal():
        holder = last
        rest, _, last = rest.rpartition(".")
        if not holder or not all(c.isascii() and (c.isalnum() or c == "-") for c in holder):
            return None
    if not rest or not last.isdecimal():
        return None
    return rest, int(last), holder


def parse_lease_name(lease: str) -> tuple[str, int] | None:
    """(original name, deadline) of a lease file name; None when it is not one."""
    parts = _lease_parts(lease)
    return (parts[0], parts[1]) if parts else None


def lease_holder(lease: str) -> str:
    """The holder named in a lease file name ("" for old-style leases and other names)."""
    parts = _lease_parts(lease)
    return parts[2] if parts else ""
