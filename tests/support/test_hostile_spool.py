"""A user's spool is untrusted input: hostile folders never make `status|show|purge` read, change or delete outside
the spool root, never hang, and never put a raw control character on the engineer's terminal."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from copied_spool import T0, build_copied_spool, event_name, put, tree_digest
from helpers import make_envelope

pytestmark = pytest.mark.skipif(not hasattr(os, "symlink") or os.name == "nt", reason="POSIX links and FIFOs")

HOSTILE_COMMAND = "\x1b]0;owned\x07\x1b[2J\rprototype init"
HOSTILE_NAME = f"{event_name(T0, 'e')[:-5]}\x1b[31m\n2099-01-01 forged.json"
HOSTILE_MESSAGE = "Invalid key \x1b]52;c;cGF3bmVk\x07 " + "and a long explanation of it " * 8 + "THE END"


def run(*args: str, config_dir: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in (
        "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPINSIGHTS_CONNECTION_STRING", "DO_NOT_TRACK")}
    env["AZURE_CONFIG_DIR"] = str(config_dir)
    return subprocess.run([sys.executable, "-m", "telemetry_sender", *args], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, timeout=timeout)


def raw_controls(text: str) -> list[str]:
    """The control characters in `text` other than the newlines that end lines."""
    return sorted({repr(c) for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0})


@pytest.fixture
def engineer(tmp_path) -> Path:
    """The engineer's own files, next to where the user's zip is unpacked: nothing here may change."""
    home = tmp_path / "engineer"
    put(home / "work" / "report.txt", "my own report")
    put(home / "work" / "notes.json", json.dumps(make_envelope("prototype engineer-secret", T0)))
    put(home / "work" / "sub" / "deep.json", "{}")
    return home


@pytest.fixture
def config_dir(tmp_path) -> Path:
    folder = tmp_path / "azconfig"
    folder.mkdir()
    return folder


def plant_links(root: Path, target: Path) -> None:
    """A copied spool whose subfolders and files point at `target` (the engineer's files)."""
    shutil.rmtree(root / "rejected")
    os.symlink(target, root / "rejected")  # rejected -> the engineer's work folder
    shutil.rmtree(root / "quarantine")
    os.symlink(target, root / "quarantine")
    os.symlink(target / "notes.json", root / "spool" / event_name(T0, "7"))  # a pending "event" that is a link
    os.symlink(target / "report.txt", root / "state.json.link")


def assert_clean_output(result: subprocess.CompletedProcess) -> None:
    assert raw_controls(result.stdout) == [], result.stdout
    assert raw_controls(result.stderr) == [], result.stderr
    assert "Traceback" not in result.stderr


READ_ONLY = (("status",), ("status", "--json"), ("show",), ("show", "--all"), ("show", "--all", "--json"),
             ("show", "--failed"))


def test_symlinked_folders_and_files_are_never_followed(tmp_path, engineer, config_dir):
    root = build_copied_spool(tmp_path / "unpacked" / "telemetry")
    plant_links(root, engineer / "work")
    outside = tree_digest(engineer)
    for args in READ_ONLY:
        result = run(*args, "--spool", str(root), config_dir=config_dir)
        assert result.returncode == 0, (args, result.stderr)
        assert "engineer-secret" not in result.stdout and "my own report" not in result.stdout
        assert_clean_output(result)
    status = json.loads(run("status", "--json", "--spool", str(root), config_dir=config_dir).stdout)
    assert {s["path"]: s["kind"] for s in status["skipped"]} == {
        "rejected": "symlink", "quarantine": "symlink", f"spool/{event_name(T0, '7')}": "symlink"}
    assert status["rejected"] == 0 and status["quarantined"] == 0
    purged = run("purge", "--yes", "--all", "--spool", str(root), config_dir=config_dir)
    assert purged.returncode == 0, purged.stderr
    assert "rejected: a symlink: not followed" in purged.stderr
    assert tree_digest(engineer) == outside  # nothing outside read into output, changed or deleted
    assert os.path.islink(root / "spool" / event_name(T0, "7"))  # the link itself is reported, left in place


def test_a_symlinked_spool_folder_is_not_purged(tmp_path, engineer, config_dir):
    root = tmp_path / "unpacked" / "telemetry"
    root.mkdir(parents=True)
    os.symlink(engineer / "work", root / "spool")  # every *.json there would look like a pending event
    outside = tree_digest(engineer)
    result = run("purge", "--yes", "--all", "--spool", str(root), config_dir=config_dir)
    assert result.returncode == 1, result.stderr  # not "done": what spool/ holds was neither read nor deleted
    assert "Deleted 0 pending events" in result.stdout and "spool: a symlink" in result.stderr
    assert "Not read: spool/ a symlink" in result.stderr
    shown = run("show", "--json", "--spool", str(root), config_dir=config_dir)
    assert json.loads(shown.stdout) == [] and shown.returncode == 1
    assert tree_digest(engineer) == outside


def test_a_symlinked_root_is_refused(tmp_path, engineer, config_dir):
    os.symlink(engineer / "work", tmp_path / "telemetry")
    outside = tree_digest(engineer)
    for args in (("status",), ("show", "--json"), ("purge", "--yes", "--all")):
        result = run(*args, "--spool", str(tmp_path / "telemetry"), config_dir=config_dir)
        assert result.returncode == 2 and "not a real folder" in result.stderr, (args, result.stderr)
    assert tree_digest(engineer) == outside


def test_fifos_devices_folders_and_huge_files_are_shown_as_such_and_never_hang(tmp_path, config_dir):
    root = build_copied_spool(tmp_path / "unpacked" / "telemetry")
    os.mkfifo(root / "spool" / event_name(T0, "8"))
    os.mkfifo(root / "rejected" / "fifo.json")
    (root / "quarantine" / "folder.json").mkdir()
    put(root / "spool" / event_name(T0, "9"), b" " * (2 * 1024 * 1024))  # over the read bound
    os.symlink("/dev/zero", root / "spool" / event_name(T0, "6"))  # an endless device, through a link
    for args in READ_ONLY:
        result = run(*args, "--spool", str(root), config_dir=config_dir, timeout=30)
        assert result.returncode == 0, (args, result.stderr)
    status = json.loads(run("status", "--json", "--spool", str(root), config_dir=config_dir).stdout)
    kinds = {s["path"]: s["kind"] for s in status["skipped"]}
    assert kinds[f"spool/{event_name(T0, '8')}"] == "fifo" and kinds["rejected/fifo.json"] == "fifo"
    assert kinds["quarantine/folder.json"] == "folder" and kinds[f"spool/{event_name(T0, '6')}"] == "symlink"
    items = json.loads(run("show", "--json", "--spool", str(root), config_dir=config_dir).stdout)
    huge = next(i for i in items if i["file"] == event_name(T0, "9"))
    assert huge["envelope"] is None and "byte limit" in huge["corrupt"]
    assert run("purge", "--yes", "--all", "--spool", str(root), config_dir=config_dir).returncode == 0
    assert stat.S_ISFIFO(os.lstat(root / "spool" / event_name(T0, "8")).st_mode)  # left alone, reported


def test_control_characters_in_names_and_values_are_escaped_in_text_and_exact_in_json(tmp_path, config_dir):
    root = build_copied_spool(tmp_path / "unpacked" / "telemetry")
    hostile = make_envelope(HOSTILE_COMMAND, T0, ok=False, location="west\x1b[8m")
    hostile["data"]["baseData"]["properties"]["error"] = "Boom\r\n2099-01-01 00:00:00 forged"
    put(root / "spool" / HOSTILE_NAME, json.dumps(hostile))
    put(root / "rejected" / event_name(T0, "r"), json.dumps(
        {"status": 400, "message": HOSTILE_MESSAGE, "rejected_at": "2026-11-25T09:00:00Z", "envelope": hostile}))
    state = json.loads((root / "state.json").read_text())
    state["last_attempt"]["detail"] = "HTTP 429 \x1b[2J" + " please slow down" * 10 + " (end)"
    (root / "state.json").write_text(json.dumps(state))
    for args in (("status",), ("show",), ("show", "--all"), ("show", "--file", HOSTILE_NAME)):
        result = run(*args, "--spool", str(root), config_dir=config_dir)
        assert result.returncode == 0, (args, result.stderr)
        assert_clean_output(result)
    table = run("show", "--all", "--spool", str(root), config_dir=config_dir).stdout
    assert "\\x1b]0;owned\\x07\\x1b[2J\\rprototype init" in table
    assert "\\x1b[31m\\n2099-01-01 forged.json" in table
    assert "THE END" in table  # the service's message whole (wrapped) under the table, not cut at 40 characters
    status = run("status", "--spool", str(root), config_dir=config_dir).stdout
    assert "(end)" in status and "\\x1b[2J" in status
    one = run("show", "--file", HOSTILE_NAME, "--spool", str(root), config_dir=config_dir).stdout
    assert "forged" in one and "\\r\\n" in one
    items = json.loads(run("show", "--all", "--json", "--spool", str(root), config_dir=config_dir).stdout)
    by_file = {i["file"]: i for i in items}
    assert by_file[HOSTILE_NAME]["envelope"] == hostile  # --json stays exact
    assert by_file[event_name(T0, "r")]["message"] == HOSTILE_MESSAGE


def _zip_with_links(path: Path, root: Path) -> None:
    """A zip as `zip -ry` makes it: links stored as links (mode S_IFLNK, the target as the content)."""
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(root.rglob("*")):
            name = str(file.relative_to(root.parent))
            if file.is_symlink():
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, os.readlink(file))
            elif file.is_file():
                archive.write(file, name)


