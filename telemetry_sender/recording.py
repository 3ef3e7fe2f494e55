"""The one module an az command needs from this package to record an event: the hot path's floor.

Loaded with the extension, so "off" is decided without importing anything, and a recording
command finds here all else it needs from telemetry_sender: the decision's rules, the
spool's place and names, the private atomic write, the envelope's shape, and the sender
lock with the backoff check. The wings import these rules from here: one copy of each.
Standard library only, os calls on text paths (pathlib objects, regexes, dataclasses and
enums cost import and call time az has not paid yet).
"""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path  # az has loaded these (and fcntl, urllib.parse) before any command runs

from telemetry_sender.protocol import (
    BACKOFF_CAP_SECONDS, BASE_DATA_VERSION, BASE_TYPE, CLOUD_ROLE, CONNECTION_STRING_ENV_VARS,
    CONNECTION_STRING_MAX_CHARS, DEFAULT_INGESTION_ENDPOINT, ENVELOPE_NAME, EVENT_NAME, MAX_PROPERTY_KEY_CHARS,
    MAX_PROPERTY_VALUE_CHARS, RETRY_AFTER_CAP_SECONDS, SDK_NAME, SDK_VERSION_MAX_CHARS,
)

TYPE_CHECKING = False  # typing is loaded by az, but not by every caller of this module
if TYPE_CHECKING:
    from typing import Any, Mapping, Union

    PathLike = Union[str, "os.PathLike[str]"]  # the hot path passes text; the wings pass Paths


class FrozenValue:
    """Base for immutable values (declare `__slots__` in field order, optional `_defaults`).

    Hand-made rather than a frozen dataclass, which costs about 0.5 ms to define inside az.
    """

    __slots__ = ()
    _defaults: dict[str, Any] = {}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = self.__slots__
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes {len(names)} values, got {len(args)}")
        values = dict(zip(names, args))
        for key, value in kwargs.items():
            if key not in names or key in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated field {key!r}")
            values[key] = value
        for name in names:
            if name not in values and name not in self._defaults:
                raise TypeError(f"{type(self).__name__}: missing field {name!r}")
            object.__setattr__(self, name, values[name] if name in values else self._defaults[name])

    def __setattr__(self, name: str, value: Any = None) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    __delattr__ = __setattr__

    def astuple(self) -> tuple:  # the field values in declaration order
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.astuple() == self.astuple()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.astuple()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{n}={getattr(self, n)!r}' for n in self.__slots__)})"


# --- Opt-out (DESIGN.md, "Contract — configuration" and "— details") ---------------------

DO_NOT_TRACK_ENV_VAR = "DO_NOT_TRACK"
COLLECT_ENV_VAR = "AZURE_CORE_COLLECT_TELEMETRY"
# Set by release builds; empty in source builds, so a source checkout sends nothing
# unless a connection string is given in the environment.
BUILT_IN_CONNECTION_STRING = ""
BUILT_IN_SOURCE = "built-in"
_TRUE = frozenset({"1", "yes", "true", "on"})  # knack's booleans (what `az config` accepts), any case
_FALSE = frozenset({"0", "no", "false", "off"})


def parse_az_bool(value: str) -> bool | None:
    """az's boolean spelling (yes/no, true/false, on/off, 1/0, any case); None when unrecognized."""
    folded = value.strip().lower()
    return True if folded in _TRUE else False if folded in _FALSE else None


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

    `collect_telemetry` is core.collect_telemetry as az resolved it (None: not set, or not known
    here); its environment form wins, as in az. "On" also needs a connection string (one that does
    not parse turns telemetry off later, in recording_connection).
    """
    if do_not_track(env):
        return True
    collect_telemetry = env.get(COLLECT_ENV_VAR) or collect_telemetry
    if collect_telemetry is not None and collect_telemetry.strip() and parse_az_bool(collect_telemetry) is not True:
        return True
    return not raw_connection_string(env)[0]


# --- The connection string (PROTOCOL.md, "Endpoint and connection string") ------------------
# Tolerant of the sloppy forms seen in the wild (empty segments, spaces, `=` inside values);
# strict where a mistake would send data somewhere unintended.

class ConnectionStringError(ValueError):
    """The connection string cannot be used; the message says why, for `status`."""


class ConnectionString(FrozenValue):  # pylint: disable=too-few-public-methods  # a value: fields, no behaviour
    """The two parts the sender needs: where to POST and which resource it is for."""

    __slots__ = ("instrumentation_key", "ingestion_endpoint")
    instrumentation_key: str
    ingestion_endpoint: str


def _pairs(text: str) -> dict[str, str]:
    """Split `k=v;k=v` into lower-cased keys; reject segments without `=` and duplicate keys."""
    pairs: dict[str, str] = {}
    for number, segment in enumerate(text.split(";"), start=1):
        key, sep, value = segment.strip().partition("=")
        key = key.strip()
        if not (sep or key):
            continue  # an empty segment
        if not sep or not key:
            raise ConnectionStringError(f"segment {number} is not of the form Key=Value")
        if key.lower() in pairs:
            raise ConnectionStringError(f"duplicate key {key!r}")
        pairs[key.lower()] = value.strip()
    return pairs


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, localhost and ::1: the only hosts allowed over plain http."""
    host = host.lower().rstrip(".")
    parts = host.split(".")
    return host in ("localhost", "::1") or (
        len(parts) == 4 and parts[0] == "127" and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts)
    )


