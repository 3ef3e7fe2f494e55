"""The @track decorator every command wears: the one boundary between a command and telemetry.

The command's result, exception and exit code pass through untouched; whatever goes
wrong in telemetry is caught here and logged at debug level. Telemetry that is off is
decided here with code loaded with the extension (telemetry_sender.recording's rules), so an
opted-out command imports nothing; the recorder itself is imported only to record.
"""

from __future__ import annotations

import os
import time

from azext_prototype.telemetry.names import logger, story_wanted
from telemetry_sender.recording import surely_off

TYPE_CHECKING = False  # typing costs a millisecond to import where az has not loaded it yet
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Mapping, Union

    Resources = Union[Iterable[Mapping[str, str]], Callable[[Mapping[str, Any]], Iterable[Mapping[str, str]]], None]

# `az prototype telemetry ...` inspects the spool: recording would change what is inspected.
UNTRACKED_PREFIX = ("prototype", "telemetry")

_WRAPPER_ATTRS = ("__module__", "__name__", "__qualname__", "__doc__")


def _wraps(wrapper: Callable, func: Callable) -> Callable:
    """functools.wraps without importing functools: az reads the signature through __wrapped__."""
    for attr in _WRAPPER_ATTRS:
        try:
            setattr(wrapper, attr, getattr(func, attr))
        except AttributeError:
            pass
    wrapper.__dict__.update(getattr(func, "__dict__", {}))
    wrapper.__wrapped__ = func  # type: ignore[attr-defined]
    return wrapper


def is_untracked(command_name: str) -> bool:
    """True for commands that must record nothing (`prototype telemetry ...`)."""
    return tuple(command_name.lower().split()[:2]) == UNTRACKED_PREFIX


def find_cmd(args: tuple, kwargs: Mapping[str, Any]) -> Any:
    """The AzCliCommand passed to a command function, or None outside az."""
    cmd = kwargs.get("cmd")
    if cmd is None and args:
        cmd = args[0]
    return cmd if getattr(cmd, "cli_ctx", None) is not None else None


def collect_telemetry_setting(cmd: Any) -> tuple[bool, str | None]:
    """(known, value) of core.collect_telemetry as az resolved it (env form first, then its config)."""
    try:
        config = cmd.cli_ctx.config
        return True, config.get("core", "collect_telemetry", fallback=None)
    except Exception:  # pylint: disable=broad-exception-caught  # a foreign config object: read it ourselves
        return False, None


def _record_safely(  # pylint: disable=too-many-positional-arguments  # the call's facts, passed on once from the wrapper
    command_name: str, resources: Resources, func: Callable, args: tuple, kwargs: dict,
    error: BaseException | None, time_ns: int, started: float,
) -> None:
    duration_ms = (time.perf_counter() - started) * 1000.0
    try:
        cmd = find_cmd(args, kwargs)
        az_setting = collect_telemetry_setting(cmd) if cmd is not None else (False, None)
        if surely_off(os.environ, az_setting[1]) and not story_wanted():
            return  # off: nothing imported, nothing touched
        from azext_prototype.telemetry.record import (
            Invocation, bound_arguments, free_text_arguments, function_defaults, given_parameters, record,
        )

        defaults = function_defaults(func)
        arguments = bound_arguments(func, args, kwargs, defaults)
        named = resources(arguments) if callable(resources) else resources
        given = given_parameters(cmd, arguments, defaults)
        invocation = Invocation(
            command_name=command_name,
            given=given,
            arguments=arguments,
            error=error,
            time_ns=time_ns,
            duration_ms=duration_ms,
            resources=tuple(named or ()),
            free_text=free_text_arguments(cmd, given),
        )
        record(
            invocation,
            az_setting=az_setting,
            quiet=bool(getattr(getattr(cmd, "cli_ctx", None), "only_show_errors", False)),
        )
    except Exception as exc:  # pylint: disable=broad-exception-caught  # telemetry must never reach the user
        logger.debug("telemetry not recorded (%s)", type(exc).__name__)


def track(command_name: str, *, resources: Resources = None) -> Callable[[Callable], Callable]:
    """Record one usage event per call of the decorated command under `command_name` ("prototype init").

    `resources`: the Azure resources the command names, as dicts with `resourceType`,
    `sku`, `location` (or a function of the command's arguments returning them).
    """

    def decorate(func: Callable) -> Callable:
        if is_untracked(command_name):
            return func

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            time_ns = time.time_ns()
            started = time.perf_counter()
            try:
                result = func(*args, **kwargs)
            except BaseException as error:
                _record_safely(command_name, resources, func, args, kwargs, error, time_ns, started)
                raise
            _record_safely(command_name, resources, func, args, kwargs, None, time_ns, started)
            return result

        return _wraps(wrapper, func)

    return decorate
