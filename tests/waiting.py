"""Waiting in tests: poll a condition until it holds or a deadline passes, never a fixed sleep."""

from __future__ import annotations

import time
from typing import Callable, TypeVar, Union

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, message: Union[str, Callable[[], str]] = "condition",
               poll: float = 0.05) -> T:
    """The first truthy `condition()`; AssertionError once `timeout` seconds pass (`message` says what was awaited).

    `message` may be a function, called only on timeout (say, to show a log).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            what = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)
