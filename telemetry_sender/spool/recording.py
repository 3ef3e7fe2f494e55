"""The rules an az command needs to record one event, in the one small module it pays for.

Imported when the extension loads, so a command with telemetry off decides so without
importing anything: DO_NOT_TRACK, core.collect_telemetry and the connection string's
presence. On the recording path it gives the spool's place and file names and the
private, atomic write. The wings import these rules from here (settings, layout, the
sender and support tools): one copy of each. Standard library only; no regular
expressions, dataclasses or enums, which cost import time az has not paid yet.
"""

from __future__ import annotations

import json
import os
import stat
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path  # az has loaded these (and fcntl) before any command runs

from telemetry_sender.protocol import BACKOFF_CAP_SECONDS, CONNECTION_STRING_ENV_VARS, RETRY_AFTER_CAP_SECONDS

TYPE_CHECKING = False  # typing is loaded by az, but not by every caller of this module
if TYPE_CHECKING:
    from typing import Any, Mapping

# --- Opt-out and connection string (DESIGN.md, "Contract — configuration") -------------

DO_NOT_TRACK_ENV_VAR = "DO_NOT_TRACK"
COLLECT_ENV_VAR = "AZURE_CORE_COLLECT_TELEMETRY"
# Set by release builds; empty in source builds, so a source checkout sends nothing
# unless a connection string is given in the environment.
BUILT_IN_CONNECTION_STRING = ""
BUILT_IN_SOURCE = "built-in"
# knack's booleans (what `az config` accepts), any case.
_TRUE = frozenset({"1", "yes", "true", "on"})
_FALSE = frozenset({"0", "no", "false", "off"})


def parse_az_bool(value: str) -> bool | None:
    """az's boolean spelling (yes/no, true/false, on/off, 1/0, any case); None when unrecognized."""
    folded = value.strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    return None


def do_not_track(env: Mapping[str, str]) -> bool:
    """DO_NOT_TRACK disables on any non-empty value other than 0 (consoledonottrack.com)."""
    value = env.get(DO_NOT_TRACK_ENV_VAR, "").strip()
    return bool(value) and value != "0"


def raw_connection_string(env: Mapping[str, str]) -> tuple[str, str]:
    """The first non-empty connection string and where it came from ("", "" when none)."""
    for name in CONNECTION_STRING_ENV_VARS:
        value = env.get(name, "")
        if value.strip():
            return value, name
    if BUILT_IN_CONNECTION_STRING.strip():
        return BUILT_IN_CONNECTION_STRING, BUILT_IN_SOURCE
    return "", ""


def surely_off(env: Mapping[str, str], collect_telemetry: str | None) -> bool:
    """True when telemetry is off whatever else is found: the check a command pays when it is.

    `collect_telemetry` is core.collect_telemetry as az resolved it (None: not set, or not
    known here); its environment form wins, as in az. Only an answer of "on" needs the full
    decision (settings.resolve_settings), which also reads the config file and parses the
    connection string.
    """
    if do_not_track(env):
        return True
    collect_telemetry = env.get(COLLECT_ENV_VAR) or collect_telemetry
    if collect_telemetry is not None and collect_telemetry.strip() and parse_az_bool(collect_telemetry) is not True:
        return True
    return not raw_connection_string(env)[0]


# --- Where the spool lives and how its files are named (DESIGN.md, "Spool root layout") ---

SPOOL_DIRNAME = "spool"
PENDING_SUFFIX = ".json"
# Temporary files of an atomic write start with a dot and end here.
TEMP_SUFFIX = ".tmp"


