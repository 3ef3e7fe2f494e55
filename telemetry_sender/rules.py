"""The privacy rules every recorded command runs: names and values judged by shape, and the
parameters sanitizer built on those judgements (DESIGN.md, "Contract — sanitizing" and "— details").

Names are judged word by word: a name is split into words (snake, kebab, camel case); it
is *sensitive* when its words contain a secret word or phrase (the value is a secret),
and *identifying* when they name a person, a resource, a place on disk or free text (the
value is never collected, only the fact that the flag was used). Values are judged by
shape (GUIDs, enum-like words, regions, known model ids). The sanitizer keeps usage
signal: which flags were used, booleans, small numbers, enum-like words (`infra`,
`terraform`, `westus3`), known model ids and regions; everything else is `***`, and the
parameters' JSON text is capped at 1 KB of UTF-8. Pure and never raising.

The recorder runs these inside az on every command and the sender again on the way out,
so they sit on the floor beside `recording` (a recording command imports this module, not
the `privacy` package above it: one import fewer) and are written without regexes:
compiling them would cost more than the checks.
"""

from __future__ import annotations

import json
import math
from typing import Any

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


# The letters a package version may hold (PEP 440 and semver pre-release tags): `0.1.0`, `1.2.0b1`,
# `2.0.0-rc.1`, `1.0.0.dev3`; a name (`contoso-secret-project`, `john.doe.contoso.com`) is not a version.
VERSION_TAGS = frozenset("a b c rc alpha beta dev post pre preview final".split())
_VERSION_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz.+-")


def is_version(value: object) -> bool:
    """True for a package version: starts with a digit, at most 40 characters, letters only in release tags."""
    if not isinstance(value, str) or not 0 < len(value) <= 40 or not value[0].isdigit():
        return False
    if not set(value) <= _VERSION_CHARS:
        return False
    letters = "".join(c if c.isalpha() else " " for c in value).split()
    return all(run in VERSION_TAGS for run in letters)


