"""The extension through the real az executable, loaded as a dev folder and as an installed wheel."""

from __future__ import annotations

import os
import uuid
import zipfile
from pathlib import Path

import pytest

import azcli
from azcli import assert_clean_error as _clean_error
from telemetry_sender import VERSION
from waiting import wait_until

pytestmark = pytest.mark.az


def _ok(done, what=""):
    assert done.returncode == 0, "{} failed ({}):\n{}".format(what, done.returncode, done.stderr)
    return done


# ---- how the extension is installed ------------------------------------------------------


def test_dev_folder_is_discovered_as_the_prototype_extension(dev_az_env, dev_sources):
    [ext] = azcli.az_json(["extension", "list"], dev_az_env)
    assert ext["name"] == "prototype" and ext["extensionType"] == "dev"
    assert ext["path"] == str(dev_sources / "prototype") and ext["version"] == VERSION


def test_wheel_holds_the_extension_and_the_sender(prototype_wheel):
    assert prototype_wheel.name == "prototype-{}-py3-none-any.whl".format(VERSION)
    names = set(zipfile.ZipFile(prototype_wheel).namelist())
    for needed in (
        "azext_prototype/__init__.py",
        "azext_prototype/azext_metadata.json",
        "azext_prototype/telemetry/__init__.py",
        "telemetry_sender/__main__.py",
    ):
        assert needed in names


def test_wheel_is_installed_as_the_prototype_extension(wheel_az_env, wheel_extension_dir):
    [ext] = azcli.az_json(["extension", "list"], wheel_az_env)
    assert ext["name"] == "prototype" and ext["extensionType"] == "whl"
    assert ext["path"] == str(wheel_extension_dir / "prototype") and ext["version"] == VERSION


@pytest.mark.parametrize("kind", ["dev", "wheel"])
def test_az_runs_the_installed_copy_not_the_editable_install(kind, tmp_path, request):
    """The venv has the repo installed editable; az must still import the extension it was given."""
    if kind == "dev":
        env = azcli.dev_extension_env(tmp_path, request.getfixturevalue("dev_sources"), PYTHONVERBOSE="1")
        expected = request.getfixturevalue("dev_sources") / "prototype" / "azext_prototype"
    else:
        ext_dir = request.getfixturevalue("wheel_extension_dir")
        env = azcli.wheel_extension_env(tmp_path, ext_dir, PYTHONVERBOSE="1")
        expected = ext_dir / "prototype" / "azext_prototype"
    done = azcli.run_az(["prototype", "config", "get", "--key", "ai.model"], env)
    loads = [line for line in done.stderr.splitlines() if "azext_prototype/custom.py" in line]
    assert loads and all(str(expected / "custom.py") in line for line in loads), loads


# ---- the commands, both ways ---------------------------------------------------------------


def test_init_status_config_round_trip(az_install, tmp_path):
    kind, env = az_install
    work = tmp_path / "work"
    work.mkdir()

    created = azcli.az_json(["prototype", "init", "--name", "my-app", "--location", "West US 3"], env, cwd=work)
    project_dir = work / "my-app"
    assert created["projectDir"] == str(project_dir) and created["location"] == "westus3"
    assert uuid.UUID(created["id"]).version == 4
    assert (project_dir / "prototype.yaml").read_text() == (
        "project:\n  name: my-app\n  id: {}\n  location: westus3\n  environment: dev\n"
        "  iac_tool: terraform\nai:\n  provider: azure-openai\n  model: gpt-4o\n".format(created["id"])
    )

    status = azcli.az_json(["prototype", "status"], env, cwd=project_dir)
    assert (status["name"], status["id"], status["aiProvider"], status["model"]) == (
        "my-app", created["id"], "azure-openai", "gpt-4o",
    )
    assert status["files"] == ["prototype.yaml"]

    written = azcli.az_json(["prototype", "config", "set", "--key", "deploy.replicas", "--value", "3"], env, cwd=project_dir)
    assert written == {"key": "deploy.replicas", "value": 3}

    tsv = _ok(azcli.run_az(["prototype", "config", "get", "--key", "deploy.replicas", "-o", "tsv"], env, cwd=project_dir))
    assert tsv.stdout == "3\n"

    table = _ok(azcli.run_az(["prototype", "config", "show", "-o", "table"], env, cwd=project_dir))
    rows = [line.split() for line in table.stdout.splitlines()]
    assert rows[0] == ["Key", "Value"]
    assert ["ai.model", "gpt-4o"] in rows and ["deploy.replicas", "3"] in rows and ["project.id", created["id"]] in rows


