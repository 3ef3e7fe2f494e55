"""What an az user meets, through the real az: --debug, the first-use notice, camelCase output, clear errors."""

from __future__ import annotations

import json
import os
import re
import stat

import pytest

import azcli
from azcli import assert_clean_error as _clean_error
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.spool.lock import try_acquire
from telemetry_sender.recording import ensure_private_dir
from telemetry_sender.spool.state import empty_state, save_state

pytestmark = pytest.mark.az

# Nothing listens here: no sender can deliver, and nothing leaves the host.
CS = "InstrumentationKey=00000000-0000-0000-0000-0000000000aa;IngestionEndpoint=http://127.0.0.1:9/"
NOTICE_START = "az prototype collects usage telemetry"
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


@pytest.fixture
def on_env(dev_az_env):
    """Telemetry on, warnings shown (the notice is not an error), the spool's lock held so no sender runs."""
    env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": CS, "AZURE_CORE_ONLY_SHOW_ERRORS": "false"}
    layout = SpoolLayout.default(env)
    ensure_private_dir(layout.root.parent)
    ensure_private_dir(layout.root)
    lock = try_acquire(layout.lock_file)
    assert lock is not None
    yield env
    lock.release()


@pytest.fixture
def project(dev_az_env, tmp_path):
    """A project folder made by `az prototype init` (telemetry off)."""
    azcli.az_json(["prototype", "init", "-n", "demo", "-l", "eastus", "--output-dir", str(tmp_path / "p")], dev_az_env)
    return tmp_path / "p" / "demo"


def _telemetry_debug_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "cli.azext_prototype.telemetry" in line]


# ---- --debug --------------------------------------------------------------------------------


def test_debug_says_where_the_event_went_and_why_no_sender_started(on_env, project):
    done = azcli.run_az(["prototype", "status", "-d", str(project), "--debug", "-o", "none"], on_env)
    assert done.returncode == 0, done.stderr
    lines = _telemetry_debug_lines(done.stderr)
    assert 1 <= len(lines) <= 3, lines
    assert all(line.startswith("DEBUG: ") for line in lines), lines
    [written] = [line for line in lines if "event written to" in line]
    assert "telemetry on (connection string from APPLICATIONINSIGHTS_CONNECTION_STRING)" in written
    spool_file = written.rsplit(" ", 1)[-1]
    assert os.path.isfile(spool_file) and spool_file.startswith(str(SpoolLayout.default(on_env).spool))
    assert any("sender not started" in line for line in lines), lines


def test_debug_names_the_pid_of_the_sender_it_started(dev_az_env, project):
    env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": CS}
    done = azcli.run_az(["prototype", "status", "-d", str(project), "--debug", "-o", "none"], env)
    assert done.returncode == 0, done.stderr
    lines = _telemetry_debug_lines(done.stderr)
    [started] = [line for line in lines if "sender started" in line]
    pid = int(re.search(r"sender started \(pid (\d+)\)", started).group(1))
    assert pid > 0 and 1 <= len(lines) <= 3


def test_debug_says_telemetry_is_off_and_why(dev_az_env, project):
    env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": CS, "DO_NOT_TRACK": "1"}
    done = azcli.run_az(["prototype", "status", "-d", str(project), "--debug", "-o", "none"], env)
    assert done.returncode == 0, done.stderr
    assert _telemetry_debug_lines(done.stderr) == [
        "DEBUG: cli.azext_prototype.telemetry: telemetry off (DO_NOT_TRACK is set): nothing recorded"
    ]


def test_without_debug_the_recorder_says_nothing(on_env, project):
    azcli.run_az(["prototype", "status", "-d", str(project), "-o", "none"], on_env)  # the notice, once
    done = azcli.run_az(["prototype", "status", "-d", str(project), "-o", "none"], on_env)
    assert done.returncode == 0 and "telemetry" not in done.stderr.lower(), done.stderr


def test_debug_env_var_still_prints_the_exact_envelope(on_env, project):
    env = {**on_env, "AZ_PROTOTYPE_TELEMETRY_DEBUG": "1"}
    done = azcli.run_az(["prototype", "status", "-d", str(project), "-o", "none"], env)
    assert "az prototype telemetry: recording event" in done.stderr
    assert '"cli_command_executed"' in done.stderr and '"iKey": "00000000-0000-0000-0000-0000000000aa"' in done.stderr


# ---- the first-use notice -------------------------------------------------------------------


