"""The local ingestion endpoint: the service's validation and answers, scripting, lifecycle, CLI.

Everything goes over real HTTP on 127.0.0.1; waits use conditions with deadlines.
"""

from __future__ import annotations

import gzip
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
import requests

from helpers import FIXED_NOW, IKEY, make_envelope, wall_now
from telemetry_sender.emulator import rules
from telemetry_sender.emulator.display import format_event
from telemetry_sender.emulator.server import Emulator
from telemetry_sender.emulator.rules import ItemError, ScriptError

DIMENSIONS = {"provider": "azure-openai", "model": "gpt-4o", "location": "eastus"}


def envelope(**given) -> dict:
    """The shared builder's envelope (helpers.make_envelope) of a `prototype init` with the dimensions shown."""
    return make_envelope("prototype init", **{**DIMENSIONS, **given})


def post(emulator: Emulator, items, *, path="/v2.1/track", gzip_body=False, ndjson=False, timeout=5, **kwargs):
    """POST items the way a client would; returns the requests.Response."""
    if ndjson:
        data = "\n".join(json.dumps(item) for item in items).encode()
        content_type = "application/x-json-stream"
    else:
        data = items if isinstance(items, bytes) else json.dumps(items).encode()
        content_type = "application/json"
    headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
    if gzip_body:
        data = gzip.compress(data)
        headers["Content-Encoding"] = "gzip"
    return requests.post(emulator.endpoint + path, data=data, headers=headers, timeout=timeout,
                         allow_redirects=False, **kwargs)


# --- Accepting ------------------------------------------------------------------------------


def test_all_valid_items_get_200_with_the_service_body(emu):
    items = [envelope(), envelope()]
    response = post(emu, items)
    assert response.status_code == 200
    assert response.json() == {"itemsReceived": 2, "itemsAccepted": 2, "errors": [], "appId": None}
    assert emu.wait_for_accepted(2, timeout=5)
    assert emu.accepted == items


@pytest.mark.parametrize("path", ["/v2/track", "/v2.1/track"])
@pytest.mark.parametrize("gzip_body", [False, True])
@pytest.mark.parametrize("ndjson", [False, True])
def test_both_paths_json_array_or_lines_gzip_or_not(emu, path, gzip_body, ndjson):
    response = post(emu, [envelope(), envelope(), envelope()], path=path, gzip_body=gzip_body, ndjson=ndjson)
    assert response.status_code == 200, response.text
    assert response.json()["itemsAccepted"] == 3
    record = emu.requests[-1]
    assert (record.path, record.status, record.items, record.accepted) == (path, 200, 3, 3)
    assert record.content_encoding == ("gzip" if gzip_body else None)


def test_requests_record_the_headers_a_support_engineer_needs(emu):
    post(emu, [envelope()], gzip_body=True, headers={"x-ms-client-request-id": "req-42"})
    record = emu.requests[-1]
    assert record.request_id == "req-42"
    assert record.headers["Content-Encoding"] == "gzip"
    assert record.headers["content-type"] == "application/json"


def test_other_paths_and_methods_are_404(emu):
    assert post(emu, [envelope()], path="/v2/trackx").status_code == 404
    assert requests.get(emu.track_url, timeout=5).status_code == 404
    assert emu.accepted == []


def test_connection_string_names_the_endpoint_and_key():
    with Emulator(ikey=IKEY) as emulator:
        assert emulator.endpoint.startswith("http://127.0.0.1:")
        assert emulator.connection_string == f"InstrumentationKey={IKEY};IngestionEndpoint={emulator.endpoint}/"
    with Emulator() as emulator:
        assert f"InstrumentationKey={rules.DEFAULT_IKEY};" in emulator.connection_string


