"""A message that makes a plugin raise is retried a few times, then dead-lettered with a
summary of the error; it neither blocks the messages behind it nor stops the worker."""

from __future__ import annotations

import json

from sqlalchemy import select

from hub.store.models import DeadLetter, Record
from tests.fixture_plugins import poison
from tests.helpers import wait_for


def test_poison_message_is_retried_then_dead_lettered_and_the_queue_goes_on(settings, agency, caplog):
    from hub.runtime import Hub, Workers

    hub = Hub(settings, extra_plugins=[poison])
    hub.declare_topology()
    poison.CALLS["poison"] = 0
    with Workers(hub) as workers:
        agency.publish("fixture", json.dumps({"no": "T-1"}).encode(), message_id="good-1")
        agency.publish("fixture", b'{"no": "POISON"}', message_id="poison-1")
        for i in range(2, 6):
            agency.publish("fixture", json.dumps({"no": f"T-{i}"}).encode(), message_id=f"good-{i}")
        wait_for(lambda: _count(hub, Record) == 5 and _count(hub, DeadLetter) == 1)
        assert all(t.is_alive() for t in workers.threads)  # the worker carries on
        agency.publish("fixture", json.dumps({"no": "T-after"}).encode(), message_id="good-after")
        wait_for(lambda: _count(hub, Record) == 6)
    assert poison.CALLS["poison"] == settings["pipeline"]["plugin_attempts"]  # bounded retries
    with hub.store.sessions() as session:
        dl = session.scalars(select(DeadLetter)).one()
    assert dl.message_id == "poison-1" and dl.rule == "plugin-error"
    assert "RuntimeError at poison.py" in dl.reason and "parse_message" in dl.reason
    assert "37010319821226234X" not in dl.reason and "37010319821226234X" not in caplog.text
    hub.shutdown()


def _count(hub, model):
    from sqlalchemy import func

    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model)).scalar()


def test_a_hub_error_on_a_parsed_item_is_dead_lettered_at_once_and_named_as_the_hubs(settings, monkeypatch, caplog):
    """The hub's own checks raising (a hub bug) is not the plugin's: the message is not
    parsed again (it would fail the same way), and the dead letter names the hub's code."""
    from hub.contract.types import NativeMessage
    from hub.messaging.pipeline import parse
    from hub.runtime import Hub

    hub = Hub(settings, extra_plugins=[poison])
    calls = []

    def broken(record):
        calls.append(record["source_ref"])
        raise TypeError("a bug in the hub, holding 37010319821226234X")

    monkeypatch.setattr(parse, "normalise_record", broken)  # (the parse stage validates)
    try:
        [outcome] = hub.pipeline.process([NativeMessage(agency="fixture", body=b'{"no": "T-hub"}',
                                                        message_id="hub-bug-1", content_type="application/json")])
    finally:
        hub.shutdown()
    assert outcome.status == "rejected" and calls == ["T-hub"]  # one attempt, not plugin_attempts
    [failure] = outcome.failures
    assert failure.rule == "hub-error" and failure.reason.startswith("hub error: TypeError at test_poison.py")
    assert "37010319821226234X" not in failure.reason and "37010319821226234X" not in caplog.text


def test_a_plugin_yielding_something_else_than_parsed_or_rejected_is_the_plugins_error(settings, monkeypatch):
    from hub.contract.types import NativeMessage
    from hub.runtime import Hub

    hub = Hub(settings, extra_plugins=[poison])
    adapter = hub.registry.get("fixture")
    monkeypatch.setattr(adapter, "parse", lambda message: [{"type": "police_receipt", "transfer_no": "T-1"}])
    try:
        [outcome] = hub.pipeline.process([NativeMessage(agency="fixture", body=b'{"no": "T-dict"}',
                                                        message_id="dict-1", content_type="application/json")])
    finally:
        hub.shutdown()
    [failure] = outcome.failures
    assert outcome.status == "rejected" and failure.rule == "plugin-error"
    assert "TypeError at parse.py" in failure.reason  # (the pipeline's parse stage)
