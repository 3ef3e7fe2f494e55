"""Values judged by what they are: find secrets and personal data inside free text. Pure.

Used on error messages (every match is replaced by a marker such as `<email>`) and on
parameter values (a value is kept only when it is a short enum-like word).
"""

from __future__ import annotations

import re

_HEX = "0-9a-fA-F"
_GUID = rf"[{_HEX}]{{8}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{12}}"
_SECRET_KEY_WORDS = (
    r"[\w.-]*(?:key|secret|password|passwd|pwd|token|signature|sig|credential|auth|pat|"
    r"sharedaccesssignature|connectionstring|accountkey|sas)[\w.-]*"
)

# Order matters: whole structures first (a private key contains base64 runs, a
# resource id contains a GUID, a URL contains a path and may hold a SAS query).
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
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

# A parameter value that is safe to keep: a short word such as `infra`, `westus3`,
# `terraform`, `Standard_DSv2`, `gpt-4o-mini`, `2024-07-18`.
_ENUM_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_GUID_ANYWHERE = re.compile(_GUID)
_HEXISH = re.compile(rf"[{_HEX}]{{12,}}")
_DIGITS = re.compile(r"\d")


def scrub_text(text: str) -> str:
    """Replace secrets, e-mails, GUIDs, paths, URLs, resource ids, user names and quoted values."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def is_enum_like(value: str, allow_slash: bool = False) -> bool:
    """True for a short token with no secret or personal shape (kept as usage signal).

    `allow_slash` admits one `publisher/name` slash (model ids such as `openai/gpt-4.1`).
    """
    if len(value) > 40:
        return False
    parts = value.split("/", 1) if allow_slash else (value,)
    if not all(_ENUM_LIKE.fullmatch(part) for part in parts):
        return False
    if _GUID_ANYWHERE.search(value) or _HEXISH.search(value):
        return False
    # Long tokens mixing letters and digits without separators look like keys.
    return not (len(value) >= 20 and _DIGITS.search(value) and not re.search(r"[._-]", value))
