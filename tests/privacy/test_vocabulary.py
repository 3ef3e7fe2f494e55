"""The shipped vocabulary: valid, sorted, in the wheel's package data, and free of the names the issue names."""

from __future__ import annotations

import re
import sys
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


# --- the vocabulary and the typed detection agree, word by word (not a sample) ---

def test_every_word_survives_typed_detection_and_the_sanitizer_on_its_own():
    """Typed detection runs first: a vocabulary word it replaces (`aead_aes_256_cbc_hmac_sha256` is
    key-shaped) could never be kept, and the detection is not weakened for a word's sake."""
    from telemetry_sender.privacy.errors import sanitize_error
    from telemetry_sender.privacy.scrub import scrub_text

    words = sorted(vocabulary.load())
    assert [w for w in words if scrub_text(w) != w] == []
    assert [w for w in words if sanitize_error(w) != w] == []


def test_the_build_leaves_out_what_the_detection_replaces():
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_vocabulary

    planted = {"token", "storage", "aead_aes_256_cbc_hmac_sha256", "long_term_retention_database_name",
               "e1fe6dd8-ba31-4d61-89e7-88639da4683d", "deadbeefcafebabe1234"}
    assert build_vocabulary.detected(planted) == planted - {"token", "storage"}
