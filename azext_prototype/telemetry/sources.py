"""Read the facts the event needs from disk: the signed-in tenant and the project's config.

Both readers are cheap and never raise. The tenant comes from az's profile file
(never a subscription id). prototype.yaml is the simple block mapping `init`
writes (`project:` with name, id, location, environment, iac_tool; `ai:` with
provider, model); PyYAML costs milliseconds to import, so the two-level scalars
are read here directly and anything else is ignored.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from telemetry_sender.privacy.shapes import is_guid
from telemetry_sender.spool.private_files import read_regular_file
from telemetry_sender.spool.frozen import FrozenValue

PROFILE_FILE = "azureProfile.json"
_MAX_PROFILE_BYTES = 8 * 1024 * 1024


def tenant_from_profile(profile: object) -> str:
    """The default subscription's tenantId from a parsed azureProfile.json; "" when none is signed in."""
    if not isinstance(profile, dict):
        return ""
    subscriptions = profile.get("subscriptions")
    if not isinstance(subscriptions, list):
        return ""
    for entry in subscriptions:
        if isinstance(entry, dict) and entry.get("isDefault") is True:
            tenant = entry.get("tenantId")
            return tenant.lower() if is_guid(tenant) else ""
    return ""


def read_tenant_id(config_dir: Path) -> str:
    """tenantId of the signed-in az profile under `config_dir`; "" when absent or unreadable."""
    path = config_dir / PROFILE_FILE
    try:
        # Regular files only: a FIFO or device here must not hang or flood the command.
        data = read_regular_file(path, _MAX_PROFILE_BYTES, follow_symlinks=True)
    except (OSError, ValueError):
        return ""
    if len(data) > _MAX_PROFILE_BYTES:
        return ""
    try:
        # az writes this file with a UTF-8 BOM on some platforms.
        return tenant_from_profile(json.loads(data.decode("utf-8-sig")))
    except ValueError:
        return ""


PROJECT_FILE = "prototype.yaml"
_MAX_BYTES = 256 * 1024


class ProjectFacts(FrozenValue):  # pylint: disable=too-few-public-methods  # a value: fields, no behaviour
    """What the event reports about the project: never its name."""

    __slots__ = ("project_id", "provider", "model", "location")
    _defaults = {"project_id": "", "provider": "", "model": "", "location": ""}


def _scalar(text: str) -> str:
    """A plain, single- or double-quoted YAML scalar as text (trailing comments removed)."""
    text = text.strip()
    if text[:1] in ("'", '"'):
        quote = text[0]
        end = text.find(quote, 1)
        while quote == "'" and end != -1 and text[end + 1:end + 2] == "'":
            end = text.find(quote, end + 2)
        body = text[1:end] if end != -1 else text[1:]
        return body.replace("''", "'") if quote == "'" else body
    hash_at = text.find(" #")
    text = text[:hash_at] if hash_at != -1 else text
    return "" if text in ("~", "null", "Null", "NULL") else text.strip()


def parse_block_mapping(text: str) -> dict[str, dict[str, str]]:
    """Two-level `section:` / `  key: value` scalars of a YAML block mapping; the rest is ignored."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}  # a section's keys; a throwaway dict outside any section
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped in ("---", "..."):
            continue
        key, sep, rest = stripped.partition(":")
        if not sep:
            continue
        key = _scalar(key) if key[:1] in ("'", '"') else key.strip()
        if not line[0].isspace():
            current = sections.setdefault(key, {}) if not rest.strip() else {}
        elif rest[:1] in (" ", "") and key not in current:
            current[key] = _scalar(rest)
    return sections


def facts_from_mapping(data: Mapping[str, Mapping[str, Any]]) -> ProjectFacts:
    """The event's project fields from a parsed project document."""
    project = data.get("project") or {}
    ai = data.get("ai") or {}
    return ProjectFacts(
        project_id=str(project.get("id") or ""),
        provider=str(ai.get("provider") or ""),
        model=str(ai.get("model") or ""),
        location=str(project.get("location") or ""),
    )


def read_project_facts(project_dir: str | os.PathLike[str] | None) -> ProjectFacts:
    """The project fields of `<project_dir or cwd>/prototype.yaml`; empty when absent or unreadable."""
    try:
        path = Path(project_dir or os.getcwd()).expanduser() / PROJECT_FILE
        # Regular files only (a symlink to one is fine): a FIFO or /dev/zero must not hang us.
        data = read_regular_file(path, _MAX_BYTES, follow_symlinks=True)
        if len(data) > _MAX_BYTES:
            return ProjectFacts()
        return facts_from_mapping(parse_block_mapping(data.decode("utf-8-sig", "replace")))
    except (OSError, ValueError):
        return ProjectFacts()
