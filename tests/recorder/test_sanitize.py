"""The sanitizers keep usage signal and nothing TELEMETRY.md promises not to collect."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azext_prototype.telemetry import sanitize_error, sanitize_parameters
from azext_prototype.telemetry.sanitize import MAX_TEXT_BYTES, parameters_json, truncate_utf8
from telemetry_sender.rules import is_identifying_name, is_sensitive_name, split_words

GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----"
STORAGE_CS = "DefaultEndpointsProtocol=https;AccountName=contosodata;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net"
SAS_URL = "https://contosodata.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&sig=Xy12AbCdEfGhIjKlMnOp%2FqRsTuVwXyZ%3D"


# --- names, word by word ---

@pytest.mark.parametrize(
    "name",
    ["client_secret", "storage_account_key", "sas_token", "AZURE_OPENAI_API_KEY", "key", "--key", "apiKey",
     "connectionString", "connection-string", "password", "subscription", "githubToken", "privateKey", "Secret",
     # written as one word: the stem inside still makes it a secret
     "adminpassword", "DBPASSWORD", "clientsecret", "accesstoken", "storagekey", "adminpwd", "pw", "pass"],
)
def test_sensitive_names(name):
    assert is_sensitive_name(name)
    assert sanitize_parameters({name: "value1"})[name] == "***"


@pytest.mark.parametrize("name", ["keyvault", "key_vault", "keyVaultName", "monkey", "scope", "iac_tool", "location", "dry_run", "turkey"])
def test_not_secret_names(name):
    assert not is_sensitive_name(name)


def test_split_words_handles_every_case():
    assert split_words("AzureOpenAIApiKey") == ("azure", "open", "ai", "api", "key")
    assert split_words("--iac-tool") == ("iac", "tool")
    assert split_words("storage.account_KEY") == ("storage", "account", "key")


@pytest.mark.parametrize("name", ["name", "resource_group", "tags", "output_dir", "project_dir", "github_user", "owner", "value", "email", "description"])
def test_identifying_names_never_keep_their_value(name):
    assert is_identifying_name(name)
    assert sanitize_parameters({name: "infra"})[name] == "***"


# --- usage signal kept ---

def test_usage_signal_survives():
    params = {"scope": "infra", "iac_tool": "terraform", "location": "westus3", "dry_run": True, "count": 3,
              "environment": "dev", "sku": "Standard_DSv2", "model": "openai/gpt-4.1", "ai_provider": "azure-openai",
              "ratio": 0.5, "nothing": None}
    assert sanitize_parameters(params) == params


def test_contract_floor():
    cleaned = sanitize_parameters(
        {"client_secret": "s", "storage_account_key": "k", "sas_token": "t", "AZURE_OPENAI_API_KEY": "a",
         "_internal": "x", "nested": {"password": "p", "mode": "fast", "_hidden": 1}, "items": [{"token": "t"}, "ok"],
         "obj": object(), "func": len, "raw": b"bytes"}
    )
    assert cleaned == {
        "client_secret": "***", "storage_account_key": "***", "sas_token": "***", "AZURE_OPENAI_API_KEY": "***",
        "nested": {"password": "***", "mode": "fast"}, "items": [{"token": "***"}, "ok"],
        "obj": "object", "func": "builtin_function_or_method", "raw": "bytes",
    }


@pytest.mark.parametrize(
    "value",
    [GUID, "alice@contoso.com", "/home/alice/project", "C:\\Users\\bob\\proj", "~/work/x", JWT, STORAGE_CS, SAS_URL,
     "/subscriptions/" + GUID + "/resourceGroups/rg", "ghp_" + "a1" * 18, "0123456789abcdef0123", "two words",
     "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6", PEM, "x" * 41],
)
def test_values_judged_by_what_they_are(value):
    assert sanitize_parameters({"scope": value}) == {"scope": "***"}


def test_model_slash_is_only_for_models():
    assert sanitize_parameters({"model": "openai/gpt-4.1", "scope": "openai/gpt-4.1"}) == {"model": "openai/gpt-4.1", "scope": "***"}


def test_config_set_never_records_key_or_value():
    assert sanitize_parameters({"key": "ai.model", "value": "gpt-4o"}) == {"key": "***", "value": "***"}


def test_odd_values_become_type_names():
    cleaned = sanitize_parameters({"nan": float("nan"), "inf": float("inf"), "big": 10**30, "set": {1}, 1: "x", None: "y", (1, 2): "z"})
    assert cleaned == {"nan": "float", "inf": "float", "big": "int", "set": "set", "1": "x", "null": "y", "tuple": "z"}


def test_cycles_and_depth_are_bounded():
    loop: dict = {"mode": "a"}
    loop["self"] = loop
    deep: list = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    cleaned = sanitize_parameters({"loop": loop, "deep": deep})
    assert cleaned["loop"] == {"mode": "a", "self": "dict"}
    json.dumps(cleaned)


def test_non_dict_input_gives_empty_dict():
    assert sanitize_parameters(["a"]) == {}  # type: ignore[arg-type]
    assert sanitize_parameters(None) == {}  # type: ignore[arg-type]


# --- the parameters text ---

def test_parameters_json_is_valid_json_within_one_kilobyte():
    params = {f"flag{i}": f"v{i}" for i in range(200)}
    text = parameters_json(params)
    assert len(text.encode("utf-8")) <= MAX_TEXT_BYTES
    decoded = json.loads(text)
    assert decoded["flag0"] == "v0"


def test_parameters_json_keeps_small_params_whole():
    assert json.loads(parameters_json({"dry_run": True, "scope": "infra"})) == {"dry_run": True, "scope": "infra"}


# --- errors ---

@pytest.mark.parametrize(
    "text, secret",
    [
        ("failed for alice@contoso.com", "alice@contoso.com"),
        (f"tenant {GUID} not found", GUID),
        (f"token {JWT}", JWT[:20]),
        (f"bad {STORAGE_CS}", "Eby8vdM02xNOcqFl"),
        (f"GET {SAS_URL} 403", "Xy12AbCdEfGh"),
        (f"key file: {PEM}", "MIIEowIBAAKCAQEAu1SU1"),
        (f"/subscriptions/{GUID}/resourceGroups/my-rg/providers/Microsoft.Web/sites/myapp missing", "my-rg"),
        ("cannot open /home/alice/proj/prototype.yaml", "alice"),
        ("cannot open C:\\Users\\bob\\proj\\prototype.yaml", "bob"),
        ("Resource group 'contoso-rg' could not be found.", "contoso-rg"),
        ("Resource group contoso-rg could not be found.", "contoso-rg"),
        ("push to github.com/octocat/hello failed", "octocat"),
        ("mentioned @octocat in review", "octocat"),
        ("login as ghp_abcdefghijklmnopqrstuvwxyz0123456789 failed", "ghp_abcdef"),
        ("password=hunter2 rejected", "hunter2"),
        ("api_key: 'sk-live-1234'", "sk-live-1234"),
        ("Authorization: Bearer abc.def.ghi", "abc.def.ghi"),
        ("user: jdoe not allowed", "jdoe"),
    ],
)
def test_error_scrubbing(text, secret):
    assert secret not in sanitize_error(text)


def test_error_keeps_plain_words():
    assert sanitize_error("Deployment failed: quota exceeded in region") == "Deployment failed: quota exceeded in region"


def test_error_capped_on_character_boundary():
    text = "é" * 2000
    out = sanitize_error(text)
    assert len(out.encode("utf-8")) <= MAX_TEXT_BYTES
    out.encode("utf-8").decode("utf-8")
    assert truncate_utf8("€" * 400, 1024) == "€" * 341


@pytest.mark.parametrize("odd", [None, 42, b"bytes alice@contoso.com", bytearray(b"x"), object(), ["list"], "\x00\ud800"])
def test_error_never_raises_on_odd_input(odd):
    out = sanitize_error(odd)  # type: ignore[arg-type]
    assert isinstance(out, str) and "alice@contoso.com" not in out


def test_huge_error_is_cheap_and_capped():
    out = sanitize_error("a" * 10_000_000)
    assert len(out.encode("utf-8")) <= MAX_TEXT_BYTES


# --- properties (hypothesis) ---

_user = st.from_regex(r"[a-z]{3,10}", fullmatch=True)
_guids = st.uuids().map(str)
_emails = st.builds(lambda u, d: f"{u}@{d}.com", _user, _user)
_paths = st.builds(lambda u, p: f"/home/{u}/{p}", _user, _user) | st.builds(lambda u, p: f"C:\\Users\\{u}\\{p}", _user, _user)
_keys = st.binary(min_size=24, max_size=48).map(lambda b: __import__("base64").b64encode(b).decode())
_jwts = st.tuples(_keys, _keys, _keys).map(lambda t: "eyJ" + t[0].rstrip("=").replace("+", "-").replace("/", "_") + "." + t[1].rstrip("=").replace("+", "-").replace("/", "_") + "." + t[2].rstrip("=").replace("/", "_").replace("+", "-"))
_sas = _keys.map(lambda k: f"https://acct.blob.core.windows.net/c?sv=2022&sig={k}")
_conn = _keys.map(lambda k: f"AccountName=acct;AccountKey={k};EndpointSuffix=core.windows.net")
_secrets = _guids | _emails | _paths | _keys | _jwts | _sas | _conn
_filler = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(secret=_secrets, before=_filler, after=_filler)
def test_planted_secrets_never_survive_in_errors(secret, before, after):
    out = sanitize_error(f"{before} {secret} {after}")
    assert secret not in out


_names = st.sampled_from(["scope", "value", "mode", "api_key", "name", "target", "x", "options", "iac_tool"])


@settings(max_examples=300)
@given(secret=_secrets, name=_names, wrap=st.integers(0, 3))
def test_planted_secrets_never_survive_in_parameters(secret, name, wrap):
    value: object = secret
    for level in range(wrap):
        value = [value] if level % 2 else {name: value}
    text = parameters_json({name: value})
    assert secret not in text
    assert secret not in json.dumps(sanitize_parameters({name: value}))


_json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8) | st.integers(), children, max_size=5)
    | st.tuples(children, children) | st.frozensets(st.integers(), max_size=3),
    max_leaves=40,
)


@settings(max_examples=300)
@given(params=st.dictionaries(st.text(max_size=12) | st.integers() | st.none(), _json_like, max_size=8))
def test_sanitize_parameters_never_raises_and_is_json(params):
    cleaned = sanitize_parameters(params)
    json.dumps(cleaned, allow_nan=False)
    assert all(not k.startswith("_") for k in cleaned)
    assert len(parameters_json(params).encode("utf-8")) <= MAX_TEXT_BYTES


@settings(max_examples=300)
@given(text=st.text(max_size=3000) | st.binary(max_size=500) | st.integers() | st.none())
def test_sanitize_error_never_raises_and_is_capped(text):
    out = sanitize_error(text)  # type: ignore[arg-type]
    assert isinstance(out, str) and len(out.encode("utf-8")) <= MAX_TEXT_BYTES


def test_model_and_location_values_must_be_model_ids_and_regions():
    cleaned = sanitize_parameters({"region": "alicesmith", "ai_model": "jdoe-deploy", "location": "West US 3",
                                   "model": "gpt-4o-mini", "target_locations": ["eastus", "contoso"]})
    assert cleaned == {"region": "***", "ai_model": "***", "location": "westus3", "model": "gpt-4o-mini",
                       "target_locations": ["eastus", "***"]}


# --- audit R1: keys are data too; values that only look like words ---

@pytest.mark.parametrize("key", ["alice@contoso.com", GUID, "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "/home/alice",
                                 "owner=alice", "alice smith", "alice.smith", "C:\\Users\\bob"])
def test_a_key_that_is_data_never_survives(key):
    for params in ({key: True}, {"options": {key: "x"}}, {"items": [{key: 1}]}):
        text = parameters_json(params)
        assert key not in text and "alice" not in text and "bob" not in text
        json.loads(text)


def test_name_like_keys_are_kept():
    assert sanitize_parameters({"--dry-run": True, "iacTool": "bicep", "options": {"mode": "fast"}}) == {
        "--dry-run": True, "iacTool": "bicep", "options": {"mode": "fast"}}


@pytest.mark.parametrize("value", ["sk-abc123", "ghp_abc", "github_pat_11AB", "xoxb-1234", "AKIAIOSFODNN7EXAMPLE", "glpat-abc",
                                   "alice.smith", "contoso.com", "tenant.onmicrosoft.com", "Microsoft.Web"])
def test_secret_prefixes_and_dotted_names_are_not_enum_words(value):
    assert sanitize_parameters({"mode": value}) == {"mode": "***"}


@pytest.mark.parametrize("value", ["gpt-4.1", "v1.2.3", "3.5", "Standard_DSv2", "infra", "gen2"])
def test_versions_and_plain_words_are_still_kept(value):
    assert sanitize_parameters({"mode": value}) == {"mode": value}


@pytest.mark.parametrize("number", [5551234567, 123456789, 4111111111111111, 5551234567.0, -123456789])
def test_long_numbers_are_not_kept(number):
    assert sanitize_parameters({"count": number})["count"] in ("int", "float")


@pytest.mark.parametrize("name", ["spn", "sub", "sid", "identity", "vm_name", "vnet", "subnet", "alias", "title", "notes"])
def test_more_identifying_names(name):
    assert sanitize_parameters({name: "abc"}) == {name: "***"}


# --- audit R1: secrets and names in free text that slipped through ---

@pytest.mark.parametrize(
    "text, secret",
    [
        ("login with password hunter2 failed", "hunter2"),
        ("the password is hunter2", "hunter2"),
        ("secret hunter2 rejected", "hunter2"),
        ("apikey hunter2 rejected", "hunter2"),
        ("api-key hunter2 rejected", "hunter2"),
        ("Authorization: Basic YWxpY2U6aHVudGVyMg==", "YWxpY2U6aHVudGVyMg"),
        ("aws AKIAIOSFODNN7EXAMPLE denied", "AKIAIOSFODNN7EXAMPLE"),
        ("secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY denied", "wJalrXUtnFEMI"),
        ("key sk-ant-api03-abcdefghij denied", "abcdefghij"),
        ("token xoxb-1234-5678-abcdef denied", "abcdef"),
        ("mail alice@localhost bounced", "alice"),
        ("user alice%40contoso.com unknown", "alice"),
        ("cannot open ~alice/proj", "alice"),
        ("home of ~alice", "alice"),
        ("cannot open alice/proj/prototype.yaml", "alice"),
        ("unrecognized arguments: --tags env=prod owner=alice", "prod"),
        ("Server=tcp:x.database.windows.net;User ID=alice;Password=x;", "alice"),
        ("Key alice.smith not found", "alice"),
        ("Invalid name Hunter2Secret: must be lowercase", "Hunter2Secret"),
        ("Storage account alicestorage123 is not available", "alicestorage123"),
        ("The vault kv-alice was not found", "kv-alice"),
        ("Project contoso-secret-app already exists", "contoso-secret-app"),
        ("ALICE@CONTOSO.COM is not allowed", "ALICE"),
        ("see mailto:alice@tenant.onmicrosoft.com", "alice"),
        ("object {72F988BF-86F1-41AF-91AB-2D7CD011DB47} missing", "72F988BF"),
        ("object 72f988bf86f141af91ab2d7cd011db47 missing", "72f988bf"),
    ],
)
def test_error_scrubbing_audit(text, secret):
    assert secret not in sanitize_error(text)


@pytest.mark.parametrize(
    "text",
    ["Deployment failed: quota exceeded in region",
     "Resource group name must be 1-90 characters.",
     "The password is too short.",
     "Storage account name is not available."],
)
def test_error_keeps_plain_sentences(text):
    assert sanitize_error(text) == text


# --- audit R1: more planted shapes, in errors and parameters ---

_word = st.from_regex(r"[a-z][a-z0-9]{3,9}", fullmatch=True).filter(lambda w: w not in ("home", "users", "src"))
_b64 = st.binary(min_size=33, max_size=66).map(lambda b: __import__("base64").b64encode(b).decode())


def _same(s):
    """The whole text is private: expected equals input."""
    return (s, s)


# (text planted, part that must not survive)
_more_secrets = (
    _guids.map(str.upper).map(_same) | _guids.map(lambda g: ("{" + g + "}", g)) | _guids.map(lambda g: g.replace("-", "")).map(_same)
    | st.builds(lambda u, d: (f"{u}@{d}.com".upper(), u.upper()), _word, _word)
    | st.builds(lambda u, t: (f"{u}@{t}.onmicrosoft.com", u), _word, _word)
    | st.builds(lambda u, d: (f"mailto:{u}@{d}.com", u), _word, _word)
    | st.builds(lambda u: (f"/Users/{u}/src", u), _word) | st.builds(lambda u: (f"~{u}/src", u), _word)
    | st.builds(lambda u: (f"/home/{u}", u), _word) | st.builds(lambda u: (f"C:\\Users\\{u}\\x", u), _word)
    | st.builds(lambda s, u: (f"\\\\{s}\\{u}", u), _word, _word)
    | st.builds(lambda u: (f"github.com/{u}", u), _word) | st.builds(lambda u: (f"@{u}", u), _word)
    | st.builds(lambda k: ("sk-" + k, k), _word) | st.builds(lambda k: ("ghp_" + k, k), _word)
    | st.builds(lambda k: ("github_pat_" + k, k), _word)
    | st.from_regex(r"AKIA[0-9A-Z]{16}", fullmatch=True).map(_same) | _b64.map(_same)
    | st.builds(lambda k: (f"password={k}", k), _word) | st.builds(lambda k: (f"AccountKey={k};", k), _word)
    | st.builds(lambda k: (f"?sv=2022-11-02&sig={k}", k), _word) | st.builds(lambda k: (f"Bearer {k}", k), _word)
    | st.builds(lambda g, rg: (f"/subscriptions/{g}/resourceGroups/{rg}/providers/Microsoft.Web/sites/x", rg), _guids, _word)
    | st.builds(lambda v: (f"--tags env={v} costCenter={v}", v), _word)
    | st.builds(lambda rg: (f"--resource-group {rg}", rg), _word)
)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(planted=_more_secrets, before=_filler, after=_filler)
def test_more_planted_shapes_never_survive_in_errors(planted, before, after):
    text, private = planted
    out = sanitize_error(f"{before} {text} {after}")
    assert private not in out.replace(before, "").replace(after, "") or private in f"{before}{after}"


@settings(max_examples=400)
@given(planted=_more_secrets, name=_names)
def test_more_planted_shapes_never_survive_in_parameters(planted, name):
    text, private = planted
    out = parameters_json({name: text, "nested": {name: [text]}})
    assert private not in out


@pytest.mark.parametrize(
    "text, private",
    [
        ("No prototype project in /home/alice/My Work/contoso-app (prototype.yaml not found).", "contoso-app"),
        ("No prototype project in /Users/alice/My Projects/x/contoso-app.", "contoso-app"),
        ("Cannot read C:\\Users\\alice\\My Documents\\contoso-app\\prototype.yaml: denied", "contoso-app"),
        ("Cannot read \\\\fileserver\\team share\\contoso-app\\prototype.yaml", "contoso-app"),
    ],
)
def test_paths_with_spaces_are_scrubbed_whole(text, private):
    assert private not in sanitize_error(text)


@pytest.mark.parametrize("name", ["resourcegroup", "storageaccountname", "displayname", "servername", "adminuser"])
def test_identifying_names_written_as_one_word_are_not_kept(name):
    assert sanitize_parameters({name: "contoso"})[name] == "***"


def test_azs_short_flags_for_a_group_a_name_a_user_and_a_password_hide_the_next_item():
    given = ["-g", "payroll", "-n", "web", "-u", "jdoe", "-p", "hunter", "-s", "prod", "-l", "westus3"]
    cleaned = sanitize_parameters({"args": given})["args"]
    assert [cleaned[i] for i in (1, 3, 5, 7, 9)] == ["***"] * 5 and cleaned[11] == "westus3"


def test_a_phone_number_in_a_model_version_is_not_a_model():
    assert sanitize_parameters({"model": "gpt-4-4255550100"})["model"] == "***"
    assert sanitize_parameters({"model": "claude-3-opus-20240229"})["model"] == "claude-3-opus-20240229"


@pytest.mark.parametrize("name", ["dbpass", "adminpw", "rootpw", "dbcred", "storagesas", "clientauth"])
def test_names_that_end_in_a_secret_word_are_secrets(name):
    assert sanitize_parameters({name: "hunter2"})[name] == "***"


def test_a_phone_or_card_number_in_any_layout_is_not_kept():
    from telemetry_sender.rules import is_model_name

    cleaned = sanitize_parameters({"ticket": "425-555-0100", "ref": "4111-1111-1111-1111"})
    assert cleaned == {"ticket": "***", "ref": "***"}
    assert not is_model_name("gpt-425-555-0100") and not is_model_name("gpt-4111-1111-1111-1111")
    assert is_model_name("gpt-4o-2024-08-06") and is_model_name("gpt-35-turbo-0613")
