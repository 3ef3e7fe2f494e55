"""The network seam and redirect policy, against `responses` (no sockets)."""

from __future__ import annotations

import gzip
import json

import pytest
import requests
import responses
from responses import registries

from telemetry_sender.sender import batch
from telemetry_sender.sender.redirect import cache_seconds, post_following_redirects, redirect_endpoint
from telemetry_sender.sender.transport import (
    ERROR_CONNECT,
    ERROR_CONNECT_TIMEOUT,
    ERROR_OTHER,
    ERROR_PROXY,
    ERROR_READ_TIMEOUT,
    ERROR_TLS,
    RequestsTransport,
)

ENDPOINT = "http://127.0.0.1:9"
URL = ENDPOINT + "/v2.1/track"


@responses.activate
def test_post_sends_gzip_body_and_headers_and_returns_a_value():
    responses.post(URL, json={"itemsReceived": 1, "itemsAccepted": 1, "errors": []})
    body = batch.encode_body([b'{"a":1}'])
    result = RequestsTransport().post(URL, body, batch.request_headers("rid-1", "1.2.3"))
    assert result.status == 200 and result.error is None
    assert json.loads(result.body)["itemsAccepted"] == 1
    sent = responses.calls[0].request
    assert json.loads(gzip.decompress(sent.body)) == [{"a": 1}]
    assert sent.headers["Content-Encoding"] == "gzip"
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["x-ms-client-request-id"] == "rid-1"
    assert sent.headers["User-Agent"].endswith("/1.2.3")


@responses.activate
def test_redirects_are_not_followed_by_requests():
    responses.post(URL, status=308, headers={"Location": "http://127.0.0.2:9/v2.1/track"})
    result = RequestsTransport().post(URL, b"x", {})
    assert result.status == 308
    assert result.header("location") == "http://127.0.0.2:9/v2.1/track"
    assert len(responses.calls) == 1


@pytest.mark.parametrize(
    "exc, kind",
    [
        (requests.exceptions.ConnectionError("refused"), ERROR_CONNECT),
        (requests.exceptions.ConnectTimeout("slow"), ERROR_CONNECT_TIMEOUT),
        (requests.exceptions.ReadTimeout("slow"), ERROR_READ_TIMEOUT),
        (requests.exceptions.SSLError("bad cert"), ERROR_TLS),
        (requests.exceptions.ProxyError("proxy"), ERROR_PROXY),
        (requests.exceptions.ChunkedEncodingError("cut"), ERROR_OTHER),
        (RuntimeError("anything"), ERROR_OTHER),
    ],
)
@responses.activate
def test_network_errors_become_values_never_exceptions(exc, kind):
    responses.post(URL, body=exc)
    result = RequestsTransport().post(URL, b"x", {})
    assert result.status is None
    assert result.error == kind


def test_proxy_and_ca_bundle_come_from_the_environment(monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    transport = RequestsTransport()
    settings = transport._session.merge_environment_settings("https://example.invalid/v2.1/track", {}, None, None, None)
    assert settings["proxies"]["https"] == "http://127.0.0.1:3128"
    assert settings["verify"] == str(bundle)


def test_timeout_is_shortened_by_the_remaining_lifetime():
    seen = {}

    class Session:
        def post(self, url, **kwargs):
            seen.update(kwargs)
            raise requests.exceptions.ConnectTimeout("x")

    transport = RequestsTransport(connect_timeout=5, read_timeout=10)
    transport._session = Session()
    assert transport.post(URL, b"", {}, timeout=2.0).error == ERROR_CONNECT_TIMEOUT
    assert seen["timeout"] == (2.0, 2.0)
    assert seen["allow_redirects"] is False
