"""TELEMETRY.md's data dictionary and the event builder agree, key for key."""

from __future__ import annotations

import re
from pathlib import Path

from azext_prototype.telemetry.event import Invocation, build_event
from azext_prototype.telemetry.event import ProjectFacts
from telemetry_sender.spool.envelope import build_envelope

DOC = Path(__file__).resolve().parents[2] / "TELEMETRY.md"


def table_after(heading: str) -> list[list[str]]:
    """The rows (cells stripped) of the first Markdown table after `heading`."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    start = lines.index(heading)
    rows: list[list[str]] = []
    for line in lines[start + 1:]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    header, divider, *body = rows
    assert all(set(cell) <= set("-: ") for cell in divider)
    return [header] + body


def documented_fields() -> set[str]:
    header, *body = table_after("## Data dictionary")
    assert header == ["Field", "Meaning", "Example", "How it is sanitized"]
    fields = set()
    for row in body:
        assert len(row) == 4 and all(row), row
        match = re.fullmatch(r"`([A-Za-z]+)`", row[0])
        assert match, row[0]
        fields.add(match.group(1))
    return fields


def event(error: BaseException | None):
    inv = Invocation("prototype status", {"scope": "infra"}, {}, error, 1_700_000_000_000_000_000, 3.0)
    return build_event(inv, tenant_id="", project=ProjectFacts(), extension_version="0.1.0", event_id="e", timestamp="t")


def test_builder_emits_only_documented_keys_and_every_one_of_them():
    documented = documented_fields()
    ok, failed = event(None), event(ValueError("x"))
    assert set(ok.properties) | set(ok.measurements) <= documented
    assert set(failed.properties) | set(failed.measurements) == documented
    assert set(failed.properties) - set(ok.properties) == {"error"}


def test_the_product_promise_fields_are_all_in_our_dictionary():
    promised = {"tenantId", "projectId", "commandName", "parameters", "provider", "model", "resourceType",
                "location", "sku", "extensionVersion", "success", "error", "timestamp"}
    assert promised <= documented_fields()
    assert documented_fields() - promised == {"eventId", "durationMs"}


def test_envelope_tags_are_the_documented_ones():
    header, *body = table_after("### The envelope around it")
    rows = {row[0].strip("`"): row[1] for row in body}
    documented_tags = set(re.findall(r"`(ai\.[a-zA-Z.]+)`", rows["tags"]))
    envelope = build_envelope({}, {}, instrumentation_key="k", time="t", version="0.1.0")
    assert set(envelope["tags"]) == documented_tags
    assert set(envelope) == set(rows) - {"data.baseType", "data.baseData"} | {"data"}
