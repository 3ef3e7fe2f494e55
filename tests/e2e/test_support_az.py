"""`az prototype telemetry status|show|flush|purge` through the real az, against the local emulator."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import azcli
from telemetry_sender.spool import lock
from telemetry_sender.spool.write import write_event
from telemetry_sender.emulator.server import Emulator
from telemetry_sender.spool.layout import SpoolLayout
from telemetry_sender.sender.drain import DrainReport

import copied_spool as fixtures
from helpers import make_envelope, wall_now

pytestmark = pytest.mark.az

DEAD_CONNECTION = "InstrumentationKey=00000000-dead-4000-8000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"


def layout_of(env: dict) -> SpoolLayout:
    return SpoolLayout.default({"AZURE_CONFIG_DIR": env["AZURE_CONFIG_DIR"]})


def az(env: dict, *args: str):
    return azcli.run_az(["prototype", "telemetry", *args], env)


def recent_events(layout: SpoolLayout, count: int, ikey: str, *, failed_every: int = 0) -> None:
    """`count` pending events recorded just now, through the spool's own writer."""
    now = wall_now()
    for n in range(count):
        ok = not (failed_every and n % failed_every == 0)
        envelope = make_envelope("prototype init" if ok else "prototype deploy",
                                 now - timedelta(seconds=count - n), ok=ok, location="westus3")
        envelope["iKey"] = ikey
        write_event(layout, envelope)


@pytest.fixture
def copied_spool(dev_az_env, spool) -> SpoolLayout:
    """The copied fixture spool (conftest `spool`), placed where az looks for it."""
    layout = layout_of(dev_az_env)
    layout.root.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(spool, layout.root)
    return layout


def test_status_json_and_table(dev_az_env, copied_spool):
    env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": fixtures.CONNECTION}
    before = fixtures.tree_digest(copied_spool.root)
    doc = azcli.az_json(["prototype", "telemetry", "status"], env)
    # az's camelCase names (issue 14); `python -m telemetry_sender status --json` keeps snake_case
    for key in ("enabled", "reason", "spool", "pending", "pendingBytes", "oldest", "lastAttempt", "nextAttempt",
                "lost", "senderRunning", "endpointHost"):
        assert key in doc
    assert "rejected" in doc["lost"] and "quarantined" in doc["lost"]
    assert doc["enabled"] is True and doc["pending"] == 4 and doc["spool"] == str(copied_spool.root)
    assert doc["endpointHost"] == "westus3-1.in.applicationinsights.azure.com"
    assert doc["lost"]["expired"] == 4
    table = az(env, "status", "-o", "table")
    assert table.returncode == 0, table.stderr
    assert "Pending" in table.stdout and "4 events" in table.stdout and fixtures.IKEY not in table.stdout
    assert fixtures.tree_digest(copied_spool.root) == before  # read-only, and no event of its own


def test_show_json_table_and_filters(dev_az_env, copied_spool):
    before = fixtures.tree_digest(copied_spool.root)
    items = azcli.az_json(["prototype", "telemetry", "show"], dev_az_env)
    assert len(items) == 4 and all({"file", "envelope", "state"} <= set(i) for i in items)
    failed = azcli.az_json(["prototype", "telemetry", "show", "--failed", "--command", "az prototype deploy"],
                           dev_az_env)
    assert [i["envelope"]["data"]["baseData"]["properties"]["commandName"] for i in failed] == ["prototype deploy"]
    assert len(azcli.az_json(["prototype", "telemetry", "show", "--last", "1"], dev_az_env)) == 1
    everything = azcli.az_json(["prototype", "telemetry", "show", "--all"], dev_az_env)
    assert {i["state"] for i in everything} == {"pending", "leased", "rejected", "quarantined"}
    table = az(dev_az_env, "show", "--all", "-o", "table")
    assert table.returncode == 0, table.stderr
    header = table.stdout.splitlines()[0].split()
    assert header[:4] == ["Time", "State", "Command", "Success"] and "File" in header
    assert "rejected 400" in table.stdout and "gpt-4o" in table.stdout
    assert az(dev_az_env, "show", "--last", "0").returncode != 0
    assert fixtures.tree_digest(copied_spool.root) == before


