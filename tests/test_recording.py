"""telemetry_sender.recording: connection strings (tolerant of sloppy input, strict about where data may go),
the recording decision, and private files (folders 0700, files 0600 whatever the umask, symlinks never followed)."""

from __future__ import annotations

import os
import stat

import pytest

from telemetry_sender import recording as fsutil
from telemetry_sender.protocol import DEFAULT_INGESTION_ENDPOINT
from telemetry_sender.recording import ConnectionString, ConnectionStringError, is_loopback_host, parse_connection_string


def test_private_dir_and_file_modes(tmp_path):
    folder = fsutil.ensure_private_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    target = fsutil.write_private_atomic(folder / "x.json", b"{}")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["x.json"]


def test_missing_parents_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        fsutil.ensure_private_dir(tmp_path / "prototype" / "telemetry" / "spool")
    finally:
        os.umask(old)
    for folder in ("prototype", "prototype/telemetry", "prototype/telemetry/spool"):
        assert stat.S_IMODE(os.stat(tmp_path / folder).st_mode) == 0o700, folder


def test_symlinked_dir_is_refused(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(fsutil.UnsafePathError):
        fsutil.ensure_private_dir(tmp_path / "link")


def test_symlinked_file_is_not_read(tmp_path):
    (tmp_path / "secret").write_text("x")
    (tmp_path / "link.json").symlink_to(tmp_path / "secret")
    with pytest.raises(OSError):
        fsutil.read_regular_file(tmp_path / "link.json", 100)


IKEY = "00000000-0000-0000-0000-000000000001"


def test_plain_string_with_endpoint():
    cs = parse_connection_string(f"InstrumentationKey={IKEY};IngestionEndpoint=https://westus3-1.in.applicationinsights.azure.com/")
    assert cs == ConnectionString(IKEY, "https://westus3-1.in.applicationinsights.azure.com/")


def test_tolerates_empty_segments_spaces_and_key_case():
    cs = parse_connection_string(f" ; instrumentationkey = {IKEY} ;; INGESTIONENDPOINT= https://x.example ; ")
    assert cs.instrumentation_key == IKEY
    assert cs.ingestion_endpoint == "https://x.example"


def test_values_keep_their_case_and_split_on_first_equals():
    cs = parse_connection_string("InstrumentationKey=AbC=def==;IngestionEndpoint=https://Host.Example/a=b")
    assert cs.instrumentation_key == "AbC=def=="
    assert cs.ingestion_endpoint == "https://Host.Example/a=b"


def test_default_endpoint_when_none_named():
    assert parse_connection_string(f"InstrumentationKey={IKEY}").ingestion_endpoint == DEFAULT_INGESTION_ENDPOINT


@pytest.mark.parametrize(
    "extra, endpoint",
    [
        ("EndpointSuffix=applicationinsights.azure.cn", "https://dc.applicationinsights.azure.cn"),
        ("EndpointSuffix=ai.contoso.com;Location=westus2", "https://westus2.dc.ai.contoso.com"),
        ("Location=westus2", DEFAULT_INGESTION_ENDPOINT),
        ("EndpointSuffix=ai.contoso.com;IngestionEndpoint=https://explicit.example", "https://explicit.example"),
    ],
)
def test_endpoint_precedence(extra, endpoint):
    assert parse_connection_string(f"InstrumentationKey={IKEY};{extra}").ingestion_endpoint == endpoint


@pytest.mark.parametrize(
    "text, message",
    [
        ("IngestionEndpoint=https://x.example", "InstrumentationKey is missing"),
        ("InstrumentationKey=;IngestionEndpoint=https://x.example", "InstrumentationKey is missing"),
        ("", "InstrumentationKey is missing"),
        (f"InstrumentationKey={IKEY};instrumentationKEY={IKEY}", "duplicate key"),
        (f"InstrumentationKey={IKEY};garbage", "not of the form"),
        (f"InstrumentationKey={IKEY};=value", "not of the form"),
        (f"InstrumentationKey={IKEY};IngestionEndpoint=http://example.com", "https://"),
        (f"InstrumentationKey={IKEY};IngestionEndpoint=http://127.0.0.1@example.com/", "https://"),
        (f"InstrumentationKey={IKEY};IngestionEndpoint=http://128.0.0.1", "https://"),
        (f"InstrumentationKey={IKEY};IngestionEndpoint=ftp://127.0.0.1", "https://"),
        (f"InstrumentationKey={IKEY};IngestionEndpoint=example.com", "https://"),
        (f"InstrumentationKey={IKEY};IngestionEndpoint=https://x.example:notaport", "not a valid URL"),
    ],
)
def test_rejections_have_clear_messages(text, message):
    with pytest.raises(ConnectionStringError, match=message):
        parse_connection_string(text)


def test_rejects_over_long_strings_and_accepts_the_limit():
    base = f"InstrumentationKey={IKEY};X="
    parse_connection_string(base + "a" * (4096 - len(base)))
    with pytest.raises(ConnectionStringError, match="4096"):
        parse_connection_string(base + "a" * (4097 - len(base)))


def test_error_messages_never_echo_values():
    secret = "s3cr3t-value"
    with pytest.raises(ConnectionStringError) as info:
        parse_connection_string(f"InstrumentationKey={secret};IngestionEndpoint=http://evil.example/{secret}")
    assert secret not in str(info.value)


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:8787", "http://127.255.0.9/", "http://localhost:1/", "http://LOCALHOST", "http://[::1]:9/"],
)
def test_plain_http_allowed_only_for_loopback(endpoint):
    assert parse_connection_string(f"InstrumentationKey={IKEY};IngestionEndpoint={endpoint}").ingestion_endpoint == endpoint


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "::1", "localhost."])
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["127.0.0", "127.0.0.256", "10.0.0.1", "localhost.example", "::2", "0.0.0.0", "127.a.0.1"])
def test_not_loopback_hosts(host):
    assert not is_loopback_host(host)


