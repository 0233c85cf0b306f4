"""Exchanges, queues and publishing, as the contract names them.

* ``wagehub.in`` (direct): agencies publish with their agency code as routing key;
  the hub consumes ``wagehub.in.<agency>``.
* ``wagehub.out`` (direct): the hub publishes with the recipient's code; the agency
  consumes ``wagehub.out.<agency>``.

On RabbitMQ the queues are quorum queues with a delivery limit and a dead-letter
exchange (``wagehub.dlx`` → ``wagehub.dead``), and publishing uses publisher confirms,
pipelined: a batch is published, then its confirms are collected together
(one round trip per message is about ten times slower; see docs/deployment.md).
The embedded broker (``hub.messaging.embedded``) commits each publish to SQLite before returning.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from amqp.exceptions import AMQPError
from kombu import Connection, Exchange, Producer, Queue
from kombu.exceptions import KombuError

import hub.messaging.embedded  # noqa: F401  (registers the embedded:// transport alias)

log = logging.getLogger(__name__)

IN_EXCHANGE = Exchange("wagehub.in", type="direct", durable=True)
OUT_EXCHANGE = Exchange("wagehub.out", type="direct", durable=True)
DLX_EXCHANGE = Exchange("wagehub.dlx", type="fanout", durable=True)

# kombu retries a lost connection with this policy before giving up a publish.
RETRY_POLICY = {"max_retries": 5, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 3}


def is_amqp(conn: Connection) -> bool:
    return conn.transport.driver_type == "amqp"


def _queue_args(conn: Connection, settings: Mapping[str, Any]) -> dict[str, Any]:
    if not is_amqp(conn):
        return {}
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": int(settings["broker"]["delivery_limit"]),
        "x-dead-letter-exchange": DLX_EXCHANGE.name,
    }


def in_queue(conn: Connection, agency: str, settings: Mapping[str, Any]) -> Queue:
    return Queue(f"wagehub.in.{agency}", IN_EXCHANGE, routing_key=agency, durable=True,
                 queue_arguments=_queue_args(conn, settings))


def out_queue(conn: Connection, agency: str, settings: Mapping[str, Any]) -> Queue:
    return Queue(f"wagehub.out.{agency}", OUT_EXCHANGE, routing_key=agency, durable=True,
                 queue_arguments=_queue_args(conn, settings))


def dead_queue(conn: Connection) -> Queue:
    args = {"x-queue-type": "quorum"} if is_amqp(conn) else {}
    return Queue("wagehub.dead", DLX_EXCHANGE, durable=True, queue_arguments=args)


def connect(settings: Mapping[str, Any], url: str | None = None) -> Connection:
    """A kombu connection with an explicit heartbeat (kombu's default 0 turns it off).

    On AMQP every blocking socket read and write is also bounded (SO_RCVTIMEO/SO_SNDTIMEO):
    once heartbeats find a connection half-open, kombu closes the channel and the
    connection politely and waits for the broker's Close-OK, which never comes through a
    dead TCP path; without the bound that wait, and the consumer or relay in it, hangs.
    """
    url = url or settings["hub"]["broker_url"]
    heartbeat = settings["broker"]["heartbeat"]
    options: dict[str, Any] = {"confirm_publish": False}
    if url.startswith(("amqp", "pyamqp")):
        io_timeout = float(max(2 * heartbeat, 5)) if heartbeat else 60.0
        options.update(read_timeout=io_timeout, write_timeout=io_timeout)
    return Connection(url, heartbeat=heartbeat, connect_timeout=10, transport_options=options)


def declare_topology(conn: Connection, agencies: list[str], settings: Mapping[str, Any]) -> None:
    """Declare both exchanges and every agency's in and out queues (idempotent)."""
    channel = conn.channel()
    try:
        for exchange in (IN_EXCHANGE, OUT_EXCHANGE, DLX_EXCHANGE):
            exchange.bind(channel).declare()
        if is_amqp(conn):
            dead_queue(conn).bind(channel).declare()
        for agency in agencies:
            in_queue(conn, agency, settings).bind(channel).declare()
            out_queue(conn, agency, settings).bind(channel).declare()
    finally:
        channel.close()


@dataclass
class OutMessage:
    routing_key: str
    body: bytes
    message_id: str
    content_type: str
    content_encoding: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)
    exchange: Exchange = OUT_EXCHANGE
    delivery: Any = None
    """The :class:`hub.Delivery` it was rendered from (a direct delivery hands both over)."""
    rendered: Any = None