def is_enum_like(value: str) -> bool:
    """True for a short token with no secret or personal shape (kept as usage signal).

    Model ids (`openai/gpt-4.1`) are judged by `is_model_name` instead.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_WORD_CHARS or not _is_word(value):
        return False
    if _has_hex_run(value, 12):  # GUID pieces, hashes, keys
        return False
    # Long tokens mixing letters and digits without separators look like keys.
    separated = any(c in "._-" for c in value)
    if len(value) >= 20 and not separated and any(c in _DIGITS for c in value):
        return False
    if sum(c in _DIGITS for c in value) >= 9:  # a phone, card or account number in any layout (425-555-0100)
        return False
    return not (has_secret_prefix(value) or has_dotted_name(value))


# Prefixes of well-known credential formats (OpenAI/Anthropic `sk-`, GitHub, GitLab, Slack,
# AWS access key ids, Google API keys, npm, PyPI, Azure DevOps-like `pat-`).
SECRET_PREFIXES = ("sk-", "sk_", "pk_", "rk_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "glpat-",
                   "xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-", "akia", "asia", "aiza", "npm_", "pypi-", "pat-")


def has_secret_prefix(value: str) -> bool:
    """True when `value` starts like a well-known credential (`sk-`, `ghp_`, `AKIA`, ...)."""
    folded = value.lower()
    return any(folded.startswith(prefix) and len(folded) > len(prefix) for prefix in SECRET_PREFIXES)


def has_dotted_name(value: str) -> bool:
    """True for `first.last`, `contoso.com`, `Microsoft.Web`: a dot between two letters.

    Versions keep their dots (`gpt-4.1`, `v1.2.3`): a digit sits beside each of them.
    """
    for i in range(1, len(value) - 1):
        if value[i] == "." and value[i - 1].isalpha() and value[i + 1].isalpha():
            return True
    return False


def is_name_like_key(key: str) -> bool:
    """True for a key that reads as a parameter or option name (`--dry-run`, `iacTool`), not as data."""
    body = key.lstrip("-")
    return bool(body) and len(key) - len(body) <= 2 and is_enum_like(body)


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
    if len(labels) < 2 or not 1 <= len(types) <= 3 or not all(_is_type_segment(t) for t in types):
        return False
    return labels[0][:1].isalpha() and all(p and all(c in _ALNUM for c in p) for p in labels)


def _is_type_segment(segment: str) -> bool:
    """A resource type's segment is a plural or lowerCamelCase noun of letters (`sites`, `storageAccounts`);
    a name in its place (`.../storageAccounts/contosopayrollsa01`, `.../vaults/jdoekv`, `.../sites/Contoso`) is not."""
    letters = bool(segment) and segment.isascii() and segment.isalpha() and segment[0].islower()
    return letters and (segment.endswith("s") or not segment.islower())


# TELEMETRY.md's list, plus the words that mean the same thing.
SECRET_WORDS = frozenset(  # one string split at import: faster to load than a literal set of words
    "subscription subscriptions token tokens password passwords passwd pwd "
    "secret secrets key keys apikey passphrase credential credentials cred "
    "creds cert certificate sas sig signature auth authorization cookie "
    "private privatekey pat bearer otp pin salt connectionstring sastoken pw pass "
    .split()
)
# Inside one word (`adminpassword`, `clientsecret`, `DBPASSWORD`): the stems no other word holds.
SECRET_STEMS = ("password", "passwd", "secret", "token", "credential", "passphrase", "apikey", "privatekey",
                "connectionstring", "signature", "certificate")
_SECRET_ENDINGS = ("key", "keys", "pwd", "pass", "pw", "cred", "creds", "sas", "auth")
KEY_ENDING_WORDS = frozenset("monkey turkey donkey jockey hockey whiskey lackey".split())  # no secrets in them
IDENTIFYING_STEMS = ("name", "group", "user", "email", "owner", "login", "account", "server", "tenant")
# az's short flags for a resource group, a name, a user, a subscription; and for a password.
SHORT_IDENTIFYING_FLAGS = frozenset({"-g", "-n", "-u", "-s"})
SHORT_SECRET_FLAGS = frozenset({"-p"})
SECRET_PHRASES = (("api", "key"), ("connection", "string"), ("access", "key"), ("account", "key"))

# Values that name people, resources, places or carry free text (TELEMETRY.md, "What Is Not Collected").
IDENTIFYING_WORDS = frozenset(  # one string split at import: faster to load than a literal set of words
    # resources and their names / tags
    "name names group groups rg tag tags resource resources id ids "
    "vault keyvault account server workspace registry cluster database db "
    "host hostname domain fqdn app prefix suffix label labels project "
    "deployment instance namespace vm vnet subnet alias dns "
    # people and organisations
    "user username users upn email mail owner owners login github "
    "org organization repo repository author principal object oid tenant "
    "assignee member members contact phone spn sub sid identity identities "
    "handle nickname person people customer company "
    # places on disk and on the network
    "path paths dir directory folder file files url uri endpoint "
    "address ip cwd home "
    # free text and configuration data
    "value values content contents text prompt message description "
    "comment body data query input template config settings setting "
    "title note notes "
    .split()
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


# Words that make a name a count or a size (`max_tokens`, `token_count`): its value is a number,
# usage signal, never the secret its other words speak of; anything but a number is redacted.
COUNT_WORDS = frozenset(  # one string split at import: faster to load than a literal set of words
    "max min maximum minimum count counts num number limit limits size "
    "sizes length len total budget usage used remaining quota per "
    .split()
)


def is_count_name(name: str) -> bool:
    """True for a name that counts or sizes something (`max_tokens`, `token_count`, `keyLength`)."""
    return any(w in COUNT_WORDS for w in split_words(name))


def is_sensitive_name(name: str) -> bool:
    """True when a parameter of this name holds a secret (its value becomes ***); counts are not secrets."""
    words = split_words(name)
    if any(w in COUNT_WORDS for w in words):
        return False
    if any(w in SECRET_WORDS or _holds(w, SECRET_STEMS) or _ends_in_key(w) for w in words):
        return True
    return any(words[i:i + 2] == phrase for phrase in SECRET_PHRASES for i in range(len(words) - 1))


def _holds(word: str, stems: tuple[str, ...]) -> bool:
    return any(stem in word for stem in stems)


def _ends_in_key(word: str) -> bool:
    """`storagekey`, `adminpwd`, `dbpass`, `rootpw`, `dbcred`, `storagesas`, `clientauth`: a secret by its end,
    unless it is an ordinary word that ends so."""
    return word.endswith(_SECRET_ENDINGS) and word.rstrip("s") not in KEY_ENDING_WORDS


def is_identifying_name(name: str) -> bool:
    """True when a parameter of this name names a person, resource, path or carries free text."""
    return any(w in IDENTIFYING_WORDS or _holds(w, IDENTIFYING_STEMS) for w in split_words(name))


# --- Azure regions: composed only of geography words, so a chosen name cannot pass ---

# Words Azure region names are made of (`westus3` = west + us + 3, `southafricanorth`,
# `usgovvirginia`, `eastus2euap`). A region name is a sequence of these and an optional
# trailing number; a person's, project's or resource's name is not.
REGION_WORDS = frozenset(  # one string split at import: faster to load than a literal set of words
    "east west north south central us usgov usdod usnat ussec gov dod "
    "europe asia pacific india jio japan korea uk uae brazil canada france "
    "germany norway switzerland sweden australia africa qatar israel italy poland "
    "mexico spain new zealand malaysia indonesia taiwan chile austria belgium "
    "denmark finland greece saudi arabia china arizona texas virginia iowa "
    "global euap stage stg "
    .split()
)
_MAX_REGION_WORD = max(len(w) for w in REGION_WORDS)


def _is_region_words(text: str) -> bool:
    """True when `text` splits into REGION_WORDS (a small dynamic programme; text is short)."""
    reachable = [True] + [False] * len(text)
    for end in range(1, len(text) + 1):
        for start in range(max(0, end - _MAX_REGION_WORD), end):
            if reachable[start] and text[start:end] in REGION_WORDS:
                reachable[end] = True
                break
    return reachable[-1]


def region_or_empty(value: object) -> str:
    """An Azure region in az's short form ("West US 3" -> "westus3") when it is made of region words; else ""."""
    short = normalize_location(value)
    if not short:
        return ""
    body = short.rstrip("0123456789")
    if len(short) - len(body) > 2:
        return ""
    core = body[:-4] if body.endswith("euap") and body != "euap" else body  # eastus2euap
    core = core.rstrip("0123456789") if core is not body else core
    return short if core and _is_region_words(core) else ""


