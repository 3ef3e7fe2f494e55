"""`python -m telemetry_sender status|show|purge` on fixture spools, as a support engineer runs them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from copied_spool import CONNECTION, IKEY, T0, event_name, put, tree_digest, windows_json
from helpers import make_envelope
from telemetry_sender.spool import lock
from telemetry_sender.support import report as support_report
from telemetry_sender.spool.layout import SpoolLayout


def run(*args: str, config_dir: Path, env: dict | None = None, stdin=subprocess.DEVNULL):
    """Run `python -m telemetry_sender ARGS` with a private az config dir and no ambient settings."""
    clean = {k: v for k, v in os.environ.items() if k not in (
        "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPINSIGHTS_CONNECTION_STRING", "DO_NOT_TRACK",
        "AZURE_CORE_COLLECT_TELEMETRY")}
    clean["AZURE_CONFIG_DIR"] = str(config_dir)
    clean.update(env or {})
    return subprocess.run([sys.executable, "-m", "telemetry_sender", *args], capture_output=True, text=True,
                          env=clean, stdin=stdin, timeout=60)


@pytest.fixture
def config_dir(tmp_path) -> Path:
    folder = tmp_path / "azconfig"
    folder.mkdir()
    return folder


# --- status ---------------------------------------------------------------------------------------


def test_status_json_answers_the_support_questions(spool, config_dir):
    result = run("status", "--spool", str(spool), "--json", config_dir=config_dir,
                 env={"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION})
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["enabled"] is True and doc["reason"] == "enabled"
    assert doc["connection_source"] == "APPLICATIONINSIGHTS_CONNECTION_STRING"
    assert doc["endpoint_host"] == "westus3-1.in.applicationinsights.azure.com"
    assert doc["spool"] == str(spool)
    assert doc["pending"] == 4 and doc["leased"] == 1  # three events and a corrupt file; temp ignored
    assert doc["pending_bytes"] == sum(p.stat().st_size for p in (spool / "spool").iterdir()
                                       if not p.name.startswith("."))
    assert doc["oldest"] == "2026-11-25T09:00:00.000000Z"
    assert doc["last_attempt"] == "2026-11-25T09:10:00.000000Z"
    assert doc["last_outcome"] == "backing-off" and doc["last_status"] == 429
    assert doc["next_attempt"] == "2026-11-25T10:00:00.000000Z"
    assert doc["lost"] == {"expired": 4, "evicted": 1, "rejected": 1, "quarantined": 2, "opted_out": 0}  # an old "corrupt" count reads as quarantined
    assert doc["rejected"] == 1 and doc["quarantined"] == 1
    assert doc["dropped"] == {"rejected": 3, "quarantine": 0}
    assert doc["sender_running"] is False
    assert IKEY not in result.stdout


def test_status_plain_is_a_short_summary_without_the_key(spool, config_dir):
    result = run("status", "--spool", str(spool), config_dir=config_dir,
                 env={"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert IKEY not in out
    for expected in ("enabled (APPLICATIONINSIGHTS_CONNECTION_STRING)", "westus3-1.in.applicationinsights.azure.com",
                     "4 events", "oldest 2026-11-25T09:00:00", "backing-off (HTTP 429", "expired 4",
                     "1 in rejected/ (3 older removed", "1 in quarantine/", "not running"):
        assert expected in out, out


@pytest.mark.parametrize("env, reason", [
    ({"DO_NOT_TRACK": "1", "APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION}, "DO_NOT_TRACK is set"),
    ({"AZURE_CORE_COLLECT_TELEMETRY": "no", "APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION},
     "AZURE_CORE_COLLECT_TELEMETRY=no"),
    ({}, "no connection string"),
])
def test_status_says_which_setting_disabled_telemetry(spool, config_dir, env, reason):
    doc = json.loads(run("status", "--spool", str(spool), "--json", config_dir=config_dir, env=env).stdout)
    assert doc["enabled"] is False
    assert reason in doc["reason"]


def test_status_reports_a_running_sender(spool, config_dir):
    held = lock.try_acquire(SpoolLayout(spool).lock_file)
    assert held is not None
    with held:
        doc = json.loads(run("status", "--spool", str(spool), "--json", config_dir=config_dir).stdout)
    assert doc["sender_running"] is True


def test_status_of_an_empty_default_spool_creates_nothing(config_dir):
    result = run("status", "--json", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["pending"] == 0 and doc["oldest"] is None and doc["last_attempt"] is None
    assert doc["next_attempt"] is None and doc["spool"] == str(config_dir / "prototype" / "telemetry")
    assert list(config_dir.iterdir()) == []


def test_status_on_a_missing_spool_folder_is_an_error(tmp_path, config_dir):
    result = run("status", "--spool", str(tmp_path / "nowhere"), config_dir=config_dir)
    assert result.returncode == 2
    assert "no spool folder" in result.stderr
    assert not (tmp_path / "nowhere").exists()


def test_status_accepts_the_spool_subfolder(spool, config_dir):
    doc = json.loads(run("status", "--spool", str(spool / "spool"), "--json", config_dir=config_dir).stdout)
    assert doc["spool"] == str(spool) and doc["pending"] == 4


def test_corrupt_state_file_is_reported_not_fatal(spool, config_dir):
    (spool / "state.json").write_bytes(b"\x00{not json")
    result = run("status", "--spool", str(spool), "--json", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert "state.json" in doc["state_file_problem"]
    assert doc["last_attempt"] is None and doc["pending"] == 4


# --- show -----------------------------------------------------------------------------------------


def test_show_json_lists_pending_envelopes_oldest_first(spool, config_dir):
    result = run("show", "--spool", str(spool), "--json", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    items = json.loads(result.stdout)
    assert [i["file"] for i in items] == sorted(i["file"] for i in items)
    assert {i["state"] for i in items} == {"pending", "leased"}
    good = [i for i in items if i["envelope"]]
    assert [i["envelope"]["data"]["baseData"]["properties"]["commandName"] for i in good] == [
        "prototype init", "prototype deploy", "prototype status"]
    on_disk = json.loads((spool / "spool" / good[0]["file"]).read_bytes())
    assert good[0]["envelope"] == on_disk  # exactly as it will be sent
    corrupt = [i for i in items if i["envelope"] is None]
    assert len(corrupt) == 1 and "not valid JSON" in corrupt[0]["corrupt"]
    assert corrupt[0]["preview"].startswith('{"name"')


def test_show_all_adds_dead_letters_with_the_service_message_and_quarantine_with_why(spool, config_dir):
    items = json.loads(run("show", "--spool", str(spool), "--all", "--json", config_dir=config_dir).stdout)
    by_state = {}
    for item in items:
        by_state.setdefault(item["state"], []).append(item)
    rejected = by_state["rejected"][0]
    assert rejected["status"] == 400 and "older than the allowed" in rejected["message"]
    assert rejected["envelope"]["data"]["baseData"]["properties"]["commandName"] == "prototype config get"
    quarantined = by_state["quarantined"][0]
    assert quarantined["envelope"] is None
    assert quarantined["reason"] == "not valid JSON"
    assert quarantined["quarantined_at"] == "2026-11-25T07:00:00.000000Z"
    assert [i["file"] for i in items] == sorted(i["file"] for i in items)


@pytest.mark.parametrize("name", ["prototype deploy", "az prototype deploy", "deploy", "PROTOTYPE  Deploy"])
def test_show_filters_by_command_name_in_any_spelling(spool, config_dir, name):
    items = json.loads(run("show", "--spool", str(spool), "--command", name, "--json", config_dir=config_dir).stdout)
    assert [i["envelope"]["data"]["baseData"]["properties"]["commandName"] for i in items] == ["prototype deploy"]


def test_show_failed_and_last(spool, config_dir):
    failed = json.loads(run("show", "--spool", str(spool), "--failed", "--json", config_dir=config_dir).stdout)
    assert [i["envelope"]["data"]["baseData"]["properties"]["success"] for i in failed] == ["false"]
    last = json.loads(run("show", "--spool", str(spool), "--last", "2", "--json", config_dir=config_dir).stdout)
    everything = json.loads(run("show", "--spool", str(spool), "--json", config_dir=config_dir).stdout)
    assert [i["file"] for i in last] == [i["file"] for i in everything[-2:]]
    assert run("show", "--spool", str(spool), "--last", "0", config_dir=config_dir).returncode == 2


def test_show_table_has_time_command_outcome_error_and_dimensions(spool, config_dir):
    result = run("show", "--spool", str(spool), "--all", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].split()
    for title in ("TIME", "STATE", "COMMAND", "OK", "ERROR", "PROVIDER", "MODEL", "LOCATION", "SKU", "FILE"):
        assert title in header
    text = result.stdout
    for expected in ("2026-11-25 09:00:00Z", "prototype init", "azure-openai", "gpt-4o", "westus3",
                     "Microsoft.Compute/virtualMachines", "Standard_DSv2", "DeploymentError: quota",
                     "rejected 400", "quarantined: not valid JSON", "corrupt: not valid JSON"):
        assert expected in text, text
    assert IKEY not in text


def test_numbered_dead_letters_and_quarantine_files_are_listed(spool, config_dir):
    taken = event_name(T0 - timedelta(hours=1), "f")
    put(spool / "rejected" / (taken + ".1"), (spool / "rejected" / taken).read_bytes())
    bad = event_name(T0 - timedelta(hours=2), "9")
    put(spool / "quarantine" / (bad + ".1"), b"{")
    put(spool / "quarantine" / (bad + ".1.why.json"), json.dumps({"reason": "truncated", "quarantined_at": None}))
    doc = json.loads(run("status", "--spool", str(spool), "--json", config_dir=config_dir).stdout)
    assert doc["rejected"] == 2 and doc["quarantined"] == 2
    items = json.loads(run("show", "--spool", str(spool), "--all", "--json", config_dir=config_dir).stdout)
    assert {i["file"]: i.get("reason") for i in items if i["state"] == "quarantined"} == {
        bad: "not valid JSON", bad + ".1": "truncated"}
    assert [i["status"] for i in items if i["state"] == "rejected"] == [400, 400]


def test_show_on_an_empty_spool_says_so(tmp_path, config_dir):
    (tmp_path / "root" / "spool").mkdir(parents=True)
    result = run("show", "--spool", str(tmp_path / "root"), config_dir=config_dir)
    assert result.returncode == 0 and "No pending events" in result.stdout
    assert json.loads(run("show", "--spool", str(tmp_path / "root"), "--json", config_dir=config_dir).stdout) == []


# --- files from elsewhere: Windows, corrupt, hostile --------------------------------------------------


def test_a_spool_written_on_windows_reads_the_same(tmp_path, config_dir):
    root = tmp_path / "from-windows"
    name = event_name(T0, "a")
    put(root / "spool" / name, windows_json(make_envelope("prototype init", T0, location="westeurope")))
    put(root / "rejected" / event_name(T0, "b"), windows_json(
        {"status": 400, "message": "Invalid instrumentation key", "rejected_at": "2026-11-25T09:30:00+00:00",
         "envelope": make_envelope("prototype status", T0)}))
    put(root / "quarantine" / "weird.json", b"\xff\xfe garbage")
    put(root / "quarantine" / "weird.json.why.json", b'{"reason": "bad path C:\\temp\\x", "quarantined_at": 1}')
    put(root / "state.json", windows_json({
        "next_attempt": "2026-11-25T10:00:00+00:00",
        "last_attempt": {"time": "2026-11-25T09:10:00", "outcome": "unreachable", "status": None,
                         "detail": "ConnectionError"},
        "lost": {"expired": 7}}))
    before = tree_digest(root)

    doc = json.loads(run("status", "--spool", str(root), "--json", config_dir=config_dir).stdout)
    assert doc["pending"] == 1 and doc["oldest"] == "2026-11-25T09:00:00.000000Z"
    assert doc["next_attempt"] == "2026-11-25T10:00:00.000000Z"
    assert doc["last_attempt"] == "2026-11-25T09:10:00.000000Z" and doc["last_outcome"] == "unreachable"
    assert doc["lost"]["expired"] == 7 and doc["state_file_problem"] is None

    items = json.loads(run("show", "--spool", str(root), "--all", "--json", config_dir=config_dir).stdout)
    by_file = {i["file"]: i for i in items}
    assert by_file[name]["envelope"]["data"]["baseData"]["properties"]["location"] == "westeurope"
    assert by_file[event_name(T0, "b")]["rejected_at"] == "2026-11-25T09:30:00.000000Z"
    # the .why.json holds invalid escapes (raw backslashes): shown as unknown, not a crash
    assert by_file["weird.json"]["reason"].startswith("unknown (.why.json not valid JSON")
    assert run("show", "--spool", str(root), "--all", config_dir=config_dir).returncode == 0
    assert tree_digest(root) == before


def test_hostile_and_odd_files_are_shown_as_corrupt_not_crashes(tmp_path, config_dir):
    root = tmp_path / "odd"
    secret = put(tmp_path / "elsewhere" / "secret.json", json.dumps(make_envelope("prototype secret", T0)))
    (root / "spool").mkdir(parents=True)
    os.symlink(secret, root / "spool" / event_name(T0, "1"))  # never followed
    put(root / "spool" / event_name(T0, "2"), b"[1, 2, 3]")
    put(root / "spool" / event_name(T0, "3"), b"\xff\xfe\x00\x00" * 8)
    put(root / "spool" / event_name(T0, "4"), b"[" * 100_000)  # deep nesting
    put(root / "spool" / event_name(T0, "5"), b" " * (1024 * 1024 + 1))  # over the read limit
    put(root / "spool" / "desktop.ini", b"[.ShellClassInfo]")
    for args in (("status", "--json"), ("show", "--json"), ("show",), ("status",)):
        result = run(*args, "--spool", str(root), config_dir=config_dir)
        assert result.returncode == 0, (args, result.stderr)
    items = json.loads(run("show", "--spool", str(root), "--json", config_dir=config_dir).stdout)
    assert [i["file"] for i in items] == [event_name(T0, t) for t in "2345"]
    assert all(i["envelope"] is None and i["corrupt"] for i in items)
    assert "prototype secret" not in run("show", "--spool", str(root), config_dir=config_dir).stdout


def test_a_fifo_planted_as_state_or_why_file_does_not_hang(spool, config_dir):
    (spool / "state.json").unlink()
    os.mkfifo(spool / "state.json")
    why = next((spool / "quarantine").glob("*.why.json"))
    why.unlink()
    os.mkfifo(why)
    result = run("status", "--spool", str(spool), "--json", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert "not a regular file" in json.loads(result.stdout)["state_file_problem"]
    items = json.loads(run("show", "--all", "--spool", str(spool), "--json", config_dir=config_dir).stdout)
    assert [i["reason"] for i in items if i["state"] == "quarantined"] == ["unknown (no .why.json)"]


def test_read_only_commands_leave_the_folder_byte_identical(spool, config_dir):
    before = tree_digest(spool)
    for args in (("status",), ("status", "--json"), ("show",), ("show", "--json"), ("show", "--all"),
                 ("show", "--all", "--json", "--failed"), ("show", "--command", "init", "--last", "1")):
        result = run(*args, "--spool", str(spool), config_dir=config_dir,
                     env={"APPLICATIONINSIGHTS_CONNECTION_STRING": CONNECTION})
        assert result.returncode == 0, (args, result.stderr)
    assert tree_digest(spool) == before
    assert not (spool / "sender.lock").exists()


def test_read_only_commands_work_on_a_read_only_copy(spool, config_dir):
    for path in [*spool.rglob("*"), spool]:
        path.chmod(0o500 if path.is_dir() else 0o400)
    before = tree_digest(spool)  # as root the modes stop nothing: an unchanged tree shows nothing was written
    try:
        for args in (("status", "--json"), ("show", "--all", "--json")):
            result = run(*args, "--spool", str(spool), config_dir=config_dir)
            assert result.returncode == 0, (args, result.stderr)
        assert tree_digest(spool) == before
    finally:
        for path in [spool, *spool.rglob("*")]:
            path.chmod(0o700 if path.is_dir() else 0o600)


# --- purge ----------------------------------------------------------------------------------------


def pending_names(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "spool").iterdir())


def test_purge_without_yes_and_without_a_terminal_refuses(spool, config_dir):
    before = tree_digest(spool)
    result = run("purge", "--spool", str(spool), config_dir=config_dir)
    assert result.returncode == 2
    assert "--yes" in result.stderr
    assert tree_digest(spool) == before


def test_purge_yes_deletes_pending_only(spool, config_dir):
    result = run("purge", "--spool", str(spool), "--yes", "--json", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["deleted"] == {"pending": 4, "rejected": 0, "quarantined": 0, "failed": 0}
    # the recorder's in-flight temp file is left alone; dead letters and quarantine stay
    assert [n for n in pending_names(spool)] == [f".{event_name(T0 + timedelta(minutes=4), 'e')}.tmp"]
    assert len(list((spool / "rejected").iterdir())) == 1
    assert len(list((spool / "quarantine").iterdir())) == 2
    doc = json.loads(run("status", "--spool", str(spool), "--json", config_dir=config_dir).stdout)
    assert doc["pending"] == 0


def test_purge_all_empties_dead_letters_and_quarantine(spool, config_dir):
    result = run("purge", "--spool", str(spool), "--yes", "--all", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert "4 pending events, 1 dead letter and 1 quarantined file" in result.stdout
    assert list((spool / "rejected").iterdir()) == [] and list((spool / "quarantine").iterdir()) == []
    assert (spool / "state.json").exists()  # loss counters are history: kept


def test_purge_refuses_while_a_sender_holds_the_lock(spool, config_dir):
    before = tree_digest(spool)
    held = lock.try_acquire(SpoolLayout(spool).lock_file)
    assert held is not None
    before = tree_digest(spool)
    with held:
        result = run("purge", "--spool", str(spool), "--yes", "--all", config_dir=config_dir)
    assert result.returncode == 1
    assert "sender" in result.stderr and "nothing deleted" in result.stderr
    assert tree_digest(spool) == before


def test_purge_asks_on_a_terminal(spool, config_dir):
    pty = pytest.importorskip("pty")
    for answer, code, left in ((b"n\n", 1, 5), (b"y\n", 0, 1)):
        primary, secondary = pty.openpty()
        try:
            os.write(primary, answer)
            result = run("purge", "--spool", str(spool), config_dir=config_dir, stdin=secondary)
        finally:
            os.close(primary)
            os.close(secondary)
        assert result.returncode == code, result.stderr
        assert "Delete 4 pending events" in result.stderr
        assert len(pending_names(spool)) == left


def test_purge_of_a_fresh_default_spool_creates_nothing(config_dir):
    result = run("purge", "--yes", config_dir=config_dir)
    assert result.returncode == 0, result.stderr
    assert list(config_dir.iterdir()) == []


# --- the pure helpers -----------------------------------------------------------------------------


def test_names_and_times():
    assert support_report.classify_spool_name("0001-ab.json") == ("pending", "0001-ab.json")
    assert support_report.classify_spool_name("0001-ab.json.1790000000.lease") == ("leased", "0001-ab.json")
    assert support_report.classify_spool_name(".0001-ab.json.tmp") is None
    assert support_report.classify_spool_name("Thumbs.db") is None
    assert support_report.name_time(event_name(T0, "a")) == T0
    assert support_report.name_time("weird.json") is None
    assert support_report.normal_time("2026-11-25T09:00:00+01:00") == "2026-11-25T08:00:00.000000Z"
    assert support_report.normal_time("yesterday") is None


def test_hand_edited_counters_read_as_the_sender_counts_them():
    settings = support_report.SettingsView(True, "enabled", "env", None)
    saved = {"consecutive_failures": -2, "lost": {"expired": -5, "corrupt": True, "evicted": 3},
             "dropped": {"rejected": "7", "quarantine": 1}}
    doc = support_report.build_status(root="r", files=[], oldest_envelope=None, state_doc=saved, state_problem=None,
                                      settings=settings, sender_running=False, now=T0)
    assert doc["consecutive_failures"] == 0
    assert doc["lost"] == {"expired": 0, "evicted": 3, "rejected": 0, "quarantined": 0, "opted_out": 0}
    assert doc["dropped"] == {"rejected": 0, "quarantine": 1}


def test_endpoint_host_never_carries_more_than_host_and_port():
    assert support_report.endpoint_host("https://user:pw@dc.example.com/path?x=1") == "dc.example.com"
    assert support_report.endpoint_host("http://127.0.0.1:8787/") == "127.0.0.1:8787"
    assert support_report.endpoint_host("http://[::1]:9/") == "[::1]:9"
    assert support_report.endpoint_host(None) is None
    assert support_report.endpoint_host("not a url") is None


def test_show_judges_an_envelope_as_the_sender_does():
    old_format = make_envelope()
    old_format["data"]["baseData"]["ver"] = 1
    bad_properties = make_envelope()
    bad_properties["data"]["baseData"]["properties"] = ["not", "an", "object"]
    assert support_report.shown_problem(make_envelope()) is None
    assert support_report.shown_problem(old_format) == "not an envelope: baseData needs name and ver 2"
    assert support_report.shown_problem(bad_properties) == "data.baseData.properties is not an object"
    assert support_report.shown_problem([1]) == "not an envelope: not a JSON object"
