"""What az knows about the running command: the flags the user typed and the telemetry setting.

az records the option strings the user typed (cli_ctx.data['safe_params']) and its
parser lists the arguments it parsed from the command line (specified_arguments,
by destination name = the function's keyword). Defaults az fills in are not "given".
Outside az (a direct call), the keywords that differ from the function's defaults stand in.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from telemetry_sender.spool.frozen import FrozenValue

_MISSING = object()


class Invocation(FrozenValue):  # pylint: disable=too-few-public-methods  # a value: fields, no behaviour
    """What happened: the command, the arguments, the outcome and when (all facts, no I/O).

    `given`: the parameters the user typed; `arguments`: every argument the function
    received (defaults included); `resources`: the Azure resources the command names;
    `free_text`: given arguments az accepts any text for (no declared choices).
    """

    __slots__ = ("command_name", "given", "arguments", "error", "time_ns", "duration_ms", "resources", "free_text")
    _defaults = {"resources": (), "free_text": frozenset()}


def find_cmd(args: tuple, kwargs: Mapping[str, Any]) -> Any:
    """The AzCliCommand passed to a command function, or None outside az."""
    cmd = kwargs.get("cmd")
    if cmd is None and args:
        cmd = args[0]
    return cmd if getattr(cmd, "cli_ctx", None) is not None else None


def function_defaults(func: Callable) -> dict[str, Any]:
    """Keyword defaults of `func`, read from its code object (inspect costs milliseconds)."""
    code = getattr(func, "__code__", None)
    if code is None:
        return {}
    names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    positional = names[: code.co_argcount]
    defaults = dict(zip(positional[len(positional) - len(func.__defaults__ or ()):], func.__defaults__ or ()))
    defaults.update(func.__kwdefaults__ or {})
    return defaults


def bound_arguments(
    func: Callable, args: tuple, kwargs: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Every argument by name: defaults, then positional, then keyword ones (never `cmd`)."""
    code = getattr(func, "__code__", None)
    named = dict(defaults or {})
    if code is not None:
        named.update(zip(code.co_varnames[: code.co_argcount], args))
    named.update(kwargs)
    return {k: v for k, v in named.items() if k != "cmd"}


def _specified_dests(cmd: Any) -> list[str] | None:
    """Destination names az's parser saw on the command line, or None when unavailable."""
    try:
        parser = cmd.cli_ctx.invocation.parser
        dests = parser.subparser_map[cmd.name].specified_arguments
    except (AttributeError, KeyError, TypeError):
        return None
    return [d for d in dests if isinstance(d, str)] if isinstance(dests, list) else None


def _from_safe_params(cmd: Any) -> list[str] | None:
    """Map az's recorded option strings (`--iac-tool`, `-n`) to destination names."""
    try:
        options = cmd.cli_ctx.data["safe_params"]
        arguments = cmd.arguments
    except (AttributeError, KeyError, TypeError):
        return None
    by_option: dict[str, str] = {}
    for dest, argument in arguments.items():
        settings = getattr(getattr(argument, "type", None), "settings", {}) or {}
        for option in settings.get("options_list") or ():
            if isinstance(option, str):
                by_option[option] = dest
    return [
        by_option.get(option, option.lstrip("-").replace("-", "_")) for option in options if isinstance(option, str)
    ]


def given_parameters(
    cmd: Any, arguments: Mapping[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """The arguments the user actually gave, by keyword name, in the order they were typed."""
    names = (_specified_dests(cmd) or _from_safe_params(cmd)) if cmd is not None else None
    if names is None:
        return {
            k: v for k, v in arguments.items() if defaults.get(k, _MISSING) is not v and defaults.get(k, _MISSING) != v
        }
    given: dict[str, Any] = {}
    for name in names:
        if name in arguments and name not in given:
            given[name] = arguments[name]
    return given


def free_text_arguments(cmd: Any, names: Any) -> frozenset[str]:
    """The given arguments for which az declares no choices: their text is the user's own.

    A value az checked against declared choices is a usage signal; any other text may be a
    resource, person or project name, so the recorder does not keep it (sanitize.mask_free_text).
    Outside az (no cmd) nothing is known and the pure sanitizer's judgement stands.
    """
    if cmd is None:
        return frozenset()
    try:
        arguments = cmd.arguments
    except AttributeError:
        return frozenset()
    free = set()
    for name in names:
        settings = getattr(getattr(arguments.get(name), "type", None), "settings", None) or {}
        if not settings.get("choices"):
            free.add(name)
    return frozenset(free)


def collect_telemetry_setting(cmd: Any) -> tuple[bool, str | None]:
    """(known, value) of core.collect_telemetry as az resolved it (env form first, then its config)."""
    try:
        config = cmd.cli_ctx.config
        return True, config.get("core", "collect_telemetry", fallback=None)
    except Exception:  # pylint: disable=broad-exception-caught  # a foreign config object: read it ourselves
        return False, None
