"""Spool folders opened without following links: reads, deletes and renames stay inside the opened folder."""

from __future__ import annotations

import os

import pytest

from telemetry_sender.recording import UnsafePathError
from telemetry_sender.spool.safe_dir import Kind, SafeDir

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX links and FIFOs")


@pytest.fixture
def tree(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "mine.txt").write_text("engineer's")
    root = tmp_path / "root"
    (root / "real").mkdir(parents=True)
    (root / "real" / "a.json").write_text("{}")
    os.symlink(outside, root / "linked")
    os.symlink(outside / "mine.txt", root / "real" / "link.json")
    os.mkfifo(root / "real" / "fifo.json")
    return root, outside


def test_a_linked_folder_is_not_opened(tree):
    root, _ = tree
    with SafeDir.open_root(root) as opened:
        with pytest.raises(UnsafePathError, match="symlink"):
            opened.open_sub("linked")
        assert opened.lstat("linked").kind is Kind.SYMLINK
    with pytest.raises(UnsafePathError):
        SafeDir.open_root(root / "linked")


def test_reads_refuse_links_fifos_and_big_files(tree):
    root, _ = tree
    with SafeDir.open_root(root) as opened, opened.open_sub("real") as real:
        assert real.read("a.json", 10) == b"{}"
        with pytest.raises(UnsafePathError, match="symlink"):
            real.read("link.json", 100)
        with pytest.raises(UnsafePathError, match="fifo"):
            real.read("fifo.json", 100)  # returns at once: opened non-blocking
        with pytest.raises(ValueError, match="limit"):
            real.read("a.json", 1)
        assert {e.name: e.kind for e in real.entries()} == {
            "a.json": Kind.FILE, "fifo.json": Kind.FIFO, "link.json": Kind.SYMLINK}


def test_changes_stay_inside_and_never_go_through_a_link(tree):
    root, outside = tree
    with SafeDir.open_root(root) as opened, opened.open_sub("real") as real:
        assert real.unlink("link.json") is True  # the link itself
        assert (outside / "mine.txt").read_text() == "engineer's"
        with pytest.raises(UnsafePathError):
            real.unlink("../outside/mine.txt")
        with pytest.raises(UnsafePathError):
            opened.unlink("real")  # never a folder
        real.write_atomic("b.json", b"[]")
        real.rename("b.json", real, "c.json")
        assert (root / "real" / "c.json").read_bytes() == b"[]"
        with opened.open_sub("new", create=True) as new:
            new.write_atomic("x", b"1")
        opened.remove_tree("new")
        assert not (root / "new").exists()
    assert sorted(p.name for p in outside.iterdir()) == ["mine.txt"]


def test_an_entry_lstat_refuses_is_listed_as_unreadable_never_left_out(tmp_path, monkeypatch):
    """A folder without search permission lists names it will not lstat (root can't be made to see it so)."""
    from telemetry_sender.spool import safe_dir

    (tmp_path / "00000000000000000001-aaaaaaaaaaaa.json").write_text("{}")
    (tmp_path / "gone.json").write_text("{}")
    real_scandir = os.scandir

    class Refusing:
        def __init__(self, entry):
            self.name = entry.name

        def stat(self, follow_symlinks=True):
            raise (FileNotFoundError if self.name == "gone.json" else PermissionError)(13, "Permission denied")

    class Listing:
        def __init__(self, target):
            self._inner = real_scandir(target)

        def __enter__(self):
            return [Refusing(e) for e in self._inner]

        def __exit__(self, *exc):
            self._inner.close()

    monkeypatch.setattr(safe_dir.os, "scandir", Listing)
    with safe_dir.SafeDir.open_root(tmp_path) as folder:
        entries = folder.entries()
    assert [(e.name, e.kind) for e in entries] == [("00000000000000000001-aaaaaaaaaaaa.json", safe_dir.Kind.UNREADABLE)]
    assert "cannot be looked at" in safe_dir.describe(entries[0])
