"""Redirects are followed and remembered only to Application Insights ingestion hosts (or loopback from loopback)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
import responses
from responses import registries

from helpers import FIXED_NOW
from telemetry_sender.sender import redirect
from telemetry_sender.sender.redirect import cache_seconds, post_following_redirects, redirect_endpoint, track_url
from telemetry_sender.sender.transport import RequestsTransport
from telemetry_sender.spool.state import empty_state, format_time

PUBLIC = "https://westus3-1.in.applicationinsights.azure.com/"
ENDPOINT = "http://127.0.0.1:9"
URL = ENDPOINT + "/v2.1/track"


@pytest.mark.parametrize("target, configured, allowed", [
    ("https://eastus-8.in.applicationinsights.azure.com", PUBLIC, True),
    ("https://chinaeast2-0.in.applicationinsights.azure.cn", PUBLIC, True),
    ("https://usgovvirginia-1.in.applicationinsights.us", PUBLIC, True),
    ("https://dc.services.visualstudio.com", PUBLIC, True),  # the legacy global host
    ("https://evil.example.com", PUBLIC, False),
    ("https://evilapplicationinsights.azure.com", PUBLIC, False),  # a suffix, not a substring
    ("https://applicationinsights.azure.com.evil.example", PUBLIC, False),
    ("http://eastus-8.in.applicationinsights.azure.com", PUBLIC, False),  # https only
    ("http://127.0.0.1:9", PUBLIC, False),  # loopback only from a loopback endpoint
    ("http://127.0.0.2:9", "http://127.0.0.1:8787", True),
    ("http://[::1]:9", "http://localhost:8787", True),
    ("https://evil.example.com", "http://127.0.0.1:8787", False),
])
def test_allowed_targets(target, configured, allowed):
    assert redirect.allowed_target(target, configured) is allowed


def _state_with(endpoint: str, origin: str = PUBLIC) -> dict:
    state = empty_state()
    state["redirect"] = {"endpoint": endpoint, "origin": origin, "expires": format_time(FIXED_NOW + timedelta(hours=1))}
    return state


def test_a_planted_redirect_is_discarded_with_a_log_line(caplog):
    with caplog.at_level(logging.WARNING, logger="telemetry_sender.sender.redirect"):
        assert redirect.cached_endpoint(_state_with("https://evil.example.com"), PUBLIC, FIXED_NOW) == PUBLIC
    assert "discarded" in caplog.text and "evil.example.com" in caplog.text


def test_a_remembered_ingestion_redirect_is_used_until_it_expires():
    state = _state_with("https://eastus-8.in.applicationinsights.azure.com")
    assert redirect.cached_endpoint(state, PUBLIC, FIXED_NOW) == "https://eastus-8.in.applicationinsights.azure.com"
    assert redirect.cached_endpoint(state, PUBLIC, FIXED_NOW + timedelta(hours=2)) == PUBLIC
    assert redirect.cached_endpoint(state, "https://other.in.applicationinsights.azure.com/", FIXED_NOW) != (
        "https://eastus-8.in.applicationinsights.azure.com")  # another configured endpoint starts fresh


@responses.activate(registry=registries.OrderedRegistry)
def test_the_service_cannot_redirect_elsewhere_and_nothing_is_remembered(caplog):
    responses.post(PUBLIC + "v2.1/track", status=308, headers={"Location": "https://collector.example.com/"})
    state = empty_state()
    with caplog.at_level(logging.WARNING, logger="telemetry_sender.sender.redirect"):
        delivery = redirect.deliver(RequestsTransport(), state, PUBLIC, b"x", {}, lambda: FIXED_NOW)
    assert delivery.refused and "not an Application Insights ingestion host" in delivery.refused
    assert len(responses.calls) == 1 and state["redirect"] is None
    assert "collector.example.com" in caplog.text


@responses.activate(registry=registries.OrderedRegistry)
def test_deliver_follows_and_remembers_an_ingestion_redirect():
    regional = "https://eastus-8.in.applicationinsights.azure.com"
    responses.post(PUBLIC + "v2.1/track", status=307, headers={"Location": regional + "/", "Cache-Control": "max-age=60"})
    responses.post(regional + "/v2.1/track", json={"itemsReceived": 1, "itemsAccepted": 1, "errors": []})
    state = empty_state()
    delivery = redirect.deliver(RequestsTransport(), state, PUBLIC, b"x", {}, lambda: FIXED_NOW)
    assert delivery.result.status == 200 and delivery.endpoint == regional
    assert state["redirect"] == {"endpoint": regional, "origin": PUBLIC,
                                 "expires": format_time(FIXED_NOW + timedelta(seconds=60))}


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


@pytest.mark.parametrize(
    "endpoint, url",
    [
        ("https://x.example", "https://x.example/v2.1/track"),
        ("https://x.example/", "https://x.example/v2.1/track"),
        ("http://127.0.0.1:5/prefix/", "http://127.0.0.1:5/prefix/v2.1/track"),
    ],
)
def test_track_url_strips_one_trailing_slash(endpoint, url):
    assert track_url(endpoint) == url
