"""`az prototype telemetry flush` returns even when the drain hangs where no socket timeout reaches (DNS)."""

from __future__ import annotations

import threading

import pytest

from azext_prototype import custom_telemetry
from telemetry_sender.spool.layout import SpoolLayout


def test_a_hung_drain_is_given_up_and_the_command_returns(monkeypatch, tmp_path):
    release = threading.Event()
    started = threading.Event()

    def hanging_drain(*args, **kwargs):
        started.set()
        release.wait(30)  # stands for a name lookup that never answers

    monkeypatch.setattr("telemetry_sender.sender.drain.drain", hanging_drain)
    try:
        report = custom_telemetry.bounded_drain(SpoolLayout(tmp_path), settings=None, progress=None, limit=0.2)
        assert started.is_set() and report is None
    finally:
        release.set()


def test_a_finished_drain_returns_its_report_and_errors_propagate(monkeypatch, tmp_path):
    monkeypatch.setattr("telemetry_sender.sender.drain.drain", lambda *a, **k: "report")
    assert custom_telemetry.bounded_drain(SpoolLayout(tmp_path), None, None, limit=10) == "report"

    def failing_drain(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr("telemetry_sender.sender.drain.drain", failing_drain)
    with pytest.raises(ValueError, match="boom"):
        custom_telemetry.bounded_drain(SpoolLayout(tmp_path), None, None, limit=10)


@pytest.mark.parametrize("view", ["status", "show"])
def test_a_spool_root_that_is_a_symlink_is_a_clean_error_in_az_not_a_crash(monkeypatch, tmp_path, view):
    from knack.util import CLIError

    (tmp_path / "azure" / "prototype").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "azure" / "prototype" / "telemetry").symlink_to(tmp_path / "elsewhere")
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "azure"))
    run = custom_telemetry.telemetry_status if view == "status" else custom_telemetry.telemetry_show
    with pytest.raises(CLIError, match="is not a real folder"):
        run(cmd=None)


def test_az_show_on_a_spool_folder_it_cannot_read_is_an_error_not_no_events(monkeypatch, tmp_path):
    from knack.util import CLIError

    root = tmp_path / "azure" / "prototype" / "telemetry"
    root.mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (root / "spool").symlink_to(tmp_path / "elsewhere")  # spool/ left alone: its events are not known
    monkeypatch.setenv("AZURE_CONFIG_DIR", str(tmp_path / "azure"))
    with pytest.raises(CLIError, match="pending events not all read: spool/ a symlink"):
        custom_telemetry.telemetry_show(cmd=None)