def test_read_only_commands_create_nothing_and_record_nothing(dev_az_env):
    env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": DEAD_CONNECTION}
    layout = layout_of(env)
    for args in (("status",), ("show",), ("show", "--all", "-o", "table"), ("purge", "--yes"), ("flush",)):
        result = az(env, *args)
        assert result.returncode == 0, (args, result.stderr)
    assert not layout.root.exists()  # not even an empty folder: no event of their own


def test_purge_needs_yes_without_a_terminal_then_deletes(dev_az_env, copied_spool):
    before = fixtures.tree_digest(copied_spool.root)
    refused = az(dev_az_env, "purge")
    assert refused.returncode != 0 and "--yes" in refused.stderr
    assert fixtures.tree_digest(copied_spool.root) == before
    done = azcli.az_json(["prototype", "telemetry", "purge", "--yes"], dev_az_env)
    assert done["deleted"] == {"pending": 4, "rejected": 0, "quarantined": 0, "failed": 0}
    everything = azcli.az_json(["prototype", "telemetry", "purge", "--yes", "--all"], dev_az_env)
    assert everything["deleted"]["rejected"] == 1 and everything["deleted"]["quarantined"] == 1
    assert azcli.az_json(["prototype", "telemetry", "status"], dev_az_env)["pending"] == 0


def test_purge_refuses_while_a_sender_runs(dev_az_env, copied_spool):
    held = lock.try_acquire(copied_spool.lock_file)
    assert held is not None
    with held:
        before = fixtures.tree_digest(copied_spool.root)
        result = az(dev_az_env, "purge", "--yes", "--all")
        assert fixtures.tree_digest(copied_spool.root) == before
    assert result.returncode != 0 and "sender" in result.stderr


def test_flush_delivers_to_the_emulator(dev_az_env):
    with Emulator() as emu:
        env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": emu.connection_string}
        layout = layout_of(env)
        recent_events(layout, 5, emu.ikey, failed_every=2)
        result = az({**env, "AZURE_CORE_ONLY_SHOW_ERRORS": "false"}, "flush", "-o", "json")
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["outcome"] == "delivered" and summary["sent"] == 5 and summary["retried"] == 0
        assert "Flush delivered: sent 5" in result.stderr
        assert len(emu.accepted) == 5
        assert azcli.az_json(["prototype", "telemetry", "status"], env)["pending"] == 0
        table = az(env, "flush", "-o", "table", "--only-show-errors")  # nothing left: still a success
        assert table.returncode == 0 and "empty" in table.stdout and table.stderr == ""


def test_flush_fails_and_keeps_events_while_the_service_throttles(dev_az_env):
    with Emulator() as emu:
        emu.script({"status": 503, "repeat": 5})
        env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": emu.connection_string}
        layout = layout_of(env)
        recent_events(layout, 3, emu.ikey)
        result = az(env, "flush")
        assert result.returncode == 1
        assert "unreachable or asked us to wait" in result.stderr and "3 events kept" in result.stderr
        status = azcli.az_json(["prototype", "telemetry", "status"], env)
        assert status["pending"] == 3 and status["lastAttempt"]["outcome"] and status["nextAttempt"]
        assert emu.accepted == []


def test_flush_without_wait_reports_a_running_sender(dev_az_env):
    env = {**dev_az_env, "APPLICATIONINSIGHTS_CONNECTION_STRING": DEAD_CONNECTION}
    layout = layout_of(env)
    recent_events(layout, 1, "k")
    held = lock.try_acquire(layout.lock_file)
    assert held is not None
    with held:
        result = az(env, "flush")
    assert result.returncode == 1 and "--wait" in result.stderr
    assert len(list(layout.spool.glob("*.json"))) == 1


