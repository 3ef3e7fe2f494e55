"""The first-use notice: the first command that records an event on a machine says so, once.

Printed to stderr (scripts parse stdout), only after an event was written (never when
telemetry is off), and only by the process that created the marker file
`<az config dir>/prototype/telemetry-notice-shown` (0600, O_EXCL, no symlink followed),
so parallel first commands print it once between them.
"""

from __future__ import annotations

import os

from azext_prototype.telemetry.names import NOTICE_MARKER as MARKER_NAME

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import TextIO

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

NOTICE = (
    "az prototype collects usage telemetry: for each command, its name, its parameters (sanitized),\n"
    "success or the error (names and secrets scrubbed), the AI provider and model, the Azure region,\n"
    "resource type and SKU, the extension version, your Azure tenant id and the project's random id.\n"
    "It never collects subscription ids, resource names, tags, e-mail addresses or your content.\n"
    "Every field:\n"
    "{details}\n"
    "Opt out: 'az config set core.collect_telemetry=no', or set DO_NOT_TRACK=1.\n"
    "See what waits to be sent: 'az prototype telemetry show'. (This notice is shown once.)\n"
)


def details_path() -> str:
    """The TELEMETRY.md shipped inside the extension, the document the notice points to."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "TELEMETRY.md")


def claim_marker(marker: Path) -> bool:
    """True when this call created the marker (the notice is ours to show); False if it exists or cannot be made."""
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    except OSError:
        return False  # shown before (or a planted file or link); an unwritable folder: do not nag every run
    os.close(fd)
    return True


def show_once(prototype_dir: Path, stream: TextIO) -> Path | None:
    """Print the notice to `stream` if no command on this machine has; the marker path when printed."""
    marker = prototype_dir / MARKER_NAME
    if os.path.lexists(marker) or not claim_marker(marker):
        return None
    stream.write(NOTICE.format(details=details_path()))
    stream.flush()
    return marker
