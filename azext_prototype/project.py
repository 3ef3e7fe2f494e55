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

from telemetry_sender import rules

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


def validate_name(name: str, flag: str = "--name") -> str:
    """The project name if it follows NAME_RULE; it becomes a folder and Azure resource names.

    `flag` is the option the user typed it with, so the example names the right one.
    """
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidArgumentValueError(
            f"Invalid project name {name!r}: use {NAME_RULE}.",
            f"For example: {flag} my-prototype",
        )
    return name


def normalize_location(location: str) -> str:
    """An Azure region in az's short form ("West US 3" -> "westus3"), or an error."""
    short = rules.normalize_location(str(location or ""))
    if not short:
        raise InvalidArgumentValueError(
            f"Invalid location {location!r}: give an Azure region such as eastus or westus3.",
            "List regions with: az account list-locations -o table",
        )
    return short


def validate_choice(what: str, value: str, choices: tuple[str, ...]) -> str:
    """`value` if it is one of `choices` (case-insensitive, returned in canonical form)."""
    lowered = str(value).lower()
    if lowered not in choices:
        raise InvalidArgumentValueError(
            f"Invalid {what} {value!r}: choose one of {', '.join(choices)}."
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
            f"Invalid key {key!r}: use dot-separated names of letters, digits, '_' or '-', "
            "such as ai.model or project.location."
        )
    return parts


def get_dotted(data: Mapping[str, Any], key: str) -> Any:
    """The value at dotted `key` in nested mappings; an error naming the known keys if absent."""
    node: Any = data
    for part in split_key(key):
        if not isinstance(node, Mapping) or part not in node:
            raise InvalidArgumentValueError(
                f"Unknown configuration key {key!r}.",
                f"Known keys: {', '.join(flatten(data)) or '(none)'}",
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
                f"Cannot set {key!r}: {'.'.join(parts[: depth + 1])!r} holds a value, not a section."
            )
        node = child
    if isinstance(node.get(parts[-1]), dict) and not isinstance(value, dict):
        raise InvalidArgumentValueError(
            f"Cannot set {key!r}: it is a section; set one of its keys instead.",
            "Keys in it: " + ", ".join(key + "." + k for k in flatten(node[parts[-1]])),
        )
    node[parts[-1]] = value
    return result


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Leaf values of nested mappings under their dotted keys, in document order."""
    flat: dict[str, Any] = {}
    for k, v in data.items():
        dotted = f"{prefix}.{k}" if prefix else str(k)
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
        raise InvalidArgumentValueError(f"Value too long: at most {_MAX_VALUE_CHARS} characters.")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return text  # a list, mapping or date: keep exactly what was typed


def _check_model(value: Any) -> str | None:
    """A model id, or None: a real null leaves the model to the provider's default."""
    if value is None:
        return None
    model = str(value).strip()
    if not model:
        raise InvalidArgumentValueError("ai.model cannot be empty.", "Use null to clear it.")
    return model


# The keys `init` writes, each with the rule `config set --value` must pass.
_SETTING_RULES = {
    "project.name": lambda v: validate_name(str(v), flag="--value"),
    "project.location": lambda v: normalize_location(str(v)),
    "project.environment": lambda v: validate_choice("environment", v, ENVIRONMENTS),
    "project.iac_tool": lambda v: validate_choice("IaC tool", v, IAC_TOOLS),
    "ai.provider": lambda v: validate_choice("AI provider", v, AI_PROVIDERS),
    "ai.model": _check_model,
}


def check_setting(key: str, value: Any) -> Any:
    """`value` validated and normalized for the keys `init` owns; other keys pass unchanged."""
    if key in READ_ONLY_KEYS:
        raise ValidationError(f"{key} is assigned by 'az prototype init' and cannot be set.")
    rule = _SETTING_RULES.get(key)
    if rule is None:
        return value
    if value is None and key != "ai.model":
        raise InvalidArgumentValueError(f"{key} cannot be null: 'az prototype init' requires it.")
    return rule(value)


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
    if project_dir is not None and not path.parent.is_dir():
        raise FileOperationError(
            f"The folder {path.parent} does not exist." if not path.parent.exists()
            else f"{path.parent} is not a folder.",
            "Give --project-dir the folder that holds prototype.yaml.",
        )
    if not path.is_file():
        where = "the current directory" if project_dir is None else str(path.parent)
        raise FileOperationError(
            f"No prototype project in {where} ({PROJECT_FILE} not found).",
            "Create one with 'az prototype init --name NAME --location REGION', "
            "or point at one with --project-dir.",
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileOperationError(f"Cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise FileOperationError(f"{path} is not a UTF-8 text file; prototype.yaml must be YAML text.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise FileOperationError(f"{path} is not valid YAML{where}.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise FileOperationError(f"{path} must hold a mapping at its top level.")
    return path, data


def write_project(path: Path, data: Mapping[str, Any]) -> Path:
    """Write `data` to `path` atomically (temp file in the same folder, then rename)."""
    text = dump_yaml(data)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise FileOperationError(f"Cannot write {path}: {exc.strerror or exc}") from None
    return path


def prepare_project_dir(output_dir: str | os.PathLike[str] | None, name: str, *, force: bool) -> Path:
    """Create `output_dir/name` (and `output_dir`) for a new project; refuse to replace one unless forced."""
    base = Path(output_dir or os.getcwd()).expanduser().absolute()
    target = base / name
    if (target / PROJECT_FILE).exists() and not force:
        raise ValidationError(
            f"A prototype project already exists in {target}.",
            f"Use --force to replace its {PROJECT_FILE} (a new project id is assigned).",
        )
    for folder in (base, target):
        if folder.exists() and not folder.is_dir():
            raise FileOperationError(f"{folder} exists and is not a directory.")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileOperationError(f"Cannot create {target}: {exc.strerror or exc}") from None
    if not os.access(target, os.W_OK | os.X_OK):
        raise FileOperationError(f"Cannot write to {target}: permission denied.")
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
