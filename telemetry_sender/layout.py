"""Where a spool root keeps its parts (DESIGN.md, "Spool root layout")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from telemetry_sender.values import FrozenValue

SPOOL_DIRNAME = "spool"
PENDING_SUFFIX = ".json"
# NAME.json -> NAME.json.<unix deadline>.lease while a sender holds it.
LEASE_SUFFIX = ".lease"
# Temporary files of an atomic write start with a dot and end here.
TEMP_SUFFIX = ".tmp"
# quarantine/NAME keeps its reason in quarantine/NAME.why.json.
WHY_SUFFIX = ".why.json"


def az_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The az configuration folder, as azure-cli-core resolves it."""
    env = os.environ if env is None else env
    configured = env.get("AZURE_CONFIG_DIR")
    return Path(os.path.expanduser(configured)) if configured else Path(os.path.expanduser("~")) / ".azure"


class SpoolLayout(FrozenValue):
    """The paths under one spool root; building it touches no disk.

    A FrozenValue, not a dataclass: it is defined on every az command (see values.py).
    """

    __slots__ = ("root",)
    root: Path

    @classmethod
    def default(cls, env: Mapping[str, str] | None = None) -> "SpoolLayout":
        """The contract location: <az config dir>/prototype/telemetry."""
        return cls(az_config_dir(env) / "prototype" / "telemetry")

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
        return self.root / "state.json"

    @property
    def log_file(self) -> Path:
        return self.root / "sender.log"

    @property
    def lock_file(self) -> Path:
        return self.root / "sender.lock"
