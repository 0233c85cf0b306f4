"""The API under several server processes (``gunicorn -w N 'hub.web.app:create_app()'``): each
worker builds its own hub on start-up, and they share state only through the database."""

from __future__ import annotations

import multiprocessing

import pytest

from tests.helpers import sample


def test_a_plugin_disabled_through_one_worker_is_disabled_for_the_others(hub, settings, token, monkeypatch):
    from hub.runtime import Hub
    from hub.web.api import inbound
    from hub.web.app import create_app

    monkeypatch.setattr(inbound, "PLUGIN_STATE_TTL", 0.0)  # each request reads the stored state again
    other = Hub(settings)
    try:
        first, second = create_app(hub=hub).test_client(), create_app(hub=other).test_client()
        hrss, admin = token("agency:hrss"), token("admin")

        def post(client, message_id):
            return client.post("/api/v1/inbound/hrss", data=sample("hrss-clue.json"),
                               headers={**hrss, "Message-Id": message_id, "Content-Type": "application/json"})

        assert post(second, "w-1").json["status"] == "accepted"
        assert first.post("/api/v1/plugins/hrss/disable", headers=admin).status_code == 200
        held = post(second, "w-2")  # disabled: it waits in the agency's queue, as its queue's messages do
        assert held.status_code == 202 and held.json["status"] == "queued"
        assert first.post("/api/v1/plugins/hrss/enable", headers=admin).status_code == 200
        assert post(second, "w-3").json["status"] == "accepted"
    finally:
        other.shutdown()


@pytest.mark.empty_database
def test_workers_starting_together_migrate_an_empty_database_once(settings):
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from hub.store import Store

    url = settings["hub"]["database_url"]  # empty: nothing has migrated it yet
    # Processes, as gunicorn's workers are, forked from a server that has imported the hub once.
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["hub.web.app"])
    workers = [ctx.Process(target=migrate, args=(url,)) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert [w.exitcode for w in workers] == [0] * len(workers)
    store = Store(url)
    try:
        head = ScriptDirectory.from_config(store.alembic_config()).get_current_head()
        with store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head
    finally:
        store.dispose()


def migrate(url: str) -> None:
    """What each of gunicorn's workers does first (``create_app`` builds a hub, whose store
    brings the schema to head), without the rest of the start-up, so they collide."""
    from hub.store import Store

    store = Store(url)
    try:
        store.ensure_schema()
    finally:
        store.dispose()


def test_a_message_queued_before_any_worker_ran_is_applied_once_one_runs(settings):
    """A 202 "queued" is a promise: the queue is declared before the publish, so on a broker
    no worker has set up yet the message is not routed nowhere."""
    from hub.runtime import Hub, Workers
    from hub.store.models import Record
    from hub.web.app import create_app
    from hub.web.auth import create_token
    from tests.helpers import count_rows, wait_for

    h = Hub(settings)  # (no topology declared: as gunicorn's app starts)
    try:
        client = create_app(hub=h).test_client()
        admin = {"Authorization": f"Bearer {create_token(h.store, 'admin')}"}
        assert client.post("/api/v1/plugins/hrss/disable", headers=admin).status_code == 200
        held = client.post("/api/v1/inbound/hrss", data=sample("hrss-clue.json"),
                           headers={**admin, "Message-Id": "queued-1", "Content-Type": "application/json"})
        assert held.status_code == 202 and held.json["status"] == "queued"
        assert client.post("/api/v1/plugins/hrss/enable", headers=admin).status_code == 200
        with Workers(h):
            wait_for(lambda: count_rows(h, Record) == 1, timeout=30)
    finally:
        h.shutdown()