# --- AI model ids: known families and qualifiers, so a chosen deployment name cannot pass ---

# An Azure OpenAI deployment name is chosen by the user (it may be a person's or a project's
# name); model ids are not. A value is reported as a model only when it is an optional known
# publisher, then a known family, then version numbers and known qualifiers.
MODEL_PUBLISHERS = frozenset(  # one string split at import: faster to load than a literal set of words
    "openai azure-openai microsoft meta mistral-ai mistralai deepseek cohere xai "
    "ai21-labs core42 anthropic google nvidia qwen black-forest-labs stability-ai "
    .split()
)
MODEL_FAMILIES = frozenset(  # one string split at import: faster to load than a literal set of words
    "gpt chatgpt o1 o3 o4 text davinci babbage ada curie dall whisper tts "
    "sora codex claude llama meta mistral mixtral ministral codestral pixtral "
    "phi gemini gemma grok deepseek cohere command embed ai21 jamba jais "
    "qwen qwq mai model computer flux stable nemotron granite "
    .split()
)
MODEL_QUALIFIERS = frozenset(  # one string split at import: faster to load than a literal set of words
    "turbo mini nano preview instruct chat vision realtime audio transcribe "
    "search large small medium tiny base latest embedding embeddings ada "
    "sonnet opus haiku pro flash lite ultra plus light r v e x hd "
    "image router ds multimodal moe scout maverick coder code reasoning "
    "thinking distill nemo saba fast exp experimental use oss deep research "
    "structured outputs online multilingual english diffusion xl dev schnell "
    "kontext text davinci babbage curie whisper tts dall o1 o3 o4 mistral "
    "llama gpt phi qwen r1 instant versatile codex nemotron granite jamba "
    .split()
)
MAX_MODEL_CHARS = 80


