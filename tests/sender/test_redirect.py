"""Redirects are followed and remembered only to Application Insights ingestion hosts (or loopback from loopback)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pytest
import responses
from responses import registries

from telemetry_sender.sender import redirect
from telemetry_sender.sender.transport import RequestsTransport
from telemetry_sender.spool.state import empty_state, format_time

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
PUBLIC = "https://westus3-1.in.applicationinsights.azure.com/"


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
    state["redirect"] = {"endpoint": endpoint, "origin": origin, "expires": format_time(NOW + timedelta(hours=1))}
    return state


def test_a_planted_redirect_is_discarded_with_a_log_line(caplog):
    with caplog.at_level(logging.WARNING, logger="telemetry_sender.sender.redirect"):
        assert redirect.cached_endpoint(_state_with("https://evil.example.com"), PUBLIC, NOW) == PUBLIC
    assert "discarded" in caplog.text and "evil.example.com" in caplog.text


def test_a_remembered_ingestion_redirect_is_used_until_it_expires():
    state = _state_with("https://eastus-8.in.applicationinsights.azure.com")
    assert redirect.cached_endpoint(state, PUBLIC, NOW) == "https://eastus-8.in.applicationinsights.azure.com"
    assert redirect.cached_endpoint(state, PUBLIC, NOW + timedelta(hours=2)) == PUBLIC
    assert redirect.cached_endpoint(state, "https://other.in.applicationinsights.azure.com/", NOW) != (
        "https://eastus-8.in.applicationinsights.azure.com")  # another configured endpoint starts fresh


@responses.activate(registry=registries.OrderedRegistry)
def test_the_service_cannot_redirect_elsewhere_and_nothing_is_remembered(caplog):
    responses.post(PUBLIC + "v2.1/track", status=308, headers={"Location": "https://collector.example.com/"})
    state = empty_state()
    with caplog.at_level(logging.WARNING, logger="telemetry_sender.sender.redirect"):
        delivery = redirect.deliver(RequestsTransport(), state, PUBLIC, b"x", {}, lambda: NOW)
    assert delivery.refused and "not an Application Insights ingestion host" in delivery.refused
    assert len(responses.calls) == 1 and state["redirect"] is None
    assert "collector.example.com" in caplog.text


@responses.activate(registry=registries.OrderedRegistry)
def test_deliver_follows_and_remembers_an_ingestion_redirect():
    regional = "https://eastus-8.in.applicationinsights.azure.com"
    responses.post(PUBLIC + "v2.1/track", status=307, headers={"Location": regional + "/", "Cache-Control": "max-age=60"})
    responses.post(regional + "/v2.1/track", json={"itemsReceived": 1, "itemsAccepted": 1, "errors": []})
    state = empty_state()
    delivery = redirect.deliver(RequestsTransport(), state, PUBLIC, b"x", {}, lambda: NOW)
    assert delivery.result.status == 200 and delivery.endpoint == regional
    assert state["redirect"] == {"endpoint": regional, "origin": PUBLIC,
                                 "expires": format_time(NOW + timedelta(seconds=60))}
