"""Parameter names judged word by word (DESIGN.md, "Contract — details").

A name is split into words (snake, kebab, camel case); it is *sensitive* when its
words contain a secret word or phrase (the value is a secret), and *identifying*
when they name a person, a resource, a place on disk or free text (the value is
never collected, only the fact that the flag was used). Pure; `re` only.
"""

from __future__ import annotations

import re

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

_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
# Compounds that are one word though written as two ("keyVault" is not a key).
_COMPOUNDS = {("key", "vault"): "keyvault", ("key", "vaults"): "keyvault"}


def split_words(name: str) -> tuple[str, ...]:
    """Lower-case words of a name in snake, kebab, dotted, spaced or camel case."""
    words = [w.lower() for w in _WORD.findall(name)]
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
