"""The error-text sanitizer (DESIGN.md, "Contract — sanitizing"): free text kept by allow-list.

Typed detection first, so placeholders say what was removed (`<email>`, `<secret>`, ...);
then only the error's kind, vocabulary words, small numbers and punctuation stay. Pure,
never raises, at most 1 KB of UTF-8, and a fixed point: sanitizing its own output changes
nothing, which is how the sender re-checks an `error` on the way out.
"""

from __future__ import annotations

from telemetry_sender.rules import MAX_TEXT_BYTES

# Only a bounded prefix is scanned: patterns must not be cut in two by the cap, and a
# megabyte of text must not cost the user regex time.
MAX_SCANNED_CHARS = MAX_TEXT_BYTES * 4


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


# Typographic quotes and apostrophes read as their ASCII forms, so a name in ‘…’ or “…” is a quoted name.
_TYPOGRAPHIC_QUOTES = str.maketrans({c: "'" for c in "\u2018\u2019\u201a\u201b\u2039\u203a"}
                                    | {c: '"' for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb"})


def plain_text(text: str) -> str:
    """`text` in the characters the allow-list can judge: compatibility forms folded (NFKC: circled
    and full-width letters become letters), invisible format characters dropped (a zero-width
    joiner between the letters of an e-mail would make each letter a word of its own), control
    characters, and non-ASCII characters that are neither letters nor digits (private-use,
    symbols), made spaces; typographic quotes become ASCII ones. Non-ASCII letters stay, and become
    placeholders (the vocabulary is ASCII)."""
    import unicodedata

    # Surrogates cannot be encoded: replaced up front so the byte cap is exact.
    text = unicodedata.normalize("NFKC", text.encode("utf-8", "replace").decode("utf-8"))
    if text.isascii() and text.isprintable():
        return text
    text = text.translate(_TYPOGRAPHIC_QUOTES)
    kept: list[str] = []
    for char in text:
        if unicodedata.category(char) == "Cf":
            continue
        if char in "\n\t" or (char.isascii() and char.isprintable()) or (not char.isascii() and char.isalnum()):
            kept.append(char)
        elif not kept or kept[-1] != " ":  # a run of them is one space
            kept.append(" ")
    return "".join(kept)


def sanitize_error(text: object) -> str:
    """The error text with every token outside the allow-list replaced by a typed placeholder; never raises."""
    try:
        from telemetry_sender.privacy import allowlist, scrub, vocabulary

        raw = plain_text(_as_text(text)[:MAX_SCANNED_CHARS])
        return allowlist.keep_allowed(scrub.scrub_text(raw), vocabulary.words(), MAX_TEXT_BYTES)
    except Exception:  # pylint: disable=broad-exception-caught  # the contract: never raise
        return ""
