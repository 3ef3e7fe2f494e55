"""Text for a terminal or a log line: control characters visible, long text shortened or wrapped whole."""

from __future__ import annotations

from hypothesis import given, strategies as st

from telemetry_sender.text import printable, printable_tree, shorten, wrap


def test_controls_become_visible_escapes():
    assert printable("a\x1b]0;t\x07b\r\n\t") == "a\\x1b]0;t\\x07b\\r\\n\\t"
    assert printable("\x7f\x85\u202e\u2028") == "\\x7f\\x85\\u202e\\u2028"  # DEL, C1, bidi override, line separator
    assert printable("Zürich 東京 C:\\temp") == "Zürich 東京 C:\\temp"  # printable text is left as it is
    assert printable(429) == "429"


@given(st.text())
def test_nothing_unprintable_survives(text):
    assert printable(text).isprintable()


def test_tree_escapes_keys_and_values_only_strings():
    assert printable_tree({"k\n": ["\x1b", 1, None, {"x": "\r"}]}) == {"k\\n": ["\\x1b", 1, None, {"x": "\\r"}]}


def test_shorten_and_wrap():
    assert shorten("a  b\n c", 10) == "a b c"
    assert shorten("x" * 50, 10) == "xxxxxxx..."
    lines = wrap("word " * 30 + "\x1b[2J", 40, "  ")
    assert all(len(line) <= 40 and line.startswith("  ") for line in lines)
    assert " ".join(line.strip() for line in lines).endswith("word \\x1b[2J")
