"""The detached sender's own log: a rotating file in the spool root, 2 MiB in all, no payload values.

The file is opened like every other spool file: never through a symlink (RotatingFileHandler
would append to whatever a planted `sender.log` link points at), never blocking on a FIFO,
mode 0600.
"""

from __future__ import annotations

import errno
import logging
import logging.handlers
import os
import stat
from pathlib import Path
from typing import IO

from telemetry_sender.recording import FILE_MODE, NOFOLLOW, NONBLOCK
from telemetry_sender.protocol import LOG_CAP_BYTES
from telemetry_sender.text import printable

_FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | NOFOLLOW | NONBLOCK


def open_private_log(path: Path, encoding: str | None = "utf-8", errors: str | None = None) -> IO[str]:
    """Open `path` for appending as a private regular file; a symlink in its place is removed, not followed."""
    try:
        fd = os.open(path, _FLAGS, FILE_MODE)
    except OSError as exc:
        if exc.errno != errno.ELOOP and not os.path.islink(path):
            raise
        os.unlink(path)  # the link itself, never its target
        fd = os.open(path, _FLAGS | os.O_EXCL, FILE_MODE)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, f"{path} is not a regular file")
        if hasattr(os, "fchmod") and stat.S_IMODE(st.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, "a", encoding=encoding, errors=errors)
    except BaseException:
        os.close(fd)
        raise


class EscapingFormatter(logging.Formatter):
    """One record, one line: control characters in the message (a file name from a spool) are escaped.

    A name holding a newline could otherwise write a forged record into sender.log;
    traceback lines are indented so that none of them can pass for a record either.
    """

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_text  # another handler may have cached its own, unescaped traceback text
        record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_text = saved

    def formatMessage(self, record: logging.LogRecord) -> str:  # logging's name
        return printable(super().formatMessage(record))

    def formatException(self, ei) -> str:  # logging's name
        return "\n".join("    " + printable(line) for line in super().formatException(ei).splitlines())

    def formatStack(self, stack_info: str) -> str:  # logging's name
        return "\n".join("    " + printable(line) for line in stack_info.splitlines())


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """RotatingFileHandler that opens its file with `open_private_log`."""

    def _open(self) -> IO[str]:
        return open_private_log(Path(self.baseFilename), self.encoding, self.errors)


def setup_sender_log(path: Path, level: int = logging.INFO) -> logging.Handler:
    """Send the root logger to `path` (two files of half the cap each); returns the handler."""
    handler = _PrivateRotatingFileHandler(
        path, maxBytes=LOG_CAP_BYTES // 2, backupCount=1, encoding="utf-8", delay=True
    )
    handler.setFormatter(EscapingFormatter(_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # urllib3 logs request lines (URLs) at debug level; keep it to warnings.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    return handler
