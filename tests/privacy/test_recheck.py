"""privacy.recheck: the sender's second look agrees with what the recorder writes, and only with that."""

from __future__ import annotations

import pytest

from azext_prototype.telemetry.event import Invocation, ProjectFacts, build_event
from telemetry_sender.privacy.recheck import recheck_property


def test_what_the_recorder_writes_for_several_resources_passes_unchanged():
    resources = ({"resourceType": "Microsoft.Web/sites", "sku": "P1v3", "location": "westus3"},
                 {"resourceType": "Microsoft.Sql/servers", "sku": "Standard_DSv2", "location": "East US"})
    invocation = Invocation(command_name="prototype deploy", given={}, arguments={}, error=None,
                            time_ns=1_700_000_000_000_000_000, duration_ms=1.0, resources=resources)
    props = build_event(invocation, tenant_id="", project=ProjectFacts(), extension_version="0.1.0",
                        event_id="0f8fad5b-d9cb-469f-a165-70867728950e", timestamp="2026-11-25T09:00:00.000000Z"
                        ).properties
    assert props["location"] == "westus3,eastus" and props["sku"] == "P1v3,Standard_DSv2"
    assert {key: recheck_property(key, value) for key, value in props.items()} == props


@pytest.mark.parametrize("key, value", [
    ("location", "westus3,contoso-hr-api-056"),
    ("location", "jane@contoso.com"),
    ("sku", "P1v3,alice@contoso.com"),
    ("sku", "Standard_B1s,"),
])
def test_a_list_with_an_item_the_recorder_would_not_write_is_redacted(key, value):
    assert recheck_property(key, value) == "***"
