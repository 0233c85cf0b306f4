"""The embedded broker (``hub.messaging.embedded``): routing shared across processes, leases that
survive ``kill -9``, a caught-up consumer, clean settling, and kombu's client APIs.

Other processes are real subprocesses running ``embedded_peer.py``, a plain kombu
client that never imports ``hub`` itself.
"""

from __future__ import annotations

import collections
import json
import os
import pathlib
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.exceptions import ChannelError
from kombu.simple import SimpleQueue
from kombu.transport.virtual.base import NotEquivalentError

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]  # put on the subprocesses' PYTHONPATH: they import hub.messaging.embedded
if str(HERE) not in sys.path:  # the peer script is imported for its body() too
    sys.path.insert(0, str(HERE))

import embedded_peer

from hub.messaging import embedded

PEER = str(pathlib.Path(embedded_peer.__file__).resolve())
IN = Exchange("wagehub.in", "direct", durable=True)


def inbound(agency: str) -> Queue:
    # The RabbitMQ arguments must be accepted (and ignored) by the embedded broker.
    return Queue(f"wagehub.in.{agency}", IN, routing_key=agency, durable=True,
                 queue_arguments={"x-queue-type": "quorum", "x-delivery-limit": 5})


@pytest.fixture
def url(tmp_path):
    return f"embedded:///{tmp_path}/broker.sqlite3"


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "broker.sqlite3"


def declare(url: str, *queues: Queue) -> None:
    with Connection(url) as conn:
        for queue in queues:
            queue(conn.default_channel).declare()


def rows(db_path, queue: str | None = None) -> int:
    db = sqlite3.connect(db_path)
    try:
        if queue is None:
            return db.execute("SELECT count(*) FROM messages").fetchone()[0]
        return db.execute("SELECT count(*) FROM messages WHERE queue = ?", (queue,)).fetchone()[0]
    finally:
        db.close()


