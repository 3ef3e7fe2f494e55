"""A command that succeeds loads nothing of the error scrubber (no patterns, no vocabulary), nor the privacy package."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

SCRUBBER = ("telemetry_sender.privacy.errors", "telemetry_sender.privacy.allowlist",
            "telemetry_sender.privacy.scrub", "telemetry_sender.privacy.vocabulary")
CHILD = """
import json, sys, time
import azext_prototype.telemetry
after_import = [m for m in sys.modules if m.startswith(("telemetry_sender.privacy", "telemetry_sender.rules"))]
from azext_prototype.telemetry.event import Invocation
from azext_prototype.telemetry.record import record
error = RuntimeError("could not reach contoso-hr-api-056") if sys.argv[1] == "failed" else None
path = record(Invocation("prototype status", {"scope": "infra"}, {}, error, time.time_ns(), 3.0), spawn=False)
print(json.dumps({"after_import": after_import, "loaded": sorted(sys.modules), "written": str(path)}))
"""


def run_command(tmp_path, outcome: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "AZURE_CORE_COLLECT_TELEMETRY")}
    env.update(AZURE_CONFIG_DIR=str(tmp_path / "azure"),
               APPLICATIONINSIGHTS_CONNECTION_STRING="InstrumentationKey=00000000-0000-0000-0000-000000000001;"
                                                     "IngestionEndpoint=http://127.0.0.1:9")
    done = subprocess.run([sys.executable, "-c", CHILD, outcome], env=env, capture_output=True, text=True, timeout=60,
                          cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_importing_the_recorder_loads_no_privacy_rule(tmp_path):
    assert run_command(tmp_path, "success")["after_import"] == []


def test_a_recording_command_loads_the_rules_without_the_privacy_package(tmp_path):
    loaded = set(run_command(tmp_path, "success")["loaded"])
    assert "telemetry_sender.rules" in loaded
    assert not {m for m in loaded if m.startswith("telemetry_sender.privacy")}


@pytest.mark.parametrize("outcome, expected", [("success", set()), ("failed", set(SCRUBBER))])
def test_only_a_failed_command_loads_the_scrubber(tmp_path, outcome, expected):
    result = run_command(tmp_path, outcome)
    assert result["written"].endswith(".json")
    assert set(SCRUBBER) & set(result["loaded"]) == expected
