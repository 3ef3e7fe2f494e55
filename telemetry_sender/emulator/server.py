"""A local ingestion endpoint that behaves like Application Insights (127.0.0.1 only, stdlib only).

Validates every item with `emulator.rules`, answers with the service's statuses and body;
a script of rules makes it throttle, fail, redirect, hang or drop. `command_emulate` is
`python -m telemetry_sender emulate`; what it prints is `emulator.display`.
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Mapping, Union
from urllib.parse import urlsplit

from telemetry_sender.emulator import rules, schema
from telemetry_sender import protocol
from telemetry_sender.emulator.display import format_answer, format_event, summary
from telemetry_sender.emulator.records import Headers, RequestRecord
from telemetry_sender.emulator.rules import BodyError, DecodedBody, Rule
from telemetry_sender.spool.state import format_time

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
IDLE_CONNECTION_SECONDS = 30  # a kept-alive connection with no request for this long is closed
RuleLike = Union[Rule, Mapping[str, Any]]


@dataclass(frozen=True)
class Answer:
    """What to do with one request: an HTTP answer, or close the connection without one."""

    status: int | None
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    hang: float | None = None  # hold the connection this long, then close it unanswered
    delay: float | None = None  # wait this long, then answer

    @property
    def drop(self) -> bool:
        return self.status is None


# --- HTTP shell -----------------------------------------------------------------------------


class _Unreadable(Exception):
    """A request whose body cannot even be read (no length, malformed framing, too big)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # come back on the same port right after stop()

    def __init__(self, address: tuple[str, int], emulator: "Emulator") -> None:
        self.emulator = emulator
        self.stopping = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def close_connections(self) -> None:
        """Cut every open connection, so kept-alive clients see the outage too."""
        with self.connections_lock:
            open_now = list(self.connections)
        for conn in open_now:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "telemetry-emulator"
    sys_version = ""
    timeout = IDLE_CONNECTION_SECONDS
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms Nagle stalls
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # the base class's name
        logger.debug("%s " + format, self.address_string(), *args)

    def _read_chunks(self) -> bytes:
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            total += size
            if total > rules.MAX_BODY_BYTES:
                raise _Unreadable(413, f"body exceeds {rules.MAX_BODY_BYTES} bytes")
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _read_body(self) -> bytes:
        """The request body, by Content-Length or chunked; _Unreadable when missing, malformed or too big."""
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._read_chunks()
            length = int(self.headers.get("Content-Length", "-1"))
        except ValueError:
            raise _Unreadable(400, "malformed Content-Length or chunk size") from None
        if length < 0:
            raise _Unreadable(411, "a Content-Length or chunked body is required")
        if length > rules.MAX_BODY_BYTES:
            raise _Unreadable(413, f"body exceeds {rules.MAX_BODY_BYTES} bytes")
        return self.rfile.read(length)

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # http.server's naming
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
        except _Unreadable as exc:
            self.close_connection = True
            self._send(exc.status, json.dumps({"error": exc.message}).encode(), {})
            return
        emulator = self.server.emulator
        answer = emulator.handle(path, Headers(self.headers.items()), body)
        if answer.delay:
            self.server.stopping.wait(answer.delay)
        if answer.hang is not None:
            self.server.stopping.wait(answer.hang)
        if answer.drop or self.server.stopping.is_set():
            self.close_connection = True
            return
        self._send(answer.status, answer.body, answer.headers)

    def _not_found(self) -> None:
        self.close_connection = True
        self._send(404, b'{"error":"not found: POST /v2.1/track or /v2/track"}', {})

    do_GET = do_PUT = do_DELETE = do_PATCH = _not_found


# --- The emulator ---------------------------------------------------------------------------


