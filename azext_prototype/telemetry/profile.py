"""The signed-in tenant, read cheaply from az's profile file (never a subscription id)."""

from __future__ import annotations

import json
import re
from pathlib import Path

PROFILE_FILE = "azureProfile.json"
_MAX_PROFILE_BYTES = 8 * 1024 * 1024
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


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
            return tenant.lower() if isinstance(tenant, str) and _GUID.fullmatch(tenant) else ""
    return ""


def read_tenant_id(config_dir: Path) -> str:
    """tenantId of the signed-in az profile under `config_dir`; "" when absent or unreadable."""
    path = config_dir / PROFILE_FILE
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_PROFILE_BYTES + 1)
    except OSError:
        return ""
    if len(data) > _MAX_PROFILE_BYTES:
        return ""
    try:
        # az writes this file with a UTF-8 BOM on some platforms.
        return tenant_from_profile(json.loads(data.decode("utf-8-sig")))
    except ValueError:
        return ""