def test_first_recorded_command_prints_the_notice_once_on_stderr(on_env, project):
    first = azcli.run_az(["prototype", "config", "get", "--key", "ai.model", "-d", str(project), "-o", "json"], on_env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == "gpt-4o"  # stdout stays parseable
    assert first.stderr.count(NOTICE_START) == 1
    for needle in ("az config set core.collect_telemetry=no", "DO_NOT_TRACK=1", "TELEMETRY.md", "tenant id"):
        assert needle in first.stderr
    marker = SpoolLayout.default(on_env).root.parent / "telemetry-notice-shown"
    assert stat.S_IMODE(os.lstat(marker).st_mode) == 0o600
    again = azcli.run_az(["prototype", "status", "-d", str(project), "-o", "none"], on_env)
    assert again.returncode == 0 and NOTICE_START not in again.stderr


def test_notice_points_to_a_telemetry_document_that_ships_with_the_extension(on_env, project):
    done = azcli.run_az(["prototype", "status", "-d", str(project), "-o", "none"], on_env)
    [path] = re.findall(r"Every field:\s+(\S+TELEMETRY\.md)", done.stderr)
    text = open(path, encoding="utf-8").read()
    assert "tenantId" in text and "projectId" in text and "DO_NOT_TRACK" in text


def test_no_notice_when_telemetry_is_off(dev_az_env, project):
    env = {**dev_az_env, "AZURE_CORE_ONLY_SHOW_ERRORS": "false", "APPLICATIONINSIGHTS_CONNECTION_STRING": CS,
           "AZURE_CORE_COLLECT_TELEMETRY": "no"}
    done = azcli.run_az(["prototype", "status", "-d", str(project), "-o", "none"], env)
    assert done.returncode == 0 and NOTICE_START not in done.stderr
    assert not (SpoolLayout.default(env).root.parent / "telemetry-notice-shown").exists()


def test_only_show_errors_defers_the_notice_to_a_later_command(on_env, project):
    quiet = azcli.run_az(["prototype", "status", "-d", str(project), "-o", "none", "--only-show-errors"], on_env)
    assert quiet.returncode == 0 and quiet.stderr == ""
    later = azcli.run_az(["prototype", "status", "-d", str(project), "-o", "none"], on_env)
    assert NOTICE_START in later.stderr


def test_a_planted_symlink_marker_is_not_followed(on_env, project, tmp_path):
    target = tmp_path / "elsewhere"
    marker = SpoolLayout.default(on_env).root.parent / "telemetry-notice-shown"
    marker.symlink_to(target)
    done = azcli.run_az(["prototype", "status", "-d", str(project), "-o", "none"], on_env)
    assert done.returncode == 0 and not target.exists() and marker.is_symlink()


# ---- help -------------------------------------------------------------------------------------


def test_help_describes_the_telemetry_truthfully(dev_az_env):
    done = azcli.run_az(["prototype", "--help"], dev_az_env)
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    assert "anonymous" not in text.lower()
    assert "tenant id" in text and "project id" in text and "DO_NOT_TRACK=1" in text


# ---- camelCase output -----------------------------------------------------------------------


def _keys(value, under_envelope=False):
    if isinstance(value, dict):
        for key, item in value.items():
            if not under_envelope:
                yield key
            yield from _keys(item, under_envelope or key == "envelope")
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item, under_envelope)


def test_every_command_prints_camel_case_keys(on_env, project):
    env = {**on_env, "AZURE_CORE_ONLY_SHOW_ERRORS": "true"}
    outputs = [
        azcli.az_json(["prototype", "status", "-d", str(project)], env),
        azcli.az_json(["prototype", "config", "set", "-k", "ai.model", "-v", "gpt-4o-mini", "-d", str(project)], env),
        azcli.az_json(["prototype", "telemetry", "status"], env),
        azcli.az_json(["prototype", "telemetry", "show", "--all"], env),
    ]
    for output in outputs:
        keys = set(_keys(output))
        assert keys and all(CAMEL.match(k) for k in keys), sorted(k for k in keys if not CAMEL.match(k))


def test_telemetry_status_has_one_rejected_count_with_the_breakdown_nested(dev_az_env):
    status = azcli.az_json(["prototype", "telemetry", "status"], dev_az_env)
    assert "rejected" not in status and "dropped" not in status
    assert set(status["lost"]["rejected"]) == {"count", "kept", "keptBytes", "removedByCap"}
    assert set(status["lost"]["quarantined"]) == {"count", "kept", "keptBytes", "removedByCap"}
    assert set(status["lastAttempt"]) == {"time", "outcome", "httpStatus", "detail"}