def _is_version_token(token: str) -> bool:
    """`4o`, `3.5`, `0613`, `70b`, `128k`, `o1`, `v3`, `r1`, `8x7b`, `2024`: numbers with a short letter tag."""
    head = token[1:] if token[:1].isalpha() and token[1:2].isdigit() else token
    digits = head.rstrip("abcdefghijklmnopqrstuvwxyz")
    if not digits or len(head) - len(digits) > 2 or not digits[0].isdigit() or len(digits) > 8:  # 20240229
        return False
    pieces = digits.replace("x", ".").split(".") if "x" in digits else digits.split(".")
    return all(p.isdigit() for p in pieces)


def is_model_name(value: object) -> bool:
    """True for a known model id (`gpt-4o`, `openai/gpt-4.1`, `Phi-3.5-mini-instruct`), never a chosen name."""
    if not isinstance(value, str) or not value or len(value) > MAX_MODEL_CHARS:
        return False
    text = value.lower()
    publisher, slash, model = text.rpartition("/")
    if slash and publisher not in MODEL_PUBLISHERS:
        return False
    tokens = model.replace("_", "-").split("-")
    if not tokens[0] or len(tokens) > 12 or not all(c in _LOWER_ALNUM or c in ".-_" for c in model):
        return False
    # the first token a family, or an `o` model (`o3-mini`): a bare number is not a model id
    first = tokens[0] in MODEL_FAMILIES or (tokens[0][:1] == "o" and _is_version_token(tokens[0]))
    if not first or not all(t in MODEL_QUALIFIERS or t in MODEL_FAMILIES or _is_version_token(t) for t in tokens[1:]):
        return False
    return _numbers_are_versions(tokens)


def _numbers_are_versions(tokens: list[str]) -> bool:
    """No run of three or more number tokens but a date (`gpt-4o-2024-08-06`): `gpt-425-555-0100` is a phone."""
    run: list[str] = []
    for token in [*tokens, ""]:
        if token.isdigit():
            run.append(token)
            continue
        dated = [len(t) for t in run] == [4, 2, 2]
        if len(run) >= 3 and not dated:
            return False
        run = []
    return True


# --- The parameters sanitizer ----------------------------------------------------------------------

REDACTED = "***"
MAX_TEXT_BYTES = 1024
MAX_DEPTH = 8
MAX_ITEMS = 64  # per dict or list: beyond this the output is over the cap anyway
ELLIPSIS = "…"  # the value of an entry cut short by the cap
# Counts, sizes and timeouts are usage signal; 8+ digit numbers can be phone, account or ID numbers.
_MAX_NUMBER = 10**7
LOCATION_NAME_WORDS = frozenset({"location", "locations", "region", "regions"})  # names that hold a region


def _type_name(value: object) -> str:
    try:
        return type(value).__name__
    except Exception:  # pylint: disable=broad-exception-caught  # odd metaclasses
        return "object"


def _is_small_int_text(text: str) -> bool:
    digits = text[1:] if text[:1] == "-" else text
    return digits.isdigit() and len(digits) <= 7


def _key_text(key: object) -> str | None:
    """A JSON object key for `key`, or None when the entry must be dropped.

    A key that does not read as a name (an e-mail, a GUID, a path, a token: data used as a
    key in a nested mapping) becomes ***, and so does its value (its name is ***).
    """
    if isinstance(key, str):
        text = str.__str__(key)
    elif isinstance(key, (int, float, bool)) or key is None:
        text = json.dumps(key)
    else:
        text = _type_name(key)
    if text.startswith("_"):
        return None
    return text if is_name_like_key(text) or text in ("null", "true", "false") or _is_small_int_text(text) else REDACTED


def _clean_string(value: str, name: str) -> str:
    """Enum-like words are kept; a model must be a known model id, a location a region (short form)."""
    if value in (ELLIPSIS, REDACTED):
        return value
    if is_count_name(name):  # a count holds a number; text under a count's name is not usage signal
        return value if value in ("int", "float") else REDACTED
    words = split_words(name)
    if "model" in words or "models" in words:
        return value if is_model_name(value) else REDACTED
    if LOCATION_NAME_WORDS.intersection(words):
        return region_or_empty(value) or REDACTED
    return value if is_enum_like(value) else REDACTED


