"""The one network seam: POST bytes, get back a frozen result value, never an exception.

`requests` is imported here only, and this module is imported only by the sender
process (never by the recorder inside az). Proxies (HTTPS_PROXY, NO_PROXY) and
REQUESTS_CA_BUNDLE are honoured exactly as requests does (`trust_env`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Mapping, Protocol

from telemetry_sender.protocol import CONNECT_TIMEOUT_SECONDS, MAX_RESPONSE_BYTES, READ_TIMEOUT_SECONDS

logger = logging.getLogger(__name__)

# Kinds of network failure a result can carry (policy decides what each means).
ERROR_CONNECT = "connect"  # refused, unreachable, DNS, dropped connection: "offline"
ERROR_CONNECT_TIMEOUT = "connect-timeout"
ERROR_READ_TIMEOUT = "read-timeout"
ERROR_TLS = "tls"
ERROR_PROXY = "proxy"
ERROR_OTHER = "error"
OFFLINE_ERRORS = frozenset({ERROR_CONNECT, ERROR_CONNECT_TIMEOUT, ERROR_PROXY})


@dataclass(frozen=True)
class TransportResult:
    """What one POST came to: a status with headers and body, or a network error kind."""

    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str | None = None
    detail: str = ""

    def header(self, name: str) -> str | None:
        """A response header, case-insensitively."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


class Transport(Protocol):  # pylint: disable=too-few-public-methods  # a Protocol: its one method is the seam
    """Anything that can POST a body; tests hand in fakes."""

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float | None = None) -> TransportResult:
        """POST and describe the outcome; must never raise."""


class RequestsTransport:
    """The real transport: a requests.Session, no automatic redirects, bounded timeouts."""

    def __init__(
        self,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
    ) -> None:
        import requests

        self._requests = requests
        self._session = requests.Session()
        self._session.trust_env = True
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout

    def close(self) -> None:
        """Close pooled connections."""
        self._session.close()

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float | None = None) -> TransportResult:
        """POST `body` to `url`; `timeout` (seconds left in the sender's life) shortens both timeouts."""
        connect, read = self._connect_timeout, self._read_timeout
        if timeout is not None:
            connect, read = max(0.1, min(connect, timeout)), max(0.1, min(read, timeout))
        try:
            response = self._session.post(
                url, data=body, headers=dict(headers), timeout=(connect, read), allow_redirects=False, stream=True
            )
            try:
                content = _read_capped(response, MAX_RESPONSE_BYTES)
            finally:
                response.close()
            return TransportResult(status=response.status_code, headers=dict(response.headers), body=content)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # the seam's promise: every outcome is a value
            kind = self._classify(exc)
            logger.debug("POST failed: %s (%s)", kind, type(exc).__name__)
            return TransportResult(error=kind, detail=type(exc).__name__)

    def _classify(self, exc: BaseException) -> str:
        errors = self._requests.exceptions
        if isinstance(exc, errors.ConnectTimeout):
            return ERROR_CONNECT_TIMEOUT
        if isinstance(exc, errors.ProxyError):
            return ERROR_PROXY
        if isinstance(exc, errors.SSLError):
            return ERROR_TLS
        if isinstance(exc, (errors.ReadTimeout, errors.Timeout)):
            return ERROR_READ_TIMEOUT
        if isinstance(exc, errors.ConnectionError):
            return ERROR_CONNECT
        return ERROR_OTHER


def _read_capped(response: object, limit: int) -> bytes:
    """At most `limit` bytes of the (decoded) body."""
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_content(64 * 1024):  # type: ignore[attr-defined]
        chunks.append(chunk)
        total += len(chunk)
        if total >= limit:
            break
    return b"".join(chunks)[:limit]
