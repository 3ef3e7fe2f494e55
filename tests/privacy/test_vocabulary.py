"""The shipped vocabulary: valid, sorted, in the wheel's package data, and free of the names the issue names."""

from __future__ import annotations

import re
from pathlib import Path

from telemetry_sender.privacy import vocabulary

ROOT = Path(__file__).resolve().parents[2]
_ENTRY = re.compile(r"[a-z][a-z0-9]*(?:[._'-][a-z0-9]+)*")


def test_the_file_is_sorted_unique_lower_case_entries():
    lines = vocabulary.VOCABULARY_FILE.read_text(encoding="utf-8").splitlines()
    assert lines == sorted(set(lines))
    assert all(_ENTRY.fullmatch(line) and len(line) <= 40 for line in lines)
    assert 20_000 < len(lines) < 60_000


def test_person_and_company_names_are_not_in_it():
    words = vocabulary.load()
    for name in ("jane", "contoso", "fabrikam", "alice", "bob", "john", "peter", "northwind", "woodgrove"):
        assert name not in words, name


def test_english_az_and_extension_words_are():
    words = vocabulary.load()
    for word in ("the", "could", "rejected", "token", "storage", "account", "resource-group", "microsoft.web",
                 "login", "iac-tool", "prototype.yaml", "short", "will", "may"):
        assert word in words, word


def test_a_missing_file_keeps_nothing_rather_than_failing(tmp_path):
    assert vocabulary.load(tmp_path / "absent.txt") == frozenset()


def test_the_wheel_ships_it():
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert '"telemetry_sender.privacy": ["vocabulary.txt"]' in setup
