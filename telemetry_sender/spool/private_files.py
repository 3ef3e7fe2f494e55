"""Private, atomic file primitives shared by the recorder and the sender.

Files are created 0600 with O_EXCL in a 0700 folder the user owns, then renamed
into place, so a reader never sees half a file and no other user can read or
plant one. Symlinks are never followed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
# os.open flags that exist on some platforms only (0 elsewhere), for every spool file opened.
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # a symlink fails to open (ELOOP) instead of being followed
BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
# Opening a FIFO for reading blocks until a writer appears; non-blocking, it returns at once
# and an S_ISREG check then refuses it. No effect on regular files.
NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class UnsafePathError(OSError):
    """A spool path is a symlink, not a folder, or owned by someone else."""


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and parents) as needed; refuse symlinks and foreign owners; force 0700.

    Missing parents are made 0700 too (os.makedirs would give them the umask's mode,
    0777 under umask 000); parents that already exist are left as they are.
    """
    missing = []
    probe = Path(path)
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            pass
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise UnsafePathError(f"{path} is not a real directory")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise UnsafePathError(f"{path} is owned by another user")
    if hasattr(os, "chmod") and stat.S_IMODE(st.st_mode) != DIR_MODE and os.name != "nt":
        os.chmod(path, DIR_MODE)
    return path


def write_private_atomic(path: Path, data: bytes, temp_name: str | None = None) -> Path:
    """Write `data` to `path` through an exclusive 0600 temp file and an atomic rename."""
    temp = path.parent / (temp_name or f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | BINARY, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise
    return path


def read_regular_file(path: Path, max_bytes: int, follow_symlinks: bool = False) -> bytes:
    """Read a regular file (never blocking on a FIFO or device); refuse anything over `max_bytes`.

    Symlinks are refused unless `follow_symlinks` (for the user's own inputs such as az's config).
    """
    fd = os.open(path, os.O_RDONLY | NONBLOCK | (0 if follow_symlinks else NOFOLLOW) | BINARY)
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePathError(f"{path} is not a regular file")
        if st.st_size > max_bytes:
            raise ValueError(f"{path} is {st.st_size} bytes, over the {max_bytes} byte limit")
        return handle.read(max_bytes + 1)
