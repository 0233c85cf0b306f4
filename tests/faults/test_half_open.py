"""A half-open connection to RabbitMQ: the TCP path to the broker silently stops passing
bytes (no FIN, no RST — a dead NAT entry, a pulled cable). AMQP heartbeats must tear the
connection down and the worker must reconnect and go on consuming and publishing; no
thread may hang on the dead socket.

The hub talks to RabbitMQ through a small loopback TCP proxy that the test can freeze:
every connection open at that moment stops forwarding in both directions and is never
closed; connections made afterwards pass.

A worker busy backing off (its store locked) must keep its consumer connection alive with
heartbeats meanwhile, or RabbitMQ drops it and redelivers the held batch.

Both run only against RabbitMQ (``WAGEHUB_TEST_BROKER_URL=amqp://...``).
"""

from __future__ import annotations

import copy
import select
import socket
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
from kombu import Connection
from sqlalchemy import func
from sqlalchemy import select as sql_select

from hub.store.models import Inbox, Outbox, Record
from tests.helpers import TEST_BROKER_URL, AgencyClient, wait_for

pytestmark = pytest.mark.skipif(not (TEST_BROKER_URL or "").startswith("amqp"),
                                reason="needs RabbitMQ (WAGEHUB_TEST_BROKER_URL=amqp://...)")

HEARTBEAT = 2  # seconds; the hub's setting (broker.heartbeat), kept short so the test is quick
RECEIPT = ('<?xml version="1.0" encoding="UTF-8"?><PACKET TYPE="AJJS" VERSION="1.0"><HEAD><XXBH>H{i}</XXBH>'
           '<FSDW>370103000000</FSDW><FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY><YSBH>YSHALF{i:05d}</YSBH>'
           '<JSSJ>2023-06-21 09:30:00</JSSJ></BODY></PACKET>')


