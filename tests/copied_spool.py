"""A spool folder as a support engineer receives it from a user, and the envelopes in it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

IKEY = "0f1e2d3c-secret-ikey-4b5a69788796"
CONNECTION = f"InstrumentationKey={IKEY};IngestionEndpoint=https://westus3-1.in.applicationinsights.azure.com/"
T0 = datetime(2026, 11, 25, 9, 0, 0, tzinfo=timezone.utc)


def envelope(command: str, when: datetime, *, ok: bool = True, **dims: str) -> dict:
    """A contract envelope as the recorder writes it."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    props = {key: "" for key in ("tenantId", "provider", "model", "resourceType", "location", "sku")}
    props.update(projectId="4d9c3f6e-0000-4000-8000-000000000001", commandName=command, parameters="{}",
                 extensionVersion="0.1.0", success="true" if ok else "false", timestamp=stamp,
                 eventId="11111111-2222-4333-8444-555555555555")
    props.update(dims)
    if not ok:
        props["error"] = "DeploymentError: quota exceeded for Standard_DSv2 in westus3, please request more"
    return {"name": "Microsoft.ApplicationInsights.Event", "time": stamp, "iKey": IKEY,
            "tags": {"ai.cloud.role": "az-prototype"},
            "data": {"baseType": "EventData",
                     "baseData": {"ver": 2, "name": "cli_command_executed", "properties": props}}}


def event_name(when: datetime, tag: str) -> str:
    ns = int(when.timestamp()) * 1_000_000_000
    return f"{ns:020d}-{tag * 12}.json"


def put(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def windows_json(value: object) -> bytes:
    """JSON as a Windows tool might write it: UTF-8 BOM, CRLF line ends."""
    return b"\xef\xbb\xbf" + json.dumps(value, indent=2).replace("\n", "\r\n").encode("utf-8")


def build_copied_spool(root: Path) -> Path:
    """A spool root with pending, leased, temp, corrupt, dead-lettered and quarantined files."""
    s = root / "spool"
    put(s / event_name(T0, "a"), json.dumps(envelope("prototype init", T0, provider="azure-openai",
                                                     model="gpt-4o", location="westus3")))
    t1 = T0 + timedelta(minutes=1)
    put(s / event_name(t1, "b"), json.dumps(envelope("prototype deploy", t1, ok=False,
                                                     resourceType="Microsoft.Compute/virtualMachines",
                                                     sku="Standard_DSv2")))
    t2 = T0 + timedelta(minutes=2)
    put(s / (event_name(t2, "c") + ".1790000000.lease"), json.dumps(envelope("prototype status", t2)))
    put(s / event_name(T0 + timedelta(minutes=3), "d"), b'{"name": "Microsoft.Appl')  # truncated
    put(s / f".{event_name(T0 + timedelta(minutes=4), 'e')}.tmp", b'{"half":')  # a recorder mid-write
    rejected_at = T0 + timedelta(minutes=10)
    put(root / "rejected" / event_name(T0 - timedelta(hours=1), "f"), json.dumps(
        {"status": 400, "message": "Field 'time' on type 'Envelope' is older than the allowed min date",
         "rejected_at": rejected_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
         "envelope": envelope("prototype config get", T0 - timedelta(hours=1))}))
    bad = event_name(T0 - timedelta(hours=2), "9")
    put(root / "quarantine" / bad, b"\x00\x01\x02 not json at all")
    put(root / "quarantine" / (bad + ".why.json"),
        windows_json({"reason": "not valid JSON", "quarantined_at": "2026-11-25T07:00:00+00:00",
                      "file": "C:\\Users\\me\\.azure\\prototype\\telemetry\\spool\\" + bad}))
    put(root / "state.json", json.dumps({
        "next_attempt": "2026-11-25T10:00:00.000000Z", "backoff_seconds": 3000, "consecutive_failures": 2,
        "last_attempt": {"time": "2026-11-25T09:10:00.000000Z", "outcome": "backing-off", "status": 429,
                         "detail": "Retry-After: 3000"},
        "redirect": None,
        "lost": {"expired": 4, "evicted": 1, "rejected": 1, "corrupt": 2, "opted_out": 0},
        "dropped": {"rejected": 3, "quarantine": 0}}))
    return root


def tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    """Every path under root with its content hash (or "dir") and mode: equal means untouched."""
    digest = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        kind = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        digest[str(path.relative_to(root))] = (kind, st.st_mode)
    return digest
