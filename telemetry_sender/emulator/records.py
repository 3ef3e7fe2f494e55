"""What one request to the emulator brought and how it was answered: the value the server keeps and shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

from telemetry_sender.emulator.rules import ItemError, Rule


class Headers(Mapping[str, str]):
    """Request headers, looked up case-insensitively (`headers["content-encoding"]`)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._items = {name.lower(): (name, value) for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass(frozen=True)
class RequestRecord:  # pylint: disable=too-many-instance-attributes  # a value: one field per fact of a request
    """What one request brought and how the emulator answered (status None: dropped or hung)."""

    path: str
    status: int | None
    items: int
    accepted: int
    headers: Headers
    method: str = "POST"
    errors: tuple[ItemError, ...] = ()
    rule: Rule | None = None
    outcome: str = "answered"  # "answered" | "dropped" | "hung"
    body_bytes: int = 0
    received_at: float = field(default=0.0, compare=False)

    @property
    def request_id(self) -> str | None:
        """The client's `x-ms-client-request-id`, if it sent one."""
        return self.headers.get("x-ms-client-request-id")

    @property
    def content_encoding(self) -> str | None:
        """The request's `Content-Encoding` (e.g. "gzip"), if any."""
        return self.headers.get("content-encoding")