class FreezableProxy:
    """Forwards 127.0.0.1:<port> to the broker; :meth:`freeze` silences the open connections."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.pairs: list[dict] = []
        self.accepted = 0
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            pair = {"socks": (client, upstream), "frozen": False}
            with self.lock:
                self.pairs.append(pair)
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(pair, src, dst), name="proxy-pump", daemon=True).start()

    def _pump(self, pair: dict, src: socket.socket, dst: socket.socket) -> None:
        while not self.stopped.is_set():
            if pair["frozen"]:  # read nothing, send nothing, close nothing
                time.sleep(0.05)
                continue
            try:
                ready, _, _ = select.select([src], [], [], 0.1)
                if not ready:
                    continue
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
            except OSError:
                break
        if not pair["frozen"]:
            for s in pair["socks"]:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def freeze(self) -> int:
        with self.lock:
            for pair in self.pairs:
                pair["frozen"] = True
            return self.accepted

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()
        with self.lock:
            for pair in self.pairs:
                for s in pair["socks"]:
                    s.close()


def count(hub, model, *where):
    with hub.store.sessions() as session:
        return session.execute(sql_select(func.count()).select_from(model).where(*where)).scalar()


def done(hub, n: int) -> bool:
    return count(hub, Inbox) == n and count(hub, Outbox, Outbox.status == "pending") == 0


@pytest.mark.slow
def test_a_half_open_broker_connection_is_torn_down_by_heartbeats_and_the_worker_recovers(settings):
    from hub.runtime import Hub, Workers

    url = urlsplit(settings["hub"]["broker_url"])
    proxy = FreezableProxy(url.hostname or "127.0.0.1", url.port or 5672)
    proxied = copy.deepcopy(settings)
    netloc = f"{url.username}:{url.password}@127.0.0.1:{proxy.port}"
    proxied["hub"]["broker_url"] = urlunsplit(url._replace(netloc=netloc))
    proxied["broker"]["heartbeat"] = HEARTBEAT
    direct = Connection(settings["hub"]["broker_url"])  # the agencies reach RabbitMQ directly
    agency = AgencyClient(direct, settings)
    hub = Hub(proxied)
    hub.declare_topology()
    workers = Workers(hub)
    workers.start()
    try:
        for i in range(20):
            agency.publish("police", RECEIPT.format(i=i).encode(), message_id=f"half-{i}",
                           content_type="application/xml")
        wait_for(lambda: done(hub, 20), timeout=30)

        before = proxy.freeze()
        frozen_at = time.monotonic()
        for i in range(20, 40):
            agency.publish("police", RECEIPT.format(i=i).encode(), message_id=f"half-{i}",
                           content_type="application/xml")
        # Heartbeats miss after 2 x HEARTBEAT; a reconnect and the relay's confirm timeout follow.
        wait_for(lambda: done(hub, 40), timeout=60)
        recovered = time.monotonic() - frozen_at
        assert proxy.accepted > before  # through fresh connections: the frozen ones were given up
        assert all(t.is_alive() for t in workers.threads)  # no thread died or hung for good
        assert count(hub, Record) == 40  # stored exactly once
        assert count(hub, Outbox, Outbox.status == "sent") == count(hub, Outbox) == 40
        received = agency.drain("hrss", wait=2.0)
        assert len({m.headers["x-wagehub-record-id"] for m in received}) == 40  # every delivery made
        print(f"\nhalf-open connection: recovered in {recovered:.1f}s with heartbeat {HEARTBEAT}s; "
              f"{proxy.accepted - before} new connection(s); {len(received)} deliveries for 40 records")
    finally:
        stop = threading.Thread(target=workers.stop, daemon=True)
        stop.start()
        stop.join(30)
        proxy.close()
        direct.release()
    assert not stop.is_alive(), "the workers did not stop: a thread hangs on the dead connection"


@pytest.mark.slow
def test_a_worker_backing_off_from_a_locked_store_keeps_its_broker_connection_alive(settings, tmp_path, caplog):
    """Idle, and then while it holds a batch and backs off (the store locked for ten heartbeat
    intervals), the worker must keep sending heartbeats on the connection it consumes on:
    RabbitMQ must not drop that connection (which would redeliver the batch), and no other
    connection is opened."""
    import logging

    from hub.runtime import Hub, Workers
    from tests.faults.test_store_unwritable import Fault

    caplog.set_level(logging.WARNING)
    local = copy.deepcopy(settings)
    local["hub"]["database_url"] = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    local["broker"]["heartbeat"] = HEARTBEAT
    direct = Connection(settings["hub"]["broker_url"])
    agency = AgencyClient(direct, settings)
    hub = Hub(local)
    hub.declare_topology()
    fault = Fault("locked", str(tmp_path / "store.sqlite3"))
    fault.attach(hub)
    workers = Workers(hub)
    workers.start()
    try:
        wait_for(lambda: "police" in workers.consuming, timeout=20)
        for i in range(5):
            agency.publish("police", RECEIPT.format(i=i).encode(), message_id=f"half-{i}",
                           content_type="application/xml")
        wait_for(lambda: done(hub, 5), timeout=30)
        consumer = workers.inbound["police"].live.connection  # the AMQP connection consumed on
        time.sleep(5 * HEARTBEAT)  # idle: heartbeats alone keep it open
        fault.on(hub)
        for i in range(5, 25):
            agency.publish("police", RECEIPT.format(i=i).encode(), message_id=f"half-{i}",
                           content_type="application/xml")
        time.sleep(10 * HEARTBEAT)  # backing off all along: 0.2 s, 0.4 s, ... 6.4 s
        fault.off(hub)
        wait_for(lambda: done(hub, 25), timeout=60)
        lost = [r.getMessage() for r in caplog.records
                if r.name in ("kombu.mixins", "hub.messaging.worker") and "lost" in r.getMessage()]
        assert not lost, lost  # the consumer's connection lived through the backoff
        assert workers.inbound["police"].live.connection is consumer
        assert not workers.inbound["police"].connection.connected  # no other connection was opened for it
        assert count(hub, Record) == 25
        assert all(t.is_alive() for t in workers.threads)
    finally:
        fault.off(hub)
        stop = threading.Thread(target=workers.stop, daemon=True)
        stop.start()
        stop.join(30)
        direct.release()


def test_a_publisher_idle_past_its_heartbeat_reconnects_instead_of_failing(settings):
    """Nothing sends heartbeats on an idle relay's connection, so RabbitMQ drops it; the next
    batch must go out on a fresh connection, not fail on the dropped one."""
    from hub.messaging.broker import OutMessage, Publisher

    local = copy.deepcopy(settings)
    local["broker"]["heartbeat"] = 1
    publisher = Publisher(local)
    message = OutMessage(routing_key="nobody", body=b"{}", message_id="idle-1", content_type="application/json")
    try:
        assert publisher.publish_many([message]) == [True]
        time.sleep(6)  # RabbitMQ closes the connection for missed heartbeats meanwhile
        assert publisher.publish_many([message]) == [True]
    finally:
        publisher.close()
