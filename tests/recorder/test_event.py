"""The event builder: exactly the documented keys, each from its real source."""

from __future__ import annotations

import json
import sys
import re

import pytest
from hypothesis import given as hgiven, settings as hsettings, strategies as st

from azext_prototype.telemetry.event import PROPERTY_KEYS, Invocation, build_event
from azext_prototype.telemetry.sanitize import error_text
from telemetry_sender.spool.envelope import MEASUREMENT_KEYS
from azext_prototype.telemetry.event import iso_utc, new_event_id
from azext_prototype.telemetry.record import read_tenant_id, tenant_from_profile
from azext_prototype.telemetry.event import ProjectFacts
from azext_prototype.telemetry.record import parse_block_mapping, read_project_facts
from telemetry_sender.spool.envelope import build_envelope

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
PROJECT_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
DOCUMENTED = set(PROPERTY_KEYS) - {"error"}


def invocation(**overrides):
    base = dict(command_name="prototype status", given={}, arguments={}, error=None, time_ns=1_700_000_000_123_456_789, duration_ms=12.5)
    base.update(overrides)
    return Invocation(**base)


def build(inv=None, project=ProjectFacts(), tenant=""):
    return build_event(inv or invocation(), tenant_id=tenant, project=project, extension_version="0.1.0",
                       event_id="e", timestamp=iso_utc((inv or invocation()).time_ns))


def test_success_has_every_key_but_error_all_strings():
    event = build()
    assert set(event.properties) == DOCUMENTED
    assert all(isinstance(v, str) for v in event.properties.values())
    assert event.properties["success"] == "true"
    assert event.properties["commandName"] == "prototype status"
    assert event.properties["extensionVersion"] == "0.1.0"
    assert event.measurements == {"durationMs": 12.5}
    assert set(event.measurements) <= set(MEASUREMENT_KEYS)


def test_failure_adds_sanitized_error():
    error = ValueError("project 'demo' owned by alice@contoso.com failed")
    event = build(invocation(error=error, given={"name": "demo"}))
    assert event.properties["success"] == "false"
    assert event.properties["error"].startswith("ValueError: ")
    assert "alice" not in event.properties["error"] and "demo" not in event.properties["error"]


def test_given_values_that_were_redacted_do_not_reappear_in_the_error():
    error = RuntimeError("No project named my-secret-proj in folder")
    text = error_text(error, {"name": "my-secret-proj"}, json.dumps({"name": "***"}))
    assert "my-secret-proj" not in text


def test_error_capped_at_one_kilobyte_on_a_character_boundary():
    event = build(invocation(error=RuntimeError("ü" * 5000)))
    assert len(event.properties["error"].encode("utf-8")) <= 1024


def test_system_exit_zero_is_success_and_nonzero_is_failure():
    assert build(invocation(error=SystemExit(0))).properties["success"] == "true"
    failed = build(invocation(error=SystemExit(2))).properties
    assert failed["success"] == "false" and failed["error"] == "SystemExit: 2"


def test_broken_exception_str_still_records():
    class Broken(Exception):
        def __str__(self):
            raise RuntimeError("no")

    assert build(invocation(error=Broken())).properties["error"] == "Broken"


def test_arguments_win_over_project_config():
    project = ProjectFacts(project_id=PROJECT_ID, provider="copilot", model="gpt-4.1", location="eastus")
    args = {"ai_provider": "azure-openai", "model": "gpt-4o", "location": "West US 3"}
    props = build(invocation(arguments=args, given=args), project=project).properties
    assert (props["provider"], props["model"], props["location"], props["projectId"]) == ("azure-openai", "gpt-4o", "westus3", PROJECT_ID)


def test_a_default_az_filled_in_does_not_override_the_project():
    """A failed `init` over an existing copilot project: the flag's default is not what was used."""
    project = ProjectFacts(project_id=PROJECT_ID, provider="copilot", model="gpt-4.1", location="eastus")
    props = build(invocation(arguments={"ai_provider": "azure-openai"}, given={}), project=project).properties
    assert (props["provider"], props["model"]) == ("copilot", "gpt-4.1")
    props = build(invocation(arguments={"ai_provider": "azure-openai"}, given={})).properties
    assert props["provider"] == "azure-openai"  # no project: the default is what the command used


def test_project_config_fills_in():
    project = ProjectFacts(project_id=PROJECT_ID.upper(), provider="github-models", model="openai/gpt-4.1", location="westus3")
    props = build(project=project).properties
    assert (props["provider"], props["model"], props["location"], props["projectId"]) == ("github-models", "openai/gpt-4.1", "westus3", PROJECT_ID)


