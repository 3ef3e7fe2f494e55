"""The few names the recorder's parts share (track, record, notice), and whether the story is wanted.

Loaded with the extension by track.py, so record.py and notice.py take these from here
instead of importing each other or the decorator.
"""

from __future__ import annotations

import logging
import os

TYPE_CHECKING = False  # typing is loaded by az; the annotation needs nothing at run time
if TYPE_CHECKING:
    from typing import Mapping

# The telemetry story's logger: az shows loggers under "cli." with --debug (knack.log.get_logger
# adds the same prefix); logging.getLogger imports nothing.
logger = logging.getLogger("cli.azext_prototype.telemetry")
# Set (to an az boolean) for one run: the recorder also echoes each envelope to stderr.
DEBUG_ENV_VAR = "AZ_PROTOTYPE_TELEMETRY_DEBUG"
# <az config dir>/prototype/<this>: made when the first-use notice was shown (notice.py).
NOTICE_MARKER = "telemetry-notice-shown"


def echo_wanted(env: Mapping[str, str]) -> bool:
    """AZ_PROTOTYPE_TELEMETRY_DEBUG=1 (or any az 'true') for one run: the envelope is echoed to stderr."""
    from telemetry_sender.recording import parse_az_bool  # loaded with the extension already

    return parse_az_bool(env.get(DEBUG_ENV_VAR, "")) is True


def story_wanted() -> bool:
    """True under `az --debug` or AZ_PROTOTYPE_TELEMETRY_DEBUG (an az boolean): then the recorder tells
    its story, "off" and its reason included.

    knack keeps its `cli` loggers at DEBUG on every run and filters in its handlers, so the
    handlers are asked, not the logger's level.
    """
    if echo_wanted(os.environ):
        return True
    node: logging.Logger | None = logger
    while node is not None:
        if any(handler.level <= logging.DEBUG for handler in node.handlers):
            return True
        node = node.parent if node.propagate else None
    return False
