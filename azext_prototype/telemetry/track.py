"""The @track decorator commands wear (placeholder seam until the recorder lands)."""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, Mapping


def track(command_name: str, *, resources: Iterable[Mapping[str, str]] | None = None) -> Callable:
    """Mark a command function as recorded under `command_name` (e.g. "prototype init")."""

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        return wrapper

    return decorate
