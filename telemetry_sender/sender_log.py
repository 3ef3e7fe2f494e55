"""The detached sender's own log: a rotating file in the spool root, 2 MiB in all, no payload values."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from telemetry_sender.protocol import LOG_CAP_BYTES

_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"


def setup_sender_log(path: Path, level: int = logging.INFO) -> logging.Handler:
    """Send the root logger to `path` (two files of half the cap each); returns the handler."""
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=LOG_CAP_BYTES // 2, backupCount=1, encoding="utf-8", delay=True
    )
    handler.setFormatter(logging.Formatter(_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # urllib3 logs request lines (URLs) at debug level; keep it to warnings.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return handler
