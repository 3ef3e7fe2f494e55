"""The emulator judged by the official client: azure-monitor-opentelemetry-exporter's generated
AzureMonitorClient and its exporter pipeline must be answered exactly as the service answers them.

Every type of the service's spec, valid and invalid; the scripted faults seen through the
client's own retry policy; offline storage re-sent after an outage. Loopback only: a guard
refuses any other address, and the exporter's statsbeat, SDK stats and control-plane fetches
are switched off by the environment variables the installed version reads.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import logging
import socket
from datetime import datetime, timedelta, timezone

import pytest

from telemetry_sender.emulator.rules import DEFAULT_IKEY
from telemetry_sender.emulator.server import Emulator
from helpers import wall_now
from waiting import wait_until

# A dev dependency (Makefile DEV_PACKAGES): imported, not skipped, so CI cannot pass without the oracle.
from azure.core.exceptions import HttpResponseError, ServiceResponseError
from azure.monitor.opentelemetry.exporter._generated.exporter import AzureMonitorClient
from azure.monitor.opentelemetry.exporter._generated.exporter import models as m

pytestmark = pytest.mark.filterwarnings("ignore:`LoggingHandler` in `opentelemetry-sdk` is deprecated")

QUIET_EXPORTER_ENV = {  # what 1.0.0b58 reads before it would contact anything but the endpoint
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
}


def _loopback(host: object) -> bool:
    if host in ("localhost", None):
        return True
    try:
        return ipaddress.ip_address(str(host).strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """Refuse name look-ups and connections to anything but loopback, and quiet the exporter."""
    for name, value in QUIET_EXPORTER_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("APPLICATIONINSIGHTS_CONNECTION_STRING", "APPINSIGHTS_INSTRUMENTATIONKEY"):
        monkeypatch.delenv(name, raising=False)
    refused: list[object] = []
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host, *args, **kwargs):
        if not _loopback(host):
            refused.append(host)
            raise socket.gaierror(f"test guard: {host!r} is not loopback")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            refused.append(address)
            raise ConnectionRefusedError(f"test guard: {address!r} is not loopback")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    yield refused
    assert refused == [], f"something tried to leave loopback: {refused}"


def client_for(emulator: Emulator, **kwargs) -> AzureMonitorClient:
    """The generated client as the exporter builds it: the emulator as host, azure-core's default policies."""
    return AzureMonitorClient(host=emulator.endpoint, **kwargs)


# --- One valid item of every type, built with the client's own models -------------------------

def _item(envelope: str, base_type: str, data, when: datetime | None = None) -> dict:
    item = m.TelemetryItem(
        name=f"Microsoft.ApplicationInsights.{envelope}", time=when or wall_now(),
        instrumentation_key=DEFAULT_IKEY, tags={"ai.cloud.role": "emulator-test"},
        data=m.MonitorBase(base_type=base_type, base_data=data),
    )
    return item.as_dict()


def valid(kind: str, when: datetime | None = None) -> dict:
    """One valid envelope of a telemetry type, as a JSON dict the client serializes."""
    props = {"k": "v"}
    data = {
        "EventData": lambda: m.TelemetryEventData(version=2, name="checkout", properties=props,
                                                  measurements={"ms": 1.5}),
        "MessageData": lambda: m.MessageData(version=2, message="a log line", severity_level="Warning",
                                             properties=props),
        "ExceptionData": lambda: m.TelemetryExceptionData(version=2, exceptions=[m.TelemetryExceptionDetails(
            type_name="ValueError", message="bad value", has_full_stack=True,
            parsed_stack=[m.StackFrame(level=0, method="main", file_name="app.py", line=3)])]),
        "MetricData": lambda: m.MetricsData(version=2, metrics=[m.MetricDataPoint(
            name="queue length", value=3.0, data_point_type="Aggregation", count=2, min=1.0, max=2.0)]),
        "RequestData": lambda: m.RequestData(version=2, id="0123456789abcdef", name="GET /", duration="0.00:00:00.120",
                                             success=True, response_code="200", url="http://127.0.0.1/"),
        "RemoteDependencyData": lambda: m.RemoteDependencyData(version=2, name="GET /api", duration="0.00:00:01.5",
                                                               result_code="200", type="HTTP", success=True),
        "PageViewData": lambda: m.PageViewData(version=2, id="pv1", name="home", duration="00:00:02.227"),
        "AvailabilityData": lambda: m.AvailabilityData(version=2, id="run1", name="ping", duration="0.00:00:00.3",
                                                       success=False, run_location="local"),
    }[kind]()
    envelope = {"EventData": "Event", "MessageData": "Message", "ExceptionData": "Exception",
                "MetricData": "Metric", "RequestData": "Request", "RemoteDependencyData": "RemoteDependency",
                "PageViewData": "PageView", "AvailabilityData": "Availability"}[kind]
    return _item(envelope, kind, data, when)