def test_identifying_values_never_fill_fields():
    project = ProjectFacts(project_id="my-project", provider="alice@contoso.com", model="/home/alice/m", location="not a region!")
    props = build(project=project, tenant=f"/subscriptions/{SUBSCRIPTION}").properties
    assert [props[k] for k in ("projectId", "tenantId")] == [""] * 2
    # A value was there but may not be reported: the neutral marker, not the value.
    assert [props[k] for k in ("provider", "model", "location")] == ["***"] * 3


def test_resources_fill_type_sku_location():
    resources = (
        {"resourceType": "Microsoft.Web/sites", "sku": "P1v3", "location": "West US 3"},
        {"resourceType": "Microsoft.CognitiveServices/accounts", "sku": "S0", "location": "westus3"},
        {"resourceType": "Microsoft.Web/sites/my-app-name", "sku": "alice@contoso.com", "location": "x y z !"},
        "not a mapping",
    )
    props = build(invocation(resources=resources)).properties
    assert props["resourceType"] == "Microsoft.Web/sites,Microsoft.CognitiveServices/accounts"
    assert props["sku"] == "P1v3,S0"
    assert props["location"] == "westus3"


def test_parameters_are_only_the_given_ones_sanitized():
    props = build(invocation(given={"scope": "infra", "api_key": "sk", "dry_run": True}, arguments={"scope": "infra", "force": False})).properties
    assert json.loads(props["parameters"]) == {"scope": "infra", "api_key": "***", "dry_run": True}


def test_timestamp_and_event_id_forms():
    assert iso_utc(1_700_000_000_123_456_789) == "2023-11-14T22:13:20.123456Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", build().properties["timestamp"])
    eid = new_event_id()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", eid)
    assert new_event_id(bytes(16)) == "00000000-0000-4000-8000-000000000000"
    assert new_event_id() != eid


def test_envelope_shape_and_tags():
    event = build()
    env = build_envelope(event.properties, event.measurements, instrumentation_key="ikey", time="2023-11-14T22:13:20.123456Z", version="0.1.0")
    assert env["name"] == "Microsoft.ApplicationInsights.Event"
    assert env["iKey"] == "ikey" and env["time"] == "2023-11-14T22:13:20.123456Z"
    assert set(env["tags"]) == {"ai.cloud.role", "ai.internal.sdkVersion", "ai.application.ver"}
    assert env["tags"]["ai.cloud.role"] == "az-prototype"
    assert env["tags"]["ai.internal.sdkVersion"] == "azprototype:0.1.0"
    base = env["data"]["baseData"]
    assert env["data"]["baseType"] == "EventData" and base["ver"] == 2 and base["name"] == "cli_command_executed"
    assert base["properties"] == event.properties and base["measurements"] == {"durationMs": 12.5}


# --- sources: the az profile and prototype.yaml ---

def profile(default_tenant, other_tenant="00000000-0000-0000-0000-000000000009"):
    return {
        "installationId": "11111111-1111-1111-1111-111111111111",
        "subscriptions": [
            {"id": SUBSCRIPTION, "isDefault": False, "tenantId": other_tenant, "user": {"name": "bob@contoso.com"}},
            {"id": "22222222-2222-2222-2222-222222222222", "isDefault": True, "tenantId": default_tenant, "user": {"name": "alice@contoso.com"}},
        ],
    }


