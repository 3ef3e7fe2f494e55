"""az's names for the support reports: camelCase, one name per concept, and back for the table views."""

from __future__ import annotations

from datetime import datetime, timezone

from azext_prototype.output_keys import camel, show_item_to_az, snake, status_from_az, status_to_az
from telemetry_sender.support.command import collect_status
from telemetry_sender.spool.layout import SpoolLayout


def _report(spool_root):
    env = {"AZURE_CONFIG_DIR": str(spool_root.parent.parent)}
    return collect_status(SpoolLayout.from_arg(spool_root), env, datetime(2026, 1, 2, tzinfo=timezone.utc))


def test_camel_and_snake_are_inverse_for_report_names():
    for name in ("last_attempt", "pending_bytes", "opted_out", "spool", "state_file_problem"):
        assert snake(camel(name)) == name
    assert camel("next_attempt") == "nextAttempt"


def test_status_in_az_names_has_one_rejected_with_its_breakdown(spool):
    report = _report(spool)
    result = status_to_az(report)
    assert "rejected" not in result and "dropped" not in result and "quarantined" not in result
    rejected = result["lost"]["rejected"]
    assert rejected == {"count": report["lost"]["rejected"], "kept": report["rejected"],
                        "keptBytes": report["rejected_bytes"], "removedByCap": report["dropped"]["rejected"]}
    assert result["lost"]["quarantined"]["count"] == report["lost"]["quarantined"]
    assert result["lastAttempt"]["time"] == report["last_attempt"]


def test_status_reads_back_into_the_report_for_the_table_view(spool):
    report = _report(spool)
    assert status_from_az(status_to_az(report)) == report


def test_unknown_report_keys_are_camel_cased_and_read_back():
    doc = {"enabled": True, "some_new_count": 3, "lost": {"expired": 1, "brand_new": 2}}
    result = status_to_az(doc)
    assert result == {"enabled": True, "someNewCount": 3, "lost": {"expired": 1, "brandNew": 2}}
    assert status_from_az(result) == doc


def test_show_items_keep_the_envelope_exactly():
    envelope = {"iKey": "k", "data": {"baseData": {"properties": {"tenant_id_like_key": "x"}}}}
    item = {"file": "a.json", "state": "rejected", "quarantined_at": None, "envelope": envelope}
    assert show_item_to_az(item) == {"file": "a.json", "state": "rejected", "quarantinedAt": None,
                                     "envelope": envelope}


def test_a_new_report_key_that_collides_is_kept_flat_rather_than_failing():
    doc = {"last_attempt": "t", "lastAttempt": 5}
    assert status_to_az(doc) == {"lastAttempt": {"time": "t"}, "lastAttemptValue": 5}


def test_the_trimmed_count_is_its_own_key_and_reads_back(spool):
    report = {**_report(spool), "trimmed": 4}
    result = status_to_az(report)
    assert result["trimmed"] == 4 and "trimmed" not in result["lost"]
    assert status_from_az(result) == report
