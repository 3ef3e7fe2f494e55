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


@pytest.mark.parametrize(
    "location, current, expected",
    [
        ("https://eu.example.com/v2.1/track", "https://dc.example.com/v2.1/track", "https://eu.example.com"),
        ("https://eu.example.com:8443/x?y=1", "https://dc.example.com/v2.1/track", "https://eu.example.com:8443"),
        ("http://eu.example.com/v2.1/track", "https://dc.example.com/v2.1/track", None),  # https -> http
        ("http://127.0.0.1:5/v2.1/track", "https://dc.example.com/v2.1/track", None),  # https -> http, even loopback
        ("http://127.0.0.1:5/v2.1/track", "http://127.0.0.1:4/v2.1/track", "http://127.0.0.1:5"),
        ("http://evil.example.com/", "http://127.0.0.1:4/v2.1/track", None),  # plain http off loopback
        ("ftp://127.0.0.1/", "http://127.0.0.1:4/v2.1/track", None),
        ("", "https://dc.example.com/v2.1/track", None),
        (None, "https://dc.example.com/v2.1/track", None),
        # scheme + host only: credentials in a Location are neither kept nor sent
        ("https://user:secret@eu.example.com/x", "https://dc.example.com/v2.1/track", "https://eu.example.com"),
        ("http://[::1]:5/", "http://127.0.0.1:4/v2.1/track", "http://[::1]:5"),
        ("https://" + "a" * 300 + ".example.com/", "https://dc.example.com/v2.1/track", None),  # not a host name
    ],
)
def test_redirect_targets(location, current, expected):
    assert redirect_endpoint(location, current) == expected


@pytest.mark.parametrize(
    "header, seconds",
    [("max-age=60", 60), ("public, max-age=3600", 3600), ('max-age="5"', 5), ("no-cache", 43200), (None, 43200),
     ("max-age=" + "9" * 40, 86400)],  # bounded: a day at most
)
def test_redirect_cache_lifetime(header, seconds):
    assert cache_seconds(header) == seconds


@responses.activate(registry=registries.OrderedRegistry)
def test_redirect_is_followed_with_the_track_path_reappended():
    responses.post(URL, status=307, headers={"Location": "http://127.0.0.2:9/elsewhere?q", "Cache-Control": "max-age=60"})
    responses.post("http://127.0.0.2:9/v2.1/track", json={"itemsReceived": 1, "itemsAccepted": 1, "errors": []})
    delivery = post_following_redirects(RequestsTransport(), ENDPOINT, b"x", {})
    assert delivery.result.status == 200
    assert delivery.endpoint == "http://127.0.0.2:9"
    assert delivery.redirected and delivery.cache_seconds == 60
    assert [c.request.url for c in responses.calls] == [URL, "http://127.0.0.2:9/v2.1/track"]


@responses.activate(registry=registries.OrderedRegistry)
def test_redirect_hop_limit():
    for hop in range(11):
        responses.post(f"http://127.0.0.{hop + 1}:9/v2.1/track", status=308,
                       headers={"Location": f"http://127.0.0.{hop + 2}:9/"})
    delivery = post_following_redirects(RequestsTransport(), "http://127.0.0.1:9", b"x", {})
    assert delivery.result.status == 308
    assert "more than 10 redirects" in delivery.refused
    assert len(responses.calls) == 11


@responses.activate
def test_https_to_http_redirect_is_refused():
    responses.post("https://dc.example.com/v2.1/track", status=308, headers={"Location": "http://dc.example.com/"})
    delivery = post_following_redirects(RequestsTransport(), "https://dc.example.com/", b"x", {})
    assert delivery.result.status == 308 and delivery.refused
    assert len(responses.calls) == 1
