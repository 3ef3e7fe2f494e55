"""Typed detection in free text: each secret, address, id or path becomes a placeholder saying what it was.

The first pass of the error-text sanitizer; the allow-list (allowlist.py) is the safety
net for every token this does not recognise. The patterns are compiled on first use:
only failed commands (and the sender's re-check) need them.
"""

from __future__ import annotations

import re

from telemetry_sender.rules import is_sensitive_name

_HEX = "0-9a-fA-F"
_GUID = rf"[{_HEX}]{{8}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{12}}"
# A folder name inside a path may hold single spaces ("My Documents"); only folders that
# are followed by a separator are read that way, so the words after a path stay words.
_SPACED_SEGMENT = r"[^\s'\"<>|\\/]+(?: [^\s'\"<>|\\/]+){0,8}"
_MAX_SMALL_NUMBER_DIGITS = 7
# A rule runs only when its text can be there: a substring scan costs microseconds, a pattern
# pass over 4 KB tens of them. Hints are lower case, looked up in the lower-cased text. (For the
# same reason the long-run rules first look ahead for the minimum length, then for the rest.)
_PREFIX_HINTS = ("sk-", "sk_", "pk-", "pk_", "rk-", "rk_", "glpat-", "xox", "akia", "asia", "aiza", "npm_",
                 "pypi-")


def _pair_value(key: str, sep: str, value: str) -> str:
    """`key=value` / `key: value`: a secret's value is `<secret>`; any other `=` value is data (`<value>`).

    Small numbers stay (`max_tokens=4096` is usage signal); a `key: value` that names no
    secret is prose ("Deployment failed: quota") and is left to the allow-list.
    """
    if value.startswith("<") and value.endswith(">"):
        return value
    if is_sensitive_name(key):
        return "<secret>"
    if "=" not in sep:
        return value
    bare = value.strip("'\"")
    return value if bare.isdigit() and len(bare) <= _MAX_SMALL_NUMBER_DIGITS else "<value>"


_SEPARATORS = {"=": re.compile("="), ":": re.compile(":")}
# A key, or a flag given as `--password=X` / `-p=X` (its dashes are part of the key, so its value is judged
# too); a flag also when glued to a word, a number or a placeholder (`1234--password:X`, `<ip>-password:X`).
_KEY_TAIL = re.compile(r"(?:(?<=[\w>])-{1,2}|(?<![\w.-])-{0,2})[A-Za-z][\w.-]{0,40}\Z")
# A quoted value takes the text glued to it (`token:'x'text`): a first pass that hid only the quotes
# would leave the text for a second pass to read as the value.
_VALUES = {
    "=": re.compile(r"\s*(\"[^\"]*\"[^\s;&,]*|'[^']*'[^\s;&,]*|[^\s;&,]+)"),
    ":": re.compile(r"\s*(\"[^\"]*\"[^\s;&,:]*|'[^']*'[^\s;&,:]*|[^\s;&,:]+)"),
}
_MAX_KEY_CHARS = 41


def _pairs(text: str, sep: str) -> str:
    """Every `key<sep>value` pair's value judged by its key (`_pair_value`), in one left-to-right pass.

    Found from the separator backwards: a pattern that tried a key at every position
    costs ten times more on a 4 KB message.
    """
    pieces: list[str] = []
    last = 0
    for found in _SEPARATORS[sep].finditer(text):
        at = found.start()
        if at < last:
            continue
        key_end = len(text[last:at].rstrip()) + last
        key = _KEY_TAIL.search(text, max(last, key_end - _MAX_KEY_CHARS), key_end)
        value = _VALUES[sep].match(text, at + 1)
        if key is None or value is None:
            continue
        if _SEPARATORS[sep].match(text, value.end()) and not is_sensitive_name(key.group(0)):
            continue  # `a:password:x`: what follows is the next pair's key (a secret's value is hidden all the same)
        pieces.append(text[last:value.start(1)])
        pieces.append(_pair_value(key.group(0), text[key_end:value.start(1)], value.group(1)))
        last = value.end()
    pieces.append(text[last:])
    return "".join(pieces)


# Digit groups joined by one separator, optionally `+` and `(area)` first; a sentence's full stop may follow.
_DIGIT_GROUPS = re.compile(r"(?<![\w.+])\+?\(?\d{1,4}\)?(?:[ ./-]\d{1,7}){1,5}(?![\w]|[./-]\d)")
_MIN_NUMBER_DIGITS = 9  # fewer: sizes, counts, dates (2022-11-02 is 8 digits), versions


def _digit_groups(match: re.Match[str]) -> str:
    """`<number>` for nine digits or more in groups; a date with its time (2022-11-02 10) stays."""
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    dated = len(text) >= 10 and text[4] == "-" and text[7] == "-" and text[:4].isdigit()
    return "<number>" if digits >= _MIN_NUMBER_DIGITS and not dated else text