def test_tenant_from_default_subscription_with_bom(tmp_path):
    (tmp_path / "azureProfile.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(profile(TENANT.upper())).encode())
    assert read_tenant_id(tmp_path) == TENANT


@pytest.mark.parametrize("content", [None, b"", b"{", b"[]", json.dumps({"subscriptions": []}).encode(),
                                     json.dumps(profile("not-a-guid")).encode()])
def test_tenant_empty_when_not_signed_in_or_unreadable(tmp_path, content):
    if content is not None:
        (tmp_path / "azureProfile.json").write_bytes(content)
    assert read_tenant_id(tmp_path) == ""


def test_tenant_is_never_a_subscription_id():
    assert tenant_from_profile({"subscriptions": [{"id": SUBSCRIPTION, "isDefault": True}]}) == ""


def test_the_profile_az_already_parsed_is_used_when_it_is_the_same_file(tmp_path, monkeypatch):
    from types import SimpleNamespace

    other = "00000000-0000-0000-0000-000000000007"
    (tmp_path / "azureProfile.json").write_text(json.dumps(profile(other)))
    account = SimpleNamespace(filename=str(tmp_path / "azureProfile.json"), data=profile(TENANT))
    monkeypatch.setitem(sys.modules, "azure.cli.core._session", SimpleNamespace(ACCOUNT=account))
    assert read_tenant_id(str(tmp_path)) == TENANT  # az's copy: the file is not read a second time
    account.filename = str(tmp_path / "elsewhere" / "azureProfile.json")  # another config folder than ours
    assert read_tenant_id(str(tmp_path)) == other
    account.filename, account.data = str(tmp_path / "azureProfile.json"), "not a profile"
    assert read_tenant_id(str(tmp_path)) == other


PROJECT_YAML = f"""# written by az prototype init
project:
  name: demo-app
  id: {PROJECT_ID}
  location: westus3   # region
  environment: dev
  iac_tool: terraform
ai:
  provider: 'github-models'
  model: "openai/gpt-4.1"
"""


def test_project_reader_matches_yaml(tmp_path):
    yaml = pytest.importorskip("yaml")
    assert parse_block_mapping(PROJECT_YAML) == yaml.safe_load(PROJECT_YAML)
    (tmp_path / "prototype.yaml").write_text(PROJECT_YAML)
    assert read_project_facts(tmp_path) == ProjectFacts(PROJECT_ID, "github-models", "openai/gpt-4.1", "westus3")


def test_project_reader_matches_what_init_writes(tmp_path):
    from azext_prototype import project

    data = project.new_project(name="demo", location="westus3", project_id=PROJECT_ID, environment="dev",
                               iac_tool="bicep", provider="azure-openai", model="gpt-4o")
    project.write_project(tmp_path / "prototype.yaml", data)
    assert read_project_facts(tmp_path) == ProjectFacts(PROJECT_ID, "azure-openai", "gpt-4o", "westus3")


@pytest.mark.parametrize("text", ["", "::::\n  - [", "project: [1, 2]\n", "\x00\x01", "project:\n  id:\n"])
def test_project_reader_tolerates_garbage(tmp_path, text):
    (tmp_path / "prototype.yaml").write_text(text)
    assert read_project_facts(tmp_path).project_id == ""


def test_project_reader_missing_file(tmp_path):
    assert read_project_facts(tmp_path / "nowhere") == ProjectFacts()


# --- provider, model and location: only values that cannot name anyone (audit R1) ---

@pytest.mark.parametrize("model", ["my-private-deployment-7", "alice", "gpt-4o-alice", "contoso-gpt", "jdoe/gpt-4o",
                                   "gpt4o-prod", TENANT, "Alice Smith"])
def test_a_chosen_deployment_name_is_never_the_model(model):
    for source in ({"arguments": {"model": model}}, {"project": ProjectFacts(model=model)}):
        inv = invocation(arguments=source.get("arguments", {}), given=source.get("arguments", {}))
        props = build(inv, project=source.get("project", ProjectFacts())).properties
        assert props["model"] == "***"
        assert model not in props["parameters"]


@pytest.mark.parametrize("model", ["gpt-4o", "gpt-4.1", "openai/gpt-4.1", "gpt-35-turbo-16k", "o3-mini", "Phi-3.5-mini-instruct",
                                   "meta/Llama-4-Scout-17B-16E-Instruct", "text-embedding-3-large", "DeepSeek-R1"])
def test_known_model_ids_are_kept(model):
    props = build(invocation(arguments={"model": model}, given={"model": model})).properties
    assert props["model"] == model and json.loads(props["parameters"]) == {"model": model}


def test_provider_is_one_of_the_known_providers():
    from azext_prototype import project
    from azext_prototype.telemetry.event import PROVIDERS

    assert PROVIDERS == project.AI_PROVIDERS
    for provider in project.AI_PROVIDERS:
        assert build(project=ProjectFacts(provider=provider)).properties["provider"] == provider
    assert build(project=ProjectFacts(provider="alice")).properties["provider"] == "***"
    assert build(project=ProjectFacts(provider="")).properties["provider"] == ""


@pytest.mark.parametrize("location", ["alicesmith", "contoso", "hunter2", "jdoe"])
def test_a_region_shaped_name_is_not_a_location(location):
    props = build(invocation(arguments={"location": location}, given={"location": location})).properties
    assert props["location"] == "***"
    assert json.loads(props["parameters"]) == {"location": "***"}
    assert build(project=ProjectFacts(location=location)).properties["location"] == "***"


@pytest.mark.parametrize("location, short", [("westus3", "westus3"), ("West US 3", "westus3"), ("southafricanorth", "southafricanorth"),
                                             ("usgovvirginia", "usgovvirginia"), ("eastus2euap", "eastus2euap")])
def test_regions_are_kept_in_short_form(location, short):
    props = build(invocation(arguments={"location": location}, given={"location": location})).properties
    assert props["location"] == short and json.loads(props["parameters"]) == {"location": short}


def test_typed_values_in_lists_or_other_case_do_not_reappear_in_the_error():
    given = {"tags": ["AliceCorp", "Contoso42"], "names": {"first": "Zelda"}}
    error = RuntimeError("rejected: alicecorp, CONTOSO42 and zelda")
    text = error_text(error, given, parameters_json_for(given))
    assert "alicecorp" not in text.lower() and "contoso42" not in text.lower() and "zelda" not in text.lower()


def parameters_json_for(given):
    from azext_prototype.telemetry.sanitize import parameters_json

    return parameters_json(given)


_anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300) | st.binary(max_size=50),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4), max_leaves=20)


