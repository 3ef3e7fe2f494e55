"""`python -m telemetry_sender`: Ctrl-C ends a support command quietly with the shell's usual code."""

from __future__ import annotations

from telemetry_sender import cli
from telemetry_sender.support import command


def test_ctrl_c_ends_quietly_with_130(monkeypatch, tmp_path, capsys):
    def interrupted(args, layout):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "command_status", interrupted)
    assert cli.run(["status", "--spool", str(tmp_path)]) == 130
    assert "Traceback" not in capsys.readouterr().err