@pytest.mark.parametrize("extractor", ["zipfile", "unzip"])
def test_a_zip_with_links_unpacked_then_purged_leaves_the_engineers_files_alone(
        tmp_path, engineer, config_dir, extractor):
    if extractor == "unzip" and shutil.which("unzip") is None:
        pytest.skip("unzip is not installed")
    user = build_copied_spool(tmp_path / "user" / "telemetry")
    plant_links(user, Path("../../engineer/work"))  # relative: resolves into the engineer's folder once unpacked
    archive = tmp_path / "spool.zip"
    _zip_with_links(archive, user)
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    if extractor == "zipfile":
        with zipfile.ZipFile(archive) as opened:
            opened.extractall(unpacked)  # writes each link as a small file holding its target text
    else:
        subprocess.run(["unzip", "-q", str(archive), "-d", str(unpacked)], check=True, timeout=60)
        assert os.path.islink(unpacked / "telemetry" / "rejected")  # unzip recreates the links
    root = unpacked / "telemetry"
    outside = tree_digest(engineer)
    for args in (*READ_ONLY, ("purge", "--yes", "--all")):
        result = run(*args, "--spool", str(root), config_dir=config_dir)
        assert result.returncode in (0, 2), (args, result.stderr)
        assert "engineer-secret" not in result.stdout
        assert_clean_output(result)
    assert tree_digest(engineer) == outside


