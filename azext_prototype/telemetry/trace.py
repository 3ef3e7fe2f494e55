"""The telemetry story of one command, told through az's own logging (`az ... --debug`).

Each command logs one to three debug lines under az's `cli.` logger namespace: whether
telemetry is on and why, the spool file written, the sender started (pid) or why not.
Nothing is logged above debug level. AZ_PROTOTYPE_TELEMETRY_DEBUG=1 also echoes the
exact envelope to stderr (`echo`), for a user who wants to see what is sent.
"""

from __future__ import annotations

import logging

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, TextIO

# az shows loggers under "cli." with --debug (knack.log.get_logger adds the same prefix);
# logging.getLogger costs nothing, knack is not imported for it.
logger = logging.getLogger("cli.azext_prototype.telemetry")
ECHO_PREFIX = "az prototype telemetry: "


class Tracer:
    """Debug lines for one recording; with `echo`, the same story and the envelope on a stream."""

    __slots__ = ("echo",)

    def __init__(self, echo: TextIO | None = None) -> None:
        self.echo = echo

    def _say(self, title: str, payload: Any = None) -> None:
        if self.echo is None:
            return
        text = ECHO_PREFIX + title + "\n"
        if payload is not None:
            import json

            text += json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
        self.echo.write(text)
        self.echo.flush()

    def off(self, reason: str) -> None:
        """Telemetry is off: nothing is written or started."""
        logger.debug("telemetry off (%s): nothing recorded", reason)
        self._say(f"disabled ({reason}); nothing recorded")

    def recording(self, envelope: Any) -> None:
        """The envelope about to be written (echo only: az's log never carries payload values)."""
        self._say("recording event", envelope)

    def not_written(self, error: OSError) -> None:
        """The spool refused the event; the command goes on."""
        logger.debug("telemetry on, but the event was not written (%s)", type(error).__name__)
        self._say(f"not written: {type(error).__name__}: {error.strerror or error}")

    def written(self, source: str, path: Path, sender: str) -> None:
        """The event is in the spool; `sender` says whether a sender was started."""
        logger.debug("telemetry on (connection string from %s): event written to %s", source or "?", path)
        logger.debug("telemetry %s", sender)
        self._say(f"written to {path}; {sender}")

    def notice_shown(self, marker: Path) -> None:
        """The first-use notice went to stderr; the marker keeps it from showing again."""
        logger.debug("telemetry first-use notice shown; marker %s", marker)