TYPES = ["EventData", "MessageData", "ExceptionData", "MetricData", "RequestData", "RemoteDependencyData",
         "PageViewData", "AvailabilityData"]


def _with(item: dict, path: str, value=...) -> dict:
    """A copy of item with baseData's dotted path set to value (or removed when value is ...)."""
    item = copy.deepcopy(item)
    *parents, last = path.split(".")
    target = item["data"]["baseData"]
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return item


def _required(field: str, owner: str, expected: str = "string", actual: str = "undefined") -> str:
    return (f"109: Field '{field}' on type '{owner}' is required but missing or empty. "
            f"Expected: {expected}, Actual: {actual}")


def _wrong(field: str, owner: str, expected: str, actual: str) -> str:
    return f"106: Field '{field}' on type '{owner}' is of incorrect type. Expected: {expected}, Actual: {actual}"


def _duration(owner: str, actual: str) -> str:
    return (f"108: Field 'duration' on type '{owner}' is not a valid duration string. "
            f"Expected: TimeSpan DD.HH:MM:SS.MMMMMM format, Actual: {actual}")


INVALID = [
    ("EventData", "name", ..., _required("name", "EventData")),
    ("EventData", "name", "", _required("name", "EventData", actual="")),
    ("EventData", "properties", {"n": 1}, _wrong("properties", "EventData", "object of strings", "key 'n' has a int")),
    ("MessageData", "message", ..., _required("message", "MessageData")),
    ("MessageData", "severityLevel", "Loud", _wrong("severityLevel", "MessageData", "SeverityLevel", "Loud")),
    ("ExceptionData", "exceptions", ..., _required("exceptions", "ExceptionData", "ExceptionDetails")),
    ("ExceptionData", "exceptions", [], _required("exceptions", "ExceptionData", "ExceptionDetails", "[]")),
    ("ExceptionData", "exceptions.0.message", ..., _required("message", "ExceptionDetails")),
    ("ExceptionData", "exceptions.0.message", "", _required("message", "ExceptionDetails", actual="")),
    ("ExceptionData", "exceptions.0.parsedStack.0.method", ..., _required("method", "StackFrame")),
    ("MetricData", "metrics", ..., _required("metrics", "MetricData", "DataPoint")),
    ("MetricData", "metrics.0.name", ..., _required("name", "DataPoint")),
    ("MetricData", "metrics.0.name", 3440692220, _wrong("name", "DataPoint", "string", "3440692220")),
    ("MetricData", "metrics.0.value", ..., _required("value", "DataPoint", "double")),
    ("MetricData", "metrics.0.value", "3", _wrong("value", "DataPoint", "double", "3")),
    ("RequestData", "id", ..., _required("id", "RequestData")),
    ("RequestData", "duration", ..., _required("duration", "RequestData", "duration")),
    ("RequestData", "duration", "0:00:00:04.4786555", _duration("RequestData", "0:00:00:04.4786555")),
    ("RequestData", "responseCode", ..., _required("responseCode", "RequestData")),
    ("RequestData", "responseCode", 200, _wrong("responseCode", "RequestData", "string", "200")),
    ("RequestData", "success", ..., _required("success", "RequestData", "bool")),
    ("RequestData", "success", "true", _wrong("success", "RequestData", "bool", "true")),
    ("RemoteDependencyData", "name", ..., _required("name", "RemoteDependencyData")),
    ("RemoteDependencyData", "duration", ..., _required("duration", "RemoteDependencyData", "duration")),
    ("PageViewData", "id", ..., _required("id", "PageViewData")),
    ("PageViewData", "duration", "00:00:02.227.99999999988358", _duration("PageViewData", "00:00:02.227.99999999988358")),
    ("AvailabilityData", "success", ..., _required("success", "AvailabilityData", "bool")),
    ("AvailabilityData", "duration", "1000.00:00:00", _duration("AvailabilityData", "1000.00:00:00")),
    ("AvailabilityData", "ver", ..., _required("ver", "AvailabilityData", "int")),
]