def peer(*args: str, **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.Popen([sys.executable, PEER, *args], env=env, **kwargs)


def run_peer(*args: str, timeout: float = 60) -> None:
    proc = peer(*args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err


def read_log(path) -> dict[str, list[int]]:
    """``{"R": [ids...], "P": [...], "K": [...]}`` from a peer's log, in order."""
    log = collections.defaultdict(list)
    if os.path.exists(path):
        for line in pathlib.Path(path).read_text().splitlines():
            kind, mid = line.split()
            log[kind].append(int(mid))
    return log


def consume(url: str, queue: Queue, until, *, timeout: float = 30, options=None, on_each=None) -> list:
    """Consume (ack after ``on_each``) until ``until(received)`` is true; return messages."""
    received = []
    deadline = time.monotonic() + timeout
    with Connection(url, transport_options=options or {}) as conn:
        def on_message(message):
            if on_each:
                on_each(message)
            received.append(message)
            message.ack()

        with Consumer(conn.default_channel, [queue], on_message=on_message, prefetch_count=50):
            while not until(received):
                assert time.monotonic() < deadline, f"only {len(received)} received"
                try:
                    conn.drain_events(timeout=0.5)
                except TimeoutError:
                    pass
    return received


# 1. Routing lives in the file -------------------------------------------------------------


def test_publisher_process_routes_through_bindings_it_never_declared(url, db_path):
    declare(url, inbound("hrss"), inbound("police"))

    run_peer("publish", url, "500", "--exchange", "wagehub.in", "--key", "hrss")

    assert rows(db_path, "wagehub.in.police") == 0
    got = consume(url, inbound("hrss"), lambda r: len(r) >= 500)
    ids = [int(m.properties["message_id"]) for m in got]
    assert sorted(ids) == list(range(500))  # each exactly once
    assert all(m.body == embedded_peer.body(int(m.properties["message_id"])) for m in got)
    assert ids == sorted(ids)  # one publisher, one consumer: FIFO
    with (
        Connection(url) as conn,
        Consumer(conn.default_channel, [inbound("hrss")], on_message=lambda m: m.ack()),
        pytest.raises(TimeoutError),
    ):
        conn.drain_events(timeout=0.3)  # nothing left over
    assert rows(db_path) == 0


def test_topic_and_fanout_exchanges_route_from_the_stored_table(url):
    topic = Exchange("t", "topic")
    fan = Exchange("f", "fanout")
    declare(url, Queue("t.court", topic, routing_key="court.*"), Queue("t.all", topic, routing_key="#"),
            Queue("f.a", fan), Queue("f.b", fan))
    with Connection(url) as conn:  # a second connection: nothing declared on it
        producer = Producer(conn.default_channel)
        producer.publish(b"1", exchange="t", routing_key="court.judgment")
        producer.publish(b"2", exchange="t", routing_key="police.receipt")
        producer.publish(b"3", exchange="f", routing_key="ignored")
        channel = conn.default_channel
        assert [channel.queue_declare(q, passive=True).message_count for q in ("t.court", "t.all", "f.a", "f.b")] \
            == [1, 2, 1, 1]
        assert set(channel.get_exchanges()) >= {"t", "f", "amq.direct"}
        assert ("t.court", "t", "court.*") in set(channel.list_bindings())


def test_unknown_exchange_raises_and_unbound_key_is_dropped(url, db_path):
    declare(url, inbound("hrss"))
    with Connection(url) as conn:
        producer = Producer(conn.default_channel)
        with pytest.raises(ChannelError, match="NOT_FOUND"):
            producer.publish(b"x", exchange="no.such.exchange", routing_key="hrss")
        producer.publish(b"x", exchange="wagehub.in", routing_key="nobody")  # as on RabbitMQ: dropped
        with pytest.raises(ChannelError, match="NOT_FOUND"):
            conn.default_channel.queue_declare("wagehub.in.nobody", passive=True)
        with pytest.raises(NotEquivalentError):
            Exchange("wagehub.in", "topic", durable=True)(conn.default_channel).declare()
    assert rows(db_path) == 0


# 2. kill -9 -------------------------------------------------------------------------------


def test_messages_held_by_killed_consumers_come_back(url, db_path, tmp_path):
    """Consumers that hold messages are SIGKILLed 4 times while 2,000 messages flow.

    A lease is set by the consumer that takes the message, so the killed consumers use a
    2 s visibility timeout and the final one 1 s. Each killed consumer logs ``R`` on
    receipt, ``P`` (the effect) before acking and ``K`` after the ack returned, so the
    messages it held when it died are at most ``R - K``.
    """
    total = 2000
    declare(url, inbound("hrss"))
    publisher = peer("publish", url, str(total), "--rate", "700", stderr=subprocess.PIPE)
    rng = random.Random(1551)
    logs = []
    try:
        for kill in range(4):
            log = tmp_path / f"consumer{kill}.log"
            consumer = peer("hold", url, str(log), "--visibility-timeout", "2", stderr=subprocess.DEVNULL)
            target = 150 + rng.randrange(150)
            deadline = time.monotonic() + 20
            while len(read_log(log)["R"]) < target:
                assert time.monotonic() < deadline and consumer.poll() is None, "consumer stalled"
                time.sleep(0.01)
            time.sleep(rng.random() * 0.05)  # anywhere: mid-batch, mid-ack, idle
            consumer.send_signal(signal.SIGKILL)
            consumer.wait()
            logs.append(read_log(log))
    finally:
        _, err = publisher.communicate(timeout=30)
    assert publisher.returncode == 0, err

    processed = collections.Counter()
    for log in logs:
        processed.update(log["P"])
    final = consume(
        url, inbound("hrss"), lambda _: set(processed) >= set(range(total)), timeout=30,
        options={"visibility_timeout": 1},
        on_each=lambda m: processed.update([int(m.properties["message_id"])]),
    )

    assert set(processed) == set(range(total))  # 0 lost
    acked, held_at_kill = set(), set()
    for log in logs:
        assert not acked & set(log["R"]), "an acked message was delivered again"
        held = set(log["R"]) - set(log["K"])
        assert held, "the consumer held nothing when it was killed"
        held_at_kill |= held
        acked |= set(log["K"])
    final_ids = [int(m.properties["message_id"]) for m in final]
    assert not acked & set(final_ids), "an acked message was delivered again"
    assert len(final_ids) == len(set(final_ids))
    deliveries = collections.Counter(i for log in logs for i in log["R"])
    deliveries.update(final_ids)
    duplicated = {i for i, n in deliveries.items() if n > 1}
    assert duplicated <= held_at_kill
    redelivered = {int(m.properties["message_id"]) for m in final if m.delivery_info.get("redelivered")}
    assert redelivered >= set(final_ids) & held_at_kill
    # A consumer leases up to ``fetch_batch`` messages in one statement and logs ``R`` as
    # kombu hands each over, so a kill leaves at most that many held, unlogged: they come
    # back (above) like the logged ones, and no more than that per kill.
    from hub.messaging.embedded import DEFAULTS

    assert len(redelivered - held_at_kill) <= len(logs) * DEFAULTS["fetch_batch"]
    assert rows(db_path) == 0


def test_competing_consumers_in_two_processes_never_share_a_message(url, db_path, tmp_path):
    declare(url, inbound("hrss"))
    run_peer("publish", url, "2000")
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    consumers = [peer("compete", url, str(log), "5", stderr=subprocess.PIPE, text=True) for log in logs]
    for consumer in consumers:
        _, err = consumer.communicate(timeout=60)
        assert consumer.returncode == 0, err
    a, b = (read_log(log)["R"] for log in logs)
    assert a and b, "both consumers should have taken part"
    assert sorted(a + b) == list(range(2000))
    assert rows(db_path) == 0


# 3. a caught-up consumer ------------------------------------------------------------------


def test_caught_up_consumer_sees_every_message_whole_and_once(url, db_path):
    total = 5000
    declare(url, inbound("hrss"))
    errors = []

    def check(message):
        try:
            doc = json.loads(message.body.decode("utf-8"))
            assert message.body == embedded_peer.body(doc["seq"])
        except (ValueError, KeyError, AssertionError) as exc:  # counted: the test reports them all
            errors.append(exc)

    publisher = peer("publish", url, str(total), stderr=subprocess.PIPE)
    try:
        got = consume(url, inbound("hrss"), lambda r: len(r) >= total, timeout=40, on_each=check)
    finally:
        _, err = publisher.communicate(timeout=30)
    assert publisher.returncode == 0, err
    assert errors == []
    ids = [int(m.properties["message_id"]) for m in got]
    assert len(ids) == len(set(ids)) == total
    assert ids == sorted(ids)
    assert rows(db_path) == 0


# 4. settling: close, reject, ack, lease expiry ---------------------------------------------


def publish_some(url: str, n: int, queue: Queue) -> None:
    with Connection(url) as conn:
        queue(conn.default_channel).declare()
        producer = Producer(conn.default_channel)
        for i in range(n):
            producer.publish(f"m{i}".encode(), exchange=IN, routing_key=queue.routing_key, message_id=f"m{i}")


def leased(db_path) -> int:
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT count(*) FROM messages WHERE lease_until > ?", (time.time(),)).fetchone()[0]
    finally:
        db.close()


def test_a_publish_batch_is_one_transaction_all_or_none(url, db_path):
    declare(url, inbound("hrss"))
    with Connection(url) as conn:
        channel = conn.channel()
        producer = Producer(channel)
        with pytest.raises(RuntimeError), channel.publish_batch():
            producer.publish(b"m0", exchange=IN, routing_key="hrss", message_id="m0")
            raise RuntimeError("the publisher fails mid-batch")
        assert rows(db_path) == 0  # none of the batch
        with channel.publish_batch():
            for i in range(3):
                producer.publish(f"m{i}".encode(), exchange=IN, routing_key="hrss", message_id=f"m{i}")
        assert rows(db_path) == 3


def test_a_consumer_leases_ahead_within_its_prefetch_and_gives_back_on_cancel(url, db_path):
    publish_some(url, 10, inbound("hrss"))
    with Connection(url) as conn:
        got = []
        consumer = Consumer(conn.default_channel, [inbound("hrss")], on_message=got.append, prefetch_count=4,
                            auto_declare=False)
        consumer.consume()
        conn.drain_events(timeout=1)
        assert got and leased(db_path) == 4  # one statement leased its prefetch, not the whole queue
        consumer.cancel()
        assert leased(db_path) == len(got)  # leased ahead, never handed over: given back at once
    assert rows(db_path) == 10


def test_clean_close_releases_leases_without_duplicating(url, db_path):
    queue = inbound("hrss")
    publish_some(url, 3, queue)
    first = Connection(url)
    held = queue(first.default_channel).get()
    assert held.properties["message_id"] == "m0"
    with Connection(url) as other:
        nxt = queue(other.default_channel).get()  # m0 is leased: the next one comes
        assert nxt.properties["message_id"] == "m1"
        nxt.reject(requeue=True)
    first.close()  # unacked m0 goes back at once, as the same row
    assert rows(db_path) == 3
    with Connection(url) as conn:
        again = queue(conn.default_channel).get()
        assert again.properties["message_id"] == "m0"
        assert again.delivery_info["redelivered"] is True
        assert again.headers["x-delivery-count"] == 1
        again.ack()
        assert rows(db_path) == 2
        requeued = queue(conn.default_channel).get()
        assert requeued.properties["message_id"] == "m1"  # rejected with requeue: available again
        requeued.reject(requeue=False)  # removed
        last = queue(conn.default_channel).get()
        assert last.properties["message_id"] == "m2"
        last.ack()
        assert queue(conn.default_channel).get() is None
    assert rows(db_path) == 0


def test_lease_expires_and_recover_releases(url, db_path):
    queue = inbound("hrss")
    publish_some(url, 2, queue)
    with Connection(url, transport_options={"visibility_timeout": 0.3}) as a, Connection(url) as b:
        taken = queue(a.default_channel).get()
        other = queue(a.default_channel).get()
        assert queue(b.default_channel).get() is None  # both leased
        time.sleep(0.35)
        stolen = queue(b.default_channel).get()
        assert stolen.properties["message_id"] == taken.properties["message_id"]
        taken.ack()  # the late ack still removes the row: it was processed
        stolen.ack()  # a no-op now
        a.default_channel.basic_recover(requeue=True)  # releases `other`
        back = queue(b.default_channel).get()
        assert back.properties["message_id"] == other.properties["message_id"]
        back.ack()
    assert rows(db_path) == 0


def test_ack_multiple_settles_every_earlier_delivery(url, db_path):
    queue = inbound("hrss")
    publish_some(url, 4, queue)
    with Connection(url) as conn:
        got = [queue(conn.default_channel).get() for _ in range(3)]
        got[1].ack(multiple=True)  # m0 and m1
        assert rows(db_path) == 2
        got[2].ack()
        assert rows(db_path) == 1


def test_no_ack_consumer_deletes_on_delivery(url, db_path):
    queue = inbound("hrss")
    publish_some(url, 2, queue)
    with Connection(url) as conn:
        assert queue(conn.default_channel).get(no_ack=True).body == b"m0"
        seen = []
        with Consumer(conn.default_channel, [queue], no_ack=True, on_message=seen.append):
            conn.drain_events(timeout=1)
        assert [m.body for m in seen] == [b"m1"]
    assert rows(db_path) == 0


def test_purge_size_and_delete(url, db_path):
    queue = inbound("hrss")
    publish_some(url, 3, queue)
    with Connection(url) as conn:
        channel = conn.default_channel
        leased = queue(channel).get()
        assert channel.queue_declare(queue.name, passive=True).message_count == 2
        assert queue(channel).purge() == 2  # the leased one stays with its consumer
        assert rows(db_path) == 1
        leased.ack()
        publish_some(url, 1, queue)
        queue(channel).delete()
        assert rows(db_path) == 0
        with pytest.raises(ChannelError, match="NOT_FOUND"):
            channel.queue_declare(queue.name, passive=True)


# 5. kombu's client APIs, properties and raw bytes ----------------------------------------


def test_properties_headers_and_raw_bytes_survive(url):
    queue = inbound("housing")
    declare(url, queue)
    gb = "项目编号,工资专户,欠薪金额\nP-001,是,12000.00\n".encode("gb18030")
    raw = bytes(range(256))
    with Connection(url) as conn:
        producer = Producer(conn.default_channel)
        # content_type given: kombu passes bytes through untouched (no serializer runs).
        producer.publish(gb, exchange="wagehub.in", routing_key="housing", message_id="csv-1",
                         content_type="text/csv", content_encoding="gb18030",
                         headers={"x-wagehub-kind": "payroll", "x-wagehub-signature": "sha256=ab"})
        producer.publish(raw, exchange="wagehub.in", routing_key="housing", message_id="bin-1",
                         content_type="application/octet-stream", content_encoding="binary")
        got = []
        with Consumer(conn.default_channel, [queue], on_message=got.append):
            conn.drain_events(timeout=1)
            conn.drain_events(timeout=1)
            with pytest.raises(TimeoutError):
                conn.drain_events(timeout=0.1)
        csv, binary = got
        assert csv.body == gb and isinstance(csv.body, bytes)
        assert csv.properties["message_id"] == "csv-1"
        assert (csv.content_type, csv.content_encoding) == ("text/csv", "gb18030")
        assert csv.headers == {"x-wagehub-kind": "payroll", "x-wagehub-signature": "sha256=ab"}
        assert csv.delivery_info["routing_key"] == "housing"
        assert csv.decode() == gb.decode("gb18030")
        assert binary.body == raw
        assert (binary.content_type, binary.content_encoding) == ("application/octet-stream", "binary")
        csv.ack()
        binary.ack()


def test_callbacks_consumer_and_simple_queue(url):
    with Connection(url) as conn:
        bodies = []
        queue = inbound("union")
        with Consumer(conn.default_channel, [queue], accept=["json"],
                      callbacks=[lambda body, message: (bodies.append(body), message.ack())]):
            Producer(conn.default_channel).publish({"n": 1}, exchange=IN, routing_key="union", serializer="json")
            conn.drain_events(timeout=1)
        assert bodies == [{"n": 1}]

        channel = conn.channel()
        simple = SimpleQueue(channel, "simple")
        simple.put({"hello": "世界"}, serializer="json")
        message = simple.get(timeout=1)
        assert message.payload == {"hello": "世界"}
        message.ack()
        simple.put(b"raw", serializer=None)
        assert simple.get_nowait().body == b"raw"  # left unacked: leased to `channel`
        assert simple.qsize() == 0
        simple.close()  # cancels the consumer only: the lease stays with the channel
        channel.close()  # releases it
        simple = SimpleQueue(conn, "simple")
        assert simple.get(timeout=1).body == b"raw"
        with pytest.raises(simple.Empty):
            simple.get(timeout=0.2)
        simple.close()


def test_url_forms(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = Connection("embedded:///var/sub/b.sqlite3")
    assert relative.transport.path == str(tmp_path / "var" / "sub" / "b.sqlite3")
    relative.connect()
    assert (tmp_path / "var" / "sub" / "b.sqlite3").exists()  # parent directories created
    relative.close()

    assert str(tmp_path).startswith("/")  # so this is embedded:////tmp/...: absolute
    absolute = Connection(f"embedded:///{tmp_path}/abs.sqlite3?visibility_timeout=7")
    assert absolute.transport.path == str(tmp_path / "abs.sqlite3")
    assert absolute.default_channel.visibility_timeout == 7
    absolute.close()

    plain = Connection("embedded:///plain.sqlite3", transport="hub.messaging.embedded:Transport",
                       transport_options={"polling_interval": 0.2})
    assert isinstance(plain.transport, embedded.Transport)
    assert plain.transport.path == str(tmp_path / "plain.sqlite3")
    assert plain.transport.polling_interval == 0.2
    assert Connection("embedded://").transport.path == str(tmp_path / "var" / "broker.sqlite3")
    with pytest.raises(ValueError, match="names a host"):
        Connection("embedded://var/broker.sqlite3").transport  # noqa: B018
