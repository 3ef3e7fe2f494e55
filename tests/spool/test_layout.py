"""Where the spool lives (the default root under AZURE_CONFIG_DIR, the --spool argument) and its lease names."""

from __future__ import annotations

from telemetry_sender.spool.layout import SpoolLayout, lease_holder


def test_default_root_follows_azure_config_dir(tmp_path):
    layout = SpoolLayout.default({"AZURE_CONFIG_DIR": str(tmp_path)})
    assert layout.root == tmp_path / "prototype" / "telemetry"
    assert layout.spool == layout.root / "spool"


def test_spool_argument_accepts_root_or_its_spool_folder(tmp_path):
    assert SpoolLayout.from_arg(tmp_path).root == tmp_path
    assert SpoolLayout.from_arg(tmp_path / "spool").root == tmp_path


def test_leases_name_their_holder_and_old_leases_still_parse():
    from telemetry_sender.spool.layout import lease_name, parse_lease_name

    name = "00000000000000000001-abcdef012345.json"
    assert parse_lease_name(lease_name(name, 99, "12-ab")) == (name, 99)
    assert lease_holder(lease_name(name, 99, "12-ab")) == "12-ab"
    assert parse_lease_name(f"{name}.99.lease") == (name, 99) and lease_holder(f"{name}.99.lease") == ""
    assert parse_lease_name(f"{name}.99.b@d.lease") is None