# --- Rejecting ------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"[{]", b"not json", b'[{"a": NaN}]', b"\xff\xfe garbage", b"[1,]"])
def test_unparseable_body_is_400(emu, body):
    response = post(emu, body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["itemsAccepted"] == 0 and payload["errors"][0]["statusCode"] == 400


def test_bad_gzip_is_400(emu):
    response = requests.post(emu.track_url, data=b"not gzip", headers={"Content-Encoding": "gzip"}, timeout=5)
    assert response.status_code == 400
    assert "gzip" in response.json()["errors"][0]["message"]


def test_empty_request_is_400(emu):
    assert post(emu, []).status_code == 400


def _drop(item: dict, dotted: str) -> dict:
    parts = dotted.split(".")
    target = item
    for part in parts[:-1]:
        target = target[part]
    del target[parts[-1]]
    return item


@pytest.mark.parametrize("field", ["name", "time", "iKey", "data", "data.baseType", "data.baseData",
                                   "data.baseData.ver", "data.baseData.name"])
def test_each_required_field_is_enforced(emu, field):
    response = post(emu, [_drop(envelope(), field)])
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["index"] == 0 and error["statusCode"] == 400
    assert f"'{field.rsplit('.', 1)[-1]}'" in error["message"]
    assert emu.accepted == []


@pytest.mark.parametrize("bad", [{"time": "2026-11-25T09:04:19+00:00"}, {"time": "2026-11-25 09:04:19Z"},
                                 {"time": "yesterday"}, {"time": "2026-02-30T00:00:00Z"}, {"name": ""},
                                 {"iKey": 7}, {"tags": []}])
def test_malformed_envelope_fields_are_400(emu, bad):
    item = {**envelope(), **bad}
    assert post(emu, [item]).status_code == 400


def test_base_data_version_must_be_2(emu):
    item = envelope()
    item["data"]["baseData"]["ver"] = 1
    response = post(emu, [item])
    assert response.status_code == 400
    assert "'ver'" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(("offset", "status"), [(timedelta(hours=-49), 400), (timedelta(hours=-47), 200),
                                                (timedelta(hours=1), 200), (timedelta(hours=3), 400)])
def test_time_must_lie_within_48_hours_past_and_2_hours_future(emu, offset, status):
    response = post(emu, [envelope(when=wall_now() + offset)])
    assert response.status_code == status
    if status == 400:
        message = response.json()["errors"][0]["message"]
        assert ("older" in message) if offset < timedelta(0) else ("newer" in message)


def test_item_over_64_kb_is_rejected_and_under_is_accepted(emu):
    def sized(target_bytes: int, filler: str = "x") -> dict:
        item = envelope()
        base = len(json.dumps(item).encode())
        per_char = len(filler.encode())
        item["data"]["baseData"]["properties"]["parameters"] = filler * ((target_bytes - base) // per_char)
        return item

    over, under, wide_over = sized(65536 + 16), sized(65536 - 16), sized(65536 + 16, filler="é")
    response = post(emu, [under, over, wide_over])
    assert response.status_code == 206
    errors = response.json()["errors"]
    assert [e["index"] for e in errors] == [1, 2]
    assert all(e["message"] == "Telemetry item length must not exceed 65536" for e in errors)
    assert emu.accepted == [under]


def test_item_size_limit_holds_for_json_lines_too(emu):
    item = envelope(parameters="x" * 70000)
    assert post(emu, [item], ndjson=True).status_code == 400


def test_only_the_configured_instrumentation_key_is_accepted():
    with Emulator(ikey=IKEY) as emulator:
        response = post(emulator, [envelope(), envelope(ikey="99999999-2222-4333-8444-555555555555")])
        assert response.status_code == 206
        assert response.json()["errors"] == [{"index": 1, "statusCode": 400, "message": "Invalid instrumentation key"}]
        assert len(emulator.accepted) == 1


def test_any_key_is_accepted_when_none_was_configured(emu):
    assert post(emu, [envelope(ikey="whatever")]).status_code == 200


@pytest.mark.parametrize("properties", [{"a": 1}, {"a": None}, {"a": ["x"]}, {"a": True}, "text"])
def test_properties_must_map_strings_to_strings(emu, properties):
    item = envelope()
    base = item["data"]["baseData"]
    base["properties"] = properties if isinstance(properties, str) else {**base["properties"], **properties}
    assert post(emu, [item]).status_code == 400


@pytest.mark.parametrize("raw_value", ["1e400", "-1e400", '"12"', "true", "null"])
def test_measurements_must_be_finite_numbers(emu, raw_value):
    item = envelope()
    text = json.dumps([item]).replace('"durationMs": 12.5', f'"durationMs": {raw_value}')
    assert raw_value in text
    response = post(emu, text.encode())
    assert response.status_code == 400
    assert "'measurements'" in response.json()["errors"][0]["message"]


def test_partly_valid_request_is_206_with_indexed_errors(emu):
    good, bad = envelope(), _drop(envelope(), "name")
    response = post(emu, [good, bad, good])
    assert response.status_code == 206
    body = response.json()
    assert (body["itemsReceived"], body["itemsAccepted"]) == (3, 2)
    assert [(e["index"], e["statusCode"]) for e in body["errors"]] == [(1, 400)]


def test_status_when_nothing_is_accepted_is_the_first_items_status():
    errors = [ItemError(1, 400, "bad"), ItemError(0, 503, "busy")]
    assert rules.track_status(2, errors) == 503
    assert rules.track_status(3, errors) == 206
    assert rules.track_status(2, []) == 200


# --- Scripting ------------------------------------------------------------------------------


def test_429_with_retry_after_seconds_then_back_to_normal(emu):
    emu.script({"status": 429, "retry_after": "3"})
    response = post(emu, [envelope(), envelope()])
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    body = response.json()
    assert body["itemsAccepted"] == 0 and {e["statusCode"] for e in body["errors"]} == {429}
    assert emu.accepted == []
    assert post(emu, [envelope()]).status_code == 200


def test_retry_after_as_an_http_date():
    frozen = FIXED_NOW
    with Emulator(clock=frozen.timestamp, script=[{"status": 503, "retry_after_date": 120}]) as emulator:
        response = post(emulator, [envelope(when=frozen)])
    assert response.status_code == 503
    assert parsedate_to_datetime(response.headers["Retry-After"]) == frozen + timedelta(seconds=120)


def test_repeat_and_order_of_rules(emu):
    emu.script({"status": 500, "repeat": 2}, {"status": 503})
    assert emu.pending_rules == 3
    statuses = [post(emu, [envelope()]).status_code for _ in range(4)]
    assert statuses == [500, 500, 503, 200]
    assert emu.pending_rules == 0
    assert [r.rule is not None for r in emu.requests] == [True, True, True, False]


def test_206_with_chosen_item_failures(emu):
    emu.script({"status": 206, "fail_items": {"1": 500, "2": 400}})
    items = [envelope() for _ in range(4)]
    response = post(emu, items)
    assert response.status_code == 206
    body = response.json()
    assert (body["itemsReceived"], body["itemsAccepted"]) == (4, 2)
    assert [(e["index"], e["statusCode"]) for e in body["errors"]] == [(1, 500), (2, 400)]
    assert emu.accepted == [items[0], items[3]]


def test_206_sampled_out_items_carry_the_services_message(emu):
    emu.script({"status": 206, "fail_items": {"0": "sampled_out", "1": {"status": 439, "message": "daily cap"}}})
    response = post(emu, [envelope(), envelope(), envelope()])
    errors = response.json()["errors"]
    assert errors[0]["message"] == "Telemetry sampled out."
    assert (errors[1]["statusCode"], errors[1]["message"]) == (439, "daily cap")
    assert len(emu.accepted) == 1


@pytest.mark.parametrize("status", [307, 308])
def test_redirect_with_location_and_max_age(emu, status):
    emu.script({"status": status, "location": "http://127.0.0.1:9", "max_age": 60})
    response = post(emu, [envelope()])
    assert response.status_code == status
    assert response.headers["Location"] == "http://127.0.0.1:9/v2.1/track"
    assert response.headers["Cache-Control"] == "max-age=60"
    assert emu.accepted == []


def test_redirect_location_with_a_path_is_kept_as_given(emu):
    emu.script({"status": 308, "location": "http://127.0.0.1:9/v2.1/track"})
    assert post(emu, [envelope()], path="/v2/track").headers["Location"] == "http://127.0.0.1:9/v2.1/track"


def test_drop_closes_the_connection_without_an_answer(emu):
    emu.script({"drop": True})
    with pytest.raises(requests.ConnectionError):
        post(emu, [envelope()])
    assert emu.wait_for_requests(1, timeout=5)
    assert (emu.requests[0].outcome, emu.requests[0].status) == ("dropped", None)
    assert emu.accepted == []
    assert post(emu, [envelope()]).status_code == 200


def test_hang_times_the_client_out_without_blocking_others_or_stop():
    emulator = Emulator().start()
    try:
        emulator.script({"hang": 30})
        with pytest.raises(requests.ReadTimeout):
            post(emulator, [envelope()], timeout=(2, 0.5))
        # The hanging request still holds its connection; others are answered meanwhile.
        assert post(emulator, [envelope()]).status_code == 200
        assert emulator.requests[0].outcome == "hung"
    finally:
        stopper = threading.Thread(target=emulator.close)
        stopper.start()
        stopper.join(timeout=10)
    assert not stopper.is_alive(), "stop() waited for the hanging request"


def test_hang_ends_by_closing_the_connection(emu):
    emu.script({"hang": 1})
    with pytest.raises(requests.ConnectionError):
        post(emu, [envelope()], timeout=(2, 10))
    assert emu.accepted == []


def test_delay_answers_normally_after_waiting(emu):
    emu.script({"delay": 0.2})
    assert post(emu, [envelope()]).status_code == 200
    assert len(emu.accepted) == 1


def test_script_given_to_the_constructor():
    with Emulator(script=[{"status": 503, "repeat": 2}]) as emulator:
        assert [post(emulator, [envelope()]).status_code for _ in range(3)] == [503, 503, 200]


@pytest.mark.parametrize("rule", [{"status": 429, "retry_afer": 3}, {"status": 307}, {"status": 500, "repeat": 0},
                                  {"status": 99}, {"hang": -1}, {"status": 206, "fail_items": {"x": 500}},
                                  {"status": 206, "fail_items": {"1": "nope"}}, "429"])
def test_bad_rules_are_refused_with_a_reason(rule):
    with pytest.raises(ScriptError):
        rules.parse_script([rule])


# --- Lifecycle, concurrency, recording ------------------------------------------------------


def test_stop_and_start_again_on_the_same_port(emu):
    session = requests.Session()
    assert session.post(emu.track_url, json=[envelope()], timeout=5).status_code == 200
    port = emu.port
    emu.stop()
    with pytest.raises(requests.ConnectionError):  # the kept-alive connection was cut too
        session.post(emu.track_url, json=[envelope()], timeout=5)
    with pytest.raises(requests.ConnectionError):
        post(emu, [envelope()])
    emu.start()
    assert emu.port == port
    assert session.post(emu.track_url, json=[envelope()], timeout=5).status_code == 200
    assert len(emu.accepted) == 2


def test_concurrent_clients_are_all_counted(emu):
    def client() -> None:
        with requests.Session() as session:
            for _ in range(5):
                session.post(emu.track_url, json=[envelope(), envelope()], timeout=5).raise_for_status()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert emu.wait_for_accepted(80, timeout=5)
    assert len(emu.accepted) == 80 and len(emu.requests) == 40


def test_wait_for_accepted_gives_up_at_the_deadline(emu):
    assert emu.wait_for_accepted(1, timeout=0.1) is False


def test_record_file_has_every_received_item_with_its_status(tmp_path):
    path = tmp_path / "received.jsonl"
    with Emulator(record=path, script=[{"status": 429, "retry_after": "1"}]) as emulator:
        post(emulator, [envelope()])
        post(emulator, [envelope(), _drop(envelope(), "time")], headers={"x-ms-client-request-id": "r2"})
        post(emulator, b"[oops")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["index"], line["status"]) for line in lines] == [(0, 429), (0, 200), (1, 400), (None, 400)]
    assert lines[1]["request_id"] == "r2" and lines[1]["item"]["iKey"] == IKEY
    assert "'time'" in lines[2]["message"]