def test_telemetry_status_counts_events_sent_trimmed_apart_from_losses(dev_az_env):
    layout = SpoolLayout.default(dev_az_env)
    ensure_private_dir(layout.root.parent)
    ensure_private_dir(layout.root)
    save_state(layout.state_file, {**empty_state(), "trimmed": 2})  # as a sender that cut two events left it
    status = azcli.az_json(["prototype", "telemetry", "status"], dev_az_env)
    assert status["trimmed"] == 2 and "trimmed" not in status["lost"]
    table = azcli.run_az(["prototype", "telemetry", "status", "-o", "table"], dev_az_env)
    assert table.returncode == 0 and "2 events sent cut to the data dictionary" in table.stdout


def test_purge_and_flush_print_camel_case(dev_az_env):
    env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": CS}
    purge = azcli.az_json(["prototype", "telemetry", "purge", "--yes"], env)
    assert set(purge) == {"spool", "deleted"}
    flush = azcli.az_json(["prototype", "telemetry", "flush"], env)
    assert "optedOut" in flush and "nextAttempt" in flush and not any("_" in k for k in flush)


def test_python_m_telemetry_sender_keeps_its_snake_case_contract(on_env, project):
    import subprocess
    import sys

    azcli.run_az(["prototype", "status", "-d", str(project), "-o", "none"], on_env)
    done = subprocess.run([sys.executable, "-m", "telemetry_sender", "status", "--json", "--spool",
                           str(SpoolLayout.default(on_env).root)], capture_output=True, text=True, check=False,
                          env={k: v for k, v in on_env.items() if k != "PYTHONPATH"}, cwd=str(azcli.REPO), timeout=60)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["pending"] == 1
    for key in ("enabled", "spool", "pending", "oldest", "last_attempt", "next_attempt"):
        assert key in doc


def test_telemetry_show_as_a_table_with_no_events_prints_no_blank_line(dev_az_env):
    done = azcli.run_az(["prototype", "telemetry", "show", "-o", "table"], dev_az_env)
    assert done.returncode == 0 and done.stdout == ""
    loud = azcli.run_az(["prototype", "telemetry", "show", "-o", "table"],
                        {**dev_az_env, "AZURE_CORE_ONLY_SHOW_ERRORS": "false"})
    assert loud.stdout == "" and "No events to show" in loud.stderr
    assert azcli.az_json(["prototype", "telemetry", "show"], dev_az_env) == []


# ---- the bugs -----------------------------------------------------------------------------------


def test_config_set_null_stores_a_real_null(dev_az_env, project):
    result = azcli.az_json(["prototype", "config", "set", "--key", "ai.model", "--value", "null", "-d", str(project)],
                           dev_az_env)
    assert result == {"key": "ai.model", "value": None}
    assert "model: null" in (project / "prototype.yaml").read_text()
    assert azcli.az_json(["prototype", "config", "get", "--key", "ai.model", "-d", str(project)], dev_az_env) is None
    status = azcli.az_json(["prototype", "status", "-d", str(project)], dev_az_env)
    assert status["model"] is None


def test_config_set_null_for_a_required_key_is_refused(dev_az_env, project):
    done = azcli.run_az(["prototype", "config", "set", "-k", "project.location", "-v", "null", "-d", str(project)],
                        dev_az_env)
    _clean_error(done, "project.location cannot be null")


def test_undecodable_project_file_is_a_clear_error(dev_az_env, tmp_path):
    folder = tmp_path / "binary"
    folder.mkdir()
    (folder / "prototype.yaml").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00binary")
    for args in (["status"], ["config", "show"], ["config", "get", "--key", "ai.model"]):
        done = azcli.run_az(["prototype", *args, "-d", str(folder)], dev_az_env)
        _clean_error(done, "is not a UTF-8 text file")


def test_missing_project_dir_says_the_folder_does_not_exist(dev_az_env, tmp_path):
    missing = tmp_path / "nonexistent"
    done = azcli.run_az(["prototype", "status", "--project-dir", str(missing)], dev_az_env)
    _clean_error(done, f"The folder {missing} does not exist")
    assert "prototype.yaml not found" not in done.stderr


def test_bad_project_name_in_config_set_suggests_the_value_flag(dev_az_env, project):
    done = azcli.run_az(["prototype", "config", "set", "-k", "project.name", "-v", "1bad", "-d", str(project)],
                        dev_az_env)
    _clean_error(done, "Invalid project name '1bad'")
    assert "--value my-prototype" in done.stderr and "--name" not in done.stderr