def test_show_json_into_a_closed_pipe_ends_quietly(tmp_path, config_dir):
    root = build_copied_spool(tmp_path / "unpacked" / "telemetry")
    for n in range(200):
        put(root / "spool" / event_name(T0, f"{n:x}"[-1]).replace(".json", f"{n}.json"),
            json.dumps(make_envelope("prototype init", T0)))
    env = {**os.environ, "AZURE_CONFIG_DIR": str(config_dir)}
    producer = subprocess.Popen([sys.executable, "-m", "telemetry_sender", "show", "--json", "--spool", str(root)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert producer.stdout is not None and producer.stderr is not None
    producer.stdout.read(10)
    producer.stdout.close()  # like `| head -c 10`
    err = producer.stderr.read().decode()
    assert producer.wait(timeout=60) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err


@pytest.mark.parametrize("planted", [
    {"next_attempt": "0999-01-01T00:00:00Z"},  # a year strftime would write back without its zero
    {"next_attempt": "9999-12-31T23:59:59-01:00", "last_attempt": {"time": "9999-12-31T23:59:59-01:00"}},
    {"last_success": "9999-12-31T23:30:00Z"},  # an hour more would overflow
])
def test_times_at_the_edge_of_the_calendar_read_as_absent_not_as_a_crash(tmp_path, config_dir, planted):
    root = tmp_path / "copied"
    put(root / "spool" / event_name(T0, "a"), json.dumps(make_envelope()))
    edge = make_envelope()
    edge["time"] = edge["data"]["baseData"]["properties"]["timestamp"] = "9999-12-31T23:59:59-01:00"
    put(root / "spool" / event_name(T0, "b"), json.dumps(edge))
    put(root / "state.json", json.dumps(planted))
    for command in (["status"], ["status", "--json"], ["show"], ["show", "--json"]):
        done = run(*command, "--spool", str(root), config_dir=config_dir)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (command, done.stderr[-800:])
    assert json.loads(run("status", "--json", "--spool", str(root), config_dir=config_dir).stdout)["pending"] == 2


def test_send_never_puts_a_raw_control_character_of_a_file_name_on_the_terminal(tmp_path, config_dir):
    root = tmp_path / "copied"
    put(root / "spool" / (HOSTILE_NAME[:-5] + "x.json"), "{not json")  # quarantined: its name is logged
    env = {**os.environ, "AZURE_CONFIG_DIR": str(config_dir),
           "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k;IngestionEndpoint=http://127.0.0.1:9"}
    env.pop("DO_NOT_TRACK", None)
    done = subprocess.run([sys.executable, "-m", "telemetry_sender", "send", "--spool", str(root)], env=env,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert "quarantined" in done.stderr + done.stdout
    assert raw_controls(done.stderr) == [] and raw_controls(done.stdout) == []
