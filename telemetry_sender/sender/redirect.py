"""Redirect policy (PROTOCOL.md, 307/308): follow scheme+host only, never https -> http, cache with a bound.

Pure except `post_following_redirects`, which talks to the network only through the
transport seam it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urljoin, urlsplit

from telemetry_sender.connection_string import is_loopback_host, track_url
from telemetry_sender.protocol import (
    MAX_HOST_CHARS,
    MAX_REDIRECTS,
    REDIRECT_CACHE_DEFAULT_SECONDS,
    REDIRECT_CACHE_MAX_SECONDS,
    REDIRECT_STATUSES,
)
from telemetry_sender.sender.transport import Transport, TransportResult

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)


def redirect_endpoint(location: str | None, current_url: str) -> str | None:
    """The new endpoint (scheme://host[:port]) named by a Location header; None when refused.

    Refused: no Location, a scheme other than http(s), https -> http, and plain http
    to anything but a loopback host (the connection string's own rule). Only scheme,
    host and port are kept: credentials in a Location are never stored or sent.
    """
    if not location or not location.strip():
        return None
    try:
        target = urlsplit(urljoin(current_url, location.strip()))
        current = urlsplit(current_url)
        host = target.hostname or ""
        port = target.port
    except ValueError:
        return None
    scheme = target.scheme.lower()
    if not host or len(host) > MAX_HOST_CHARS or scheme not in ("http", "https"):
        return None
    if scheme == "http" and (current.scheme.lower() == "https" or not is_loopback_host(host)):
        return None
    netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{netloc}" + (f":{port}" if port is not None else "")


def cache_seconds(cache_control: str | None) -> int:
    """How long to remember a redirect: Cache-Control max-age (at most a day), else 12 h."""
    if cache_control:
        match = _MAX_AGE.search(cache_control)
        if match:
            digits = match.group(1)
            return REDIRECT_CACHE_MAX_SECONDS if len(digits) > 9 else min(int(digits), REDIRECT_CACHE_MAX_SECONDS)
    return REDIRECT_CACHE_DEFAULT_SECONDS


@dataclass(frozen=True)
class Delivery:
    """The final response of a POST and the redirect it settled on, if any."""

    result: TransportResult
    endpoint: str  # where the final response came from
    redirected: bool  # True when `endpoint` came from a redirect in this delivery
    cache_seconds: int  # from the last redirect response
    refused: str = ""  # why a redirect was not followed ("" when none was refused)


def post_following_redirects(
    transport: Transport,
    endpoint: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float | None = None,
    max_hops: int = MAX_REDIRECTS,
) -> Delivery:
    """POST to `endpoint`'s track URL, following at most `max_hops` 307/308 responses by policy."""
    redirected, seconds = False, REDIRECT_CACHE_DEFAULT_SECONDS
    for hop in range(max_hops + 1):
        url = track_url(endpoint)
        result = transport.post(url, body, headers, timeout)
        if result.status not in REDIRECT_STATUSES:
            return Delivery(result, endpoint, redirected, seconds)
        target = redirect_endpoint(result.header("Location"), url)
        if target is None:
            return Delivery(result, endpoint, redirected, seconds, refused="redirect refused by policy")
        if hop == max_hops:
            return Delivery(result, endpoint, redirected, seconds, refused=f"more than {max_hops} redirects")
        endpoint, redirected, seconds = target, True, cache_seconds(result.header("Cache-Control"))
    raise AssertionError("unreachable")  # pragma: no cover
