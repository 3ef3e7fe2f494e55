"""Typed detection in free text: each secret, address, id or path becomes a placeholder saying what it was.

The first pass of the error-text sanitizer; the allow-list (allowlist.py) is the safety
net for every token this does not recognise. The patterns are compiled on first use:
only failed commands (and the sender's re-check) need them.
"""

from __future__ import annotations

import re

from telemetry_sender.privacy.shapes import is_sensitive_name

_HEX = "0-9a-fA-F"
_GUID = rf"[{_HEX}]{{8}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{12}}"
# A folder name inside a path may hold single spaces ("My Documents"); only folders that
# are followed by a separator are read that way, so the words after a path stay words.
_SPACED_SEGMENT = r"[^\s'\"<>|\\/]+(?: [^\s'\"<>|\\/]+){0,8}"
_MAX_SMALL_NUMBER_DIGITS = 7

def _pair(match: re.Match[str]) -> str:
    """`key=value` / `key: value`: a secret's value is `<secret>`; any other `=` value is data (`<value>`).

    Small numbers stay (`max_tokens=4096` is usage signal); a `key: value` that names no
    secret is prose ("Deployment failed: quota") and is left to the allow-list.
    """
    key, sep, value = match.group(1), match.group(2), match.group(3)
    if value.startswith("<") and value.endswith(">"):
        return match.group(0)
    if is_sensitive_name(key):
        return f"{key}{sep}<secret>"
    if "=" not in sep:
        return match.group(0)
    bare = value.strip("'\"")
    if bare.isdigit() and len(bare) <= _MAX_SMALL_NUMBER_DIGITS:
        return match.group(0)
    return f"{key}{sep}<value>"


def _build_rules() -> tuple[tuple[re.Pattern[str], object], ...]:
    """The rules, whole structures first (a private key holds base64 runs, a resource id holds a
    GUID, a URL holds a path, credentials and may carry a SAS query)."""
    return (
        (re.compile(r"-----BEGIN[^-]{0,40}-----.*?(?:-----END[^-]{0,40}-----|\Z)", re.S), "<private-key>"),
        (re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}(?:\.[\w-]*)?"), "<jwt>"),
        (re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"), "Bearer <secret>"),
        (re.compile(r"(?i)\bbasic\s+(?=[A-Za-z0-9+/]*[\d+/=])[A-Za-z0-9+/]{6,}={0,2}"), "Basic <secret>"),
        # Well-known credential formats (OpenAI/Anthropic, GitHub, GitLab, Slack, AWS, Google, npm, PyPI).
        (re.compile(r"(?i)\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{3,}"), "<secret>"),
        (re.compile(r"\b(?:sk|pk|rk)[-_][\w-]{3,}|\bglpat-[\w-]+|\bxox[abprs]-[\w-]+|\b(?:AKIA|ASIA)[0-9A-Z]{12,}\b"
                    r"|\bAIza[\w-]{10,}|\bnpm_\w{10,}|\bpypi-[\w-]{10,}"), "<secret>"),
        # A URL of any scheme (postgresql://user:pw@host, amqps://, redis://): credentials, hosts, queries.
        (re.compile(r"(?i)\b[a-z][a-z0-9+.-]{1,30}://[^\s'\"<>]+"), "<url>"),
        (re.compile(r"(?i)\bmailto:[^\s'\"<>]+"), "<email>"),
        (re.compile(r"(?i)(?<![\w.+%-])[\w.+-]{1,64}(?:@|%40)[\w-]{1,63}(?:\.[\w-]{1,63})*"), "<email>"),
        (re.compile(r"(?i)/?subscriptions/[^\s'\"]+"), "<resource-id>"),
        (re.compile(r"(?i)(?<![\w/])/providers/Microsoft\.[^\s'\"]+/[^\s'\"]+"), "<resource-id>"),
        # Base64 keys (storage account keys, AWS secrets) hold slashes: before the path rules.
        (re.compile(r"(?<![\w/+])(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])"
                    r"[A-Za-z0-9+/]{30,}={0,2}(?![\w/])"), "<secret>"),
        (re.compile(rf"(?i)\b[a-z]:[\\/](?:{_SPACED_SEGMENT}[\\/])*[^\s'\"<>|]*"), "<path>"),
        (re.compile(rf"\\\\(?:{_SPACED_SEGMENT}[\\/])*[^\s'\"<>|]+"), "<path>"),
        (re.compile(r"(?<![\w/])~[A-Za-z_][\w.-]*(?:/[^\s'\"]*)?"), "<path>"),
        (re.compile(r"(?<![\w.@%+~-])(?:~|\.{1,2}|[\w.@%+-]{1,255})?(?:/[\w.@%+~-]+(?: [\w.@%+~-]+){0,8}(?=/))+"
                    r"/[\w.@%+~-]+/?|~/[^\s'\"]*"), "<path>"),
        (re.compile(r"(?<![\w.-])([A-Za-z][\w.-]{0,40})(\s*=\s*)(\"[^\"]*\"|'[^']*'|[^\s;&,]+)"), _pair),
        (re.compile(r"(?<![\w.-])([A-Za-z][\w.-]{0,40})(\s*:\s*)(\"[^\"]*\"|'[^']*'|[^\s;&,:]+)"), _pair),
        (re.compile(rf"\{{?\b{_GUID}\b\}}?"), "<guid>"),
        (re.compile(r"(?<![\w@])@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\b"), "@<user>"),
        (re.compile(r"(?i)\b(github\.com|gitlab\.com)([/:])[\w.-]+"), r"\1\2<user>"),
        (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"), "<ip>"),
        (re.compile(rf"\b[{_HEX}]{{16,}}\b"), "<secret>"),
        # Key-shaped runs: 24+ base64 characters with a digit or a +/= in them, or any 32+ run.
        (re.compile(r"(?<![\w<])(?:(?=[A-Za-z+/_-]*[\d+/])[A-Za-z0-9+/_-]{24,}={0,2}|[A-Za-z0-9+/_-]{32,}={0,2}"
                    r"|[A-Za-z0-9+/_-]{20,}={1,2})(?![\w>])"), "<secret>"),
    )


_COMPILED: list[tuple[tuple[re.Pattern[str], object], ...]] = []


def _rules() -> tuple[tuple[re.Pattern[str], object], ...]:
    """The compiled rules, built on first use (only failed commands need them)."""
    if not _COMPILED:
        _COMPILED.append(_build_rules())
    return _COMPILED[0]


def scrub_text(text: str) -> str:
    """Replace secrets, e-mails, GUIDs, URLs, resource ids, paths, user handles and `key=value` data."""
    for pattern, replacement in _rules():
        text = pattern.sub(replacement, text)  # type: ignore[call-overload]
    return text