@hsettings(max_examples=200, deadline=None)
@hgiven(given_params=st.dictionaries(st.text(max_size=20), _anything, max_size=10),
        message=st.text(max_size=3000), fail=st.booleans(),
        facts=st.tuples(st.text(max_size=50), st.text(max_size=50), st.text(max_size=50), st.text(max_size=50)))
def test_contract_holds_for_any_input(given_params, message, fail, facts):
    inv = invocation(given=given_params, arguments=dict(given_params), error=RuntimeError(message) if fail else None)
    props = build(inv, project=ProjectFacts(*facts)).properties
    assert set(props) == DOCUMENTED | ({"error"} if fail else set())
    assert all(isinstance(v, str) for v in props.values())
    assert props["success"] == ("false" if fail else "true")
    assert len(props["parameters"].encode("utf-8")) <= 1024 and isinstance(json.loads(props["parameters"]), dict)
    if fail:
        assert len(props["error"].encode("utf-8")) <= 1024 and props["error"].startswith("RuntimeError")
    assert props["provider"] in ("", "***", "azure-openai", "copilot", "github-models")


def test_resources_in_several_regions_report_them_all():
    resources = ({"resourceType": "Microsoft.Web/sites", "location": "westus3"},
                 {"resourceType": "Microsoft.Sql/servers", "location": "East US"})
    assert build(invocation(resources=resources)).properties["location"] == "westus3,eastus"


def test_a_typed_value_that_is_also_a_parameter_name_is_masked_in_the_error():
    given = {"name": "location", "location": "westus3"}
    text = error_text(RuntimeError("project location could not be created"), given,
                      json.dumps({"name": "***", "location": "westus3"}))
    assert "location" not in text and "***" in text


def test_an_error_without_a_message_is_written_as_the_sender_will_send_it():
    from telemetry_sender.privacy.recheck import recheck_property

    for error in (UnicodeDecodeError("utf-8", b"", 0, 1, ""), ValueError(), KeyError()):
        written = error_text(error, {}, "{}")
        assert written and recheck_property("error", written) == written


def test_many_regions_are_joined_whole_and_pass_the_senders_check():
    from telemetry_sender.privacy.recheck import recheck_property

    regions = [f"{a}{b}{n}" for a in ("east", "west", "north", "south", "central")
               for b in ("us", "europe", "asia", "india", "japan") for n in ("", "2", "3")]
    resources = [{"resourceType": "Microsoft.Web/sites", "location": region} for region in regions]
    joined = build(invocation(resources=resources)).properties["location"]
    assert len(joined.encode()) <= 512 and all(item in regions for item in joined.split(","))
    assert recheck_property("location", joined) == joined  # before: cut mid-region, sent as ***


@pytest.mark.parametrize("kept, dropped", [
    ("Microsoft.Storage/storageAccounts/blobServices", "Microsoft.Storage/storageAccounts/contosopayrollsa01"),
    ("Microsoft.KeyVault/vaults", "Microsoft.KeyVault/vaults/jdoepersonalkv"),
    ("Microsoft.Web/sites", "Microsoft.Web/sites/ContosoPayroll"),  # a type segment is lowerCamelCase
    ("Microsoft.Web/sites", "Microsoft.Web/sites/SMITH"),
])
def test_a_resource_name_in_a_child_types_place_is_not_kept(kept, dropped):
    props = build(invocation(resources=[{"resourceType": kept}, {"resourceType": dropped}])).properties
    assert props["resourceType"] == kept


def test_free_text_in_a_mapping_or_a_mixed_list_is_not_kept():
    given = {"parameters": {"env": "contoso-prod"}, "target": ["contoso-prod-web", None], "count": 3, "force": True}
    props = build(invocation(given=given, free_text=frozenset(given))).properties
    assert json.loads(props["parameters"]) == {"parameters": "***", "target": "***", "count": 3, "force": True}