class PublishError(Exception):
    """The broker could not be reached or did not confirm: retry later."""


class Publisher:
    """Publishes batches of persistent messages and reports which the broker confirmed."""

    def __init__(self, settings: Mapping[str, Any], url: str | None = None):
        self.settings = settings
        self.url = url
        self.conn: Connection | None = None
        self.channel = None
        self.producer: Producer | None = None
        self._acked: set[int] = set()
        self._nacked: set[int] = set()
        self._next_tag = 1
        self._used = 0.0

    def _open(self) -> None:
        heartbeat = self.settings["broker"]["heartbeat"]
        if self.conn is not None and heartbeat and time.monotonic() - self._used > heartbeat:
            # Idle past its heartbeat interval with nothing sending heartbeats on it: the broker
            # drops such a connection, and the next publish would fail on it. Start afresh.
            self.close()
        self._used = time.monotonic()
        if self.conn is not None:
            return
        conn = connect(self.settings, self.url)
        conn.ensure_connection(max_retries=1)
        channel = conn.channel()
        if is_amqp(conn):
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
        self.conn, self.channel, self.producer = conn, channel, Producer(channel)
        self._next_tag = 1
        self._acked.clear()
        self._nacked.clear()

    def _on_ack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._acked.update(range(self._low, delivery_tag + 1))
        else:
            self._acked.add(delivery_tag)

    def _on_nack(self, delivery_tag: int, multiple: bool) -> None:
        if multiple:
            self._nacked.update(range(self._low, delivery_tag + 1))
        else:
            self._nacked.add(delivery_tag)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.release()
            except Exception:  # noqa: BLE001  (closing a broken connection)
                pass
        self.conn = self.channel = self.producer = None

    def publish_many(self, messages: list[OutMessage]) -> list[bool]:
        """Publish all; True for each message the broker has taken responsibility for."""
        if not messages:
            return []
        try:
            self._open()
            assert self.producer is not None and self.conn is not None
            amqp = is_amqp(self.conn)
            first = self._low = self._next_tag
            # The embedded broker commits a batch once; RabbitMQ confirms it asynchronously.
            batch = getattr(self.channel, "publish_batch", None)
            with batch() if batch else contextlib.nullcontext():
                for msg in messages:
                    self.producer.publish(
                        msg.body, exchange=msg.exchange, routing_key=msg.routing_key,
                        content_type=msg.content_type, content_encoding=msg.content_encoding or "binary",
                        headers=msg.headers, message_id=msg.message_id, delivery_mode=2, retry=False,
                    )
                    self._next_tag += 1
            if not amqp:
                return [True] * len(messages)
            tags = range(first, self._next_tag)
            deadline = time.monotonic() + float(self.settings["broker"]["confirm_timeout"])
            while any(t not in self._acked and t not in self._nacked for t in tags):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    self.conn.drain_events(timeout=min(remaining, 1.0))
                except TimeoutError:
                    continue
            result = [t in self._acked for t in tags]
            self._acked.difference_update(tags)
            self._nacked.difference_update(tags)
            if not all(result):
                # Unconfirmed: start afresh; a late confirm must not be taken for another.
                self.close()
            return result
        except (OSError, KombuError, AMQPError) as exc:
            self.close()
            raise PublishError(f"broker unavailable: {type(exc).__name__}") from exc


def raw_body(message) -> bytes:
    """A consumed message's body as the bytes that were published.

    py-amqp decodes bodies that declare a ``content_encoding`` (``auto_decode``); the
    decode succeeded with that encoding, so encoding again restores the exact bytes.
    """
    body = message.body
    if isinstance(body, str):
        return body.encode(message.content_encoding or "utf-8")
    return bytes(body)


def native_properties(message) -> dict[str, Any]:
    """message_id, content type and encoding, and headers of a consumed kombu message."""
    props = dict(message.properties or {})
    headers = dict(message.headers or {})
    return {
        "message_id": props.get("message_id") or headers.get("message_id"),
        "content_type": message.content_type,
        "content_encoding": message.content_encoding,
        "headers": headers,
    }