def test_printed_lines_show_events_and_unusual_answers():
    class Sink:
        def __init__(self) -> None:
            self.text = ""

        def write(self, text: str) -> None:
            self.text += text

        def flush(self) -> None:
            pass

    sink = Sink()
    with Emulator(quiet=False, out=sink, script=[{"status": 429, "retry_after": "5"}]) as emulator:
        post(emulator, [envelope()])
        post(emulator, [envelope(success="false", error="Deployment failed: quota", commandName="prototype deploy")])
    lines = sink.text.splitlines()
    assert "429 (scripted)" in lines[0] and "Retry-After: 5" in lines[0]
    assert "prototype deploy  FAILED" in lines[1] and "provider=azure-openai" in lines[1]
    assert "error='Deployment failed: quota'" in lines[1]


def test_format_event_shows_key_dimensions():
    line = format_event(envelope(sku="S0", resourceType="Microsoft.CognitiveServices/accounts"))
    assert "prototype init  ok" in line
    for part in ("model=gpt-4o", "location=eastus", "sku=S0", "resourceType=Microsoft.CognitiveServices/accounts"):
        assert part in line


# --- Command line ---------------------------------------------------------------------------


def _lines(stream) -> queue.Queue:
    """A queue fed with the lines of a process's output, so reads can have deadlines."""
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _next_line(lines: queue.Queue, contains: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        assert line is not None, f"output ended before a line with {contains!r}"
        if contains in line:
            return line


@pytest.mark.slow
def test_cli_serves_prints_records_and_stops_on_sigterm(tmp_path):
    record, script = tmp_path / "rec.jsonl", tmp_path / "script.json"
    script.write_text(json.dumps([{"status": 503, "retry_after": "2"}]))
    env = {**os.environ, "AZURE_CONFIG_DIR": str(tmp_path / "az")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "telemetry_sender", "emulate", "--port", "0", "--record", str(record),
         "--script", str(script), "--ikey", IKEY],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path,
    )
    try:
        lines = _lines(proc.stdout)
        first = _next_line(lines, "listening on")
        assert first.startswith("listening on http://127.0.0.1:")
        url = first.split("listening on ", 1)[1] + "/v2.1/track"
        assert requests.post(url, json=[envelope()], timeout=5).status_code == 503
        _next_line(lines, "-> 503 (scripted)")
        assert requests.post(url, json=[envelope(commandName="prototype status")], timeout=5).status_code == 200
        assert "prototype status  ok" in _next_line(lines, "prototype status")
        proc.send_signal(signal.SIGTERM)
        assert "1 accepted" in _next_line(lines, "stopped:")
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    statuses = [json.loads(line)["status"] for line in record.read_text().splitlines()]
    assert statuses == [503, 200]


@pytest.mark.slow
def test_cli_refuses_a_bad_script(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"status": 307}]))
    result = subprocess.run(
        [sys.executable, "-m", "telemetry_sender", "emulate", "--port", "0", "--script", str(script)],
        capture_output=True, text=True, timeout=30, cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "location" in result.stderr


def test_chunked_request_bodies_are_read(emu):
    payload = json.dumps([envelope(), envelope()]).encode()
    chunks = (payload[i:i + 1000] for i in range(0, len(payload), 1000))
    response = requests.post(emu.track_url, data=chunks, timeout=5)
    assert response.status_code == 200
    assert emu.requests[-1].headers["transfer-encoding"] == "chunked"
    assert len(emu.accepted) == 2


def test_post_without_a_length_is_411(emu):
    import socket

    with socket.create_connection(("127.0.0.1", emu.port), timeout=5) as conn:
        conn.sendall(b"POST /v2.1/track HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert conn.recv(100).startswith(b"HTTP/1.1 411")
