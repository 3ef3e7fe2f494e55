"""Opt-out precedence and connection-string sources (DESIGN.md, "Contract — configuration")."""

from __future__ import annotations

import sys

import pytest
from hypothesis import given
from hypothesis import settings as settings_profile
from hypothesis import strategies as st

from telemetry_sender import settings
from telemetry_sender import recording
from telemetry_sender.settings import parse_az_bool, resolve_settings

CS = "InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9/"


def env_for(tmp_path, **extra):
    env = {"AZURE_CONFIG_DIR": str(tmp_path), "APPLICATIONINSIGHTS_CONNECTION_STRING": CS}
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def write_config(tmp_path, value, section="core"):
    (tmp_path / "config").write_text(f"[cloud]\nname = AzureCloud\n\n[{section}]\ncollect_telemetry = {value}\n")


def test_enabled_with_connection_string(tmp_path):
    s = resolve_settings(env_for(tmp_path))
    assert (s.enabled, s.reason, s.connection_source) == (True, "enabled", "APPLICATIONINSIGHTS_CONNECTION_STRING")
    assert s.connection.ingestion_endpoint == "http://127.0.0.1:9/"


@pytest.mark.parametrize("value", ["1", "true", "yes", "anything", " 1 "])
def test_do_not_track_disables(tmp_path, value):
    s = resolve_settings(env_for(tmp_path, DO_NOT_TRACK=value))
    assert not s.enabled and s.reason == "DO_NOT_TRACK is set"


@pytest.mark.parametrize("value", ["0", "", "  "])
def test_do_not_track_zero_or_empty_does_not_disable(tmp_path, value):
    assert resolve_settings(env_for(tmp_path, DO_NOT_TRACK=value)).enabled


def test_do_not_track_wins_over_collect_yes(tmp_path):
    assert not resolve_settings(env_for(tmp_path, DO_NOT_TRACK="1", AZURE_CORE_COLLECT_TELEMETRY="yes")).enabled


@pytest.mark.parametrize("value", ["no", "NO", "false", "False", "off", "0"])
def test_env_collect_telemetry_off(tmp_path, value):
    s = resolve_settings(env_for(tmp_path, AZURE_CORE_COLLECT_TELEMETRY=value))
    assert not s.enabled and s.reason == f"AZURE_CORE_COLLECT_TELEMETRY={value}"


@pytest.mark.parametrize("value", ["no", "False", "OFF", "0"])
def test_config_file_collect_telemetry_off(tmp_path, value):
    write_config(tmp_path, value)
    s = resolve_settings(env_for(tmp_path))
    assert not s.enabled
    assert s.reason == f"core.collect_telemetry={value} in {tmp_path / 'config'}"


def test_config_file_with_bom(tmp_path):
    (tmp_path / "config").write_bytes(b"\xef\xbb\xbf[core]\ncollect_telemetry = no\n")
    assert not resolve_settings(env_for(tmp_path)).enabled


def test_env_form_wins_over_config_file(tmp_path):
    write_config(tmp_path, "no")
    assert resolve_settings(env_for(tmp_path, AZURE_CORE_COLLECT_TELEMETRY="yes")).enabled
    write_config(tmp_path, "yes")
    assert not resolve_settings(env_for(tmp_path, AZURE_CORE_COLLECT_TELEMETRY="no")).enabled


def test_other_sections_do_not_count(tmp_path):
    write_config(tmp_path, "no", section="extension")
    assert resolve_settings(env_for(tmp_path)).enabled


def test_unreadable_or_malformed_config_reads_as_unset(tmp_path):
    (tmp_path / "config").write_text("collect_telemetry = no\n[core\n")
    assert resolve_settings(env_for(tmp_path)).enabled


def test_unrecognized_value_disables_with_reason(tmp_path):
    s = resolve_settings(env_for(tmp_path, AZURE_CORE_COLLECT_TELEMETRY="maybe"))
    assert not s.enabled and "not a boolean" in s.reason


def test_value_passed_in_by_az_is_used_instead_of_reading(tmp_path):
    write_config(tmp_path, "yes")
    s = resolve_settings(env_for(tmp_path), collect_telemetry="no")
    assert not s.enabled and s.reason == "core.collect_telemetry=no"
    assert resolve_settings(env_for(tmp_path), collect_telemetry=None).enabled
    s = resolve_settings(env_for(tmp_path), "off", "in az config")
    assert s.reason == "core.collect_telemetry=off in az config"


def test_no_connection_string_means_off(tmp_path):
    s = resolve_settings({"AZURE_CONFIG_DIR": str(tmp_path)})
    assert (s.enabled, s.reason, s.connection, s.connection_source) == (False, "no connection string", None, "")


