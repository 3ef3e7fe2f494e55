"""prototype.yaml: the project file, its validation rules and dotted-key access.

Pure rules (names, locations, dotted keys, YAML scalars) come first and do no
I/O; the file functions at the end read and write one project folder. PyYAML
and uuid are imported inside functions: this module must stay cheap to import.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

from azure.cli.core.azclierror import (
    FileOperationError,
    InvalidArgumentValueError,
    ValidationError,
)

from telemetry_sender.privacy import shapes

PROJECT_FILE = "prototype.yaml"

AI_PROVIDERS = ("azure-openai", "copilot", "github-models")
IAC_TOOLS = ("terraform", "bicep")
ENVIRONMENTS = ("dev", "staging", "prod")

DEFAULT_AI_PROVIDER = "azure-openai"
DEFAULT_IAC_TOOL = "terraform"
DEFAULT_ENVIRONMENT = "dev"
# A model each provider serves under that exact id (GitHub Models ids carry the publisher).
DEFAULT_MODELS = {
    "azure-openai": "gpt-4o",
    "copilot": "gpt-4.1",
    "github-models": "openai/gpt-4.1",
}

NAME_RULE = "3-40 characters: letters, digits and hyphens, starting with a letter and not ending with a hyphen"
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,38}[A-Za-z0-9]")
_KEY_PART_RE = re.compile(r"[A-Za-z0-9_-]+")
_MAX_VALUE_CHARS = 4096

# Keys `config set` validates with the same rules as `init`; project.id is init's alone.
READ_ONLY_KEYS = frozenset({"project.id"})


# ---- pure rules -------------------------------------------------------------------------


def validate_name(name: str) -> str:
    """The project name if it follows NAME_RULE; it becomes a folder and Azure resource names."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidArgumentValueError(
            "Invalid project name {!r}: use {}.".format(name, NAME_RULE),
            "For example: --name my-prototype",
        )
    return name


def normalize_location(location: str) -> str:
    """An Azure region in az's short form ("West US 3" -> "westus3"), or an error."""
    short = shapes.normalize_location(str(location or ""))
    if not short:
        raise InvalidArgumentValueError(
            "Invalid location {!r}: give an Azure region such as eastus or westus3.".format(location),
            "List regions with: az account list-locations -o table",
        )
    return short


def validate_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    """`value` if it is one of `choices` (case-insensitive, returned in canonical form)."""
    lowered = str(value).lower()
    if lowered not in choices:
        raise InvalidArgumentValueError(
            "Invalid {} {!r}: choose one of {}.".format(what, value, ", ".join(choices))
        )
    return lowered


def default_model(provider: str) -> str:
    """The model `init` writes when none is given for `provider`."""
    return DEFAULT_MODELS[provider]


def new_project(
    *, name: str, location: str, project_id: str, environment: str, iac_tool: str, provider: str, model: str
) -> dict[str, Any]:
    """The document `init` writes, keys in the stable order the recorder expects."""
    return {
        "project": {
            "name": name,
            "id": project_id,
            "location": location,
            "environment": environment,
            "iac_tool": iac_tool,
        },
        "ai": {"provider": provider, "model": model},
    }


def split_key(key: str) -> list[str]:
    """The parts of a dotted key ("ai.model" -> ["ai", "model"]), or an error for a malformed key."""
    parts = str(key or "").split(".")
    if not all(_KEY_PART_RE.fullmatch(p) for p in parts):
        raise InvalidArgumentValueError(
            "Invalid key {!r}: use dot-separated names of letters, digits, '_' or '-', "
            "such as ai.model or project.location.".format(key)
        )
    return parts


def get_dotted(data: Mapping[str, Any], key: str) -> Any:
    """The value at dotted `key` in nested mappings; an error naming the known keys if absent."""
    node: Any = data
    for part in split_key(key):
        if not isinstance(node, Mapping) or part not in node:
            raise InvalidArgumentValueError(
                "Unknown configuration key {!r}.".format(key),
                "Known keys: {}".format(", ".join(flatten(data)) or "(none)"),
            )
        node = node[part]
    return node


