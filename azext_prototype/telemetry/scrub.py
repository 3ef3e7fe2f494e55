"""Find secrets and personal data inside free text (error messages). Pure.

Every match is replaced by a marker such as `<email>`. The patterns are compiled on
first use: only failed commands need them, and compiling costs milliseconds.
"""

from __future__ import annotations

import re

_HEX = "0-9a-fA-F"
_GUID = rf"[{_HEX}]{{8}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{4}}-[{_HEX}]{{12}}"
_SECRET_KEY_WORDS = (
    r"[\w.-]{0,40}?(?:key|secret|password|passwd|pwd|token|signature|sig|credential|auth|pat|"
    r"sharedaccesssignature|connectionstring|accountkey|sas)[\w.-]{0,40}"
)


# Words after which the next word is not a value: "password is too short", "account name must be ...".
_STOP_WORDS = (
    "a|an|the|is|was|are|were|be|been|being|must|should|cannot|can|could|would|will|may|might|does|did|do|"
    "not|no|has|have|had|already|exists|exist|found|failed|succeeded|missing|required|invalid|expired|"
    "provided|given|supplied|specified|needed|in|of|for|to|and|or|with|without|from|by|at|as|on|that|this|"
    "these|those|which|while|when|under|name|names|id|ids|type|value|values|length|too|field|property|"
    "quota|limit|policy|format|provider|field|parameter|argument|option|setting|key|keys|secret|password|token|"
    "account|group|vault|file|folder|directory|path|project|deployment|server|app|resource|using|via|"
    "contains|characters|character|only|also|still|now|again|here|there|it|its|if|then|than|but|so|yet|"
    "all|any|some|none|each|every|more|less|used|set|unset|get|please|try|see|run"
)
# Nouns whose next word is a name chosen by someone (a resource's, a project's, a person's).
_NAME_NOUNS = (
    r"named|called|resource\s+group|resource-group|name|account|storage\s+account|vault|key\s+vault|workspace|"
    r"registry|server|cluster|database|app|web\s+app|function\s+app|site|plan|project|deployment|container|"
    r"share|queue|topic|namespace|repository|repo|branch|organization|org|owner|user|username|member|"
    r"tenant|subscription|setting"
)
# Nouns whose next word is a secret: "with password hunter2".
_SECRET_NOUNS = r"key|secret|password|passwd|pwd|token|api[\s_-]?key|apikey|passphrase|credential"


# A folder name inside a path may hold single spaces ("My Documents"); only folders that
# are followed by a separator are read that way, so the words after a path stay words.
_SPACED_SEGMENT = r"[^\s'\"<>|\\/]+(?: [^\s'\"<>|\\/]+){0,8}"


def _build_rules() -> tuple[tuple[re.Pattern[str], str], ...]:
    """The scrubbing rules. Order matters: whole structures first (a private key holds
    base64 runs, a resource id holds a GUID, a URL holds a path and may carry a SAS query)."""
    return (
        (re.compile(r"-----BEGIN[^-]{0,40}-----.*?(?:-----END[^-]{0,40}-----|\Z)", re.S), "<private-key>"),
        (re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}(?:\.[\w-]*)?"), "<jwt>"),
        (re.compile(r"(?i)\bbearer\s+[\w.~+/=-]+"), "Bearer <secret>"),
        (re.compile(r"(?i)\bbasic\s+(?=[A-Za-z0-9+/]*[\d+/=])[A-Za-z0-9+/]{6,}={0,2}"), "Basic <secret>"),
        # Well-known credential formats (OpenAI/Anthropic, GitHub, GitLab, Slack, AWS, Google, npm, PyPI).
        (re.compile(r"(?i)\b(?:gh[pousr]|github_pat)_[A-Za-z0-9_]{3,}"), "<secret>"),
        (re.compile(r"\b(?:sk|pk|rk)[-_][\w-]{3,}|\bglpat-[\w-]+|\bxox[abprs]-[\w-]+|\b(?:AKIA|ASIA)[0-9A-Z]{12,}\b"
                    r"|\bAIza[\w-]{10,}|\bnpm_\w{10,}|\bpypi-[\w-]{10,}"), "<secret>"),
        (re.compile(r"(?i)\b(?:https?|ftps?|wss?|git|ssh|file)://[^\s'\"<>]+"), "<url>"),
        (re.compile(r"(?i)(?<![\w.+%-])[\w.+-]{1,64}(?:@|%40)[\w-]{1,63}(?:\.[\w-]{1,63})*"), "<email>"),
        (re.compile(r"(?i)/?subscriptions/[^\s'\"]+"), "<resource-id>"),
        # Base64 keys (storage account keys, AWS secrets) hold slashes: before the path rules.
        (re.compile(r"(?<![\w/+])(?=[A-Za-z0-9+/]*\d)(?=[A-Za-z0-9+/]*[A-Z])(?=[A-Za-z0-9+/]*[a-z])"
                    r"[A-Za-z0-9+/]{30,}={0,2}(?![\w/])"), "<secret>"),
        (re.compile(rf"(?i)\b[a-z]:[\\/](?:{_SPACED_SEGMENT}[\\/])*[^\s'\"<>|]*"), "<path>"),
        (re.compile(rf"\\\\(?:{_SPACED_SEGMENT}[\\/])*[^\s'\"<>|]+"), "<path>"),
        (re.compile(r"(?<![\w/])~[A-Za-z_][\w.-]*(?:/[^\s'\"]*)?"), "<path>"),
        (re.compile(r"(?<![\w.@%+~-])(?:~|\.{1,2}|[\w.@%+-]{1,255})?(?:/[\w.@%+~-]+(?: [\w.@%+~-]+){0,8}(?=/))+"
                    r"/[\w.@%+~-]+/?|~/[^\s'\"]*"), "<path>"),
        (re.compile(rf"(?i)(?<![\w.-])({_SECRET_KEY_WORDS})(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s;&,]+)"), r"\1\2<secret>"),
        (re.compile(rf"\b{_GUID}\b"), "<guid>"),
        (re.compile(r"(?<![\w@])@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\b"), "@<user>"),
        (re.compile(r"(?i)\b(github\.com|gitlab\.com)([/:])[\w.-]+"), r"\1\2<user>"),
        (re.compile(r"(?i)\b(github|gitlab|user|username|owner|login|upn|account|tenant|name)(\s*[=:]\s*)([\w.-]{2,})"), r"\1\2<user>"),
        # Any other `key=value` (tags, connection-string parts): the value is configuration data.
        (re.compile(r"(?<![\w.-])([A-Za-z][\w.-]{0,40})=(?![<'])([^\s;&,'\"]+)"), r"\1=<value>"),
        (re.compile(rf"(?i)\b(secret|password|passwd|pwd|token|api[\s_-]?key|apikey|passphrase|key)\s+(is|was)\s+"
                    rf"(?!(?:{_STOP_WORDS})\b)(?=[\w.~%+-]*\w)[\w.~%+/=-]{{2,}}"), r"\1 \2 <secret>"),
        (re.compile(rf"(?i)\b({_SECRET_NOUNS})\s+(?!(?:{_STOP_WORDS})\b)(?=[\w.~%+-]*\w)([\w.~%+/=-]{{2,}})"), r"\1 <secret>"),
        (re.compile(rf"(?i)\b({_NAME_NOUNS})\s+(?!(?:{_STOP_WORDS})\b)(?=[\w.~%+-]*\w)([\w.~%+-]{{2,}})"), r"\1 <name>"),
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