@pytest.mark.parametrize("kind", TYPES)
def test_one_valid_item_of_every_type_is_accepted(emu, kind):
    item = valid(kind)
    response = client_for(emu).track([item])
    assert (response.items_received, response.items_accepted, response.errors) == (1, 1, [])
    assert [a["data"]["baseType"] for a in emu.accepted] == [kind]


@pytest.mark.parametrize(("kind", "path", "value", "message"), INVALID,
                         ids=[f"{k}-{p}-{'missing' if v is ... else repr(v)[:20]}" for k, p, v, _ in INVALID])
def test_invalid_items_are_rejected_with_the_services_message(emu, kind, path, value, message):
    with pytest.raises(HttpResponseError) as caught:
        client_for(emu).track([_with(valid(kind), path, value)])
    assert caught.value.status_code == 400
    assert caught.value.response.json()["errors"] == [{"index": 0, "statusCode": 400, "message": message}]
    assert emu.accepted == [] and len(emu.requests) == 1  # a 400 is never retried


def test_every_type_in_one_batch_with_bad_items_between_is_a_206(emu):
    batch = []
    for kind in TYPES:
        batch += [valid(kind), _with(valid(kind), "ver", 1)]
    response = client_for(emu).track(batch)
    assert (response.items_received, response.items_accepted) == (16, 8)
    assert [(e.index, e.status_code) for e in response.errors] == [(i, 400) for i in range(1, 16, 2)]
    assert [a["data"]["baseType"] for a in emu.accepted] == TYPES


def test_unknown_base_type_is_answered_as_the_service_does(emu):
    item = valid("PageViewData")
    item["data"]["baseType"] = "PageviewData"
    with pytest.raises(HttpResponseError) as caught:
        client_for(emu).track([item])
    assert caught.value.response.json()["errors"][0]["message"] == (
        "Unknown domain type 'Microsoft.ApplicationInsights.PageviewData'")


def test_an_event_three_days_old_is_rejected_for_its_age(emu):
    with pytest.raises(HttpResponseError) as caught:
        client_for(emu).track([valid("EventData", when=wall_now() - timedelta(days=3))])
    message = caught.value.response.json()["errors"][0]["message"]
    assert message.startswith("Field 'time' on type 'Envelope' is older than the allowed min date.")


def test_optional_fields_may_be_absent_and_numbers_may_name_enums(emu):
    lean = [
        _with(_with(valid("RemoteDependencyData"), "success"), "resultCode"),
        _with(valid("MessageData"), "severityLevel", 1),  # the JS SDKs send the enum's number
        _with(valid("MetricData"), "metrics.0.kind", 0),
        _with(valid("PageViewData"), "duration"),
        _with(valid("AvailabilityData"), "runLocation"),
    ]
    assert client_for(emu).track(lean).items_accepted == 5


# --- Scripted faults, seen through the client's retry policy (PROTOCOL.md, Response) ----------


def _statuses(emulator: Emulator) -> list:
    return [r.status if r.status is not None else r.outcome for r in emulator.requests]


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retried_until_accepted(emu, status):
    emu.script({"status": status, "retry_after": "1"})
    response = client_for(emu).track([valid("EventData")])
    assert response.items_accepted == 1
    assert _statuses(emu) == [status, 200]
    assert emu.requests[0].request_id == emu.requests[1].request_id  # the same request, sent again