def _build_rules() -> tuple[tuple[re.Pattern[str], object, tuple[str, ...] | None], ...]:
    """The rules, whole structures first (a private key holds base64 runs, a resource id holds a
    GUID, a URL holds a path, credentials and may carry a SAS query)."""
    return (
        (re.compile(r"-----BEGIN[^-]{0,40}-----.*?(?:-----END[^-]{0,40}-----|\Z)", re.S), "<private-key>",
         ("-----begin",)),
        # (`eyJ` first and the word boundary looked back on: the scan jumps to each `eyJ`, ten times faster)
        (re.compile(r"eyJ(?<!\weyJ)[\w-]{4,}\.[\w-]{4,}(?:\.[\w-]*)?"), "<jwt>", ("eyj",)),
        (re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"), "Bearer <secret>", ("bearer",)),
        (re.compile(r"(?i)\bbasic\s+(?=[A-Za-z0-9+/]*[\d+/=])[A-Za-z0-9+/]{6,}={0,2}"), "Basic <secret>", ("basic",)),
        # Well-known credential formats (OpenAI/Anthropic, GitHub, GitLab, Slack, AWS, Google, npm, PyPI).
        (re.compile(r"(?i)\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{3,}"), "<secret>",
         ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")),
        (re.compile(r"\b(?:sk|pk|rk)[-_][\w-]{3,}|\bglpat-[\w-]+|\bxox[abprs]-[\w-]+|\b(?:AKIA|ASIA)[0-9A-Z]{12,}\b"
                    r"|\bAIza[\w-]{10,}|\bnpm_\w{10,}|\bpypi-[\w-]{10,}"), "<secret>", _PREFIX_HINTS),
        # A URL of any scheme (postgresql://user:pw@host, amqps://, redis://): credentials, hosts, queries.
        (re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,30}://[^\s'\"<>]+"), "<url>", ("://",)),
        (re.compile(r"(?i)\bmailto:[^\s'\"<>]+"), "<email>", ("mailto:",)),
        (re.compile(r"(?i)(?<![\w.+%-])[\w.+-]{1,64}(?:@|%40)[\w-]{1,63}(?:\.[\w-]{1,63})*"), "<email>", ("@", "%40")),
        (re.compile(r"(?i)/?subscriptions/[^\s'\"]+"), "<resource-id>", ("subscriptions/",)),
        (re.compile(r"(?i)(?<![\w/])/providers/Microsoft\.[^\s'\"]+/[^\s'\"]+"), "<resource-id>", ("/providers/",)),
        # Base64 keys (storage account keys, AWS secrets) hold slashes: before the path rules.
        (re.compile(r"(?<![\w/+])(?=[A-Za-z0-9+/]{30})(?=[A-Za-z0-9+/]*\d)"
                    r"(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])"
                    r"[A-Za-z0-9+/]{30,}={0,2}(?![\w/])"), "<secret>", None),
        (re.compile(rf"(?i)\b[a-z]:[\\/](?:{_SPACED_SEGMENT}[\\/])*[^\s'\"<>|]*"), "<path>", (":\\", ":/")),
        (re.compile(rf"\\\\(?:{_SPACED_SEGMENT}[\\/])*[^\s'\"<>|]+"), "<path>", ("\\\\",)),
        # (not after `>`: `<name>~backup` is what a first pass left of `contoso~backup`)
        (re.compile(r"(?<![\w/>])~[A-Za-z_][\w.-]*(?:/[^\s'\"]*)?"), "<path>", ("~",)),
        (re.compile(r"(?<![\w.@%+~-])(?:~|\.{1,2}|[\w.@%+-]{1,255})?(?:/[\w.@%+~-]+(?: [\w.@%+~-]+){0,8}(?=/))+"
                    r"/[\w.@%+~-]+/?|~/[^\s'\"]*"), "<path>", ("/",)),
        (_SEPARATORS["="], "=", ("=",)),
        (_SEPARATORS[":"], ":", (":",)),
        (re.compile(rf"\{{?\b{_GUID}\b\}}?"), "<guid>", ("-",)),
        (re.compile(r"(?<![\w@])@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\b"), "@<user>", ("@",)),
        (re.compile(r"(?i)\b(github\.com|gitlab\.com)([/:])[\w.-]+"), r"\1\2<user>", ("github.com", "gitlab.com")),
        (re.compile(r"\d(?<!\w\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}\b"), "<ip>", (".",)),  # a digit first, as above
        # Phone, card and ID numbers written in groups (425-555-0100, (425) 555-0100, +44 20 7946 0958,
        # 4111 1111 1111 1111, 123-45-6789): each group alone would pass as a small number.
        (_DIGIT_GROUPS, _digit_groups, None),
        (re.compile(rf"\b[{_HEX}]{{16,}}\b"), "<secret>", None),
        # Key-shaped runs: 24+ base64 characters with a digit or a +/= in them, or any 32+ run but
        # lower-case letters and hyphens (`acns-performance-acceleration-mode`: left to the allow-list).
        (re.compile(r"(?<![\w<])(?=[A-Za-z0-9+/_-]{20})(?:(?=[A-Za-z+/_-]*[\d+/])[A-Za-z0-9+/_-]{24,}={0,2}"
                    r"|(?![a-z]+(?:-[a-z]+)*(?![\w+/=-]))[A-Za-z0-9+/_-]{32,}={0,2}"
                    r"|[A-Za-z0-9+/_-]{20,}={1,2})(?![\w>])"), "<secret>", None),
    )


_COMPILED: list[tuple[tuple[re.Pattern[str], object, tuple[str, ...] | None], ...]] = []


def _rules() -> tuple[tuple[re.Pattern[str], object, tuple[str, ...] | None], ...]:
    """The compiled rules, built on first use (only failed commands need them)."""
    if not _COMPILED:
        _COMPILED.append(_build_rules())
    return _COMPILED[0]


def scrub_text(text: str) -> str:
    """Replace secrets, e-mails, GUIDs, URLs, resource ids, paths, user handles and `key=value` data."""
    lower = text.lower()
    for pattern, replacement, hints in _rules():
        if hints is not None and not any(h in lower for h in hints):
            continue
        if pattern in _SEPARATORS.values():
            changed = _pairs(text, replacement)  # type: ignore[arg-type]
        else:
            changed = pattern.sub(replacement, text)  # type: ignore[call-overload]
        if changed != text:
            text, lower = changed, changed.lower()
    return text