def check_endpoint(endpoint: str) -> str:
    """Return `endpoint` when it is https://, or http:// to a loopback host; raise otherwise."""
    from urllib.parse import urlsplit  # loaded by az already; not needed to decide "off"

    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        _ = parts.port  # reading it raises ValueError on a malformed port
    except ValueError as exc:
        raise ConnectionStringError(f"IngestionEndpoint is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if not host or scheme not in ("https", "http"):
        raise ConnectionStringError("IngestionEndpoint must be an absolute https:// URL")
    if scheme == "http" and not is_loopback_host(host):
        raise ConnectionStringError("IngestionEndpoint must use https:// (plain http:// only for loopback hosts)")
    return endpoint


def parse_connection_string(text: str) -> ConnectionString:
    """Parse and validate `text`: IngestionEndpoint, else https://[<Location>.]dc.<EndpointSuffix>,
    else the default endpoint. Raises ConnectionStringError with a message fit for `status`."""
    if not isinstance(text, str):
        raise ConnectionStringError("connection string must be text")
    if len(text) > CONNECTION_STRING_MAX_CHARS:
        raise ConnectionStringError(f"longer than {CONNECTION_STRING_MAX_CHARS} characters")
    pairs = _pairs(text)
    ikey = pairs.get("instrumentationkey", "")
    if not ikey:
        raise ConnectionStringError("InstrumentationKey is missing")
    endpoint, suffix = pairs.get("ingestionendpoint"), pairs.get("endpointsuffix", "").strip(".")
    if not endpoint and suffix:
        location = pairs.get("location", "").strip(".")
        endpoint = f"https://{location + '.' if location else ''}dc.{suffix}"
    return ConnectionString(ikey, check_endpoint(endpoint) if endpoint else DEFAULT_INGESTION_ENDPOINT)


def recording_connection(env: Mapping[str, str], collect_telemetry: str | None) -> tuple[ConnectionString, str] | None:
    """(connection string, its source) when this command records; None when telemetry is off.

    The same rules as settings.resolve_settings, without its reasons (status and
    `--debug` ask it why); `collect_telemetry` as in surely_off.
    """
    if surely_off(env, collect_telemetry):
        return None
    raw, source = raw_connection_string(env)
    try:
        return parse_connection_string(raw), source
    except ConnectionStringError:
        return None


# --- Where the spool lives and how its files are named (DESIGN.md, "Spool root layout") ---

SPOOL_DIRNAME = "spool"
PENDING_SUFFIX = ".json"
TEMP_SUFFIX = ".tmp"  # temporary files of an atomic write start with a dot and end here
STATE_FILENAME = "state.json"
LOCK_FILENAME = "sender.lock"


def config_dir_text(env: Mapping[str, str]) -> str:
    """The az configuration folder, as azure-cli-core resolves it (text, for the hot path)."""
    return os.path.expanduser(env.get("AZURE_CONFIG_DIR") or os.path.join("~", ".azure"))


def spool_root_text(config_dir: str) -> str:
    """The contract location of the spool root in an az config folder: <dir>/prototype/telemetry."""
    return os.path.join(config_dir, "prototype", "telemetry")


def default_root(env: Mapping[str, str] | None = None) -> Path:
    """The spool root of az's configuration folder (spool_root_text), as a Path."""
    return Path(spool_root_text(config_dir_text(os.environ if env is None else env)))


def new_event_filename(now_ns: int | None = None) -> str:
    """`<20-digit ns timestamp>-<random>.json`: unique, and lexical order is recording order."""
    from time import time_ns  # not `import time`: build_envelope's `time` is the event's

    return f"{time_ns() if now_ns is None else now_ns:020d}-{os.urandom(6).hex()}{PENDING_SUFFIX}"


# --- Private, atomic files ------------------------------------------------------------------
# Files are created 0600 with O_EXCL in a 0700 folder the user owns, then renamed into place,
# so a reader never sees half a file and no other user can read or plant one. Symlinks are
# never followed.

DIR_MODE = 0o700
FILE_MODE = 0o600
# os.open flags that exist on some platforms only (0 elsewhere), for every spool file opened.
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # a symlink fails to open (ELOOP) instead of being followed
BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once (S_ISREG then refuses it), not when written to


class UnsafePathError(OSError):
    """A spool path is a symlink, not a folder, or owned by someone else."""


def ensure_private_dir(path: PathLike) -> PathLike:
    """Create `path` (and parents) as needed; refuse symlinks and foreign owners; force 0700.
    Missing parents are made 0700 too (os.makedirs would give them the umask's mode, 0777 under
    umask 000); parents that already exist are left as they are."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        missing, probe = [], os.fspath(path)
        while not os.path.lexists(probe) and os.path.dirname(probe) != probe:
            missing.append(probe)
            probe = os.path.dirname(probe)
        for folder in reversed(missing):
            try:
                os.mkdir(folder, DIR_MODE)
            except FileExistsError:
                pass
        st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):  # a symlink's lstat is not a folder
        raise UnsafePathError(f"{path} is not a real directory")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise UnsafePathError(f"{path} is owned by another user")
    if stat.S_IMODE(st.st_mode) != DIR_MODE and os.name != "nt":
        os.chmod(path, DIR_MODE)
    return path


def write_private_atomic(
    path: PathLike, data: bytes, temp_name: str | None = None, dir_fd: int | None = None,
) -> PathLike:
    """Write `data` to `path` (relative to the open folder `dir_fd`) via an exclusive 0600 temp file and a rename."""
    folder, name = os.path.split(os.fspath(path))
    temp = os.path.join(folder, temp_name or f".{name}.{os.getpid()}.{os.urandom(4).hex()}{TEMP_SUFFIX}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | BINARY | CLOEXEC, FILE_MODE, dir_fd=dir_fd)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(temp, path, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        try:
            os.unlink(temp, dir_fd=dir_fd)
        except OSError:
            pass
        raise
    return path


def decode_text(data: bytes, errors: str = "strict") -> str:
    """UTF-8 with an optional BOM (files a Windows editor saved), without loading the utf-8-sig codec
    (its first use imports a module: time every az command would pay)."""
    return data[3:].decode("utf-8", errors) if data.startswith(b"\xef\xbb\xbf") else data.decode("utf-8", errors)


def read_regular_file(path: PathLike, max_bytes: int, follow_symlinks: bool = False) -> bytes:
    """Read a regular file (never blocking on a FIFO or device); refuse anything over `max_bytes`.
    Symlinks are refused unless `follow_symlinks` (for the user's own inputs such as az's config)."""
    fd = os.open(path, os.O_RDONLY | NONBLOCK | (0 if follow_symlinks else NOFOLLOW) | BINARY | CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafePathError(f"{path} is not a regular file")
        if st.st_size > max_bytes:
            raise ValueError(f"{path} is {st.st_size} bytes, over the {max_bytes} byte limit")
        chunks, size, want = [], 0, min(st.st_size, max_bytes) + 1  # a file that grew is read on, to the limit
        while size <= max_bytes and (chunk := os.read(fd, want)):
            chunks.append(chunk)
            size += len(chunk)
            want = max_bytes + 1 - size
        return b"".join(chunks)
    finally:
        os.close(fd)


# --- The envelope (PROTOCOL.md, "Envelope of a custom event"; DESIGN.md, "Contract — the event") ---
# Exactly what is spooled and sent; the data dictionary's keys. Tags carry only the cloud role,
# the SDK version and the application version, never host, device, user or session
# identifiers. The sender's side (cutting a read envelope to these keys) is spool.envelope.

PROPERTY_KEYS = (  # TELEMETRY.md, "Data dictionary" (`error` only on failure), plus eventId
    "tenantId", "projectId", "commandName", "parameters", "provider", "model", "resourceType",
    "location", "sku", "extensionVersion", "success", "error", "timestamp", "eventId",
)
MEASUREMENT_KEYS = ("durationMs",)
TAG_KEYS = ("ai.cloud.role", "ai.internal.sdkVersion", "ai.application.ver")


def sdk_version_tag(version: str) -> str:
    """`NAME:SEMVER`, at most 64 characters (PROTOCOL.md)."""
    return f"{SDK_NAME}:{version}"[:SDK_VERSION_MAX_CHARS]


def build_envelope(
    properties: Mapping[str, str], measurements: Mapping[str, float], *, instrumentation_key: str, time: str,
    version: str,
) -> dict[str, Any]:
    """One `Microsoft.ApplicationInsights.Event` envelope; `time` is the event's ISO 8601 UTC time."""
    tags = dict(zip(TAG_KEYS, (CLOUD_ROLE, sdk_version_tag(version), version)))
    keys, values = MAX_PROPERTY_KEY_CHARS, MAX_PROPERTY_VALUE_CHARS
    base = {"ver": BASE_DATA_VERSION, "name": EVENT_NAME,
            "properties": {str(k)[:keys]: str(v)[:values] for k, v in properties.items()},
            "measurements": {str(k)[:keys]: float(v) for k, v in measurements.items()}}
    return {"name": ENVELOPE_NAME, "time": time, "iKey": instrumentation_key, "tags": tags,
            "data": {"baseType": BASE_TYPE, "baseData": base}}


def write_envelope(root: PathLike, envelope: Mapping[str, Any], now_ns: int | None = None) -> str:
    """Persist one envelope in `<root>/spool/`, exactly as it will be sent, atomically and privately; its path."""
    ensure_private_dir(root)
    folder = ensure_private_dir(os.path.join(root, SPOOL_DIRNAME))
    name = new_event_filename(now_ns)
    data = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return write_private_atomic(os.path.join(folder, name), data, temp_name=f".{name}{TEMP_SUFFIX}")


# --- "Not before T": the backoff a command honours before it starts a sender ----------------

MAX_STATE_BYTES = 64 * 1024  # far more than a sender ever writes; a bigger state.json is not read


def endpoint_id(endpoint: str, instrumentation_key: str) -> str:
    """Names an ingestion endpoint and key without writing the key: `<endpoint>#<crc32 of key>`."""
    import zlib  # az has it loaded when a command runs; not needed to decide "off"

    return f"{endpoint.rstrip('/')}#{zlib.crc32(instrumentation_key.encode('utf-8')):08x}"


# Years a clock could show: a planted 9999 must not overflow arithmetic on it, nor a year under
# 1000 (strftime writes it without its leading zeros) fail to read back once written.
PLAUSIBLE_YEARS = range(1900, 9000)


def parse_time(text: object) -> datetime | None:
    """Our ISO form (or any fromisoformat-able text; no offset = UTC) as a UTC datetime; None when absent or bad."""
    if not isinstance(text, str) or not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        parsed = parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.year in PLAUSIBLE_YEARS else None


def backing_off(state: Mapping[str, Any], now: datetime, endpoint: str | None = None) -> bool:
    """True while the saved backoff says "not before T" and T is still ahead.

    With `endpoint`, only a backoff written for that endpoint (or by a sender too old to say)
    counts: a changed connection string starts fresh. A T further ahead than any wait a sender
    writes (a wrong clock, an edited file) is ignored: it must not stop sending for days.
    """
    if endpoint is not None and state.get("endpoint") not in (None, endpoint):
        return False
    not_before = parse_time(state.get("next_attempt"))
    longest = timedelta(seconds=max(BACKOFF_CAP_SECONDS, RETRY_AFTER_CAP_SECONDS))
    return not_before is not None and now < not_before <= now + longest


def read_saved_state(path: PathLike) -> dict[str, Any]:
    """The state.json at `path` as saved ({} when missing, unreadable or not an object): untrusted, read with .get."""
    try:
        saved = json.loads(read_regular_file(path, MAX_STATE_BYTES))
    except (OSError, ValueError, RecursionError):  # RecursionError: a planted file of nested brackets
        return {}
    return saved if isinstance(saved, dict) else {}


# --- One sender per spool: the lock (portalocker costs ~28 ms to import; the recorder takes it) ---
# lock_nonblocking(fd) takes the lock now or returns False (a loser never waits); unlock(fd) releases it.

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


def same_file(fd: int, path: PathLike) -> bool:
    """True when `fd` is the regular file now at `path` (not one set aside or replaced meanwhile)."""
    held = os.fstat(fd)
    try:
        current = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(held.st_mode) and (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino)


def acquire_lock_fd(path: PathLike, attempts: int = 3) -> int | None:
    """The descriptor of the lock taken at once, or None: a loser never waits. Raises OSError when
    `path` is no usable lock file (a symlink, a folder, another non-file): see spool.repair. A lock
    taken on a file that was replaced meanwhile does not count: two holders never lock two files.
    """
    for _ in range(attempts):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | NOFOLLOW | NONBLOCK | CLOEXEC, FILE_MODE)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise IsADirectoryError(f"{os.path.basename(path)} is not a regular file")
            held = lock_nonblocking(fd)
            if held and same_file(fd, path):
                return fd
            if held:
                unlock(fd)  # a file replaced meanwhile: let it go and try the path again
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
        if not held:
            return None
    return None


def claim_sender_lock(root: PathLike, endpoint: str | None, now: datetime | None = None) -> int | None:
    """The lock a command takes for the sender it starts, or None when none is due: the service's
    "not before T" for this endpoint stands (spool.state writes it), or a sender holds the lock.
    Raises OSError when the lock file is unusable (the sender started without it repairs it).
    """
    if backing_off(read_saved_state(os.path.join(root, STATE_FILENAME)), now or datetime.now(timezone.utc), endpoint):
        return None
    return acquire_lock_fd(os.path.join(root, LOCK_FILENAME))
