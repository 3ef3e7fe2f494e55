"""The sender's log: one record per line, whatever a file name from the spool holds."""

from __future__ import annotations

import logging
import os

import pytest

from telemetry_sender.sender.log import setup_sender_log


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_a_newline_in_a_file_name_cannot_forge_a_record(tmp_path):
    path = tmp_path / "sender.log"
    handler = setup_sender_log(path)
    try:
        log = logging.getLogger("telemetry_sender.sender.drain")
        log.warning("quarantined %s: %s", "0001-x\n2099-01-01 00:00:00,000 1 ERROR forged: line.json", "bad \x1b[2J")
        try:
            raise ValueError("boom\n2099-01-01 00:00:00,000 1 ERROR forged: traceback")
        except ValueError:
            log.exception("sender failed")
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    lines = path.read_text().splitlines()
    assert not any(line.startswith("2099") for line in lines)
    assert "0001-x\\n2099-01-01" in lines[0] and "\\x1b[2J" in lines[0]
    records = [line for line in lines if not line.startswith("    ")]
    assert len(records) == 2  # the traceback's lines are indented under their record
    assert oct(path.stat().st_mode & 0o777) == "0o600"
