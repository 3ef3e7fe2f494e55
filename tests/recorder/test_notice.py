"""The first-use notice: printed once per az config dir, by whoever creates the private marker."""

from __future__ import annotations

import io
import os
import stat

from azext_prototype.telemetry.notice import MARKER_NAME, details_path, show_once


def test_printed_once_and_marked_privately(tmp_path):
    first, second = io.StringIO(), io.StringIO()
    marker = show_once(tmp_path, first)
    assert marker == tmp_path / MARKER_NAME
    assert "core.collect_telemetry=no" in first.getvalue() and "DO_NOT_TRACK=1" in first.getvalue()
    assert stat.S_IMODE(os.lstat(marker).st_mode) == 0o600
    assert show_once(tmp_path, second) is None and second.getvalue() == ""


def test_a_symlink_in_place_of_the_marker_is_neither_followed_nor_replaced(tmp_path):
    target = tmp_path / "target"
    (tmp_path / MARKER_NAME).symlink_to(target)
    out = io.StringIO()
    assert show_once(tmp_path, out) is None
    assert not target.exists() and out.getvalue() == ""


def test_an_unwritable_folder_means_no_notice_rather_than_one_every_run(tmp_path):
    out = io.StringIO()
    assert show_once(tmp_path / "missing", out) is None and out.getvalue() == ""


def test_the_document_it_points_to_ships_beside_the_package():
    assert os.path.isfile(details_path())
