"""Find secrets and personal data inside free text (error messages). Pure.

Every match is replaced by a marker such as `<email>`. The patterns are compiled on
first use: only failed commands need them, and compiling costs milliseconds.
"""

from __future__ import annotations

import re

_HEX = "0-9a-fA-F"
_GUID = rf"[{_HEX}]{{8}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{12}}"
_SECRET_KEY_WORDS = (
    r"[\w.-]*(?:key|secret|password|passwd|pwd|token|signature|sig|credential|auth|pat|"
    r"sharedaccesssignature|connectionstring|accountkey|sas)[\w.-]*"
)


def _build_rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The scrubbing rules. Order matters: whole structures first (a private key holds
    base64 runs, a resource id holds a GUID, a URL holds a path and may carry a SAS query)."""
    return (
        (re.compile(r"-----BEGIN[^-]{0,40}-----.*?(?:-----END[^-]{0,40}-----|\Z)", re.S), "<private-key>"),
        (re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}(?:\.[\w-]*)?"), "<jwt>"),
        (re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"), "Bearer <secret>"),
        (re.compile(r"(?i)\b(?:https?|ftps?|wss?|git|ssh)://[^\s'\"<>]+"), "<url>"),
        (re.compile(r"(?i)\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
        (re.compile(r"(?i)/?subscriptions/[^\s'\"]+"), "<resource-id>"),
        (re.compile(r"(?i)\b[a-z]:[\\/][^\s'\"<>|]*"), "<path>"),
        (re.compile(r"\\\\[^\s'\"<>|]+"), "<path>"),
        (re.compile(r"(?:~|\.{1,2})?(?:/[\w.@%+~-]+){2,}/?|~/[^\s'\"]*"), "<path>"),
        (re.compile(rf"(?i)\b({_SECRET_KEY_WORDS})(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s;&,]+)"), r"\1\2<secret>"),
        (re.compile(rf"\b{_GUID}\b"), "<guid>"),
        (re.compile(r"(?i)\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{10,}"), "<secret>"),
        (re.compile(r"(?<![\w@])@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\b"), "@<user>"),
        (re.compile(r"(?i)\b(github\.com|gitlab\.com)([/:])[\w.-]+"), r"\1\2<user>"),
        (re.compile(r"(?i)\b(github|gitlab|user|username|owner|login|upn|account|tenant|name)(\s*[=:]\s*)([\w.-]{2,})"), r"\1\2<user>"),
        (re.compile(r"(?i)\b(named|called|resource group|resource-group)\s+(?!(?:could|was|is|not|does|in|of|for|to|and|the|under|name|must|has|already)\b)([\w.-]{2,})"), r"\1 <name>"),
        (re.compile(r"'[^'\n]{1,200}'|\"[^\"\n]{1,200}\"|`[^`\n]{1,200}`"), "'***'"),
        (re.compile(rf"\b[{_HEX}]{{16,}}\b"), "<secret>"),
        # Key-shaped runs: 24+ base64 characters with a digit or a +/= in them, or any 32+ run.
        (re.compile(r"(?<![\w<])(?:(?=[A-Za-z+/_-]*[\d+/])[A-Za-z0-9+/_-]{24,}={0,2}|[A-Za-z0-9+/_-]{32,}={0,2}|[A-Za-z0-9+/_-]{20,}={1,2})(?![\w>])"), "<secret>"),
    )


_COMPILED: list[tuple[tuple[re.Pattern[str], str], ...]] = []


def _rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The compiled rules, built on first use (only failed commands need them)."""
    if not _COMPILED:
        _COMPILED.append(_build_rules())
    return _COMPILED[0]


def scrub_text(text: str) -> str:
    """Replace secrets, e-mails, GUIDs, paths, URLs, resource ids, user names and quoted values."""
    for pattern, replacement in _rules():
        text = pattern.sub(replacement, text)
    return text
