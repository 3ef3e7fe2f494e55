"""Recording: one private spool file per command when enabled; nothing at all when not."""

from __future__ import annotations

import errno
import io
import json
import logging
import sys
import os
import stat
from types import SimpleNamespace

from pathlib import Path

import pytest

from azext_prototype.telemetry import track
from azext_prototype.telemetry import record as record_module
from azext_prototype.telemetry.event import PROPERTY_KEYS, Invocation
from azext_prototype.telemetry.record import project_dir_for, record
from telemetry_sender import spawn as spawn_module
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.lock import try_acquire
from telemetry_sender.spool.state import empty_state, save_state

CS = "InstrumentationKey=test-ikey;IngestionEndpoint=http://127.0.0.1:9/"
PROJECT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture
def spawned(monkeypatch):
    """Capture spawn requests instead of starting real senders."""
    calls = []

    def capture(root, env, lock_fd, executable=None):  # the spool root it would send from, the lock it would hold
        calls.append(SpoolLayout(Path(root)))
        if lock_fd is not None:
            os.close(lock_fd)  # as when that sender has finished: the next command may start one
        return 4242

    monkeypatch.setattr(spawn_module, "start_sender", capture)
    return calls


def make_env(tmp_path, **extra):
    env = {"AZURE_CONFIG_DIR": str(tmp_path / "azure"), "APPLICATIONINSIGHTS_CONNECTION_STRING": CS}
    env.update(extra)
    return env


def inv(**overrides):
    base = dict(command_name="prototype status", given={}, arguments={}, error=None, time_ns=1_700_000_000_000_000_000, duration_ms=1.0)
    base.update(overrides)
    return Invocation(**base)


