"""The `az prototype` command table and the table views of its results."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable

from azure.cli.core.commands import CliCommandType

# custom_telemetry.py (the support view of the spool) is its own module: a
# problem there must not stop the project commands from loading.
TELEMETRY_MODULE = "azext_prototype.custom_telemetry"
TELEMETRY_COMMANDS = CliCommandType(operations_tmpl=TELEMETRY_MODULE + "#{}")


def load_command_table(loader, _args) -> None:
    """Register every command with the function that runs it and its table view."""
    with loader.command_group("prototype", is_preview=True) as g:
        g.custom_command("init", "prototype_init", table_transformer=project_table)
        g.custom_command("status", "prototype_status", table_transformer=project_table)

    with loader.command_group("prototype config") as g:
        g.custom_show_command("show", "prototype_config_show", table_transformer=config_table)
        g.custom_command("get", "prototype_config_get", table_transformer=config_table)
        g.custom_command("set", "prototype_config_set", table_transformer=config_set_table)

    with loader.command_group("prototype telemetry", TELEMETRY_COMMANDS) as g:
        # Functions take (cmd, ...); `show --command` arrives as `command_name`, since az
        # keeps the command's own name under "command" in the parsed namespace.
        for name in ("status", "flush", "purge"):
            g.command(name, "telemetry_" + name, table_transformer=telemetry_table("telemetry_" + name))
        g.show_command("show", "telemetry_show", table_transformer=telemetry_table("telemetry_show"))


def project_table(result: dict[str, Any]) -> list[OrderedDict]:
    """One row for `init`/`status`: the project's identity and choices."""
    row = OrderedDict(
        [
            ("Name", result.get("name")),
            ("Location", result.get("location")),
            ("Environment", result.get("environment")),
            ("IaC", result.get("iacTool")),
            ("Provider", result.get("aiProvider")),
            ("Model", result.get("model")),
            ("Id", result.get("id")),
        ]
    )
    if "files" in result:
        row["Files"] = len(result["files"])
    return [row]


def config_table(result: Any) -> list[OrderedDict]:
    """Key/Value rows for a configuration (sub)tree; a single Value row for a scalar."""
    from azext_prototype.project import flatten

    if isinstance(result, dict):
        return [OrderedDict([("Key", k), ("Value", _cell(v))]) for k, v in flatten(result).items()]
    return [OrderedDict([("Value", _cell(result))])]


def config_set_table(result: dict[str, Any]) -> list[OrderedDict]:
    """One Key/Value row for the setting just written."""
    return [OrderedDict([("Key", result.get("key")), ("Value", _cell(result.get("value")))])]


def telemetry_table(function_name: str) -> Callable[[Any], Any]:
    """A table view delegating to `<function_name>_table` in custom_telemetry when it defines one."""

    def transform(result: Any) -> Any:
        import importlib

        module = importlib.import_module(TELEMETRY_MODULE)
        view = getattr(module, function_name + "_table", None)
        return view(result) if callable(view) else result

    return transform


def _cell(value: Any) -> Any:
    """Table cells show YAML-ish scalars: null as empty, booleans lower-case, lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value
