"""Argument definitions for `az prototype` (option names, choices, help)."""

from __future__ import annotations


def load_arguments(loader, _command) -> None:
    """Describe every argument; names must match the command functions' parameters."""
    from azure.cli.core.commands.parameters import get_enum_type

    from azext_prototype import project

    with loader.argument_context("prototype") as c:
        c.argument(
            "project_dir",
            options_list=["--project-dir", "-d"],
            help="Folder holding prototype.yaml. Default: the current directory.",
        )

    with loader.argument_context("prototype init") as c:
        c.argument(
            "name",
            options_list=["--name", "-n"],
            help="Project name; also the name of the folder created. " + project.NAME_RULE[0].upper()
            + project.NAME_RULE[1:] + ".",
        )
        c.argument(
            "location",
            options_list=["--location", "-l"],
            # az's global location type resolves display names through the signed-in
            # subscription (network, login); init normalizes locally instead.
            type=str,
            help="Azure region for the prototype's resources, e.g. eastus or westus3 "
            "('West US 3' is accepted and stored as westus3).",
        )
        c.argument(
            "ai_provider",
            arg_type=get_enum_type(project.AI_PROVIDERS, default=project.DEFAULT_AI_PROVIDER),
            help="AI service that drafts the prototype.",
        )
        c.argument(
            "model",
            help="Model to use. Default per provider: "
            + ", ".join(f"{m} for {p}" for p, m in project.DEFAULT_MODELS.items()) + ".",
        )
        c.argument(
            "iac_tool",
            arg_type=get_enum_type(project.IAC_TOOLS, default=project.DEFAULT_IAC_TOOL),
            help="Infrastructure-as-code tool for the generated templates.",
        )
        c.argument(
            "environment",
            arg_type=get_enum_type(project.ENVIRONMENTS, default=project.DEFAULT_ENVIRONMENT),
            help="Target environment recorded in the project.",
        )
        c.argument(
            "output_dir",
            help="Folder in which the project folder, named after --name, is created (created if missing). "
            "Default: the current directory.",
        )
        c.argument(
            "force",
            help="Replace an existing prototype.yaml in the project folder (a new project id is assigned).",
        )

    with loader.argument_context("prototype config") as c:
        c.argument("key", options_list=["--key", "-k"], help="Dotted key, e.g. ai.model or project.location.")
    with loader.argument_context("prototype config set") as c:
        c.argument(
            "value",
            options_list=["--value", "-v"],
            help="New value, read as a YAML scalar: true/false, numbers and null get their type; "
            "anything else is stored as text.",
        )

    with loader.argument_context("prototype telemetry show") as c:
        c.argument("last", type=int, help="Show only the N most recent events.")
        # Not "command": az keeps the command's own name under that key of its namespace.
        c.argument(
            "command_name",
            options_list=["--command"],
            help="Show only events of this command, e.g. 'prototype init'.",
        )
        c.argument("failed", help="Show only events of commands that failed.")
        c.argument(
            "include_all",
            options_list=["--all"],
            help="Also show events the service rejected and files set aside as unreadable.",
        )
    with loader.argument_context("prototype telemetry flush") as c:
        c.argument("wait", help="If a background sender is running, wait for it to finish (at most 30 s), then flush.")
    with loader.argument_context("prototype telemetry purge") as c:
        c.argument("yes", options_list=["--yes", "-y"], help="Do not prompt for confirmation.")
        c.argument(
            "include_all",
            options_list=["--all"],
            help="Also delete rejected and quarantined files (the backoff state and loss counters are kept).",
        )
