"""@track: the boundary between a command and telemetry; telemetry that is off costs no import."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_CHILD = """
import json, sys
from types import SimpleNamespace
from knack.cli import CLI
from knack.log import CLILogging
from azext_prototype.telemetry import track

CLILogging("az", cli_ctx=CLI(config_dir={knack_dir!r})).configure({az_args!r})  # az's own logging set-up, as for a real command

before = set(sys.modules)
config = SimpleNamespace(get=lambda section, option, fallback=None: {collect!r})
cmd = SimpleNamespace(cli_ctx=SimpleNamespace(config=config, data={{}}), name="prototype status", arguments={{}})
result = track("prototype status")(lambda cmd, project_dir=None: "done")(cmd)
print(json.dumps({{"result": result, "added": sorted(set(sys.modules) - before)}}))
"""


def run_child(tmp_path, collect: str | None, az_args: tuple = ("prototype", "status"), **env: str) -> dict:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("DO_NOT_TRACK", "AZURE_CORE_COLLECT_TELEMETRY", "APPLICATIONINSIGHTS_CONNECTION_STRING",
                          "APPINSIGHTS_CONNECTION_STRING", "AZ_PROTOTYPE_TELEMETRY_DEBUG")}
    clean.update(AZURE_CONFIG_DIR=str(tmp_path / "azure"), **env)
    done = subprocess.run([sys.executable, "-c", _CHILD.format(collect=collect, az_args=list(az_args), knack_dir=str(tmp_path / "knack"))], env=clean, capture_output=True,
                          text=True, timeout=60, check=True)
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("collect, env", [
    (None, {"DO_NOT_TRACK": "1"}),
    ("no", {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9/"}),
    (None, {"AZURE_CORE_COLLECT_TELEMETRY": "false",
            "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9/"}),
    (None, {}),  # no connection string
])
def test_telemetry_off_imports_nothing_and_writes_nothing(tmp_path, collect, env):
    seen = run_child(tmp_path, collect, **env)
    assert seen["result"] == "done"
    assert seen["added"] == []
    assert not (tmp_path / "azure").exists()


def test_telemetry_on_loads_the_recorder_and_writes_the_event(tmp_path):
    seen = run_child(tmp_path, None, APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9/",
                     DO_NOT_TRACK="0")
    assert "azext_prototype.telemetry.record" in seen["added"]
    assert len(list((tmp_path / "azure" / "prototype" / "telemetry" / "spool").glob("*.json"))) == 1


def test_off_under_az_debug_still_says_why(tmp_path):
    seen = run_child(tmp_path, None, az_args=("prototype", "status", "--debug"), DO_NOT_TRACK="1")
    assert "azext_prototype.telemetry.record" in seen["added"]  # az --debug: the recorder tells the story
    assert not (tmp_path / "azure" / "prototype" / "telemetry").exists()


def test_off_under_debug_still_says_why(tmp_path):
    seen = run_child(tmp_path, None, DO_NOT_TRACK="1", AZ_PROTOTYPE_TELEMETRY_DEBUG="1")
    assert "azext_prototype.telemetry.record" in seen["added"]  # the recorder tells the story
    assert not (tmp_path / "azure" / "prototype" / "telemetry").exists()


@pytest.mark.parametrize("value, wanted", [("1", True), ("yes", True), ("0", False), ("no", False), ("", False)])
def test_the_debug_variable_is_read_as_an_az_boolean_by_the_decorator_and_the_recorder_alike(monkeypatch, value,
                                                                                             wanted):
    from azext_prototype.telemetry import names
    from azext_prototype.telemetry.record import Tracer

    import logging

    monkeypatch.setenv("AZ_PROTOTYPE_TELEMETRY_DEBUG", value)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # pytest's own capture handler takes DEBUG
    assert names.story_wanted() is wanted
    assert Tracer().telling() is wanted
