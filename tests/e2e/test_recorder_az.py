"""The recorder inside the real az: one correct spool file per command, nothing when opted out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import azcli
from azext_prototype.telemetry.event import PROPERTY_KEYS
from telemetry_sender import VERSION
from telemetry_sender.recording import ensure_private_dir
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.lock import try_acquire

pytestmark = pytest.mark.az

# Nothing listens here: no sender can deliver, and nothing leaves the host.
CS = "InstrumentationKey=00000000-0000-0000-0000-0000000000aa;IngestionEndpoint=http://127.0.0.1:9/"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
GUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
ISO_Z = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


@pytest.fixture
def held_spool(dev_az_env):
    """An env recording into a spool whose lock the test holds, so no sender drains it."""
    env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": CS}
    layout = SpoolLayout.default(env)
    ensure_private_dir(layout.root.parent)
    ensure_private_dir(layout.root)
    lock = try_acquire(layout.lock_file)
    assert lock is not None
    yield env, layout
    lock.release()


def take_events(layout: SpoolLayout) -> list[dict]:
    """The pending envelopes, oldest first, removed so the next command starts from zero."""
    files = sorted(layout.spool.glob("*.json")) if layout.spool.is_dir() else []
    events = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    for f in files:
        f.unlink()
    return events


def props(envelope: dict) -> dict:
    return envelope["data"]["baseData"]["properties"]


def check_envelope(envelope: dict, command: str, success: bool) -> dict:
    assert envelope["name"] == "Microsoft.ApplicationInsights.Event"
    assert envelope["iKey"] == "00000000-0000-0000-0000-0000000000aa"
    assert set(envelope["tags"]) == {"ai.cloud.role", "ai.internal.sdkVersion", "ai.application.ver"}
    assert envelope["data"]["baseType"] == "EventData" and envelope["data"]["baseData"]["name"] == "cli_command_executed"
    p = props(envelope)
    expected = set(PROPERTY_KEYS) - (set() if not success else {"error"})
    assert set(p) == expected
    assert all(isinstance(v, str) for v in p.values())
    assert p["commandName"] == command
    assert p["success"] == ("true" if success else "false")
    assert p["extensionVersion"] == VERSION
    assert re.fullmatch(ISO_Z, p["timestamp"]) and envelope["time"] == p["timestamp"]
    assert re.fullmatch(GUID_RE, p["eventId"])
    assert envelope["data"]["baseData"]["measurements"]["durationMs"] >= 0
    json.loads(p["parameters"])
    return p


def sign_in(env: dict) -> None:
    """A signed-in az profile (what `az login` leaves), BOM included as az writes it on Windows."""
    profile = {
        "installationId": "99999999-9999-9999-9999-999999999999",
        "subscriptions": [
            {"id": SUBSCRIPTION, "name": "Contoso Dev", "state": "Enabled", "isDefault": True, "tenantId": TENANT,
             "environmentName": "AzureCloud", "user": {"name": "alice@contoso.com", "type": "user"}}
        ],
    }
    path = Path(env["AZURE_CONFIG_DIR"]) / "azureProfile.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(profile).encode())


def test_every_command_leaves_one_correct_event(held_spool, tmp_path):
    env, layout = held_spool
    sign_in(env)
    work = tmp_path / "work"
    work.mkdir()

    created = azcli.az_json(["prototype", "init", "--name", "contoso-secret-app", "--location", "westus3",
                             "--iac-tool", "bicep", "--output-dir", str(work)], env, cwd=work)
    project_id = created["id"]
    project_dir = work / "contoso-secret-app"
    [init] = take_events(layout)
    p = check_envelope(init, "prototype init", success=True)
    assert p["tenantId"] == TENANT and p["projectId"] == project_id
    assert (p["provider"], p["model"], p["location"]) == ("azure-openai", "gpt-4o", "westus3")
    assert json.loads(p["parameters"]) == {"name": "***", "location": "westus3", "iac_tool": "bicep", "output_dir": "***"}

    azcli.az_json(["prototype", "status"], env, cwd=project_dir)
    [status] = take_events(layout)
    p = check_envelope(status, "prototype status", success=True)
    assert (p["projectId"], p["provider"], p["location"], p["parameters"]) == (project_id, "azure-openai", "westus3", "{}")

    azcli.az_json(["prototype", "config", "set", "--key", "ai.model", "--value", "my-private-deployment-7"], env, cwd=project_dir)
    azcli.az_json(["prototype", "config", "get", "-k", "ai.model", "--project-dir", str(project_dir)], env)
    azcli.az_json(["prototype", "config", "show", "-d", str(project_dir)], env)
    config_set, config_get, config_show = take_events(layout)
    assert json.loads(check_envelope(config_set, "prototype config set", True)["parameters"]) == {"key": "***", "value": "***"}
    assert json.loads(check_envelope(config_get, "prototype config get", True)["parameters"]) == {"key": "***", "project_dir": "***"}
    assert props(config_show)["commandName"] == "prototype config show"
    assert props(config_get)["projectId"] == project_id
    # ai.model is the model field's source, but a chosen deployment name is not a model id: never reported.
    assert props(config_get)["model"] == "***"

    spool_text = "".join(json.dumps(e) for e in (init, status, config_set, config_get, config_show))
    for private in ("contoso-secret-app", SUBSCRIPTION, "alice", "Contoso Dev", str(work), "my-private-deployment-7"):
        assert private not in spool_text


def test_a_failing_command_records_its_sanitized_error(held_spool, tmp_path):
    env, layout = held_spool
    empty = tmp_path / "home" / "alice" / "empty"
    empty.mkdir(parents=True)
    done = azcli.run_az(["prototype", "status"], env, cwd=empty)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    [event] = take_events(layout)
    p = check_envelope(event, "prototype status", success=False)
    assert p["error"].startswith(("FileOperationError: ", "AzCLIError", "CLIError"))
    assert str(empty) not in p["error"] and "alice" not in p["error"]
    assert len(p["error"].encode("utf-8")) <= 1024


def test_argument_errors_and_telemetry_commands_record_nothing(held_spool):
    env, layout = held_spool
    assert azcli.run_az(["prototype", "init", "--location", "westus3"], env).returncode != 0  # missing --name
    assert azcli.run_az(["prototype", "telemetry", "status"], env).returncode == 0
    assert take_events(layout) == []


@pytest.mark.parametrize(
    "extra",
    [
        {"DO_NOT_TRACK": "1"},
        {"AZURE_CORE_COLLECT_TELEMETRY": "no"},
        {"AZURE_CORE_COLLECT_TELEMETRY": "false"},
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": ""},
    ],
    ids=["DO_NOT_TRACK", "env-no", "env-false", "no-connection-string"],
)
def test_each_opt_out_leaves_nothing(dev_az_env, tmp_path, extra):
    env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": CS, **extra}
    azcli.az_json(["prototype", "init", "--name", "demo", "--location", "westus3", "--output-dir", str(tmp_path / "w")], env)
    assert not (Path(env["AZURE_CONFIG_DIR"]) / "prototype").exists()


def test_az_config_opt_out_leaves_nothing(dev_az_env, tmp_path):
    env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": CS}
    done = azcli.run_az(["config", "set", "core.collect_telemetry=no"], env)
    assert done.returncode == 0, done.stderr
    azcli.az_json(["prototype", "init", "--name", "demo", "--location", "westus3", "--output-dir", str(tmp_path / "w")], env)
    assert not (Path(env["AZURE_CONFIG_DIR"]) / "prototype").exists()


def test_debug_mode_prints_the_envelope(held_spool):
    env, layout = held_spool
    done = azcli.run_az(["prototype", "telemetry", "status"], {**env, "AZ_PROTOTYPE_TELEMETRY_DEBUG": "1"})
    assert "az prototype telemetry: recording" not in done.stderr  # telemetry commands record nothing
    done = azcli.run_az(["prototype", "status"], {**env, "AZ_PROTOTYPE_TELEMETRY_DEBUG": "1"})
    assert "az prototype telemetry: recording event" in done.stderr
    assert '"cli_command_executed"' in done.stderr and "written to " in done.stderr
    assert len(take_events(layout)) == 1


@pytest.mark.slow
def test_installed_wheel_delivers_through_its_own_sender(wheel_az_env, tmp_path):
    from telemetry_sender.emulator.server import Emulator

    with Emulator(port=0) as emu:
        env = {**wheel_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": emu.connection_string}
        azcli.az_json(["prototype", "init", "--name", "demo", "--location", "westus3", "--output-dir", str(tmp_path / "w")], env)
        assert emu.wait_for_accepted(1, timeout=30)
        [item] = emu.accepted
        assert props(item)["commandName"] == "prototype init"


SECRET_NAME = "sk_live_4f9a8b7c6d5e"  # a secret typed where a name was expected (invalid: underscores)


def test_errors_that_echo_what_the_user_typed_leak_nothing(held_spool, tmp_path):
    """Audit R1: real az errors that repeat input (a key that is an e-mail, a bad name that is a secret)."""
    env, layout = held_spool
    work = tmp_path / "work"
    work.mkdir()
    azcli.az_json(["prototype", "init", "--name", "demo-app", "--location", "alicesmith", "--model", "alice-gpt",
                   "--output-dir", str(work)], env)
    project_dir = work / "demo-app"
    runs = [
        ["prototype", "init", "--name", SECRET_NAME, "--location", "westus3", "--output-dir", str(work)],
        ["prototype", "init", "--name", "Alice.Smith@contoso.com", "--location", "westus3", "--output-dir", str(work)],
        ["prototype", "config", "get", "--key", "alice.smith@contoso.com", "-d", str(project_dir)],
        ["prototype", "config", "get", "--key", "project.owner_alice", "-d", str(project_dir)],
        ["prototype", "config", "set", "--key", "project.name", "--value", SECRET_NAME, "-d", str(project_dir)],
        ["prototype", "config", "set", "--key", "project.location", "--value", "alice smith", "-d", str(project_dir)],
        ["prototype", "status", "--project-dir", str(tmp_path / "home" / "alice" / "missing")],
    ]
    outcomes = [azcli.run_az(args, env).returncode == 0 for args in runs]
    assert outcomes.count(False) >= 6, outcomes  # errors that repeat what was typed
    events = take_events(layout)
    assert len(events) == 1 + len(runs)
    init_props = props(events[0])
    assert (init_props["location"], init_props["model"]) == ("***", "***")
    for event, succeeded in zip(events[1:], outcomes):
        p = check_envelope(event, props(event)["commandName"], success=succeeded)
        assert succeeded or p["error"]
    spool_text = json.dumps(events)
    for private in (SECRET_NAME, "4f9a8b7c6d5e", "live_", "alice", "Alice", "contoso", "owner_alice", str(tmp_path), "demo-app"):
        assert private not in spool_text, private
