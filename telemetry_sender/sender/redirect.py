"""Redirects (PROTOCOL.md, 307/308), the one owner of following and remembering them.

Followed: scheme+host only, never https -> http, and only to an Application Insights
ingestion host over https (or loopback when the configured endpoint is loopback); the
same rule holds for a redirect remembered in state.json, which is a file on disk, not
proof that the service ever sent us there. Remembered for max-age (bounded) or 12 h.
Pure except `post_following_redirects`/`deliver`, which talk to the network only
through the transport seam they are given.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping
from urllib.parse import urljoin, urlsplit

from telemetry_sender.recording import is_loopback_host, parse_time
from telemetry_sender.protocol import (
    INGESTION_HOST_SUFFIXES,
    LEGACY_INGESTION_HOSTS,
    MAX_HOST_CHARS,
    MAX_REDIRECTS,
    REDIRECT_CACHE_DEFAULT_SECONDS,
    REDIRECT_CACHE_MAX_SECONDS,
    REDIRECT_STATUSES,
    TRACK_PATH,
)
from telemetry_sender.sender.transport import Transport, TransportResult
from telemetry_sender.spool.state import format_time
from telemetry_sender.text import printable

logger = logging.getLogger(__name__)

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)


def track_url(endpoint: str) -> str:
    """The POST target: the endpoint without one trailing slash, plus /v2.1/track."""
    return (endpoint[:-1] if endpoint.endswith("/") else endpoint) + TRACK_PATH


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


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def allowed_target(endpoint: str, configured: str) -> bool:
    """True when a redirect may lead to `endpoint`: https to an ingestion host, or loopback from a loopback endpoint."""
    host = _host(endpoint)
    if not host:
        return False
    if is_loopback_host(host) and is_loopback_host(_host(configured)):
        return True
    if urlsplit(endpoint).scheme.lower() != "https":
        return False
    return host in LEGACY_INGESTION_HOSTS or host.endswith(INGESTION_HOST_SUFFIXES)


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


def post_following_redirects(  # pylint: disable=too-many-positional-arguments  # the request, passed through as the caller has it
    transport: Transport,
    endpoint: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float | None = None,
    max_hops: int = MAX_REDIRECTS,
    configured: str | None = None,
) -> Delivery:
    """POST to `endpoint`'s track URL, following at most `max_hops` 307/308 responses by policy.

    `configured` is the connection string's endpoint (default: `endpoint`), which decides
    whether loopback targets are allowed.
    """
    configured = configured or endpoint
    redirected, seconds = False, REDIRECT_CACHE_DEFAULT_SECONDS
    for hop in range(max_hops + 1):
        url = track_url(endpoint)
        result = transport.post(url, body, headers, timeout)
        if result.status not in REDIRECT_STATUSES:
            return Delivery(result, endpoint, redirected, seconds)
        target = redirect_endpoint(result.header("Location"), url)
        if target is None:
            return Delivery(result, endpoint, redirected, seconds, refused="redirect refused by policy")
        if not allowed_target(target, configured):
            logger.warning("redirect to %s refused: not an Application Insights ingestion host", printable(target))
            return Delivery(result, endpoint, redirected, seconds,
                            refused="redirect refused by policy: not an Application Insights ingestion host")
        if hop == max_hops:
            return Delivery(result, endpoint, redirected, seconds, refused=f"more than {max_hops} redirects")
        endpoint, redirected, seconds = target, True, cache_seconds(result.header("Cache-Control"))
    raise AssertionError("unreachable")  # pragma: no cover


# --- remembering --------------------------------------------------------------------------


def cached_endpoint(state: Mapping[str, Any], configured: str, now: datetime) -> str:
    """The remembered redirect target while valid, for this endpoint and allowed by the policy; else `configured`."""
    cached = state.get("redirect")
    if not isinstance(cached, dict) or cached.get("origin") != configured:
        return configured
    endpoint, expires = cached.get("endpoint"), parse_time(cached.get("expires"))
    if not isinstance(endpoint, str) or expires is None:
        return configured
    if not now < expires <= now + timedelta(seconds=REDIRECT_CACHE_MAX_SECONDS):
        return configured
    if redirect_endpoint(endpoint, track_url(configured)) != endpoint or not allowed_target(endpoint, configured):
        logger.warning("remembered redirect to %s discarded: not an allowed ingestion endpoint", printable(endpoint))
        return configured
    return endpoint


def remember(state: dict[str, Any], endpoint: str, seconds: int, configured: str, now: datetime) -> None:
    """Send straight to `endpoint` for `seconds` (a redirect the new host has answered on)."""
    expires = now + timedelta(seconds=seconds)
    state["redirect"] = {"endpoint": endpoint, "expires": format_time(expires), "origin": configured}
    logger.info("redirected to %s until %s", printable(endpoint), format_time(expires))


def deliver(  # pylint: disable=too-many-positional-arguments  # the request, passed through as the caller has it
    transport: Transport,
    state: dict[str, Any],
    configured: str,
    body: bytes,
    headers: Mapping[str, str],
    clock: Callable[[], datetime],
    timeout: float | None = None,
) -> Delivery:
    """POST one body to the remembered or configured endpoint, following and remembering redirects by policy."""
    endpoint = cached_endpoint(state, configured, clock())
    delivery = post_following_redirects(transport, endpoint, body, headers, timeout=timeout, configured=configured)
    if delivery.redirected and delivery.result.status is not None and not delivery.refused:
        # Remembered only once the new host has answered: a dead target is not pinned for hours.
        remember(state, delivery.endpoint, delivery.cache_seconds, configured, clock())
    return delivery
