"""The allow-list pass over error text: vocabulary words, the error's kind and structure stay.

Every other token becomes a typed placeholder. Runs after typed detection (scrub.py),
whose placeholders it keeps; it is the safety net for the text no pattern foresaw.
"""

from __future__ import annotations

import re
from typing import AbstractSet

from telemetry_sender.rules import (
    SECRET_WORDS, SHORT_IDENTIFYING_FLAGS, SHORT_SECRET_FLAGS, is_identifying_name, is_model_name, is_sensitive_name,
)
from telemetry_sender.rules import region_or_empty, split_words

PLACEHOLDERS = ("guid", "email", "url", "path", "secret", "name", "number", "value", "resource-id", "jwt",
                "private-key", "ip", "user")
_PLACEHOLDER = "<(?:" + "|".join(re.escape(p) for p in PLACEHOLDERS) + ")>"
# A placeholder, a flag (`--resource-group`), or a word with inner dots, hyphens, apostrophes. A flag is
# not read right after a word or a placeholder (`0A--X` leaves `<name>--X`: the second pass reads it alike).
_TOKEN = re.compile(rf"{_PLACEHOLDER}|(?<![\w>-])--?[A-Za-z][\w]*(?:-\w+)*|\w+(?:[.'-]\w+)*")
_KEY_FOLLOWS = re.compile(r"\s*[:=](?!//)")
_ONLY_SPACE_OR_QUOTES = re.compile(r"[\s'\"`(\[]*")
_NUMBER = re.compile(r"\d{1,7}(?:[.,:/-]\d{1,7}){0,2}")
_VERSION = re.compile(r"[vV]\d{1,4}(?:\.\d{1,4}){0,3}")
# Service error codes by their known prefixes (Entra ID's AADSTS7000215, Bicep's BCP035): the
# shape alone (capitals, then digits) would also keep a server's or a user's name (CORPSQL001).
_SERVICE_CODE = re.compile(r"(?:AADSTS|BCP)\d{3,10}")
_KIND = re.compile(r"[A-Z]\w*(?:Error|Exception|Exit|Warning|Interrupt|Failure|Fault)")
_NAME_CUES = frozenset({"named", "called"})  # "a storage account named X": X is always a name
# A quoted value right after a word that names a resource, a person, a place, free text or a
# secret (`Resource group 'payroll' could not be found`, `--password '1234'`): services quote the
# names they were given, so each of its words becomes a placeholder even when it is a vocabulary
# word (a provider namespace such as `Microsoft.Web` excepted).
# The quote is matched first (the scan jumps from quote to quote); one touching a word or a
# placeholder opens or closes nothing, and an apostrophe inside a word (`O'Brien`) closes nothing.
_QUOTES = "'\"`"
_QUOTED = re.compile(r"""(['"`])(?<![\w>].)((?:[^'"`\n]|(?<=\w)'(?=\w))+?)\1(?![\w<])""")


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the text between each pair of quotes in `text`, in order."""
    return [match.span(2) for match in _QUOTED.finditer(text)]


# Azure's names for the things users name, beyond the identifying words parameters are judged by
# (rules.IDENTIFYING_WORDS: group, account, vault, resource, workspace, endpoint, ...), as az's own
# messages use them: `The plan 'x' doesn't exist`, `Snapshot 'x' not found`, `Slot 'x'`. A subscription
# or certificate here is named (`<name>`), where a parameter of that name holds a secret.
RESOURCE_NOUNS = frozenset(
    "plan plans site sites webapp containerapp environment share snapshot snapshots disk disks image images "
    "role roles profile profiles service services application applications container containers queue queues "
    "topic topics subscription subscriptions slot slots policy policies function functions gateway zone zones "
    "cache factory pipeline pool pools volume volumes job jobs route rule rules certificate "
    "definition assignment scope"
    .split()
)
# A key's name is quoted as schema (`Unknown configuration key 'project.location'`), not its value.
_SCHEMA_KEY_WORDS = frozenset({"key", "keys"})


def _hidden_after(word: str) -> str | None:
    """The placeholder for the words of a quoted value right after `word`, or None when they are judged as usual.

    A placeholder names no word (a first pass may have made it), so it hides nothing: what a
    first pass left beside one, a second pass judges the same way.
    """
    if not word or word[0] == "<":
        return None
    if word[0] == "-":
        return _after_flag(word)
    lower = word.lower()
    if lower in _NAME_CUES or lower in RESOURCE_NOUNS:
        return "<name>"
    if lower in _SCHEMA_KEY_WORDS:
        return None
    if is_sensitive_name(word):
        return "<secret>"
    return "<name>" if is_identifying_name(word) else None


def _provider_namespace(token: str, vocabulary: AbstractSet[str]) -> bool:
    """`Microsoft.Web`, `Microsoft.ContainerService`: a resource provider az names, kept even in a hidden value."""
    return token.startswith("Microsoft.") and token.lower() in vocabulary


def _kept_by_shape(token: str) -> bool:
    """A token kept for its shape alone: a small number, a version, a service code, a region, a model id."""
    if not any(c.isalpha() for c in token):
        return not any(c.isdigit() for c in token) or bool(_NUMBER.fullmatch(token))
    if _VERSION.fullmatch(token) or _SERVICE_CODE.fullmatch(token):
        return True
    return region_or_empty(token) == token or is_model_name(token)


def _all_words(parts: tuple[str, ...], vocabulary: AbstractSet[str]) -> bool:
    return bool(parts) and all(p.isalpha() and p in vocabulary for p in parts)


def is_allowed_word(token: str, vocabulary: AbstractSet[str]) -> bool:
    """True for a token kept on its own: a vocabulary word, a small number, a version, a region,
    a model id, a service error code, or a CamelCase code made of vocabulary words."""
    lower = token.lower()
    if lower in vocabulary or (lower.endswith("'s") and lower[:-2] in vocabulary):
        return True
    if _kept_by_shape(token):
        return True
    if token.isalnum() and any(c.isupper() for c in token[1:]):  # ResourceNotFound, CLIError
        return _all_words(split_words(token), vocabulary)
    return False


def _flag_ok(token: str, vocabulary: AbstractSet[str]) -> bool:
    return _all_words(split_words(token.lstrip("-")), vocabulary)


def _placeholder(token: str, previous: str) -> str:
    if previous.lower() in SECRET_WORDS:
        return "<secret>"
    return "<number>" if token.isdigit() else "<name>"


def _after_flag(flag: str) -> str | None:
    """The placeholder for the value after a flag that names a secret or an identity, else None."""
    if flag in SHORT_SECRET_FLAGS or is_sensitive_name(flag):
        return "<secret>"
    return "<name>" if flag in SHORT_IDENTIFYING_FLAGS or is_identifying_name(flag) else None


# pylint: disable-next=too-many-return-statements  # one return per kind of token
def _decide(text: str, match: re.Match[str], previous: str, previous_end: int, vocabulary: AbstractSet[str]) -> str:
    """What one token becomes, given the word before it."""
    token = match.group(0)
    if token[0] == "<":
        return token
    if not token.isascii():  # the vocabulary, versions, regions and codes are all ASCII
        return "<name>"
    cue = previous[:1] == "-" or previous.lower() in _NAME_CUES  # checked first: most tokens have none
    if cue and previous_end >= 0 and _ONLY_SPACE_OR_QUOTES.fullmatch(text, previous_end, match.start()):
        hidden = _after_flag(previous) if previous.startswith("-") else "<name>"
        if hidden and not token.startswith("-"):
            return hidden
    if token.startswith("-"):
        return token if _flag_ok(token, vocabulary) else "<name>"
    if is_allowed_word(token, vocabulary):
        return token
    if _KEY_FOLLOWS.match(text, match.end()):
        if match.start() == 0 and _KIND.fullmatch(token):
            return token  # the exception class the recorder puts first
        if _all_words(split_words(token), vocabulary):
            return token  # a key's name is schema, not data: `max_tokens: 4096`
    return _placeholder(token, previous)


def keep_allowed(text: str, vocabulary: AbstractSet[str], max_bytes: int) -> str:
    """`text` with every token outside the allow-list replaced, cut to `max_bytes` on a token boundary."""
    pieces: list[str] = []
    size = 0
    last = 0
    previous, previous_end = "", -1
    spans = [*quoted_spans(text), (len(text) + 1, len(text) + 1)]  # and one past the end: no bounds checks
    at, hidden = 0, None  # the quoted value reached; the placeholder of every token in it (None: judged as usual)
    for match in _TOKEN.finditer(text):
        start = match.start()
        if start >= spans[at][0]:
            while start >= spans[at][1]:
                at, hidden = at + 1, None
            if previous_end < spans[at][0] <= start:  # its first token: the word before its quote decides
                only_space = previous_end >= 0 and not text[previous_end:spans[at][0] - 1].strip()
                hidden = _hidden_after(previous) if only_space else None
        decided = _decide(text, match, previous, previous_end, vocabulary)
        if hidden and decided[0] != "<" and not _provider_namespace(decided, vocabulary):
            decided = "<number>" if hidden == "<name>" and match.group(0).isdigit() else hidden
        for piece in (text[last:start], decided):
            cost = len(piece) if piece.isascii() else len(piece.encode("utf-8", "replace"))
            if size + cost > max_bytes:
                return _cut("".join(pieces), piece, max_bytes - size)
            pieces.append(piece)
            size += cost
        previous, previous_end, last = match.group(0), match.end(), match.end()
    tail = text[last:]
    return _cut("".join(pieces), tail, max_bytes - size)


def _cut(kept: str, rest: str, room: int) -> str:
    """`kept` and what fits of `rest`. When something was cut, a quote left at the end goes too: with what
    followed it gone, it could close a quoted value on a second pass that the first did not see."""
    fitted = _fit_separator(rest, room)
    return kept + rest if fitted == rest else (kept + fitted).rstrip(_QUOTES)


def _fit_separator(piece: str, room: int) -> str:
    """The part of a separator that fits; a token (word or placeholder) is never cut in two."""
    if _TOKEN.search(piece):
        return ""
    data = piece.encode("utf-8", "replace")
    return piece if len(data) <= room else data[:max(room, 0)].decode("utf-8", "ignore")
