"""Every command and group has help with examples; every argument has help text (no az run)."""

from __future__ import annotations

import importlib
import inspect
from contextlib import contextmanager

import pytest
import yaml
from azure.cli.core.mock import DummyCli

from azext_prototype import PrototypeCommandsLoader, _params
from azext_prototype._help import helps

# H5's support functions (azext_prototype.custom_telemetry), as agreed, used if the module is absent.
AGREED_TELEMETRY_PARAMS = {
    "prototype telemetry status": [],
    "prototype telemetry show": ["last", "command_name", "failed", "include_all"],
    "prototype telemetry flush": ["wait"],
    "prototype telemetry purge": ["yes", "include_all"],
}


class _RecordingLoader:
    """Stands in for az's loader: records what _params registers, per scope."""

    def __init__(self):
        self.arguments: dict[tuple[str, str], dict] = {}

    @contextmanager
    def argument_context(self, scope):
        loader = self

        class _Context:
            def argument(self, dest, arg_type=None, **kwargs):
                settings = dict(arg_type.settings) if arg_type is not None else {}
                settings.update(kwargs)
                loader.arguments[(scope, dest)] = settings

        yield _Context()


@pytest.fixture(scope="module")
def command_table():
    loader = PrototypeCommandsLoader(cli_ctx=DummyCli())
    return loader.load_command_table(None)


@pytest.fixture(scope="module")
def registered_arguments():
    recorder = _RecordingLoader()
    _params.load_arguments(recorder, None)
    return recorder.arguments


def _parameters(name, command):
    """The function's parameters az turns into arguments (all but `cmd`)."""
    module_name, function_name = command.handler.__self__.op_path.split("#")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except ImportError:
        return AGREED_TELEMETRY_PARAMS[name]
    return [p for p in inspect.signature(function).parameters if p != "cmd"]


def _help_for(arguments, command_name, dest):
    """The help az would show: the most specific scope that sets one wins."""
    scopes = [s for (s, d) in arguments if d == dest and command_name.startswith(s)]
    for scope in sorted(scopes, key=len, reverse=True):
        if arguments[(scope, dest)].get("help"):
            return arguments[(scope, dest)]["help"]
    return None


def test_the_command_table_is_complete(command_table):
    assert sorted(command_table) == sorted(
        ["prototype init", "prototype status", "prototype config show", "prototype config get",
         "prototype config set", *AGREED_TELEMETRY_PARAMS]
    )


def test_every_command_and_group_has_help_with_examples(command_table):
    groups = {" ".join(name.split()[:i]) for name in command_table for i in range(1, len(name.split()))}
    for group in groups:
        entry = yaml.safe_load(helps[group])
        assert entry["type"] == "group" and entry["short-summary"]
    for name in command_table:
        entry = yaml.safe_load(helps[name])
        assert entry["type"] == "command" and entry["short-summary"], name
        assert entry["examples"] and all(e["text"].startswith("az " + name) for e in entry["examples"]), name


def test_every_argument_has_help(command_table, registered_arguments):
    for name, command in command_table.items():
        for dest in _parameters(name, command):
            assert _help_for(registered_arguments, name, dest), "{}: --{} has no help".format(name, dest)


def test_no_argument_uses_a_destination_az_reserves(command_table):
    for name, command in command_table.items():
        assert not {"command", "cmd_name", "_command", "_subcommand"} & set(_parameters(name, command)), name
