"""The shipped word list that error text is kept by (see scripts/build_vocabulary.py).

Loaded on first use only: a command that succeeds never reads it.
"""

from __future__ import annotations

from pathlib import Path

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.txt")

_LOADED: list[frozenset[str]] = []


def load(path: Path = VOCABULARY_FILE) -> frozenset[str]:
    """The words, lower case, one per line of the file; empty when the file cannot be read."""
    try:
        return frozenset(path.read_text(encoding="utf-8").split())
    except (OSError, UnicodeDecodeError):  # a broken install keeps nothing rather than failing the scrub
        return frozenset()


def words() -> frozenset[str]:
    """The vocabulary, read once per process."""
    if not _LOADED:
        _LOADED.append(load())
    return _LOADED[0]