def _backing_off_state(root, endpoint=None, minutes=30):
    from datetime import datetime, timedelta, timezone

    from telemetry_sender.spool.state import empty_state, format_time, save_state

    state = empty_state()
    state["next_attempt"] = format_time(datetime.now(timezone.utc) + timedelta(minutes=minutes))
    if endpoint is not None:
        state["endpoint"] = endpoint
    save_state(root / "state.json", state)


def test_claim_takes_the_lock_for_the_sender_it_will_start(tmp_path):
    from telemetry_sender.spool.lock import is_held, try_acquire

    fd = fsutil.claim_sender_lock(tmp_path, "e")
    assert fd is not None
    try:
        assert try_acquire(tmp_path / "sender.lock") is None  # a second command finds it taken
        assert fsutil.claim_sender_lock(tmp_path, "e") is None
    finally:
        os.close(fd)
    assert not is_held(tmp_path / "sender.lock")


def test_claim_gives_the_lock_back_while_the_service_said_wait(tmp_path):
    from telemetry_sender.spool.lock import is_held

    _backing_off_state(tmp_path, endpoint="https://x.example#1")
    assert fsutil.claim_sender_lock(tmp_path, "https://x.example#1") is None
    assert not is_held(tmp_path / "sender.lock")
    fd = fsutil.claim_sender_lock(tmp_path, "https://other.example#2")  # another endpoint starts fresh
    assert fd is not None
    os.close(fd)


def test_claim_refuses_a_lock_that_is_no_file(tmp_path):
    (tmp_path / "sender.lock").mkdir()
    with pytest.raises(OSError):
        fsutil.claim_sender_lock(tmp_path, "e")


def test_write_envelope_is_exactly_the_envelope_in_a_private_file(tmp_path):
    import json

    envelope = fsutil.build_envelope({"commandName": "prototype status"}, {"durationMs": 1}, instrumentation_key="k",
                                     time="2030-01-01T00:00:00.000000Z", version="0.1.0")
    path = fsutil.write_envelope(str(tmp_path / "root"), envelope, now_ns=7)
    assert os.path.basename(path).startswith("00000000000000000007-") and path.endswith(".json")
    assert json.loads(open(path, encoding="utf-8").read()) == envelope
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [n for n in os.listdir(tmp_path / "root" / "spool")] == [os.path.basename(path)]  # no temp file left


def test_read_regular_file_refuses_over_the_limit_and_reads_all_below(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"x" * 10_000)
    assert fsutil.read_regular_file(target, 10_000) == b"x" * 10_000
    with pytest.raises(ValueError):
        fsutil.read_regular_file(target, 9_999)


def test_claim_honours_the_backoff_even_when_the_lock_file_is_unusable(tmp_path):
    (tmp_path / "sender.lock").mkdir()
    _backing_off_state(tmp_path)
    assert fsutil.claim_sender_lock(tmp_path, None) is None  # waiting: no sender, lock file or not


def test_a_planted_state_of_nested_brackets_reads_as_empty_and_leaves_no_lock(tmp_path):
    from telemetry_sender.spool.lock import is_held

    (tmp_path / "state.json").write_text("[" * 60_000)
    assert fsutil.read_saved_state(tmp_path / fsutil.STATE_FILENAME) == {}
    fd = fsutil.claim_sender_lock(tmp_path, "e")
    assert fd is not None
    os.close(fd)
    assert not is_held(tmp_path / "sender.lock")


def test_a_file_that_grew_after_its_size_was_read_is_read_on_to_the_limit(tmp_path, monkeypatch):
    target = tmp_path / "f"
    target.write_bytes(b"y" * 100)
    real_fstat = os.fstat

    class Shrunk:  # what fstat said before the file grew
        def __init__(self, st):
            self.st_mode, self.st_size = st.st_mode, 10

    monkeypatch.setattr(fsutil.os, "fstat", lambda fd: Shrunk(real_fstat(fd)))
    assert fsutil.read_regular_file(target, 1_000) == b"y" * 100
    assert len(fsutil.read_regular_file(target, 50)) == 51  # over the limit: the caller sees one byte more
