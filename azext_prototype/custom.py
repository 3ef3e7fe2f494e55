"""The `az prototype` command functions: thin glue between az arguments and project.py.

Each function takes `cmd` first (the recorder reads `cmd.cli_ctx`) and returns
plain dicts/lists/scalars so every az output format works.
"""

from __future__ import annotations

# az passes `cmd` to every command; the @track recorder reads it, the bodies need not.
# pylint: disable=unused-argument

from typing import Any

from azext_prototype import project
from azext_prototype.telemetry import track


@track("prototype init")
def prototype_init(
    cmd,
    *,  # az passes every argument by name
    name: str,
    location: str,
    ai_provider: str = project.DEFAULT_AI_PROVIDER,
    model: str | None = None,
    iac_tool: str = project.DEFAULT_IAC_TOOL,
    environment: str = project.DEFAULT_ENVIRONMENT,
    output_dir: str | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Create a prototype project folder with a fresh prototype.yaml."""
    name = project.validate_name(name)
    location = project.normalize_location(location)
    provider = project.validate_choice("AI provider", ai_provider, project.AI_PROVIDERS)
    iac = project.validate_choice("IaC tool", iac_tool, project.IAC_TOOLS)
    env = project.validate_choice("environment", environment, project.ENVIRONMENTS)
    chosen_model = project.check_setting("ai.model", model) if model is not None else project.default_model(provider)

    target = project.prepare_project_dir(output_dir, name, force=force)
    path = target / project.PROJECT_FILE
    replaced = path.exists()
    data = project.new_project(
        name=name,
        location=location,
        project_id=project.new_project_id(),
        environment=env,
        iac_tool=iac,
        provider=provider,
        model=chosen_model,
    )
    project.write_project(path, data)
    return {
        "name": name,
        "id": data["project"]["id"],
        "location": location,
        "environment": env,
        "iacTool": iac,
        "aiProvider": provider,
        "model": chosen_model,
        "projectDir": str(target.resolve()),
        "configFile": str(path.resolve()),
        "replaced": replaced,
    }


@track("prototype status")
def prototype_status(cmd, project_dir: str | None = None) -> dict[str, Any]:
    """Summarize the project in the current directory (or --project-dir)."""
    path, data = project.load_project(project_dir)
    section = data.get("project") if isinstance(data.get("project"), dict) else {}
    ai = data.get("ai") if isinstance(data.get("ai"), dict) else {}
    return {
        "name": section.get("name"),
        "id": section.get("id"),
        "location": section.get("location"),
        "environment": section.get("environment"),
        "iacTool": section.get("iac_tool"),
        "aiProvider": ai.get("provider"),
        "model": ai.get("model"),
        "projectDir": str(path.parent.resolve()),
        "configFile": str(path.resolve()),
        "files": project.list_files(path.parent),
    }


@track("prototype config show")
def prototype_config_show(cmd, project_dir: str | None = None) -> dict[str, Any]:
    """The whole project configuration."""
    return project.load_project(project_dir)[1]


@track("prototype config get")
def prototype_config_get(cmd, key: str, project_dir: str | None = None) -> Any:
    """The value at a dotted key (a scalar, or a section as a mapping)."""
    return project.get_dotted(project.load_project(project_dir)[1], key)


@track("prototype config set")
def prototype_config_set(cmd, key: str, value: str, project_dir: str | None = None) -> dict[str, Any]:
    """Set a dotted key to a YAML scalar and save the project file."""
    path, data = project.load_project(project_dir)
    project.split_key(key)
    parsed = project.check_setting(key, project.parse_scalar(value))
    project.write_project(path, project.set_dotted(data, key, parsed))
    return {"key": key, "value": parsed}