def set_dotted(data: Mapping[str, Any], key: str, value: Any) -> dict[str, Any]:
    """A copy of `data` with `value` at dotted `key`, creating mappings on the way."""
    parts = split_key(key)
    result = _deep_copy(data)
    node = result
    for depth, part in enumerate(parts[:-1]):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise InvalidArgumentValueError(
                "Cannot set {!r}: {!r} holds a value, not a section.".format(key, ".".join(parts[: depth + 1]))
            )
        node = child
    if isinstance(node.get(parts[-1]), dict) and not isinstance(value, dict):
        raise InvalidArgumentValueError(
            "Cannot set {!r}: it is a section; set one of its keys instead.".format(key),
            "Keys in it: {}".format(", ".join(key + "." + k for k in flatten(node[parts[-1]]))),
        )
    node[parts[-1]] = value
    return result


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaf values of nested mappings under their dotted keys, in document order."""
    flat: dict[str, Any] = {}
    for k, v in data.items():
        dotted = "{}.{}".format(prefix, k) if prefix else str(k)
        if isinstance(v, Mapping) and v:
            flat.update(flatten(v, dotted))
        else:
            flat[dotted] = v
    return flat


def parse_scalar(text: str) -> Any:
    """`text` read as a YAML scalar ("true" -> True, "3" -> 3, "null" -> None); anything else stays text."""
    import yaml

    if text is None or not str(text).strip():
        return "" if text is None else str(text)
    if len(text) > _MAX_VALUE_CHARS:
        raise InvalidArgumentValueError("Value too long: at most {} characters.".format(_MAX_VALUE_CHARS))
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return text  # a list, mapping or date: keep exactly what was typed


def check_setting(key: str, value: Any) -> Any:
    """`value` validated and normalized for the keys `init` owns; other keys pass unchanged."""
    if key in READ_ONLY_KEYS:
        raise ValidationError("{} is assigned by 'az prototype init' and cannot be set.".format(key))
    if key == "project.name":
        return validate_name(str(value))
    if key == "project.location":
        return normalize_location(str(value))
    if key == "project.environment":
        return validate_choice("environment", value, ENVIRONMENTS)
    if key == "project.iac_tool":
        return validate_choice("IaC tool", value, IAC_TOOLS)
    if key == "ai.provider":
        return validate_choice("AI provider", value, AI_PROVIDERS)
    if key == "ai.model":
        model = str(value).strip()
        if not model:
            raise InvalidArgumentValueError("ai.model cannot be empty.")
        return model
    return value


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


# ---- files ------------------------------------------------------------------------------


def project_file(project_dir: str | os.PathLike[str] | None) -> Path:
    """The prototype.yaml path for `project_dir` (the current directory when None)."""
    return Path(project_dir or os.getcwd()).expanduser() / PROJECT_FILE


def dump_yaml(data: Mapping[str, Any]) -> str:
    """`data` as plain block-style YAML, keys in document order."""
    import yaml

    return yaml.safe_dump(dict(data), default_flow_style=False, sort_keys=False, allow_unicode=True)


def load_project(project_dir: str | os.PathLike[str] | None) -> tuple[Path, dict[str, Any]]:
    """The project file path and its contents; clear errors outside a project or for a broken file."""
    import yaml

    path = project_file(project_dir)
    if not path.is_file():
        where = "the current directory" if project_dir is None else str(path.parent)
        raise FileOperationError(
            "No prototype project in {} ({} not found).".format(where, PROJECT_FILE),
            "Create one with 'az prototype init --name NAME --location REGION', "
            "or point at one with --project-dir.",
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileOperationError("Cannot read {}: {}".format(path, exc.strerror or exc)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = " (line {})".format(mark.line + 1) if mark is not None else ""
        raise FileOperationError("{} is not valid YAML{}.".format(path, where)) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FileOperationError("{} must hold a mapping at its top level.".format(path))
    return path, data


def write_project(path: Path, data: Mapping[str, Any]) -> Path:
    """Write `data` to `path` atomically (temp file in the same folder, then rename)."""
    text = dump_yaml(data)
    tmp = path.with_name(".{}.{}.tmp".format(path.name, os.getpid()))
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise FileOperationError("Cannot write {}: {}".format(path, exc.strerror or exc)) from None
    return path


def prepare_project_dir(output_dir: str | os.PathLike[str] | None, name: str, *, force: bool) -> Path:
    """Create `output_dir/name` (and `output_dir`) for a new project; refuse to replace one unless forced."""
    base = Path(output_dir or os.getcwd()).expanduser().absolute()
    target = base / name
    if (target / PROJECT_FILE).exists() and not force:
        raise ValidationError(
            "A prototype project already exists in {}.".format(target),
            "Use --force to replace its {} (a new project id is assigned).".format(PROJECT_FILE),
        )
    for folder in (base, target):
        if folder.exists() and not folder.is_dir():
            raise FileOperationError("{} exists and is not a directory.".format(folder))
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileOperationError("Cannot create {}: {}".format(target, exc.strerror or exc)) from None
    if not os.access(target, os.W_OK | os.X_OK):
        raise FileOperationError("Cannot write to {}: permission denied.".format(target))
    return target


def new_project_id() -> str:
    """A fresh random project id (UUID4), the only identifier the project reports."""
    import uuid

    return str(uuid.uuid4())


def list_files(project_dir: Path, limit: int = 200) -> list[str]:
    """The visible entries of the project folder, folders ending in '/', sorted; at most `limit`."""
    try:
        entries = sorted(p for p in project_dir.iterdir() if not p.name.startswith("."))
    except OSError:
        return []
    return [p.name + "/" if p.is_dir() else p.name for p in entries[:limit]]
