"""The data dictionary on the way out: `project_envelope` sends only documented fields, re-checked."""

from __future__ import annotations

import copy

import pytest

from helpers import IKEY, make_envelope
from telemetry_sender.spool.envelope import (
    MEASUREMENT_KEYS, PROPERTY_KEYS, TAG_KEYS, Projection, build_envelope, envelope_problem, project_envelope,
)

GUID = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def recorded(**properties: str) -> dict:
    """An envelope as the recorder writes it."""
    props = {"commandName": "prototype status", "success": "false", "eventId": GUID, "tenantId": GUID,
             "parameters": '{"scope":"infra","name":"***"}', "error": "CLIError: Resource group <name> not found",
             "timestamp": "2026-11-30T10:00:00.000000Z", "location": "westus3", "model": "gpt-4o", "provider": "copilot",
             "sku": "", "resourceType": "Microsoft.Web/sites", "extensionVersion": "0.1.0", "projectId": ""}
    props.update(properties)
    return build_envelope(props, {"durationMs": 12.5}, instrumentation_key=IKEY, time="2026-11-30T10:00:00.000000Z",
                          version="0.1.0")


def test_a_recorded_envelope_passes_unchanged():
    envelope = recorded()
    projection = project_envelope(copy.deepcopy(envelope), instrumentation_key=IKEY)
    assert projection.envelope == envelope and projection.dropped == ()


def test_extra_fields_tags_and_keys_are_dropped_and_named():
    planted = recorded()
    planted["userEmail"] = "jane@contoso.com"
    planted["tags"].update({"ai.user.id": "jane", "ai.location.ip": "203.0.113.7", "ai.device.id": "laptop-jane"})
    planted["data"]["baseData"]["properties"].update({"userEmail": "jane@contoso.com", "jane@contoso.com": "x"})
    planted["data"]["baseData"]["measurements"]["salary"] = 1.0
    planted["data"]["baseData"]["extra"] = {"a": 1}
    projection = project_envelope(planted, instrumentation_key=IKEY)
    assert projection.envelope == recorded()
    assert set(projection.dropped) == {"userEmail", "tags.ai.user.id", "tags.ai.location.ip", "tags.ai.device.id",
                                       "properties.userEmail", "properties.<key>", "measurements.salary",
                                       "baseData.extra"}
    assert "jane" not in " ".join(projection.dropped)


def test_only_documented_keys_can_leave():
    projection = project_envelope(recorded(), instrumentation_key=IKEY)
    base = projection.envelope["data"]["baseData"]
    assert set(projection.envelope) == {"name", "time", "iKey", "tags", "data"}
    assert set(projection.envelope["tags"]) == set(TAG_KEYS)
    assert set(base["properties"]) <= set(PROPERTY_KEYS) and set(base["measurements"]) <= set(MEASUREMENT_KEYS)


def test_the_configured_instrumentation_key_is_sent():
    planted = recorded()
    planted["iKey"] = "11111111-2222-3333-4444-555555555555"
    projection = project_envelope(planted, instrumentation_key=IKEY)
    assert projection.envelope["iKey"] == IKEY and "iKey" in projection.dropped
    del planted["iKey"]
    assert project_envelope(planted, instrumentation_key=IKEY).envelope["iKey"] == IKEY


@pytest.mark.parametrize("key, raw, sent", [
    ("error", "CLIError: cannot reach contoso-hr-api-056 as jane@contoso.com", "CLIError: cannot reach <name> as <email>"),
    ("parameters", '{"name":"contoso-app","password":"hunter2","scope":"infra"}', '{"name":"***","password":"***","scope":"infra"}'),
    ("parameters", "not json", "{}"),
    ("tenantId", "jane@contoso.com", ""),
    ("model", "janes-deployment", "***"),
    ("location", "janes house", "***"),
    ("commandName", "prototype status --name jane", ""),
    ("resourceType", "Microsoft.Web/sites,/subscriptions/x/resourceGroups/y", "Microsoft.Web/sites"),
    ("success", "maybe", ""),
    ("extensionVersion", "contoso-secret-project", "***"),  # a version, not a name (found by an audit)
    ("error", "CLIError: failed " + "".join(chr(0xE000 + b) for b in b"jane@contoso.com") + " \x1b[2J\u200b",
     "CLIError: failed  [<name>"),
])
def test_properties_are_rechecked_by_shape(key, raw, sent):
    projection = project_envelope(recorded(**{key: raw}), instrumentation_key=IKEY)
    assert projection.envelope["data"]["baseData"]["properties"][key] == sent
    assert f"properties.{key} (re-sanitized)" in projection.dropped


def test_non_text_property_values_are_dropped():
    planted = recorded()
    planted["data"]["baseData"]["properties"]["error"] = {"message": "jane"}
    projection = project_envelope(planted, instrumentation_key=IKEY)
    assert "error" not in projection.envelope["data"]["baseData"]["properties"]


@pytest.mark.parametrize("value", [{**make_envelope(), "name": "Microsoft.ApplicationInsights.Request"}])
def test_what_is_no_event_is_said_so(value):
    projection = project_envelope(value, instrumentation_key=IKEY)  # type: ignore[arg-type]
    assert projection.envelope is None and projection.reason.startswith("not an event")


@pytest.mark.parametrize("value, reason", [
    ([1, 2], "not an envelope: not a JSON object"),
    ({"name": "x"}, "not an envelope: no time"),
    ({"name": "x", "time": "t"}, "not an envelope: no data.baseType/baseData"),
    ({"name": "x", "time": "t", "data": {"baseType": "E", "baseData": {"name": "n", "ver": 1}}},
     "not an envelope: baseData needs name and ver 2"),
    ({**make_envelope(), "iKey": 7}, "not an envelope: iKey is not text"),
])
def test_what_is_no_envelope_says_what_is_missing(value, reason):
    assert envelope_problem(value) == reason
    assert project_envelope(value, instrumentation_key=IKEY) == Projection(None, reason=reason)
    assert envelope_problem(make_envelope()) == ""


def test_another_event_name_is_no_event():
    planted = recorded()
    planted["data"]["baseData"]["name"] = "something_else"
    assert project_envelope(planted, instrumentation_key=IKEY).envelope is None


def test_a_version_tag_that_is_a_name_is_not_sent():
    planted = recorded()
    planted["tags"]["ai.application.ver"] = "john.doe.contoso.com"
    tags = project_envelope(planted, instrumentation_key=IKEY).envelope["tags"]
    assert tags["ai.application.ver"] == "unknown" and "john" not in tags["ai.internal.sdkVersion"]