def test_invalid_connection_string_means_off_with_reason(tmp_path):
    s = resolve_settings(env_for(tmp_path, APPLICATIONINSIGHTS_CONNECTION_STRING="IngestionEndpoint=https://x"))
    assert not s.enabled and s.reason == "invalid connection string: InstrumentationKey is missing"


def test_connection_string_precedence(tmp_path, monkeypatch):
    legacy = "InstrumentationKey=legacy"
    built = "InstrumentationKey=built"
    base = {"AZURE_CONFIG_DIR": str(tmp_path)}
    monkeypatch.setattr(recording, "BUILT_IN_CONNECTION_STRING", built)
    s = resolve_settings(base)
    assert (s.connection.instrumentation_key, s.connection_source) == ("built", "built-in")
    s = resolve_settings({**base, "APPINSIGHTS_CONNECTION_STRING": legacy})
    assert (s.connection.instrumentation_key, s.connection_source) == ("legacy", "APPINSIGHTS_CONNECTION_STRING")
    s = resolve_settings({**base, "APPINSIGHTS_CONNECTION_STRING": legacy, "APPLICATIONINSIGHTS_CONNECTION_STRING": CS})
    assert (s.connection.instrumentation_key, s.connection_source) == ("k", "APPLICATIONINSIGHTS_CONNECTION_STRING")
    s = resolve_settings({**base, "APPINSIGHTS_CONNECTION_STRING": legacy, "APPLICATIONINSIGHTS_CONNECTION_STRING": " "})
    assert s.connection_source == "APPINSIGHTS_CONNECTION_STRING"


def test_opted_out_still_reports_the_connection_for_status(tmp_path):
    s = resolve_settings(env_for(tmp_path, DO_NOT_TRACK="1"))
    assert not s.enabled and s.connection is not None


def test_config_file_without_the_key_does_not_import_configparser(tmp_path, monkeypatch):
    (tmp_path / "config").write_text("[cloud]\nname = AzureCloud\n")
    monkeypatch.delitem(sys.modules, "configparser", raising=False)
    assert resolve_settings(env_for(tmp_path)).enabled
    assert "configparser" not in sys.modules


@pytest.mark.parametrize("text, value", [("YES", True), ("On", True), ("1", True), ("off", False), ("0", False), ("x", None)])
def test_parse_az_bool(text, value):
    assert parse_az_bool(text) is value


def test_opted_out_marks_the_users_choice_not_a_missing_connection_string():
    from telemetry_sender.settings import resolve_settings

    conn = {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9/"}
    assert resolve_settings({**conn, "DO_NOT_TRACK": "1"}, None).opted_out
    assert resolve_settings(conn, "no").opted_out
    assert not resolve_settings({}, None).opted_out
    assert not resolve_settings({"APPLICATIONINSIGHTS_CONNECTION_STRING": "junk"}, None).opted_out
    assert not resolve_settings(conn, None).opted_out


_MAYBE = st.sampled_from([None, "", " ", "0", "1", "yes", "No", "TRUE", "off", "maybe"])
_CONNECTIONS = st.sampled_from([
    None, "", "  ", CS, "InstrumentationKey=k", "IngestionEndpoint=https://x.example", "InstrumentationKey=k;x",
    "InstrumentationKey=k;IngestionEndpoint=http://evil.example", "InstrumentationKey=k;EndpointSuffix=example.com",
])


@settings_profile(max_examples=300, deadline=None)
@given(dnt=_MAYBE, env_collect=_MAYBE, az_collect=_MAYBE, primary=_CONNECTIONS, legacy=_CONNECTIONS)
def test_the_recorders_decision_is_the_settings_decision(dnt, env_collect, az_collect, primary, legacy):
    """recording.recording_connection (what a command runs) and settings.resolve_settings (what `status`
    and the sender say, with reasons) are one rule: same answer, same connection, same source."""
    env = {key: value for key, value in {
        "DO_NOT_TRACK": dnt, "AZURE_CORE_COLLECT_TELEMETRY": env_collect,
        "APPLICATIONINSIGHTS_CONNECTION_STRING": primary, "APPINSIGHTS_CONNECTION_STRING": legacy,
    }.items() if value is not None}
    collect = env.get("AZURE_CORE_COLLECT_TELEMETRY") or az_collect  # az applies its environment form first
    decided = resolve_settings(env, collect, "in the az configuration")
    target = recording.recording_connection(env, az_collect)
    assert (target is not None) == decided.enabled
    if target is not None:
        assert target == (decided.connection, decided.connection_source)
