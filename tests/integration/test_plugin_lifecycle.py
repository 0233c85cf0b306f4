"""Every process that uses an adapter starts it first: the API parses a posted message
with an adapter whose ``on_startup`` has run, though no worker runs there; disabling the
plugin shuts it down, enabling it again starts it at its next use, and the hub stopping
shuts down only what it started."""

from __future__ import annotations

import json

import pytest

from tests.fixture_plugins import lifecycle


@pytest.fixture
def lifecycle_hub(settings):
    from hub.runtime import Hub

    lifecycle.EVENTS.clear()
    h = Hub(settings, extra_plugins=[lifecycle])
    yield h
    h.shutdown()


def post(client, headers, number: str):
    return client.post("/api/v1/inbound/lifecycle", data=json.dumps({"no": number}).encode(),
                       headers={**headers, "message_id": f"m-{number}", "Content-Type": "application/json"})


def test_the_api_starts_the_adapter_before_it_parses_and_disabling_shuts_it_down(lifecycle_hub):
    from hub.web.app import create_app
    from hub.web.auth import create_token

    client = create_app(hub=lifecycle_hub).test_client()
    headers = {"Authorization": f"Bearer {create_token(lifecycle_hub.store, 'agency:lifecycle')}"}
    assert lifecycle.EVENTS == []  # nothing started before it is used
    first = post(client, headers, "T-1")
    assert first.status_code == 202, first.json
    assert post(client, headers, "T-2").status_code == 202
    assert lifecycle.EVENTS == ["startup", "parse", "parse"]

    lifecycle_hub.set_plugin_enabled("lifecycle", False, actor="test")
    assert lifecycle.EVENTS[-1] == "shutdown"
    lifecycle_hub.set_plugin_enabled("lifecycle", True, actor="test")
    assert post(client, headers, "T-3").status_code == 202
    assert lifecycle.EVENTS == ["startup", "parse", "parse", "shutdown", "startup", "parse"]

    lifecycle_hub.shutdown()
    assert lifecycle.EVENTS[-1] == "shutdown"
    lifecycle_hub.shutdown()  # (the fixture's) shuts down nothing twice
    assert lifecycle.EVENTS.count("shutdown") == 2


def test_a_started_hub_starts_its_adapters_at_once_and_each_as_it_is_enabled(lifecycle_hub):
    lifecycle_hub.startup()  # a worker process, before it consumes
    assert lifecycle.EVENTS == ["startup"]
    lifecycle_hub.set_plugin_enabled("lifecycle", False, actor="test")
    lifecycle_hub.set_plugin_enabled("lifecycle", True, actor="test")
    assert lifecycle.EVENTS == ["startup", "shutdown", "startup"]


def test_a_disabled_plugin_is_not_started_by_a_started_hub(settings, lifecycle_hub):
    lifecycle_hub.set_plugin_enabled("lifecycle", False, actor="test")
    lifecycle_hub.startup()
    assert lifecycle.EVENTS == []
