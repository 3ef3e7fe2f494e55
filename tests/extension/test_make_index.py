"""scripts/make_index.py: the index entry az reads, built from a wheel's METADATA and azext_metadata.json."""

from __future__ import annotations

import hashlib
import sys
import zipfile

import azcli

sys.path.insert(0, str(azcli.REPO / "scripts"))
import make_index  # noqa: E402  (scripts/ is not a package: put it on the path first)

METADATA = """Metadata-Version: 2.1
Name: demo
Version: 1.2.3
Summary: A demo extension
Author: Demo team
License: MIT
Project-URL: Docs, https://docs.example.test/demo
Classifier: License :: OSI Approved :: MIT License
Requires-Python: >=3.10
Requires-Dist: knack>=0.10
Requires-Dist: requests>=2.25; extra == "standalone"
Provides-Extra: standalone
"""


def _wheel(tmp_path, azext='{"azext.minCliCoreVersion": "2.50.0", "azext.isPreview": true}'):
    path = tmp_path / "demo-1.2.3-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as wheel:
        wheel.writestr("demo-1.2.3.dist-info/METADATA", METADATA)
        wheel.writestr("azext_demo/azext_metadata.json", azext)
        wheel.writestr("azext_demo/__init__.py", "")
    return path


def test_entry_has_what_az_checks(tmp_path):
    wheel = _wheel(tmp_path)
    name, entry = make_index.index_entry(wheel, "http://127.0.0.1:8000/ext/")
    assert name == "demo"
    assert entry["downloadUrl"] == "http://127.0.0.1:8000/ext/demo-1.2.3-py3-none-any.whl"
    assert entry["sha256Digest"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entry["filename"] == wheel.name
    metadata = entry["metadata"]
    assert metadata["version"] == "1.2.3" and metadata["azext.minCliCoreVersion"] == "2.50.0"
    assert metadata["azext.isPreview"] is True and metadata["extras"] == ["standalone"]
    assert metadata["run_requires"] == [{"requires": ["knack>=0.10"]}]
    details = metadata["extensions"]["python.details"]
    assert details["contacts"][0]["name"] == "Demo team"
    assert details["project_urls"] == {"Docs": "https://docs.example.test/demo"}


def test_azext_metadata_wins_over_the_wheel(tmp_path):
    wheel = _wheel(tmp_path, '{"version": "9.9.9"}')
    assert make_index.index_entry(wheel, None)[1]["metadata"]["version"] == "9.9.9"


def test_without_a_url_base_the_download_url_is_the_local_path(tmp_path):
    wheel = _wheel(tmp_path)
    assert make_index.index_entry(wheel, None)[1]["downloadUrl"] == str(wheel.resolve())


def test_index_groups_versions_under_the_name(tmp_path):
    index = make_index.build_index([_wheel(tmp_path)], None)
    assert index["formatVersion"] == "1" and list(index["extensions"]) == ["demo"]
