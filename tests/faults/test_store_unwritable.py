"""The embedded SQLite store cannot be written — another process holds its write lock, or
the disk is full — while messages arrive: the worker holds the batch unacknowledged and
backs off (retrying with a growing wait), nothing is lost, and once the store can be
written again every message is stored exactly once.

Two rounds per fault. In the first, the same worker rides the fault out: the lock is
released (or the space comes back) and it stores its held batch. In the second, the
worker is stopped while the fault lasts: every message must still be on the queue
(nothing was acknowledged), and a new worker stores them once the fault is gone.

The lock is a second ``sqlite3`` connection in ``BEGIN EXCLUSIVE``; the full disk is
``PRAGMA max_page_count`` pinned to the file's current size on the store's connections
(SQLite then fails writes with "database or disk is full", as on a full disk). The
store's busy timeout is cut from 30 s to 0.2 s on the store's connections so that a
lock fails fast instead of being waited out. The database is always SQLite here (it is
SQLite's faults); the broker is the embedded one or, with ``WAGEHUB_TEST_BROKER_URL``,
RabbitMQ.
"""

from __future__ import annotations

import copy
import logging
import os
import sqlite3
import time

import pytest
from kombu import Connection
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from hub.messaging.broker import in_queue
from hub.store.models import Inbox, Outbox, Record
from tests.helpers import AgencyClient, wait_for

RECEIPT = ('<?xml version="1.0" encoding="UTF-8"?><PACKET TYPE="AJJS" VERSION="1.0"><HEAD><XXBH>L{i}</XXBH>'
           '<FSDW>370103000000</FSDW><FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY><YSBH>YSLOCK{i:05d}</YSBH>'
           '<JSSJ>2023-06-21 09:30:00</JSSJ></BODY></PACKET>')
N = 30  # messages per round
HELD = "held, retrying"


class Fault:
    """Makes the store unwritable (``on``) and writable again (``off``)."""

    def __init__(self, kind: str, db_path: str):
        self.kind, self.db_path = kind, db_path
        self.max_pages: int | None = None
        self.locker: sqlite3.Connection | None = None

    def attach(self, hub) -> None:
        """The store's own connections: fail fast on a lock, and honour the page limit."""

        @event.listens_for(hub.store.engine, "connect")
        def _limits(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.execute("PRAGMA busy_timeout = 200")
            if self.max_pages is not None:
                dbapi_conn.execute(f"PRAGMA max_page_count = {self.max_pages}")

        hub.store.engine.dispose()  # connections made before this get the limits too

    def on(self, hub) -> None:
        if self.kind == "locked":
            self.locker = sqlite3.connect(self.db_path, isolation_level=None)
            self.locker.execute("BEGIN EXCLUSIVE")
        else:
            with sqlite3.connect(self.db_path, isolation_level=None) as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                db.execute("VACUUM")  # no free pages left to take: the next write needs a new one
                self.max_pages = db.execute("PRAGMA page_count").fetchone()[0]
            hub.store.engine.dispose()

    def probe(self, hub) -> str:
        """What a write through the store's own engine meets now."""
        from sqlalchemy.exc import OperationalError

        try:
            with hub.store.engine.begin() as conn:
                conn.exec_driver_sql("CREATE TABLE fault_probe (x BLOB)")
                conn.exec_driver_sql("INSERT INTO fault_probe VALUES (zeroblob(65536))")
                conn.exec_driver_sql("DROP TABLE fault_probe")
        except OperationalError as exc:
            return str(exc.orig)
        return "written"

    def off(self, hub) -> None:
        if self.locker is not None:
            self.locker.execute("ROLLBACK")
            self.locker.close()
            self.locker = None
        self.max_pages = None
        hub.store.engine.dispose()  # the pooled connections drop their page limit


def count(hub, model, *where):
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def on_queue(conn: Connection, settings) -> int:
    """Messages ready on ``wagehub.in.police`` (none held by a consumer)."""
    channel = conn.channel()
    try:
        return in_queue(conn, "police", settings).bind(channel).queue_declare(passive=True).message_count
    finally:
        channel.close()


def held(caplog) -> int:
    return sum(1 for r in caplog.records if r.name == "hub.messaging.worker" and HELD in r.getMessage())


def publish(agency: AgencyClient, start: int) -> None:
    for i in range(start, start + N):
        agency.publish("police", RECEIPT.format(i=i).encode(), message_id=f"unwritable-{i}",
                       content_type="application/xml")


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["locked", "full"])
def test_an_unwritable_sqlite_store_makes_the_worker_back_off_without_acking(settings, kind, caplog):
    from hub.runtime import Hub, Workers

    caplog.set_level(logging.WARNING, logger="hub.messaging.worker")
    settings = copy.deepcopy(settings)
    settings["hub"]["database_url"] = f"sqlite:///{os.path.join(settings['hub']['var_dir'], 'store.sqlite3')}"
    db_path = make_url(settings["hub"]["database_url"]).database
    fault = Fault(kind, db_path)
    url = settings["hub"]["broker_url"]
    direct = Connection(url, **({"transport": "hub.messaging.embedded:Transport"} if url.startswith("embedded:") else {}))
    agency = AgencyClient(direct, settings)

    def new_workers():
        hub = Hub(settings)
        hub.declare_topology()
        fault.attach(hub)
        workers = Workers(hub)
        workers.start()
        wait_for(lambda: "police" in workers.consuming, timeout=20)
        return hub, workers

    hub, workers = new_workers()
    try:
        # Round 1: the worker rides the fault out.
        fault.on(hub)
        assert fault.probe(hub) == {"locked": "database is locked", "full": "database or disk is full"}[kind]
        publish(agency, 0)
        wait_for(lambda: held(caplog) >= 5, timeout=30)  # backing off: 0.2 s, 0.4 s, 0.8 s, 1.6 s, ...
        assert all(t.is_alive() for t in workers.threads)
        fault.off(hub)
        wait_for(lambda: count(hub, Inbox) == N and count(hub, Outbox, Outbox.status == "pending") == 0, timeout=60)
        assert count(hub, Record) == N

        # Round 2: the worker is stopped while the fault lasts; nothing was acknowledged.
        fault.on(hub)
        before = held(caplog)
        publish(agency, N)
        wait_for(lambda: held(caplog) >= before + 2, timeout=30)
        started = time.monotonic()
        workers.stop()
        assert time.monotonic() - started < 15  # a backing-off worker still stops promptly
        # Every message of the held batch is back on the queue (RabbitMQ requeues a closed
        # consumer's messages a moment after the close).
        wait_for(lambda: on_queue(direct, settings) == N, timeout=15)
        fault.off(hub)
        hub, workers = new_workers()
        wait_for(lambda: count(hub, Inbox) == 2 * N and count(hub, Outbox, Outbox.status == "pending") == 0,
                 timeout=60)
        assert on_queue(direct, settings) == 0
    finally:
        fault.off(hub)
        workers.stop()
        direct.release()
    assert count(hub, Record) == 2 * N  # stored exactly once
    with hub.store.sessions() as session:
        assert session.execute(select(func.count(func.distinct(Record.message_id)))).scalar() == 2 * N
    assert count(hub, Outbox, Outbox.status == "sent") == count(hub, Outbox) == 2 * N
    hub.store.dispose()
    print(f"\nstore {kind}: backed off {held(caplog)} time(s) without acking; {2 * N} messages stored once each")