def az_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The az configuration folder, as azure-cli-core resolves it."""
    env = os.environ if env is None else env
    configured = env.get("AZURE_CONFIG_DIR")
    return Path(os.path.expanduser(configured)) if configured else Path(os.path.expanduser("~")) / ".azure"


def default_root(env: Mapping[str, str] | None = None) -> Path:
    """The contract location of the spool root: <az config dir>/prototype/telemetry."""
    return az_config_dir(env) / "prototype" / "telemetry"


def new_event_filename(now_ns: int | None = None) -> str:
    """`<20-digit ns timestamp>-<random>.json`: unique, and lexical order is recording order."""
    stamp = time.time_ns() if now_ns is None else now_ns
    return f"{stamp:020d}-{os.urandom(6).hex()}{PENDING_SUFFIX}"


# --- Private, atomic files ------------------------------------------------------------------
# Files are created 0600 with O_EXCL in a 0700 folder the user owns, then renamed into place,
# so a reader never sees half a file and no other user can read or plant one. Symlinks are
# never followed.

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
    temp = path.parent / (temp_name or f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}{TEMP_SUFFIX}")
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


def decode_text(data: bytes, errors: str = "strict") -> str:
    """UTF-8 with an optional BOM (files a Windows editor saved), without loading the utf-8-sig codec
    (its first use imports a module: time every az command would pay)."""
    return data[3:].decode("utf-8", errors) if data.startswith(b"\xef\xbb\xbf") else data.decode("utf-8", errors)


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


def write_envelope(root: Path, envelope: Mapping[str, Any], now_ns: int | None = None) -> Path:
    """Persist one envelope in `<root>/spool/`, exactly as it will be sent, atomically and privately."""
    ensure_private_dir(root)
    folder = ensure_private_dir(root / SPOOL_DIRNAME)
    name = new_event_filename(now_ns)
    data = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return write_private_atomic(folder / name, data, temp_name=f".{name}{TEMP_SUFFIX}")


# --- "Not before T": the backoff a command honours before it starts a sender ----------------

STATE_FILENAME = "state.json"
MAX_STATE_BYTES = 64 * 1024  # far more than a sender ever writes; a bigger state.json is not read


def endpoint_id(endpoint: str, instrumentation_key: str) -> str:
    """Names an ingestion endpoint and key without writing the key: `<endpoint>#<crc32 of key>`."""
    import zlib  # az has it loaded when a command runs; not needed to decide "off"

    return f"{endpoint.rstrip('/')}#{zlib.crc32(instrumentation_key.encode('utf-8')):08x}"


def parse_time(text: object) -> datetime | None:
    """Parse our ISO form (or any fromisoformat-able UTC text) to an aware datetime; None when absent or bad."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def backing_off(state: Mapping[str, Any], now: datetime, endpoint: str | None = None) -> bool:
    """True while the saved backoff says "not before T" and T is still ahead.

    With `endpoint`, only a backoff written for that endpoint (or by a sender too old to
    say) counts: a changed connection string starts fresh. A T further ahead than any wait a
    sender writes (a clock that was wrong, an edited file) is ignored: it must not stop
    automatic sending for days.
    """
    if endpoint is not None and state.get("endpoint") not in (None, endpoint):
        return False
    not_before = parse_time(state.get("next_attempt"))
    longest = timedelta(seconds=max(BACKOFF_CAP_SECONDS, RETRY_AFTER_CAP_SECONDS))
    return not_before is not None and now < not_before <= now + longest


def read_saved_state(root: Path) -> dict[str, Any]:
    """state.json as saved (an empty dict when missing, unreadable or not an object): untrusted, read with .get."""
    try:
        saved = json.loads(read_regular_file(root / STATE_FILENAME, MAX_STATE_BYTES))
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


# --- One sender per spool: the lock a command probes before it starts one -----------------
# Hand-written on fcntl/msvcrt rather than portalocker: the recorder probes it on every
# command and portalocker costs about 28 ms to import (measured here).
LOCK_FILENAME = "sender.lock"

if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt  # pylint: disable=import-error  # Windows only

    def lock_nonblocking(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def lock_nonblocking(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def is_held(path: Path) -> bool:
    """True when another process holds the lock; never creates the file."""
    try:
        fd = os.open(path, os.O_RDWR | NOFOLLOW | NONBLOCK)
    except OSError:
        return False
    try:
        if lock_nonblocking(fd):
            unlock(fd)
            return False
        return True
    finally:
        os.close(fd)


def sender_due(root: Path, endpoint: str | None, now: datetime | None = None) -> bool:
    """Should this command start a sender? Not while one holds the lock, nor while the
    service's "not before T" for this endpoint stands (spool.state writes it)."""
    if is_held(root / LOCK_FILENAME):
        return False
    return not backing_off(read_saved_state(root), now or datetime.now(timezone.utc), endpoint)