def test_init_with_every_option_creates_the_output_dir(dev_az_env, tmp_path):
    out = tmp_path / "deep" / "er"
    created = azcli.az_json(
        ["prototype", "init", "-n", "Proto-1", "-l", "eastus", "--ai-provider", "github-models",
         "--iac-tool", "bicep", "--environment", "prod", "--output-dir", str(out)],
        dev_az_env,
    )
    assert created["configFile"] == str(out / "Proto-1" / "prototype.yaml")
    status = azcli.az_json(["prototype", "status", "--project-dir", str(out / "Proto-1"), "--query",
                            "[aiProvider, model, iacTool, environment]"], dev_az_env)
    assert status == ["github-models", "openai/gpt-4.1", "bicep", "prod"]


def test_status_table_shows_the_project_row(dev_az_env, tmp_path):
    created = azcli.az_json(["prototype", "init", "-n", "tabled", "-l", "eastus", "--model", "gpt-4o-mini"], dev_az_env)
    done = _ok(azcli.run_az(["prototype", "status", "-d", created["projectDir"], "-o", "table"], dev_az_env))
    header, _rule, row = done.stdout.splitlines()
    assert header.split() == ["Name", "Location", "Environment", "IaC", "Provider", "Model", "Id", "Files"]
    assert row.split() == ["tabled", "eastus", "dev", "terraform", "azure-openai", "gpt-4o-mini", created["id"], "1"]


# ---- errors: clean messages, non-zero exit -------------------------------------------------


def test_status_outside_a_project_fails_cleanly(dev_az_env, tmp_path):
    _clean_error(azcli.run_az(["prototype", "status"], dev_az_env, cwd=tmp_path), "No prototype project")


def test_init_refuses_to_overwrite_unless_forced(dev_az_env, tmp_path):
    first = azcli.az_json(["prototype", "init", "-n", "twice", "-l", "eastus"], dev_az_env)
    _clean_error(azcli.run_az(["prototype", "init", "-n", "twice", "-l", "westus"], dev_az_env),
                 "already exists", "--force")
    assert "location: eastus" in Path(first["configFile"]).read_text()
    again = azcli.az_json(["prototype", "init", "-n", "twice", "-l", "westus", "--force"], dev_az_env)
    assert again["replaced"] is True and again["id"] != first["id"]
    assert "location: westus" in Path(first["configFile"]).read_text()


def test_bad_name_fails_cleanly_and_writes_nothing(dev_az_env, tmp_path):
    _clean_error(azcli.run_az(["prototype", "init", "-n", "9lives", "-l", "eastus"], dev_az_env),
                 "Invalid project name", "starting with a letter")
    assert not (tmp_path / "9lives").exists()


def test_unknown_provider_is_refused_by_az(dev_az_env):
    done = azcli.run_az(["prototype", "init", "-n", "abc", "-l", "eastus", "--ai-provider", "openai"], dev_az_env)
    assert done.returncode == 2 and "azure-openai" in done.stderr and "Traceback" not in done.stderr


def test_output_dir_that_is_a_file_fails_cleanly(dev_az_env, tmp_path):
    (tmp_path / "a-file").write_text("x")
    _clean_error(azcli.run_az(["prototype", "init", "-n", "abc", "-l", "eastus", "--output-dir",
                               str(tmp_path / "a-file")], dev_az_env), "not a directory")


def test_config_errors_fail_cleanly(dev_az_env, tmp_path):
    created = azcli.az_json(["prototype", "init", "-n", "cfg-err", "-l", "eastus"], dev_az_env)
    project_dir = created["projectDir"]
    _clean_error(azcli.run_az(["prototype", "config", "get", "--key", "ai.nope"], dev_az_env, cwd=project_dir),
                 "Unknown configuration key 'ai.nope'", "ai.model")
    _clean_error(azcli.run_az(["prototype", "config", "set", "--key", "project.id", "--value", "x"], dev_az_env,
                              cwd=project_dir), "cannot be set")
    assert created["id"] in (Path(project_dir) / "prototype.yaml").read_text()


# ---- help ------------------------------------------------------------------------------------


def test_help_lists_groups_commands_and_examples(dev_az_env):
    group = _ok(azcli.run_az(["prototype", "-h"], dev_az_env)).stdout
    for word in ("config", "telemetry", "init", "status"):
        assert word in group
    init = _ok(azcli.run_az(["prototype", "init", "-h"], dev_az_env)).stdout
    for needle in ("--ai-provider", "copilot", "--output-dir", "--force", "Examples", "az prototype init --name my-app"):
        assert needle in init