def spool_files(env):
    folder = SpoolLayout.default(env).spool
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def test_enabled_writes_one_private_file_and_spawns(tmp_path, spawned):
    env = make_env(tmp_path)
    path = record(inv(), env=env, cwd=str(tmp_path))
    assert spool_files(env) == [Path(path)]
    layout = SpoolLayout.default(env)
    assert stat.S_IMODE(os.stat(layout.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(layout.spool).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    envelope = json.loads(Path(path).read_text())
    assert envelope["iKey"] == "test-ikey"
    props = envelope["data"]["baseData"]["properties"]
    assert set(props) == set(PROPERTY_KEYS) - {"error"}
    assert envelope["time"] == props["timestamp"] == "2023-11-14T22:13:20.000000Z"
    assert spawned == [layout]


@pytest.mark.parametrize(
    "extra",
    [
        {"DO_NOT_TRACK": "1"},
        {"DO_NOT_TRACK": "true"},
        {"AZURE_CORE_COLLECT_TELEMETRY": "no"},
        {"AZURE_CORE_COLLECT_TELEMETRY": "False"},
        {"AZURE_CORE_COLLECT_TELEMETRY": "off"},
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": ""},
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": "IngestionEndpoint=https://x.example"},
        {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k;IngestionEndpoint=http://example.com"},
    ],
)
def test_disabled_touches_nothing(tmp_path, spawned, extra):
    env = make_env(tmp_path, **extra)
    assert record(inv(), env=env, cwd=str(tmp_path)) is None
    assert not (tmp_path / "azure").exists()
    assert spawned == []


def test_config_file_opt_out_touches_nothing_but_the_config(tmp_path, spawned):
    env = make_env(tmp_path)
    (tmp_path / "azure").mkdir()
    (tmp_path / "azure" / "config").write_text("[core]\ncollect_telemetry = no\n")
    assert record(inv(), env=env, cwd=str(tmp_path)) is None
    assert sorted(p.name for p in (tmp_path / "azure").iterdir()) == ["config"]
    assert spawned == []


def test_az_resolved_setting_is_honoured(tmp_path, spawned):
    env = make_env(tmp_path)
    assert record(inv(), env=env, cwd=str(tmp_path), az_setting=(True, "false")) is None
    assert not (tmp_path / "azure").exists()
    assert record(inv(), env=env, cwd=str(tmp_path), az_setting=(True, None)) is not None


def test_env_form_wins_over_az_resolved_value(tmp_path, spawned):
    env = make_env(tmp_path, AZURE_CORE_COLLECT_TELEMETRY="yes")
    assert record(inv(), env=env, cwd=str(tmp_path), az_setting=(True, "no")) is not None


def test_no_spawn_while_a_sender_holds_the_lock(tmp_path, spawned):
    env = make_env(tmp_path)
    layout = SpoolLayout.default(env)
    record(inv(), env=env, cwd=str(tmp_path))
    held = try_acquire(layout.lock_file)
    assert held is not None
    try:
        record(inv(), env=env, cwd=str(tmp_path))
    finally:
        held.release()
    assert len(spool_files(env)) == 2
    assert spawned == [layout]


def test_no_spawn_while_backing_off(tmp_path, spawned):
    env = make_env(tmp_path)
    layout = SpoolLayout.default(env)
    record(inv(), env=env, cwd=str(tmp_path))
    from datetime import datetime, timedelta, timezone

    from telemetry_sender.spool.state import format_time

    state = empty_state()
    # Within the longest wait a sender writes (1 h): a farther one is ignored as a wrong clock.
    state["next_attempt"] = format_time(datetime.now(timezone.utc) + timedelta(minutes=30))
    save_state(layout.state_file, state)
    record(inv(), env=env, cwd=str(tmp_path))
    state["next_attempt"] = "2000-01-01T00:00:00.000000Z"
    save_state(layout.state_file, state)
    record(inv(), env=env, cwd=str(tmp_path))
    assert len(spawned) == 2


def test_unusable_spool_root_is_silent(tmp_path, spawned, caplog):
    env = make_env(tmp_path)
    (tmp_path / "azure" / "prototype").mkdir(parents=True)
    (tmp_path / "azure" / "prototype" / "telemetry").write_text("a file where the folder should be")
    with caplog.at_level(logging.DEBUG):
        assert record(inv(), env=env, cwd=str(tmp_path)) is None
    assert "not written" in caplog.text and spawned == []


def test_symlinked_spool_is_refused(tmp_path, spawned):
    env = make_env(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "azure" / "prototype").mkdir(parents=True)
    (tmp_path / "azure" / "prototype" / "telemetry").symlink_to(elsewhere)
    assert record(inv(), env=env, cwd=str(tmp_path)) is None
    assert list(elsewhere.iterdir()) == []


def test_full_disk_is_silent(tmp_path, spawned, monkeypatch):
    from telemetry_sender import recording

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(recording, "write_private_atomic", full)
    assert record(inv(), env=make_env(tmp_path), cwd=str(tmp_path)) is None
    assert spawned == []


def test_debug_mode_prints_the_envelope(tmp_path, spawned):
    stream = io.StringIO()
    env = make_env(tmp_path, AZ_PROTOTYPE_TELEMETRY_DEBUG="1")
    path = record(inv(), env=env, cwd=str(tmp_path), stream=stream)
    text = stream.getvalue()
    assert "recording event" in text and '"cli_command_executed"' in text
    assert f"written to {path}" in text and "sender started (pid 4242)" in text


def test_debug_mode_says_why_nothing_was_recorded(tmp_path):
    stream = io.StringIO()
    record(inv(), env=make_env(tmp_path, DO_NOT_TRACK="1", AZ_PROTOTYPE_TELEMETRY_DEBUG="1"), stream=stream)
    assert "DO_NOT_TRACK is set" in stream.getvalue()


def test_project_config_is_read_from_project_dir_or_init_target(tmp_path, spawned):
    project = tmp_path / "out" / "demo"
    project.mkdir(parents=True)
    (project / "prototype.yaml").write_text(f"project:\n  id: {PROJECT_ID}\n  location: eastus\nai:\n  provider: copilot\n  model: gpt-4.1\n")
    assert project_dir_for("prototype init", {"name": "demo", "output_dir": str(tmp_path / "out")}, "/cwd") == str(project)
    assert project_dir_for("prototype init", {"name": "demo", "output_dir": None}, str(tmp_path / "out")) == str(project)
    assert project_dir_for("prototype status", {"project_dir": str(project)}, "/cwd") == str(project)
    assert project_dir_for("prototype status", {"project_dir": None}, "/cwd") == "/cwd"
    env = make_env(tmp_path)
    path = record(inv(arguments={"project_dir": str(project)}), env=env, cwd=str(tmp_path))
    props = json.loads(Path(path).read_text())["data"]["baseData"]["properties"]
    assert (props["projectId"], props["provider"], props["model"], props["location"]) == (PROJECT_ID, "copilot", "gpt-4.1", "eastus")


# --- the decorator ---

def test_track_passes_result_through_and_records(tmp_path, spawned, monkeypatch):
    env = make_env(tmp_path)
    monkeypatch.setattr(os, "environ", env)

    @track("prototype status")
    def status(cmd=None, project_dir=None, verbose=False):
        """Doc."""
        return {"ok": True}

    assert status(verbose=True) == {"ok": True}
    assert status.__name__ == "status" and status.__doc__ == "Doc." and status.__wrapped__ is not None
    files = spool_files(env)
    assert len(files) == 1
    props = json.loads(files[0].read_text())["data"]["baseData"]["properties"]
    assert props["success"] == "true" and json.loads(props["parameters"]) == {"verbose": True}


def test_track_reraises_the_same_exception(tmp_path, spawned, monkeypatch):
    env = make_env(tmp_path)
    monkeypatch.setattr(os, "environ", env)
    boom = KeyError("x")

    @track("prototype config get")
    def get(cmd=None, key=None):
        raise boom

    with pytest.raises(KeyError) as info:
        get(key="ai.model")
    assert info.value is boom
    props = json.loads(spool_files(env)[0].read_text())["data"]["baseData"]["properties"]
    assert props["success"] == "false" and props["error"].startswith("KeyError")
    assert json.loads(props["parameters"]) == {"key": "***"}


def test_telemetry_failure_never_reaches_the_command(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(os, "environ", make_env(tmp_path))

    def broken(*_a, **_k):
        raise RuntimeError("recorder bug with secret sk-123")

    monkeypatch.setattr(record_module, "record", broken)

    @track("prototype status")
    def status(cmd=None):
        return 7

    with caplog.at_level(logging.DEBUG):
        assert status() == 7
    assert "telemetry not recorded (RuntimeError)" in caplog.text
    assert "sk-123" not in caplog.text


def test_telemetry_commands_are_not_wrapped():
    def show(cmd=None):
        return 1

    assert track("prototype telemetry show")(show) is show
    assert track("Prototype  Telemetry status")(show) is show


def test_resources_from_decorator_and_callable(tmp_path, spawned, monkeypatch):
    env = make_env(tmp_path)
    monkeypatch.setattr(os, "environ", env)

    @track("prototype deploy", resources=lambda args: [{"resourceType": "Microsoft.Web/sites", "sku": args["sku"], "location": "westus3"}])
    def deploy(cmd=None, sku="P1v3"):
        return None

    deploy()
    props = json.loads(spool_files(env)[0].read_text())["data"]["baseData"]["properties"]
    assert (props["resourceType"], props["sku"], props["location"]) == ("Microsoft.Web/sites", "P1v3", "westus3")


def fake_cmd(tmp_path, specified=None, safe_params=None, collect=None):
    parser = SimpleNamespace(subparser_map={"prototype init": SimpleNamespace(specified_arguments=specified)} if specified is not None else {})
    config = SimpleNamespace(get=lambda section, option, fallback=None: collect if (section, option) == ("core", "collect_telemetry") else fallback)
    cli_ctx = SimpleNamespace(invocation=SimpleNamespace(parser=parser), data={"safe_params": safe_params or []}, config=config)
    options = {"name": ["--name", "-n"], "location": ["--location", "-l"], "iac_tool": ["--iac-tool"], "output_dir": ["--output-dir"]}
    choices = {"iac_tool": ["terraform", "bicep"]}  # as _params.py declares it
    arguments = {
        dest: SimpleNamespace(type=SimpleNamespace(settings={"options_list": opts, "choices": choices.get(dest)}))
        for dest, opts in options.items()
    }
    return SimpleNamespace(cli_ctx=cli_ctx, name="prototype init", arguments=arguments)


def test_free_text_without_declared_choices_is_not_kept(tmp_path, spawned, monkeypatch):
    """Another extension's `--target contoso-prod-web` or `--gh octocat`: az checked no choices, so ***."""
    from azext_prototype.telemetry.record import free_text_arguments
    from azext_prototype.telemetry.event import mask_free_text

    cmd = fake_cmd(tmp_path)
    cmd.arguments["target"] = SimpleNamespace(type=SimpleNamespace(settings={"options_list": ["--target"]}))
    given = {"iac_tool": "terraform", "target": "contoso-prod-web", "location": "westus3", "force": True, "count": 3}
    free = free_text_arguments(cmd, given)
    assert free == {"target", "location", "force", "count"}
    assert mask_free_text(given, free) == {
        "iac_tool": "terraform", "target": "***", "location": "westus3", "force": True, "count": 3,
    }
    assert free_text_arguments(None, given) == frozenset()  # outside az the pure sanitizer judges alone


@pytest.mark.parametrize(
    "cmd_kwargs",
    [{"specified": ["name", "location", "iac_tool"]}, {"safe_params": ["-n", "--location", "--iac-tool"]}],
)
def test_given_parameters_come_from_az(tmp_path, spawned, monkeypatch, cmd_kwargs):
    env = make_env(tmp_path)
    monkeypatch.setattr(os, "environ", env)

    @track("prototype init")
    def init(cmd, name, location, iac_tool="terraform", ai_provider="azure-openai", output_dir=None):
        return None

    # az passes every argument, defaults included, as keywords.
    init(cmd=fake_cmd(tmp_path, **cmd_kwargs), name="demo", location="westus3", iac_tool="terraform", ai_provider="azure-openai", output_dir=None)
    props = json.loads(spool_files(env)[0].read_text())["data"]["baseData"]["properties"]
    assert json.loads(props["parameters"]) == {"name": "***", "location": "westus3", "iac_tool": "terraform"}
    assert props["provider"] == "azure-openai"


def test_az_config_value_from_cmd_disables(tmp_path, spawned, monkeypatch):
    monkeypatch.setattr(os, "environ", make_env(tmp_path))

    @track("prototype init")
    def init(cmd, name="x"):
        return None

    init(cmd=fake_cmd(tmp_path, specified=[], collect="no"))
    assert not (tmp_path / "azure").exists()


# --- special files where our inputs should be: never hang, never break the command ---

def _finishes(fn, fifo=None, timeout=10.0):
    """Run fn in a daemon thread; True when it returns before the deadline (a FIFO is then released)."""
    import threading

    box = []
    worker = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive() and fifo is not None:
        try:  # release the blocked open() so the thread can end
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
    return not worker.is_alive() and bool(box)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
@pytest.mark.parametrize("where", ["prototype.yaml", "azureProfile.json", "config", "state.json"])
def test_a_fifo_in_place_of_an_input_file_does_not_hang(tmp_path, spawned, where):
    env = make_env(tmp_path)
    project = tmp_path / "proj"
    project.mkdir()
    azure = tmp_path / "azure"
    root = SpoolLayout.default(env).root
    root.mkdir(parents=True, mode=0o700)
    target = {"prototype.yaml": project / "prototype.yaml", "azureProfile.json": azure / "azureProfile.json",
              "config": azure / "config", "state.json": root / "state.json"}[where]
    os.mkfifo(target)
    assert _finishes(lambda: record(inv(), env=env, cwd=str(project)), fifo=target)
    assert len(spool_files(env)) == 1


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_symlinked_as_project_file_is_ignored(tmp_path, spawned, device):
    from azext_prototype.telemetry.event import ProjectFacts
    from azext_prototype.telemetry.record import read_project_facts

    if not os.path.exists(device):
        pytest.skip("no such device")
    os.symlink(device, tmp_path / "prototype.yaml")
    assert _finishes(lambda: read_project_facts(tmp_path)) and read_project_facts(tmp_path) == ProjectFacts()


def test_the_story_is_logged_at_debug_under_azs_cli_namespace(tmp_path, spawned, caplog):
    caplog.set_level(logging.DEBUG, logger="cli.azext_prototype.telemetry")
    stream = io.StringIO()
    path = record(inv(), env=make_env(tmp_path), cwd=str(tmp_path), stream=stream)
    lines = [r for r in caplog.records if r.name == "cli.azext_prototype.telemetry"]
    assert 1 <= len(lines) <= 3 and all(r.levelno == logging.DEBUG for r in lines)
    text = "\n".join(r.getMessage() for r in lines)
    assert f"event written to {path}" in text and "sender" in text
    assert '"cli_command_executed"' not in text  # the log never carries the payload
    assert "az prototype telemetry:" not in stream.getvalue()  # no echo without the env var


def test_the_first_recording_prints_the_notice_unless_quiet(tmp_path, spawned):
    quiet, loud, again = io.StringIO(), io.StringIO(), io.StringIO()
    env = make_env(tmp_path)
    record(inv(), env=env, cwd=str(tmp_path), stream=quiet, quiet=True)
    record(inv(), env=env, cwd=str(tmp_path), stream=loud)
    record(inv(), env=env, cwd=str(tmp_path), stream=again)
    assert quiet.getvalue() == "" and "collects usage telemetry" in loud.getvalue() and again.getvalue() == ""


def test_no_notice_when_disabled(tmp_path):
    stream = io.StringIO()
    env = make_env(tmp_path, DO_NOT_TRACK="1")
    record(inv(), env=env, cwd=str(tmp_path), stream=stream)
    assert stream.getvalue() == "" and not (tmp_path / "azure" / "prototype").exists()


def test_an_event_written_is_reported_written_even_when_the_sender_module_cannot_load(tmp_path, monkeypatch, caplog):
    import builtins

    real_import = builtins.__import__

    def no_spawn(name, *args, **kwargs):
        if name == "telemetry_sender.spawn":
            raise ImportError("broken install")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_spawn)
    monkeypatch.delitem(sys.modules, "telemetry_sender.spawn", raising=False)
    env = make_env(tmp_path)
    with caplog.at_level(logging.DEBUG):
        path = record(inv(), env=env, cwd=str(tmp_path))
    assert path is not None and spool_files(env) == [Path(path)]
    assert "sender not started (ImportError)" in caplog.text
    assert try_acquire(SpoolLayout.default(env).lock_file) is not None  # the claimed lock was let go