class Emulator:  # pylint: disable=too-many-instance-attributes  # the server, its script, its records and its lifecycle
    """A loopback ingestion endpoint with the service's semantics; scriptable; thread-safe."""

    def __init__(
        self,
        port: int = 0,
        script: Iterable[RuleLike] | None = None,
        ikey: str | None = None,
        record: str | Path | None = None,
        quiet: bool = True,
        *,
        show_events: bool | None = None,
        out: IO[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._port = port
        self._ikey = ikey
        self._record_path = Path(record) if record is not None else None
        self._record_file: IO[str] | None = None
        self._print = not quiet
        self._show_events = self._print if show_events is None else show_events
        self._out = out
        self._clock = clock
        self._cond = threading.Condition(threading.Lock())
        self._script: collections.deque[list[Any]] = collections.deque()
        self._accepted: list[dict[str, Any]] = []
        self._requests: list[RequestRecord] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        if script:
            self.script(*script)

    # Lifecycle

    def start(self) -> "Emulator":
        """Listen (again) on 127.0.0.1; after the first start the port stays the same."""
        with self._lifecycle:
            if self._server is not None:
                return self
            if self._record_path is not None and self._record_file is None:
                self._record_file = open(self._record_path, "a", encoding="utf-8")  # pylint: disable=consider-using-with  # open until stop()
            server = _Server((HOST, self._port), self)
            self._port = server.server_address[1]
            thread = threading.Thread(
                target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="telemetry-emulator", daemon=True
            )
            thread.start()
            self._server, self._thread = server, thread
            logger.debug("emulator listening on %s", self.endpoint)
            return self

    def stop(self) -> None:
        """Go down: stop accepting, release hanging requests, cut open connections, free the port."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            if server is None:
                return
            self._server = self._thread = None
            server.stopping.set()
            server.shutdown()
            server.close_connections()
            server.server_close()
            if thread is not None:
                thread.join(timeout=5)

    def close(self) -> None:
        """Stop and close the record file."""
        self.stop()
        with self._cond:
            if self._record_file is not None:
                self._record_file.close()
                self._record_file = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Addresses

    @property
    def port(self) -> int:
        return self._port

    @property
    def endpoint(self) -> str:
        """The ingestion endpoint, e.g. http://127.0.0.1:8787 (no trailing slash)."""
        return f"http://{HOST}:{self._port}"

    @property
    def track_url(self) -> str:
        return self.endpoint + protocol.TRACK_PATH

    @property
    def ikey(self) -> str:
        """The key this emulator's connection string names (any key is accepted unless one was given)."""
        return self._ikey or rules.DEFAULT_IKEY

    @property
    def connection_string(self) -> str:
        return f"InstrumentationKey={self.ikey};IngestionEndpoint={self.endpoint}/"

    # Observations

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """The accepted envelopes, in arrival order (a copy)."""
        with self._cond:
            return list(self._accepted)

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received, in arrival order (a copy)."""
        with self._cond:
            return list(self._requests)

    def wait_for_accepted(self, n: int, timeout: float = 10.0) -> bool:
        """Block until at least n envelopes were accepted or the timeout passes; True when they were."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._accepted) >= n, timeout)

    def wait_for_requests(self, n: int, timeout: float = 10.0) -> bool:
        """Block until at least n requests were handled (answered, dropped or hung) or the timeout passes."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self._requests) >= n, timeout)

    def reset(self) -> None:
        """Forget what was accepted and requested, and any pending script."""
        with self._cond:
            self._accepted.clear()
            self._requests.clear()
            self._script.clear()

    # Scripting

    def script(self, *rule_list: RuleLike) -> None:
        """Queue scripted answers; each is consumed by one track request (`repeat` times), in order."""
        parsed = [rule if isinstance(rule, Rule) else rules.parse_rule(rule) for rule in rule_list]
        with self._cond:
            self._script.extend([rule, rule.repeat] for rule in parsed)

    @property
    def pending_rules(self) -> int:
        """How many scripted answers are still queued (counting repeats)."""
        with self._cond:
            return sum(remaining for _, remaining in self._script)

    def _next_rule(self) -> Rule | None:
        with self._cond:
            if not self._script:
                return None
            entry = self._script[0]
            entry[1] -= 1
            if entry[1] <= 0:
                self._script.popleft()
            return entry[0]

    # Request handling (called from the server's threads)

    def handle(self, path: str, headers: Headers, raw: bytes) -> Answer:
        """Decide the answer to one POST, and record what arrived."""
        now = self._clock()
        if path not in rules.TRACK_PATHS:
            self._record(RequestRecord(path, 404, 0, 0, headers, body_bytes=len(raw), received_at=now), [], None)
            return Answer(404, b'{"error":"not found: POST /v2.1/track or /v2/track"}')
        rule = self._next_rule()
        try:
            body: DecodedBody | None = rules.decode_body(raw, headers.get("content-encoding"))
            problem = None
        except BodyError as exc:
            body, problem = None, str(exc)
        answer = rules.judge(body, problem, rule, now=now, ikey=self._ikey, path=path)
        items = body.items if body is not None else []
        if answer.status is None or answer.status >= 300:
            accepted: list[Any] = []
        else:
            failed = {e.index for e in answer.errors}
            accepted = [item for i, item in enumerate(items) if i not in failed] if failed else items
        if answer.status is not None:
            outcome = "answered"
        else:
            outcome = "hung" if rule is not None and rule.hang is not None else "dropped"
        record = RequestRecord(
            path, answer.status, len(items), len(accepted), headers,
            errors=answer.errors, rule=rule, outcome=outcome, body_bytes=len(raw), received_at=now,
        )  # fmt: skip
        self._record(record, items, accepted)
        if answer.status is None:
            return Answer(None, hang=rule.hang if rule is not None else None)
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        return Answer(answer.status, payload, answer.headers, delay=rule.delay if rule is not None else None)

    def _record(self, record: RequestRecord, items: list[Any], accepted: list[Any] | None) -> None:
        with self._cond:
            if accepted:
                self._accepted.extend(accepted)
            self._requests.append(record)
            self._cond.notify_all()
            if self._record_file is not None:
                self._write_record(record, items)
            if self._print:
                self._show(record, accepted or [])

    def _write_record(self, record: RequestRecord, items: list[Any]) -> None:
        assert self._record_file is not None
        received = format_time(datetime.fromtimestamp(record.received_at, timezone.utc))
        common = {"received_at": received, "path": record.path, "request_id": record.request_id}
        by_index = {e.index: e for e in record.errors}
        lines = []
        if not items:
            message = record.errors[0].message if record.errors else record.outcome
            lines.append({**common, "index": None, "status": record.status, "message": message, "item": None})
        for index, item in enumerate(items):
            error = by_index.get(index)
            if record.status is None:
                status, message = None, f"{record.outcome} (connection closed unanswered)"
            elif error is not None:
                status, message = error.status, error.message
            else:
                status, message = (record.status if record.status >= 300 else 200), None
            line = {**common, "index": index, "status": status, "message": message, "item": item}
            cut = schema.truncations(item) if status == 200 else []
            lines.append({**line, "truncated": cut} if cut else line)
        self._record_file.write("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
        self._record_file.flush()

    def _show(self, record: RequestRecord, accepted: list[Any]) -> None:
        out = self._out or sys.stdout
        lines = [format_event(item) for item in accepted] if self._show_events else []
        if record.status != 200 or record.rule is not None:
            lines.append(format_answer(record))
        if lines:
            out.write("".join(line + "\n" for line in lines))
            out.flush()


# --- Command line ---------------------------------------------------------------------------


def load_script(path: str | Path) -> tuple[Rule, ...]:
    """The rules of a `--script FILE` (a JSON list of rule objects)."""
    with open(path, encoding="utf-8") as handle:
        return rules.parse_script(json.load(handle))


# pylint: disable-next=unused-argument  # every cli command takes the layout; the emulator has none
def command_emulate(args: argparse.Namespace, layout: object = None) -> int:
    """`python -m telemetry_sender emulate`: serve until SIGINT/SIGTERM, printing what arrives."""
    try:
        script = load_script(args.script) if args.script else ()
    except (OSError, ValueError) as exc:
        print(f"emulate: cannot use script {args.script}: {exc}", file=sys.stderr)
        return 2
    emulator = Emulator(
        port=args.port, script=script, ikey=args.ikey, record=args.record, quiet=False, show_events=not args.quiet
    )
    try:
        emulator.start()
    except OSError as exc:
        print(f"emulate: cannot listen on {HOST}:{args.port}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"listening on {emulator.endpoint}", flush=True)
        print(f"connection string: {emulator.connection_string}", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        emulator.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print(summary(emulator.requests), flush=True)
    return 0