def _flag_hides_next(item: object) -> bool:
    """`--password`, `-p`-style list items whose next item is their value: secret or identifying."""
    if not isinstance(item, str) or not item.startswith("-"):
        return False
    name = item.split("=", 1)[0]
    return name in SHORT_IDENTIFYING_FLAGS or name in SHORT_SECRET_FLAGS or is_sensitive_name(name) \
        or is_identifying_name(name)


def _clean_list(items: list, name: str, depth: int, seen: frozenset[int]) -> list:
    """Items of a list; the value after a secret or identifying flag (`["--password", "X"]`) is ***."""
    cleaned: list = []
    hide_next = False
    for item in items[:MAX_ITEMS]:
        cleaned.append(REDACTED if hide_next and item is not None else _clean(item, name, depth, seen))
        hide_next = _flag_hides_next(item)
    return cleaned


def _placeholder(value: object, name: str) -> str:
    """The type name that stands for a value not kept, judged as text under `name` is: so the sender's
    second pass over the parameters text keeps exactly what the first pass wrote."""
    return _clean_string(_type_name(value), name)


def _clean(value: Any, name: str, depth: int, seen: frozenset[int]) -> Any:  # pylint: disable=too-many-return-statements  # one return per kind of value
    """The sanitized form of one value found under parameter `name`."""
    if is_sensitive_name(name) or name == REDACTED:
        return REDACTED
    if value is None or isinstance(value, bool):
        return value
    if is_identifying_name(name):
        return REDACTED
    if isinstance(value, int):
        # Small counts and sizes are usage signal; long numbers can be account or phone numbers.
        return int(value) if -_MAX_NUMBER < value < _MAX_NUMBER else _placeholder(value, name)
    if isinstance(value, float):
        small = math.isfinite(value) and -_MAX_NUMBER < value < _MAX_NUMBER
        return float(value) if small else _placeholder(value, name)
    if isinstance(value, str):
        return _clean_string(str.__str__(value), name)
    if not isinstance(value, (dict, list, tuple)):
        return _placeholder(value, name)
    if depth >= MAX_DEPTH or id(value) in seen:
        return _placeholder(value, name)
    inner = seen | {id(value)}
    if isinstance(value, dict):
        return _clean_mapping(value, depth + 1, inner)
    return _clean_list(list(value), name, depth + 1, inner)


def _clean_mapping(params: dict, depth: int, seen: frozenset[int]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for count, (key, value) in enumerate(list(params.items())):
        if count >= MAX_ITEMS:
            break
        text = _key_text(key)
        if text is not None:
            cleaned[text] = _clean(value, text, depth, seen)
    return cleaned


def sanitize_parameters(params: dict) -> dict:
    """The parameters with secrets and identifying values redacted to ***; pure, never raises."""
    try:
        if not isinstance(params, dict):
            return {}
        return _clean_mapping(params, 0, frozenset({id(params)}))
    except Exception:  # pylint: disable=broad-exception-caught  # the contract: never raise; an empty record is safe
        return {}


def truncate_utf8(text: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """`text` cut to at most `max_bytes` of UTF-8, on a character boundary."""
    data = text.encode("utf-8", "replace")
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", "ignore")


def parameters_json(params: dict) -> str:
    """Sanitized parameters as compact JSON text of at most 1 KB, always valid JSON."""
    try:
        cleaned = sanitize_parameters(params)
        text = _dumps(cleaned)
        if len(text.encode("utf-8")) <= MAX_TEXT_BYTES:
            return text
        return _fit(cleaned)
    except Exception:  # pylint: disable=broad-exception-caught  # the contract: never raise
        return "{}"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _fit(cleaned: dict[str, Any]) -> str:
    """Keep whole entries while they fit; shorten the rest to a marker; drop what still does not fit."""
    kept: dict[str, Any] = {}
    for key, value in cleaned.items():
        for candidate in (value, ELLIPSIS):
            trial = {**kept, truncate_utf8(key, 64): candidate}
            if len(_dumps(trial).encode("utf-8")) <= MAX_TEXT_BYTES:
                kept = trial
                break
    return _dumps(kept)
