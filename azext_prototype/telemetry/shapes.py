"""Cheap shape checks for parameter names and values, written without regexes.

Names are judged word by word (DESIGN.md, "Contract — details"): a name is split
into words (snake, kebab, camel case); it is *sensitive* when its words contain a
secret word or phrase (the value is a secret), and *identifying* when they name a
person, a resource, a place on disk or free text (the value is never collected,
only the fact that the flag was used). Values are judged by shape (GUIDs,
enum-like words, regions). These run on every command: compiling regexes would
cost more than the checks.
"""

from __future__ import annotations

_HEX = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_LOWER_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_GUID_GROUPS = (8, 4, 4, 4, 12)
MAX_WORD_CHARS = 40


def is_guid(value: object) -> bool:
    """True for the 8-4-4-4-12 hex form."""
    if not isinstance(value, str) or len(value) != 36:
        return False
    groups = value.split("-")
    return tuple(len(g) for g in groups) == _GUID_GROUPS and all(c in _HEX for g in groups for c in g)


def _has_hex_run(value: str, length: int) -> bool:
    run = 0
    for char in value:
        run = run + 1 if char in _HEX else 0
        if run >= length:
            return True
    return False


def _is_word(part: str) -> bool:
    return bool(part) and part[0] in _ALNUM and all(c in _WORD_CHARS for c in part)


def is_enum_like(value: str, allow_slash: bool = False) -> bool:
    """True for a short token with no secret or personal shape (kept as usage signal).

    `allow_slash` admits one `publisher/name` slash (model ids such as `openai/gpt-4.1`).
    """
    if not isinstance(value, str) or not value or len(value) > MAX_WORD_CHARS:
        return False
    parts = value.split("/", 1) if allow_slash else (value,)
    if not all(_is_word(part) for part in parts):
        return False
    if _has_hex_run(value, 12):  # GUID pieces, hashes, keys
        return False
    # Long tokens mixing letters and digits without separators look like keys.
    separated = any(c in "._-" for c in value)
    return not (len(value) >= 20 and not separated and any(c in _DIGITS for c in value))


def normalize_location(value: object) -> str:
    """An Azure region in az's short form ("West US 3" -> "westus3"), or "" when it is not one."""
    if not isinstance(value, str):
        return ""
    short = "".join(value.split()).lower()
    ok = 2 <= len(short) <= MAX_WORD_CHARS and short[0].isalpha() and all(c in _LOWER_ALNUM for c in short)
    return short if ok else ""


def is_command_name(value: str) -> bool:
    """`prototype config get`: lower-case words of letters, digits and hyphens."""
    words = value.split(" ")
    return 1 <= len(words) <= 6 and all(w and all(c in _LOWER_ALNUM or c == "-" for c in w) for w in words)


def is_resource_type(value: object) -> bool:
    """`Namespace.Provider/type[/child[/grandchild]]`, never a resource id or a name."""
    if not isinstance(value, str) or len(value) > 200:
        return False
    namespace, *types = value.split("/")
    labels = namespace.split(".")
    if len(labels) < 2 or not 1 <= len(types) <= 3:
        return False
    return all(p and p[0].isalpha() and all(c in _ALNUM for c in p) for p in labels[:1] + types) and all(
        p and all(c in _ALNUM for c in p) for p in labels[1:]
    )


# TELEMETRY.md's list, plus the words that mean the same thing.
SECRET_WORDS = frozenset(
    {
        "subscription", "subscriptions", "token", "tokens", "password", "passwords", "passwd", "pwd",
        "secret", "secrets", "key", "keys", "apikey", "passphrase", "credential", "credentials", "cred",
        "creds", "cert", "certificate", "sas", "sig", "signature", "auth", "authorization", "cookie",
        "private", "privatekey", "pat", "bearer", "otp", "pin", "salt", "connectionstring", "sastoken",
    }
)
SECRET_PHRASES = (("api", "key"), ("connection", "string"), ("access", "key"), ("account", "key"))

# Values that name people, resources, places or carry free text (TELEMETRY.md, "What Is Not Collected").
IDENTIFYING_WORDS = frozenset(
    {
        # resources and their names / tags
        "name", "names", "group", "groups", "rg", "tag", "tags", "resource", "resources", "id", "ids",
        "vault", "keyvault", "account", "server", "workspace", "registry", "cluster", "database", "db",
        "host", "hostname", "domain", "fqdn", "app", "prefix", "suffix", "label", "labels", "project",
        "deployment", "instance", "namespace",
        # people and organisations
        "user", "username", "users", "upn", "email", "mail", "owner", "owners", "login", "github",
        "org", "organization", "repo", "repository", "author", "principal", "object", "oid", "tenant",
        "assignee", "member", "members", "contact", "phone",
        # places on disk and on the network
        "path", "paths", "dir", "directory", "folder", "file", "files", "url", "uri", "endpoint",
        "address", "ip", "cwd", "home",
        # free text and configuration data
        "value", "values", "content", "contents", "text", "prompt", "message", "description",
        "comment", "body", "data", "query", "input", "template", "config", "settings", "setting",
    }
)

# Compounds that are one word though written as two ("keyVault" is not a key).
_COMPOUNDS = {("key", "vault"): "keyvault", ("key", "vaults"): "keyvault"}


def _raw_words(name: str) -> list[str]:
    """Split on non-letters/digits, lower-to-upper steps, ACRONYMWord steps and letter/digit steps."""
    words: list[str] = []
    current = ""
    for i, char in enumerate(name):
        if not char.isalnum() or not char.isascii():
            if current:
                words.append(current)
            current = ""
            continue
        if current:
            prev = current[-1]
            nxt = name[i + 1] if i + 1 < len(name) else ""
            boundary = (
                (prev.islower() and char.isupper())
                or (prev.isupper() and char.isupper() and nxt.islower())
                or (prev.isdigit() != char.isdigit())
            )
            if boundary:
                words.append(current)
                current = ""
        current += char
    if current:
        words.append(current)
    return words


def split_words(name: str) -> tuple[str, ...]:
    """Lower-case words of a name in snake, kebab, dotted, spaced or camel case."""
    words = [w.lower() for w in _raw_words(name)]
    merged: list[str] = []
    for word in words:
        if merged and (merged[-1], word) in _COMPOUNDS:
            merged[-1] = _COMPOUNDS[(merged[-1], word)]
        else:
            merged.append(word)
    return tuple(merged)


def is_sensitive_name(name: str) -> bool:
    """True when a parameter of this name holds a secret (its value becomes ***)."""
    words = split_words(name)
    if any(w in SECRET_WORDS for w in words):
        return True
    return any(words[i : i + 2] == phrase for phrase in SECRET_PHRASES for i in range(len(words) - 1))


def is_identifying_name(name: str) -> bool:
    """True when a parameter of this name names a person, resource, path or carries free text."""
    return any(w in IDENTIFYING_WORDS for w in split_words(name))
