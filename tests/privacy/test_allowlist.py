"""Error text by allow-list: what the issue's examples become, and properties that hold for any text."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from telemetry_sender.privacy import vocabulary
from telemetry_sender.privacy.allowlist import PLACEHOLDERS, is_allowed_word
from telemetry_sender.privacy.errors import sanitize_error
from telemetry_sender.rules import parameters_json, sanitize_parameters

JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
VOCABULARY = vocabulary.words()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("AzureConnectionError: Could not connect to the web app: contoso-hr-api-056",
         "AzureConnectionError: Could not connect to the web app: <name>"),
        ("CLIError: ACL does not contain contoso-hr-api-112", "CLIError: ACL does not contain <name>"),
        ("(StorageAccountAlreadyTaken) The storage account named contosopayrollsa01 is already taken.",
         "(StorageAccountAlreadyTaken) The storage account named <name> is already taken."),
        ("could not connect to postgresql://pgadmin:S3cr3t-Pg!pw@contoso-pg.postgres.database.azure.com/app",
         "could not connect to <url>"),
        (f"Token rejected: {JWT}", "Token rejected: <jwt>"),
        ("Invalid key '': use letters, digits, '_' or '-'", "Invalid key '': use letters, digits, '_' or '-'"),
        ("max_tokens: 4096 is over the limit", "max_tokens: 4096 is over the limit"),
        ("AADSTS7000215: Invalid client secret provided. Trace ID: 72f988bf-86f1-41af-91ab-2d7cd011db47",
         "AADSTS7000215: Invalid client secret provided. Trace ID: <guid>"),
        ("(ResourceNotFound) The Resource 'Microsoft.Web/sites/payroll-prod-7' was not found. Code: 404",
         "(ResourceNotFound) The Resource '<path>' was not found. Code: 404"),
        ("ApiKey: sunshine and password=sunshine, then --password sunshine",
         "ApiKey: <secret> and password=<secret>, then --password <secret>"),
        ("created by Jane Doe of Fabrikam", "created by <name> <name> of <name>"),
        ("Cannot find C:\\Users\\jane\\contoso\\main.bicep or /Users/jane/My Work/x.yaml",
         "Cannot find <path> or <path>"),
        ("mail to jane@contoso.com failed (HTTP 403)", "mail to <email> failed (HTTP 403)"),
        ("(ResourceGroupNotFound) Resource group 'payroll' could not be found.",
         "(ResourceGroupNotFound) Resource group '<name>' could not be found."),
        ("Resource group \u2018payroll\u2019 of user \u201cJane O'Brien\u201d", "Resource group '<name>' of user \"<name> <name>\""),
        ("az vm create --admin-password '123456' failed; -p 'sunshine'",
         "az vm create --admin-password '<secret>' failed; -p '<secret>'"),
        ("Failed to create storage account 'payroll': the name is taken",
         "Failed to create storage account '<name>': the name is taken"),
        ("config error:password:sunshine", "config error:password:<secret>"),
        ("id 12345678--password:sunshine", "id <number>--password:<secret>"),
        ('Invalid value for adminPassword: "dragon": too short', "Invalid value for adminPassword: <secret>: too short"),
        ("<td>password:dragon</td> and 10.0.0.1-password:dragon", "<td>password:<secret> and <ip>-password:<secret>"),
        ("password=<ab>dragon", "password=<secret>"),
        ("The plan 'payroll' doesn't exist. Snapshot 'finance' not found.",
         "The plan '<name>' doesn't exist. Snapshot '<name>' not found."),
        ("The Resource 'Microsoft.Web/sites/orange' under resource group \"Finance Team\" was not found",
         "The Resource '<path>' under resource group \"<name> <name>\" was not found"),
    ],
)
def test_the_issues_examples(text, expected):
    assert sanitize_error(text) == expected


def test_the_names_the_issue_names_are_not_words():
    for name in ("jane", "contoso", "fabrikam"):
        assert name not in VOCABULARY
    assert not is_allowed_word("Contoso", VOCABULARY) and not is_allowed_word("Jane", VOCABULARY)


@pytest.mark.parametrize("word", ["westus3", "gpt-4o", "v2", "1-90", "2022-11-02", "404", "ResourceGroupNotFound",
                                  "Microsoft.Web", "resource-group"])
def test_usage_words_are_allowed(word):
    assert is_allowed_word(word, VOCABULARY) or word.lower() in VOCABULARY


def test_placeholders_are_only_the_known_ones():
    assert sanitize_error("<jane> <zzqx> <name>") == "<<name>> <<name>> <name>"
    assert set(re.findall(r"<([a-z-]+)>", sanitize_error(f"x jane@contoso.com {JWT} /home/jane/x"))) <= set(PLACEHOLDERS)


# --- properties ---

_vocab_words = st.sampled_from(sorted(VOCABULARY))
# The words that hide the word after them, by design: a name follows `named`/`called`
# (allowlist.py), a credential follows an HTTP auth scheme (scrub.py). Pinned below.
CONTEXT_CUES = frozenset({"named", "called", "bearer", "basic"})
_prose_words = st.sampled_from(sorted(VOCABULARY - CONTEXT_CUES))
# Tokens that are no word: random letters and digits that the vocabulary does not hold.
_strangers = st.from_regex(r"[a-z]{2,6}[0-9]{0,3}[a-z]{1,6}", fullmatch=True).filter(
    lambda t: not is_allowed_word(t, VOCABULARY) and not any(t in w for w in ("name", "secret", "value")))
_separators = st.sampled_from([" ", ", ", ": ", " '", "' ", " (", ") ", ". ", "\n", " - ", "/", "=", ' "', '" ', "`"])


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(_vocab_words, min_size=1, max_size=12), stranger=_strangers, at=st.integers(0, 12),
       seps=st.lists(_separators, min_size=13, max_size=13))
def test_a_token_outside_the_vocabulary_never_survives(words, stranger, at, seps):
    tokens = words[:at] + [stranger] + words[at:]
    text = "".join(t + seps[i] for i, t in enumerate(tokens))
    out = sanitize_error(text)
    assert stranger not in re.findall(r"\w+", out.lower())


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(words=st.lists(_prose_words, min_size=1, max_size=12), seps=st.lists(st.sampled_from([" ", ", ", ". ", "; "]),
       min_size=12, max_size=12))
def test_plain_vocabulary_prose_is_kept_whole(words, seps):
    text = "".join(w + s for w, s in zip(words, seps)).strip()
    out = sanitize_error(text)
    kept = [w for w in words if w in re.findall(r"\w+(?:[.'-]\w+)*", out)]
    assert len(kept) >= len(words) - sum(1 for w in words if "=" in w or ":" in w)


# Words after which a quoted value is hidden whole: a resource, a person, free text, a secret, a flag for one.
_QUOTE_CUES = ["group", "account", "vault", "deployment", "user", "named", "file", "message", "password",
               "--name", "--resource-group", "-p"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(before=st.lists(_prose_words, max_size=6), cue=st.sampled_from(_QUOTE_CUES),
       name=st.lists(_vocab_words | _strangers, min_size=1, max_size=5), after=st.lists(_prose_words, max_size=6),
       quote=st.sampled_from(["'", '"', "`", "\u2018", "\u201c"]))
def test_a_quoted_value_after_a_resource_or_secret_word_never_survives(before, cue, name, after, quote):
    """Services quote the names they were given (`Resource group 'payroll' could not be found`)."""
    assume(not any(c in "'\"`" for w in [*before, *name, *after] for c in w))  # `a's`: the quotes are ours alone
    closing = {"\u2018": "\u2019", "\u201c": "\u201d"}.get(quote, quote)
    text = " ".join([*before, cue, f"{quote}{' '.join(name)}{closing}", *after]) + "."
    out = sanitize_error(text)
    inside = re.findall(r"""['"`]([^'"`]*)['"`]""", out)
    assert inside and set(re.findall(r"<[a-z-]+>|[^\s<>]+", inside[0])) <= {"<name>", "<secret>", "<number>"}, out


@pytest.mark.parametrize("text", [
    "Please run 'az login' to set up an account.",  # a command to run
    'The body must read {"location": 1, "sku": 2}',  # quoted keys are schema
    "Use '--sku' or 'westus3' with 'gpt-4o' and version '2.0'",  # flags and shapes
    "Operation returned an invalid status 'Not Found'",  # after a word that names no resource
    "'NoneType' object has no attribute 'get'",
    "The type 'Microsoft.Web/sites' has no parameter 'resource_group_name'",
    '{"code": "ResourceNotFound"}',
    "location 'West US 2' is not available",
    "Unknown configuration key 'project.location'.",  # a key's name is schema
    "The subscription is not registered to use namespace 'Microsoft.ContainerService'.",
])
def test_a_quoted_value_after_any_other_word_is_judged_as_usual(text):
    assert sanitize_error(text) == text


def test_only_the_context_cues_hide_the_word_after_them():
    """Every word, not a sample: what the prose property leaves out is exactly these cues."""
    assert "base64" in VOCABULARY  # a word with a digit: what an auth scheme's credential looks like
    hiding = {w for w in VOCABULARY if not sanitize_error(f"{w} base64").endswith(" base64")}
    assert hiding == CONTEXT_CUES
    for separator in (", ", ". ", "; "):
        assert [w for w in sorted(VOCABULARY) if not sanitize_error(f"{w}{separator}base64").endswith(" base64")] == []


_any_text = st.text(max_size=600) | st.lists(_vocab_words | _strangers | _separators | st.sampled_from(
    ["jane@contoso.com", JWT, "/home/jane/x", "password=x", "--password", "AKIAIOSFODNN7EXAMPLE", "4096"]),
    max_size=40).map("".join)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(text=_any_text)
@example(text='0A--PASSWORD"0')  # a flag right after a word the first pass made a placeholder
@example(text="0A':A'")  # a quote right after a word the first pass made a placeholder
@example(text="named 'az login'")  # a quoted command whose first word the first pass hid
@example(text="The group 'payroll O'Brien' was not found")  # an apostrophe inside a quoted word
@example(text="named 'westus3'-xqz")  # a quote closed before a flag the first pass hid
@example(text="'deploy --password 1234567'")  # a secret's flag inside quotes
@example(text="the " * 253 + "a  group 'payroll'xq")  # the 1 KB cut right after a closing quote
@example(text="-token:' 'subsidies.)timbers")  # a quoted value the first pass made a placeholder, text glued on
@example(text="k vcrows:password:scent")  # a pair whose value is the next pair's key
@example(text="12345678--password:underage")  # a flag glued to a number the first pass hid
@example(text="password=<xq>dragon")  # text shaped like a placeholder is no placeholder
@example(text="<td>resource-group-name-x=O'B</td>")  # a key right after `>`
def test_sanitizing_twice_changes_nothing(text):
    """The sender's re-check relies on this: the sanitizer's output is its own fixed point."""
    once = sanitize_error(text)
    assert sanitize_error(once) == once
    assert len(once.encode("utf-8")) <= 1024


@settings(max_examples=300)
@given(params=st.dictionaries(
    st.sampled_from(["scope", "max_tokens", "token_count", "args", "name", "mode", "x"]),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                 max_leaves=12),
    max_size=6))
@example(params={"scope": {"Model": 10_000_000}})  # found by hypothesis: "int" under a model's name
@example(params={"x": {"location": 10**12, "Models": [object()]}})
def test_parameters_text_is_a_fixed_point(params):
    text = parameters_json(params)
    assert parameters_json(json.loads(text)) == text


@settings(max_examples=300)
@given(flag=st.sampled_from(["--password", "--client-secret", "-p", "--api-key", "--resource-group", "--name"]),
       value=st.from_regex(r"[a-z][a-z0-9-]{2,12}", fullmatch=True), before=st.lists(st.sampled_from(["--yes", "infra"])))
def test_the_value_after_a_secret_or_identifying_flag_in_a_list_is_redacted(flag, value, before):
    if flag == "-p":
        flag = "--pwd"
    out = sanitize_parameters({"args": [*before, flag, value]})
    assert out["args"][-1] == "***"


@pytest.mark.parametrize("params, expected", [
    ({"max_tokens": 4096, "token_count": 12}, {"max_tokens": 4096, "token_count": 12}),
    ({"max_tokens": "sk-abc", "token": 5}, {"max_tokens": "***", "token": "***"}),
    ({"args": ["--password", "pw-QQQ777", "--location", "westus"]}, {"args": ["***", "***", "***", "westus"]}),
    ({"args": ["password=pw-QQQ777", "ApiKey: pw-QQQ777"]}, {"args": ["***", "***"]}),
])
def test_parameters_know_counts_and_flag_values(params, expected):
    assert sanitize_parameters(params) == expected


# --- text made to slip past a word check (found by an audit: each passed unchanged before) -----------

ZWJ, ZWSP = "\u200d", "\u200b"


@pytest.mark.parametrize("text, sanitized", [
    ("Project 'МойПроектApp' not found", "Project '<name>' not found"),  # non-ASCII letters hid in a CamelCase word
    ("User 'ИванПетровA' not found", "User '<name>' not found"),
    ("User Ⓙⓞⓗⓝ not found", "User <name> not found"),  # circled letters fold to letters first
    ("User " + ZWJ.join("john.doe@contoso.com") + " not found", "User <email> not found"),  # one letter a word
    ("sub " + ZWSP.join(["12345678-1234", "-1234-1234-", "123456789012"]), "sub <guid>"),
    ("failed " + "".join(chr(0xE000 + b) for b in b"john.doe@contoso.com") + " \x1b[2J", "failed  [<name>"),
    ("Login failed on server CORPSQL001 for user JSMITH001", "Login failed on server <name> for user <name>"),
    ("AADSTS7000215: invalid client secret; BCP035 in main", "AADSTS7000215: invalid client secret; BCP035 in main"),
    ("backup of contoso~backup failed", "backup of <name>~backup failed"),  # and its second pass leaves it so
    ("Call 425-555-0100, card 4111 1111 1111 1111", "Call <number>, card <number>"),  # each group passed alone
    ("on 2022-11-02 at 10:00:00, retry 1-90", "on 2022-11-02 at 10:00:00, retry 1-90"),  # dates and ranges stay
    # the second audit: other layouts, a full stop after, and flags given with `=`
    ("Call me at 425-555-0100.", "Call me at <number>."),
    ("Card 4111-1111-1111-1111.", "Card <number>."),
    ("(425) 555-0100 or 425.555.0100 or +44 20 7946 0958 or 123-45-6789",
     "<number> or <number> or <number> or <number>"),
    ("az login -p=dragon --password=dragon -g=payroll", "az login -p=<value> --password=<secret> -g=<value>"),
    ("dbpass: dragon", "<name>: <secret>"),
])
def test_text_made_to_slip_past_the_word_check_does_not(text, sanitized):
    assert sanitize_error(text) == sanitized
    assert sanitize_error(sanitized) == sanitized  # the sender's re-check sends what the spool holds


def test_the_quote_cue_nouns_do_not_repeat_the_identifying_words():
    """One owner per word: the parameters' identifying words cue a quoted name already."""
    from telemetry_sender.privacy.allowlist import RESOURCE_NOUNS
    from telemetry_sender.rules import IDENTIFYING_WORDS

    assert not RESOURCE_NOUNS & IDENTIFYING_WORDS
