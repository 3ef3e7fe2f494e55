"""Parse an Application Insights connection string (PROTOCOL.md, "Endpoint and connection string").

Tolerant of the sloppy forms seen in the wild (empty segments, spaces, `=` inside
values); strict where a mistake would send data somewhere unintended. Imported in
az's hot path: stdlib only, nothing heavy.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from telemetry_sender.protocol import CONNECTION_STRING_MAX_CHARS, DEFAULT_INGESTION_ENDPOINT, TRACK_PATH
from telemetry_sender.spool.frozen import FrozenValue

_LOOPBACK_NAMES = frozenset({"localhost", "::1"})


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
        segment = segment.strip()
        if not segment:
            continue
        key, sep, value = segment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConnectionStringError(f"segment {number} is not of the form Key=Value")
        folded = key.lower()
        if folded in pairs:
            raise ConnectionStringError(f"duplicate key {key!r}")
        pairs[folded] = value.strip()
    return pairs


def is_loopback_host(host: str) -> bool:
    """True for 127.0.0.0/8, localhost and ::1: the only hosts allowed over plain http."""
    host = host.lower().rstrip(".")
    if host in _LOOPBACK_NAMES:
        return True
    parts = host.split(".")
    return (
        len(parts) == 4
        and parts[0] == "127"
        and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts)
    )


def check_endpoint(endpoint: str) -> str:
    """Return `endpoint` when it is https://, or http:// to a loopback host; raise otherwise."""
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


def _endpoint(pairs: dict[str, str]) -> str:
    """IngestionEndpoint, else https://[<Location>.]dc.<EndpointSuffix>, else the default."""
    explicit = pairs.get("ingestionendpoint")
    if explicit:
        return check_endpoint(explicit)
    suffix = pairs.get("endpointsuffix", "").strip(".")
    if suffix:
        location = pairs.get("location", "").strip(".")
        prefix = f"{location}." if location else ""
        return check_endpoint(f"https://{prefix}dc.{suffix}")
    return DEFAULT_INGESTION_ENDPOINT


def parse_connection_string(text: str) -> ConnectionString:
    """Parse and validate `text`; raise ConnectionStringError with a message fit for `status`."""
    if not isinstance(text, str):
        raise ConnectionStringError("connection string must be text")
    if len(text) > CONNECTION_STRING_MAX_CHARS:
        raise ConnectionStringError(f"longer than {CONNECTION_STRING_MAX_CHARS} characters")
    pairs = _pairs(text)
    ikey = pairs.get("instrumentationkey", "")
    if not ikey:
        raise ConnectionStringError("InstrumentationKey is missing")
    return ConnectionString(instrumentation_key=ikey, ingestion_endpoint=_endpoint(pairs))


def track_url(endpoint: str) -> str:
    """The POST target: the endpoint without one trailing slash, plus /v2.1/track."""
    base = endpoint[:-1] if endpoint.endswith("/") else endpoint
    return base + TRACK_PATH