def test_flush_when_disabled_says_why(dev_az_env):
    env = {**dev_az_env, "DO_NOT_TRACK": "1", "APPLICATIONINSIGHTS_CONNECTION_STRING": DEAD_CONNECTION}
    result = az(env, "flush")
    assert result.returncode == 1 and "DO_NOT_TRACK" in result.stderr


# --- in-process: the pieces az calls ---------------------------------------------------------------


def test_wait_for_sender_is_bounded_by_a_deadline(tmp_path):
    from telemetry_sender.support.command import wait_for_sender

    clock = [0.0]
    naps = []

    def sleep(seconds: float) -> None:
        naps.append(seconds)
        clock[0] += seconds

    layout = SpoolLayout(tmp_path)
    assert wait_for_sender(layout, 30, poll=1, monotonic=lambda: clock[0], sleep=sleep, running=lambda _: True) is False
    assert clock[0] >= 30 and len(naps) == 30
    finishes_at = iter([True, True, False])
    assert wait_for_sender(layout, 30, poll=1, monotonic=lambda: clock[0], sleep=sleep,
                           running=lambda _: next(finishes_at)) is True


def test_table_views_render_the_same_data(spool):
    from azext_prototype import custom_telemetry as ct
    from telemetry_sender.support.command import collect_show

    items = collect_show(SpoolLayout(spool), include_all=True)
    rows = ct.telemetry_show_table(items)
    assert list(rows[0])[:4] == ["Time", "State", "Command", "Success"] and len(rows) == len(items)
    assert ct.telemetry_purge_table({"spool": "/s", "deleted": {"pending": 2}})[0]["Pending"] == 2
    assert ct.telemetry_flush_table(DrainReport(sent=2, outcome="delivered").to_dict())[0]["Sent"] == 2
    status_rows = ct.telemetry_status_table({"enabled": False, "reason": "no connection string", "spool": "/s",
                                             "pending": 0, "pending_bytes": 0, "rejected": 0, "quarantined": 0,
                                             "sender_running": False, "connection_source": "", "lost": {}})
    assert {"Field": "Telemetry", "Value": "disabled: no connection string"} in status_rows


def test_progress_line_is_quiet_with_only_show_errors(capsys):
    import io

    from azext_prototype.custom_telemetry import _ProgressLine
    from telemetry_sender.sender.drain import DrainReport

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    live = Terminal()
    line = _ProgressLine(live, quiet=False)
    line.update(DrainReport(sent=512, retried=0, rejected=0, quarantined=0, batches=1))
    line.finish("delivered: sent 512")
    assert "\rSending telemetry: 512 sent" in live.getvalue() and "Flush delivered: sent 512\n" in live.getvalue()
    quiet = Terminal()
    muted = _ProgressLine(quiet, quiet=True)
    muted.update(DrainReport(1, 0, 0, 0, 1))
    muted.finish("delivered: sent 1")
    assert quiet.getvalue() == ""


def test_show_and_status_escape_control_characters_in_table_and_tsv(dev_az_env, copied_spool):
    hostile = make_envelope("\x1b]0;owned\x07\x1b[2Jprototype init", fixtures.T0, location="west\rus")
    name = fixtures.event_name(fixtures.T0, "1")[:-5] + "\x1b[31m.json"
    fixtures.put(copied_spool.spool / name, json.dumps(hostile))
    for args in (("show", "-o", "table"), ("show", "-o", "tsv"), ("show", "--all", "-o", "tsv"),
                 ("status", "-o", "table"), ("status", "-o", "tsv")):
        result = az(dev_az_env, *args)
        assert result.returncode == 0, (args, result.stderr)
        assert not any(c in result.stdout for c in "\x1b\x07\r"), (args, result.stdout)
    assert "\\x1b[31m.json" in az(dev_az_env, "show", "-o", "tsv").stdout  # tsv prints the top-level values
    assert "\\x1b]0;owned\\x07" in az(dev_az_env, "show", "-o", "table").stdout
    items = azcli.az_json(["prototype", "telemetry", "show"], dev_az_env)
    assert any(i["envelope"] == hostile for i in items)  # JSON stays exact
