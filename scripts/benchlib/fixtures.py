"""Realistic inputs: an envelope as the recorder builds it, filled spools, a project, a fake az `cmd`."""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.write import write_event

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"  # a syntactically valid tenant GUID for the fake profile


def write_profile(config_dir: Path) -> None:
    """A signed-in az profile (azureProfile.json) so the recorder reads a tenant as it would for a user."""
    profile = {"installationId": str(uuid.uuid4()), "subscriptions": [{
        "id": str(uuid.uuid4()), "name": "bench", "state": "Enabled", "tenantId": TENANT_ID, "isDefault": True,
        "user": {"name": "bench@example.invalid", "type": "user"}, "environmentName": "AzureCloud",
    }]}  # fmt: skip
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "azureProfile.json").write_text(json.dumps(profile))


def make_project(folder: Path) -> Path:
    """A prototype project folder with the prototype.yaml `az prototype init` writes."""
    from azext_prototype import project

    folder.mkdir(parents=True, exist_ok=True)
    data = project.new_project(
        name="bench", location="westus3", project_id=project.new_project_id(), environment="dev",
        iac_tool="terraform", provider="azure-openai", model="gpt-4o",
    )  # fmt: skip
    project.write_project(folder / project.PROJECT_FILE, data)
    return folder


def fake_cmd(command_name: str, specified: list[str], collect_telemetry: str | None = None) -> Any:
    """An AzCliCommand look-alike with what @track reads: cli_ctx.config, the parser's specified args, safe_params."""
    parser = SimpleNamespace(subparser_map={command_name: SimpleNamespace(specified_arguments=list(specified))})
    config = SimpleNamespace(
        get=lambda section, option, fallback=None: collect_telemetry
        if (section, option) == ("core", "collect_telemetry") else fallback
    )  # fmt: skip
    cli_ctx = SimpleNamespace(
        invocation=SimpleNamespace(parser=parser),
        data={"safe_params": ["--" + name.replace("_", "-") for name in specified]},
        config=config,
    )
    return SimpleNamespace(cli_ctx=cli_ctx, name=command_name, arguments={})


def sample_envelope(connection_string: str, project_dir: Path, config_dir: Path) -> dict[str, Any]:
    """One envelope recorded by the real @track (the public API) in a scratch config dir, read back."""
    import os

    from azext_prototype.telemetry import track

    from benchlib import procs

    write_profile(config_dir)
    overlay = {"AZURE_CONFIG_DIR": str(config_dir), "APPLICATIONINSIGHTS_CONNECTION_STRING": connection_string}
    saved = {key: os.environ.get(key) for key in overlay}
    os.environ.update(overlay)
    try:
        track("prototype status")(lambda cmd, project_dir=None: None)(
            fake_cmd("prototype status", ["project_dir"]), project_dir=str(project_dir))
    finally:
        procs.kill_children()  # the sender it started
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    files = sorted(SpoolLayout.default(overlay).spool.glob("*.json"))
    if len(files) != 1:
        raise RuntimeError(f"@track should have spooled one event in {config_dir}, found {len(files)}")
    return json.loads(files[0].read_text())


def fresh_copy(envelope: dict[str, Any]) -> dict[str, Any]:
    """The same event with a new eventId and the current time (so the service window accepts it)."""
    copy_ = copy.deepcopy(envelope)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".000000Z"
    copy_["time"] = stamp
    props = copy_["data"]["baseData"]["properties"]
    props["eventId"] = str(uuid.uuid4())
    props["timestamp"] = stamp
    return copy_


def fill_spool(layout: SpoolLayout, envelope: dict[str, Any], count: int) -> float:
    """Write `count` distinct pending events with spool.write_event; return seconds taken."""
    started = time.perf_counter()
    base = fresh_copy(envelope)
    props = base["data"]["baseData"]["properties"]
    for _ in range(count):
        props["eventId"] = str(uuid.uuid4())
        write_event(layout, base)
    return time.perf_counter() - started


def pending_files(layout: SpoolLayout) -> tuple[int, int]:
    """(count, total bytes) of pending `*.json` files in the spool folder."""
    count = size = 0
    try:
        entries = list(layout.spool.iterdir())
    except OSError:
        return 0, 0
    for entry in entries:
        if entry.name.endswith(".json") and not entry.name.startswith("."):
            try:
                size += entry.stat().st_size
                count += 1
            except OSError:
                pass
    return count, size


def tree_bytes(root: Path) -> int:
    """Total size of the regular files under `root`."""
    total = 0
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:
            pass
    return total


AZ_CLI_IKEY = "c4395b75-49cc-422c-bc95-c7d51aef5d46"  # azure-cli-telemetry's DEFAULT_INSTRUMENTATION_KEY


def az_cli_payload(ikey: str = AZ_CLI_IKEY) -> str:
    """A payload shaped like the one azure-cli-core hands to azure.cli.telemetry.save() after a command."""
    prefix = "Context.Default.AzureCLI."
    props = {
        "Context.Default.VS.Core.ExeName": "AZURECLI", "Context.Default.VS.Core.ExeVersion": "2.x@2.x",
        "Context.Default.VS.Core.OS.Type": "linux", "Context.Default.VS.Core.OS.Version": "#1 smp",
        "Context.Default.VS.Core.OS.Platform": "linux-6.x-x86_64", "Context.Default.VS.Core.User.Id": str(uuid.uuid4()),
        "Context.Default.VS.Core.User.IsOptedIn": "True", "Reserved.DataModel.Action.Result": "Success",
        prefix + "Source": "az", prefix + "CoreVersion": "2.x", prefix + "TelemetryVersion": "2.0",
        prefix + "InstallationId": str(uuid.uuid4()), prefix + "ShellType": "bash",
        prefix + "DefaultOutputType": "json", prefix + "Locale": "en_US,UTF-8",
        prefix + "StartTime": "2026-01-01 00:00:00.000000", prefix + "EndTime": "2026-01-01 00:00:00.300000",
        prefix + "InitTimeElapsed": "0.12", prefix + "InvokeTimeElapsed": "0.05", prefix + "OutputType": "json",
        prefix + "RawCommand": "prototype status", prefix + "Params": "", prefix + "PythonVersion": "3.11.7",
        prefix + "ExtensionName": "prototype@0.1.0", prefix + "ExtensionManagementDetail": "",
        "Reserved.DataModel.CorrelationId": str(uuid.uuid4()), "Reserved.DataModel.Fault.Exception.Message": "",
    }  # fmt: skip
    return json.dumps({ikey: [{"name": "azurecli/command", "properties": props}]})