# ---- the telemetry support commands (H5's module, replaced here by a recording fake) -----------

_FAKE_CUSTOM_TELEMETRY = '''
def telemetry_status(cmd):
    return {"called": "status", "cliCtx": cmd.cli_ctx is not None}

def telemetry_status_table(result):
    return [{"Fake": "table view"}]

def telemetry_show(cmd, last=None, command_name=None, failed=False, include_all=False):
    return {"called": "show", "last": last, "command": command_name, "failed": failed, "includeAll": include_all}

def telemetry_flush(cmd, wait=False):
    return {"called": "flush", "wait": wait}

def telemetry_purge(cmd, yes=False, include_all=False):
    return {"called": "purge", "yes": yes, "includeAll": include_all}
'''


@pytest.fixture
def fake_support_env(tmp_path) -> dict:
    """A dev extension whose custom_telemetry.py is a fake that echoes the arguments it gets."""
    root = tmp_path / "farm" / "prototype"
    package = root / "azext_prototype"
    package.mkdir(parents=True)
    for entry in azcli.REPO.iterdir():
        if entry.name.endswith(".egg-info") or entry.name == "telemetry_sender":
            (root / entry.name).symlink_to(entry)
    for entry in (azcli.REPO / "azext_prototype").iterdir():
        if entry.name not in ("custom_telemetry.py", "__pycache__"):
            (package / entry.name).symlink_to(entry)
    (package / "custom_telemetry.py").write_text(_FAKE_CUSTOM_TELEMETRY)
    return azcli.dev_extension_env(tmp_path, tmp_path / "farm")


def test_telemetry_commands_pass_their_arguments(fake_support_env):
    shown = azcli.az_json(["prototype", "telemetry", "show", "--last", "5", "--command", "prototype init",
                           "--failed", "--all"], fake_support_env)
    assert shown == {"called": "show", "last": 5, "command": "prototype init", "failed": True, "includeAll": True}
    assert azcli.az_json(["prototype", "telemetry", "flush", "--wait"], fake_support_env) == {"called": "flush", "wait": True}
    assert azcli.az_json(["prototype", "telemetry", "purge", "--yes", "--all"], fake_support_env) == {
        "called": "purge", "yes": True, "includeAll": True,
    }
    table = _ok(azcli.run_az(["prototype", "telemetry", "status", "-o", "table"], fake_support_env)).stdout
    assert "table view" in table


def test_telemetry_group_help_has_examples(fake_support_env):
    done = _ok(azcli.run_az(["prototype", "telemetry", "show", "-h"], fake_support_env)).stdout
    for needle in ("--last", "--command", "--failed", "--all", "Examples"):
        assert needle in done


# ---- az's own telemetry stays on this machine -----------------------------------------------


def test_az_own_telemetry_uploader_sends_nothing(dev_az_env, tmp_path):
    """az spawns its uploader after every command; the far-future note leaves it nothing to send."""
    _ok(azcli.run_az(["prototype", "-h"], dev_az_env))
    config = Path(dev_az_env["AZURE_CONFIG_DIR"])
    log = config / "logs" / "telemetry.log"

    def log_text() -> str:
        return log.read_text(errors="replace") if log.exists() else ""

    def finished() -> str:
        text = log_text()
        return text if "Update the last send in note" in text else ""

    text = wait_until(finished, 60, lambda: "az's uploader to finish; its log:\n" + log_text())
    assert "Processed file" in text and "into 0 records" in text
    for sign_of_sending in ("Flush client", "Sending", "Upload failed"):
        assert sign_of_sending not in text
    assert (config / azcli.AZ_TELEMETRY_NOTE).read_text().startswith("9999-")


def test_az_env_is_hermetic_and_leaves_our_telemetry_to_the_caller(tmp_path, monkeypatch):
    monkeypatch.setenv("AZURE_CORE_COLLECT_TELEMETRY", "no")
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=x")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    env = azcli.az_env(tmp_path, DO_NOT_TRACK="0", PYTHONPATH="/extra")
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "hide-editable-install"), "/extra"]
    assert "AZURE_CORE_COLLECT_TELEMETRY" not in env and "APPLICATIONINSIGHTS_CONNECTION_STRING" not in env
    assert env["DO_NOT_TRACK"] == "0"
    assert env["HTTPS_PROXY"] == env["https_proxy"] == azcli.DEAD_LOOPBACK
    assert env["AZURE_CONFIG_DIR"] == str(tmp_path / "azure")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
