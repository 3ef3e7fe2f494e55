"""Install by name from a private extension index served on loopback, as a team would publish it."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

import azcli
from telemetry_sender import VERSION

pytestmark = pytest.mark.az

MAKE_INDEX = azcli.REPO / "scripts" / "make_index.py"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # pylint: disable=redefined-builtin  # the base class's signature
        pass


@pytest.fixture
def served(tmp_path):
    """(folder, base URL): a loopback HTTP server for the folder, stopped after the test."""
    folder = tmp_path / "index"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(10)


def _publish(wheel, folder, base):
    shutil.copy2(wheel, folder / wheel.name)
    done = subprocess.run([sys.executable, str(MAKE_INDEX), str(folder / wheel.name), "--output",
                           str(folder / "index.json"), "--url-base", base + "/"],
                          capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads((folder / "index.json").read_text())


def _env_with_config_index(tmp_path):
    """az_env, but the index URL comes from `az config set`, as a user sets it (the env form would win)."""
    ext_dir = tmp_path / "extensions"
    ext_dir.mkdir()
    env = azcli.az_env(tmp_path, AZURE_EXTENSION_DIR=str(ext_dir))
    del env["AZURE_EXTENSION_INDEX_URL"]
    return env, ext_dir


def test_index_entry_has_the_fields_az_reads(prototype_wheel, served):
    folder, base = served
    index = _publish(prototype_wheel, folder, base)
    assert index["formatVersion"] == "1"
    [entry] = index["extensions"]["prototype"]
    assert entry["filename"] == prototype_wheel.name
    assert entry["downloadUrl"] == f"{base}/{prototype_wheel.name}"
    assert len(entry["sha256Digest"]) == 64
    metadata = entry["metadata"]
    assert metadata["name"] == "prototype" and metadata["version"] == VERSION
    assert metadata["azext.minCliCoreVersion"] == "2.50.0" and metadata["azext.isPreview"] is True
    assert metadata["license"] == "MIT" and "License :: OSI Approved :: MIT License" in metadata["classifiers"]


def test_extension_installs_by_name_from_a_private_index(prototype_wheel, served, tmp_path):
    folder, base = served
    _publish(prototype_wheel, folder, base)
    env, ext_dir = _env_with_config_index(tmp_path)
    done = azcli.run_az(["config", "set", f"extension.index_url={base}/index.json"], env)
    assert done.returncode == 0, done.stderr
    done = azcli.run_az(["extension", "add", "--name", "prototype", "--yes"], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (ext_dir / "prototype" / "azext_prototype" / "__init__.py").is_file()
    shown = azcli.az_json(["extension", "show", "--name", "prototype"], env)
    assert shown["version"] == VERSION and shown["extensionType"] == "whl"
    assert shown["metadata"]["azext.isPreview"] is True and shown["metadata"]["author"]
    assert 0 < len(shown["metadata"]["description"]) < 1000  # a short description, not the developer README
    listed = azcli.az_json(["extension", "list-available"], env)
    assert [e["name"] for e in listed] == ["prototype"]
    help_done = azcli.run_az(["prototype", "--help"], env)
    assert help_done.returncode == 0 and "init" in help_done.stdout


def test_a_wheel_that_does_not_match_its_digest_is_refused(prototype_wheel, served, tmp_path):
    folder, base = served
    _publish(prototype_wheel, folder, base)
    with open(folder / prototype_wheel.name, "ab") as fh:
        fh.write(b"tampered")
    env, ext_dir = _env_with_config_index(tmp_path)
    azcli.run_az(["config", "set", f"extension.index_url={base}/index.json"], env)
    done = azcli.run_az(["extension", "add", "--name", "prototype", "--yes"], env)
    assert done.returncode != 0
    assert not (ext_dir / "prototype").exists()