@pytest.mark.parametrize("status", [400, 402, 404, 439])
def test_permanent_statuses_are_not_retried(emu, status):
    emu.script({"status": status})
    with pytest.raises(HttpResponseError) as caught:
        client_for(emu).track([valid("EventData")])
    assert caught.value.status_code == status
    assert _statuses(emu) == [status]


def test_206_reports_each_items_status_to_the_client(emu):
    emu.script({"status": 206, "fail_items": {"0": "sampled_out", "1": 429, "2": 400}})
    response = client_for(emu).track([valid(k) for k in ("EventData", "MessageData", "RequestData", "MetricData")])
    assert (response.items_received, response.items_accepted) == (4, 1)
    assert [(e.index, e.status_code, e.message) for e in response.errors] == [
        (0, 500, "Telemetry sampled out."), (1, 429, "Too Many Requests"), (2, 400, "Bad Request")]
    assert _statuses(emu) == [206]


def test_a_hung_post_times_out_and_the_client_leaves_the_retry_to_its_caller(emu):
    # azure-core never re-sends a POST that may have arrived; the exporter stores it offline instead.
    emu.script({"hang": 30})
    with pytest.raises(ServiceResponseError):
        client_for(emu, read_timeout=1).track([valid("EventData")])
    assert _statuses(emu) == ["hung"]
    assert client_for(emu).track([valid("EventData")]).items_accepted == 1


# --- The real exporter pipeline -----------------------------------------------------------


def _exporter_kwargs(emulator: Emulator, tmp_path) -> dict:
    return {"connection_string": emulator.connection_string, "storage_directory": str(tmp_path / "offline"),
            "storage_min_retry_interval": 0}


@pytest.fixture
def otel_logger(emu, tmp_path):
    """A LoggerProvider exporting through AzureMonitorLogExporter to the emulator, synchronously."""
    from azure.monitor.opentelemetry.exporter import AzureMonitorLogExporter
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    exporter = AzureMonitorLogExporter(**_exporter_kwargs(emu, tmp_path))
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    log = logging.getLogger(f"emulator-test-{id(provider)}")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(LoggingHandler(logger_provider=provider))
    yield log, exporter
    provider.shutdown()


def test_exporter_logs_arrive_as_messages_and_exceptions(emu, otel_logger):
    log, _ = otel_logger
    log.warning("disk almost full")
    try:
        raise ValueError("no such widget")
    except ValueError:
        log.exception("widget lookup failed")
    wait_until(lambda: len(emu.accepted) >= 2, 15, "two accepted log items")
    kinds = [(a["data"]["baseType"], a["data"]["baseData"].get("message")) for a in emu.accepted]
    assert kinds[0] == ("MessageData", "disk almost full")
    assert kinds[1][0] == "ExceptionData"
    (details,) = emu.accepted[1]["data"]["baseData"]["exceptions"]
    assert details["typeName"] == "ValueError" and "no such widget" in details["stack"]
    assert all(r.status == 200 for r in emu.requests)


def test_exporter_spans_arrive_as_requests_and_dependencies(emu, tmp_path):
    from azure.monitor.opentelemetry.exporter import AzureMonitorTraceExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(AzureMonitorTraceExporter(**_exporter_kwargs(emu, tmp_path))))
    tracer = provider.get_tracer("emulator-test")
    try:
        with tracer.start_as_current_span("GET /orders", kind=SpanKind.SERVER,
                                          attributes={"http.request.method": "GET", "http.response.status_code": 200}):
            with tracer.start_as_current_span("SELECT orders", kind=SpanKind.CLIENT,
                                              attributes={"db.system": "postgresql", "db.statement": "SELECT 1"}):
                pass
        wait_until(lambda: len(emu.accepted) >= 2, 15, "two accepted span items")
    finally:
        provider.shutdown()
    assert sorted(a["data"]["baseType"] for a in emu.accepted) == ["RemoteDependencyData", "RequestData"]
    assert all(r.status == 200 and not r.errors for r in emu.requests)


