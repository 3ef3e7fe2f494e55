"""A spool folder as a support engineer receives it from a user, and the envelopes in it."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from helpers import FIXED_NOW, make_envelope

IKEY = "0f1e2d3c-secret-ikey-4b5a69788796"
CONNECTION = f"InstrumentationKey={IKEY};IngestionEndpoint=https://westus3-1.in.applicationinsights.azure.com/"
T0 = FIXED_NOW  # the first event in the copied spool
EVENT_ID = "11111111-2222-4333-8444-555555555555"  # every copied event carries the same one


def _event(command: str, when: datetime, **given) -> dict:
    """An envelope of the copied spool: the one builder's, with this user's key."""
    return make_envelope(command, when, ikey=IKEY, event_id=EVENT_ID, **given)


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
    put(s / event_name(T0, "a"), json.dumps(_event("prototype init", T0, provider="azure-openai",
                                                   model="gpt-4o", location="westus3")))
    t1 = T0 + timedelta(minutes=1)
    put(s / event_name(t1, "b"), json.dumps(_event("prototype deploy", t1, ok=False,
                                                   resourceType="Microsoft.Compute/virtualMachines",
                                                   sku="Standard_DSv2")))
    t2 = T0 + timedelta(minutes=2)
    put(s / (event_name(t2, "c") + ".1790000000.lease"), json.dumps(_event("prototype status", t2)))
    put(s / event_name(T0 + timedelta(minutes=3), "d"), b'{"name": "Microsoft.Appl')  # truncated
    put(s / f".{event_name(T0 + timedelta(minutes=4), 'e')}.tmp", b'{"half":')  # a recorder mid-write
    rejected_at = T0 + timedelta(minutes=10)
    put(root / "rejected" / event_name(T0 - timedelta(hours=1), "f"), json.dumps(
        {"status": 400, "message": "Field 'time' on type 'Envelope' is older than the allowed min date",
         "rejected_at": rejected_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
         "envelope": _event("prototype config get", T0 - timedelta(hours=1))}))
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
