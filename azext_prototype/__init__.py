"""The `az prototype` extension: az finds COMMAND_LOADER_CLS here and loads the rest on demand."""

from __future__ import annotations

from azure.cli.core import AzCommandsLoader

# Importing _help registers the help text with az; the name itself is not used here.
from azext_prototype._help import helps  # pylint: disable=unused-import


class PrototypeCommandsLoader(AzCommandsLoader):
    """Registers the `az prototype` commands; command and argument tables are imported lazily."""

    def __init__(self, cli_ctx=None):
        from azure.cli.core.commands import CliCommandType

        custom = CliCommandType(operations_tmpl="azext_prototype.custom#{}")
        super().__init__(cli_ctx=cli_ctx, custom_command_type=custom)

    def load_command_table(self, args):
        """The command table, built only when az needs it."""
        from azext_prototype.commands import load_command_table

        load_command_table(self, args)
        return self.command_table

    def load_arguments(self, command):
        """Argument definitions, built only for the command being run."""
        from azext_prototype._params import load_arguments

        load_arguments(self, command)


COMMAND_LOADER_CLS = PrototypeCommandsLoader