def test_exporter_keeps_items_offline_and_resends_them_when_the_emulator_is_back(emu, otel_logger, tmp_path):
    log, _ = otel_logger
    emu.stop()
    log.warning("written while the endpoint is down")
    offline = tmp_path / "offline"
    wait_until(lambda: any(offline.rglob("*.blob")), 30, "a blob in the exporter's offline storage")
    assert emu.accepted == []
    emu.start()
    log.warning("written after it came back")
    wait_until(lambda: len(emu.accepted) >= 2, 30, "the stored item re-sent after a successful export")
    assert [a["data"]["baseData"]["message"] for a in emu.accepted] == [
        "written after it came back", "written while the endpoint is down"]
    wait_until(lambda: not any(offline.rglob("*.blob")), 10, "the re-sent blob deleted")


def _messages(emulator: Emulator) -> list:
    return [a["data"]["baseData"]["message"] for a in emulator.accepted]


def _stored(tmp_path) -> bool:
    return any((tmp_path / "offline").rglob("*.blob"))


@pytest.mark.parametrize(("status", "kept"), [(400, False), (402, False), (404, False), (439, False),
                                              (401, True), (403, True)])
def test_exporter_keeps_for_later_only_what_protocol_md_calls_retriable(emu, otel_logger, tmp_path, status, kept):
    log, _ = otel_logger
    emu.script({"status": status})
    log.warning("refused")  # SimpleLogRecordProcessor: exported (and stored or dropped) before this returns
    assert _statuses(emu) == [status]
    assert _stored(tmp_path) is kept
    log.warning("accepted")
    expected = ["accepted", "refused"] if kept else ["accepted"]
    wait_until(lambda: _messages(emu) == expected, 30, f"accepted items {expected}")
    assert not _stored(tmp_path)


def test_exporter_stores_only_the_retriable_items_of_a_206(emu, otel_logger, tmp_path):
    log, _ = otel_logger
    emu.script({"status": 206, "fail_items": {"0": "sampled_out"}}, {"status": 206, "fail_items": {"0": 503}})
    log.warning("sampled out")
    assert not _stored(tmp_path)  # "Telemetry sampled out." counts as accepted
    log.warning("partly refused")
    assert _stored(tmp_path)
    log.warning("accepted")
    wait_until(lambda: _messages(emu) == ["accepted", "partly refused"], 30, "the 503 item re-sent")


def test_exporter_stores_a_batch_whose_connection_hung_and_resends_it(emu, otel_logger, tmp_path):
    log, _ = otel_logger
    emu.script({"hang": 1})
    log.warning("sent into a hang")  # the emulator closes it unanswered after 1 s
    assert _stored(tmp_path)
    log.warning("answered")
    wait_until(lambda: len(emu.accepted) == 2, 30, "the stored item re-sent after the next success")
    assert _statuses(emu) == ["hung", 200, 200]


def test_exporter_follows_a_redirect_and_keeps_the_new_host(emu, otel_logger):
    log, exporter = otel_logger
    with Emulator() as regional:
        emu.script({"status": 308, "location": regional.endpoint})
        log.warning("first")
        log.warning("second")
        wait_until(lambda: len(regional.accepted) == 2, 15, "both items at the redirected host")
        assert _statuses(emu) == [308]
        assert exporter.client._config.host == regional.endpoint


def test_record_notes_fields_the_service_would_store_truncated(tmp_path):
    record = tmp_path / "received.jsonl"
    long_event = _with(valid("EventData"), "properties", {"k" * 151: "v", "big": "x" * 8193})
    with Emulator(record=record) as emulator:
        assert client_for(emulator).track([long_event, valid("MessageData")]).items_accepted == 2
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert [line["status"] for line in lines] == [200, 200]
    assert len(lines[0]["truncated"]) == 2 and "over 150 chars" in lines[0]["truncated"][0]
    assert "truncated" not in lines[1]
