"""The embedded broker: a kombu transport over one SQLite file (WAL mode).

With no ``WAGEHUB_BROKER_URL`` set, the hub and any other process on the same machine
exchange messages through this file, with no server to install: at-least-once delivery
by leases (a killed consumer's message comes back), routing shared through tables.
Importing this module registers the ``embedded://`` scheme with kombu. Options, guarantees
and limits: docs/embedded-broker.md.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import threading
import time
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from queue import Empty
from typing import Any
from urllib.parse import parse_qsl, unquote

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, virtual
from kombu.transport.virtual.base import NotEquivalentError, UndeliverableWarning
from kombu.utils import json as kombu_json

logger = logging.getLogger(__name__)

SCHEME = "embedded"
DEFAULT_PATH = os.path.join("var", "broker.sqlite3")
DEFAULTS: dict[str, Any] = {
    "visibility_timeout": 30.0,
    "polling_interval": 0.05,
    "busy_timeout": 30.0,
    "synchronous": "NORMAL",
    "fetch_batch": 100,
}
SCHEMA_VERSION = 1
_SYNCHRONOUS = {"OFF", "NORMAL", "FULL", "EXTRA"}
_STANDARD_EXCHANGES = (("amq.direct", "direct"), ("amq.topic", "topic"), ("amq.fanout", "fanout"))

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS exchanges (
        name TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        durable INTEGER NOT NULL,
        auto_delete INTEGER NOT NULL,
        arguments TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS queues (
        name TEXT PRIMARY KEY,
        arguments TEXT NOT NULL,
        declared_at REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS bindings (
        exchange TEXT NOT NULL,
        routing_key TEXT NOT NULL,
        queue TEXT NOT NULL,
        arguments TEXT NOT NULL,
        PRIMARY KEY (exchange, routing_key, queue)
    )""",
    "CREATE INDEX IF NOT EXISTS bindings_by_queue ON bindings (queue)",
    # lease_until = 0: available; > now: leased; <= now: lease expired (available).
    """CREATE TABLE IF NOT EXISTS messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL,
        payload TEXT NOT NULL,
        published_at REAL NOT NULL,
        lease_until REAL NOT NULL DEFAULT 0,
        lease_token TEXT,
        deliveries INTEGER NOT NULL DEFAULT 0
    )""",
    # Walked in id order from the oldest row; lease_until in the index lets the walk
    # skip leased rows without touching the table.
    "CREATE INDEX IF NOT EXISTS messages_fetch ON messages (queue, id, lease_until)",
)

_PEEK = "SELECT id FROM messages WHERE queue = ? AND lease_until <= ? ORDER BY id LIMIT 1"
_CLAIM_ID = (
    "UPDATE messages SET lease_until = ?, lease_token = ?, deliveries = deliveries + 1"
    " WHERE id = ? AND lease_until <= ? RETURNING id, payload, deliveries"
)
_CLAIM_OLDEST = (
    "UPDATE messages SET lease_until = ?, lease_token = ?, deliveries = deliveries + 1"
    " WHERE id = (" + _PEEK + ") RETURNING id, payload, deliveries"
)
_CLAIM_MANY = (
    "UPDATE messages SET lease_until = ?, lease_token = ?, deliveries = deliveries + 1"
    " WHERE id IN (SELECT id FROM messages WHERE queue = ? AND lease_until <= ? ORDER BY id LIMIT ?)"
    " RETURNING id, payload, deliveries"
)
_TAKE_OLDEST = "DELETE FROM messages WHERE id = (" + _PEEK + ") RETURNING id, payload, deliveries + 1"


def _not_found(what: str, name: str, method: str) -> ChannelError:
    # Same shape as kombu's virtual transport (and RabbitMQ's 404 channel error).
    return ChannelError(f"NOT_FOUND - no {what} {name!r} in the embedded broker", (50, 10), method, "404")


def _json_arguments(arguments: dict | None) -> str:
    return json.dumps(arguments or {}, sort_keys=True, default=str)


def parse_url(url: str) -> tuple[str, dict[str, str]]:
    """Split an ``embedded://`` URL into its file path and its query options.

    ``embedded:///rel/x.sqlite3`` gives ``rel/x.sqlite3``; ``embedded:////abs/x.sqlite3``
    gives ``/abs/x.sqlite3``; no path gives :data:`DEFAULT_PATH`.
    """
    _, _, rest = url.partition("://")
    rest, _, query = rest.partition("?")
    host, _, path = rest.partition("/")
    if host not in ("", "localhost"):
        raise ValueError(
            f"embedded broker URL {url!r} names a host {host!r}: write "
            f"'embedded:///relative/path.sqlite3' or 'embedded:////absolute/path.sqlite3'"
        )
    return unquote(path) or DEFAULT_PATH, dict(parse_qsl(query))


def _location(client: Any) -> tuple[str, dict[str, str]]:
    """File path and URL options for a ``kombu.Connection``.

    The transport sets ``can_parse_url``, so kombu leaves the whole URL in
    ``client.hostname``. After ``Connection.switch()`` (failover) kombu parses the URL
    itself: the path is then in ``virtual_host``, already stripped of one slash.
    """
    hostname = client.hostname or ""
    if "://" in hostname:
        return parse_url(hostname)
    vhost = client.virtual_host or ""
    return (DEFAULT_PATH if vhost in ("", "/") else vhost), {}


class QueueFile:
    """The broker's state in one SQLite file: exchanges, queues, bindings, messages.

    One ``sqlite3`` connection in autocommit mode; every multi-statement change runs
    in ``BEGIN IMMEDIATE`` (so it waits for, never fails on, another process's writer)
    and single-statement changes are atomic by themselves. Thread-safe through a lock,
    because kombu may restore unacked messages from a finalizer.
    """

    def __init__(self, path: str, *, busy_timeout: float, synchronous: str):
        synchronous = str(synchronous).upper()
        if synchronous not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {sorted(_SYNCHRONOUS)}, not {synchronous!r}")
        self.path = path
        self._busy_timeout = float(busy_timeout)
        self._synchronous = synchronous
        self._lock = threading.RLock()
        self._batching = False
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        from hub.keys import private_file

        private_file(self.path)  # 0600 in a 0700 folder (messages hold personal data); WAL and SHM take its mode
        db = sqlite3.connect(
            self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            mode = db.execute("PRAGMA journal_mode").fetchone()[0]
            if mode.lower() != "wal":
                mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise sqlite3.OperationalError(
                    f"embedded broker {self.path!r}: cannot use WAL mode (got {mode!r}); "
                    "it needs a file on a local disk"
                )
            db.execute(f"PRAGMA synchronous = {self._synchronous}")
            # Truncate the WAL back to 64 MiB after checkpoints so it cannot keep a
            # burst's size forever.
            db.execute("PRAGMA journal_size_limit = 67108864")
            self._migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        try:
            if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
                for statement in _SCHEMA:
                    db.execute(statement)
                db.executemany(
                    "INSERT OR IGNORE INTO exchanges VALUES (?, ?, 1, 0, '{}')", _STANDARD_EXCHANGES
                )
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock up front."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # fetchall() everywhere: a statement stepped to its end is reset at once, so no
    # read snapshot (or, for RETURNING, no write transaction) outlives the call.
    def _one(self, sql: str, params: tuple = ()) -> Any:
        rows = self._all(sql, params)
        return rows[0] if rows else None

    def _all(self, sql: str, params: tuple = ()) -> list:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _run(self, sql: str, params: tuple = ()) -> int:
        with self._lock:
            return self._db.execute(sql, params).rowcount

    # -- exchanges, queues, bindings ---------------------------------------------------

    def get_exchange(self, name: str) -> dict[str, Any] | None:
        row = self._one("SELECT type, durable, auto_delete, arguments FROM exchanges WHERE name = ?", (name,))
        if row is None:
            return None
        return {"type": row[0], "durable": bool(row[1]), "auto_delete": bool(row[2]), "arguments": json.loads(row[3])}

    def declare_exchange(self, name: str, type: str, durable: bool, auto_delete: bool, arguments: dict | None) -> None:
        self._run(
            "INSERT OR IGNORE INTO exchanges VALUES (?, ?, ?, ?, ?)",
            (name, type, int(bool(durable)), int(bool(auto_delete)), _json_arguments(arguments)),
        )

    def delete_exchange(self, name: str, if_unused: bool = False) -> None:
        with self._write() as db:
            if if_unused and db.execute("SELECT 1 FROM bindings WHERE exchange = ? LIMIT 1", (name,)).fetchall():
                return
            db.execute("DELETE FROM bindings WHERE exchange = ?", (name,))
            db.execute("DELETE FROM exchanges WHERE name = ?", (name,))

    def exchange_names(self) -> list[str]:
        return [row[0] for row in self._all("SELECT name FROM exchanges ORDER BY name")]

    def declare_queue(self, name: str, arguments: dict | None) -> None:
        self._run("INSERT OR IGNORE INTO queues VALUES (?, ?, ?)", (name, _json_arguments(arguments), time.time()))

    def has_queue(self, name: str) -> bool:
        return self._one("SELECT 1 FROM queues WHERE name = ?", (name,)) is not None

    def delete_queue(self, name: str) -> int:
        """Delete a queue, its bindings and all its messages (leased or not)."""
        with self._write() as db:
            count = db.execute("DELETE FROM messages WHERE queue = ?", (name,)).rowcount
            db.execute("DELETE FROM bindings WHERE queue = ?", (name,))
            db.execute("DELETE FROM queues WHERE name = ?", (name,))
        return count

    def bind(self, queue: str, exchange: str, routing_key: str, arguments: dict | None) -> bool:
        """Bind; False when the exchange does not exist."""
        with self._write() as db:
            if not db.execute("SELECT 1 FROM exchanges WHERE name = ?", (exchange,)).fetchall():
                return False
            db.execute("INSERT OR IGNORE INTO queues VALUES (?, '{}', ?)", (queue, time.time()))
            db.execute(
                "INSERT OR IGNORE INTO bindings VALUES (?, ?, ?, ?)",
                (exchange, routing_key, queue, _json_arguments(arguments)),
            )
        return True

    def unbind(self, queue: str, exchange: str, routing_key: str) -> None:
        self._run(
            "DELETE FROM bindings WHERE exchange = ? AND routing_key = ? AND queue = ?", (exchange, routing_key, queue)
        )

    def bindings(self, exchange: str | None = None) -> list[tuple[str, str, str]]:
        """``(queue, exchange, routing_key)`` rows, for one exchange or all."""
        if exchange is None:
            return self._all("SELECT queue, exchange, routing_key FROM bindings ORDER BY exchange, routing_key, queue")
        return self._all(
            "SELECT queue, exchange, routing_key FROM bindings WHERE exchange = ? ORDER BY routing_key, queue",
            (exchange,),
        )

    def route(self, exchange: str, routing_key: str) -> tuple[str, list[tuple[str, str]]] | None:
        """The exchange's type and its candidate ``(routing_key, queue)`` bindings.

        For a direct exchange only the bindings with this exact key are read; other
        types get the whole table for kombu's matcher. None: no such exchange.
        """
        rows = self._all(
            "SELECT e.type, b.routing_key, b.queue FROM exchanges AS e"
            " LEFT JOIN bindings AS b ON b.exchange = e.name AND (e.type <> 'direct' OR b.routing_key = ?)"
            " WHERE e.name = ?",
            (routing_key, exchange),
        )
        if not rows:
            return None
        return rows[0][0], [(rkey, queue) for _, rkey, queue in rows if queue is not None]

    # -- messages ----------------------------------------------------------------------

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Publish several messages in one transaction (all or none, one commit)."""
        with self._write():
            self._batching = True
            try:
                yield
            finally:
                self._batching = False

    def put(self, queues: list[str], payload: str) -> None:
        """Store one message in each queue, all in one transaction."""
        now = time.time()
        if self._batching:  # inside batch(): this thread holds the lock and the transaction
            self._db.executemany("INSERT INTO messages (queue, payload, published_at) VALUES (?, ?, ?)",
                                 [(queue, payload, now) for queue in queues])
            return
        if len(queues) == 1:
            self._run("INSERT INTO messages (queue, payload, published_at) VALUES (?, ?, ?)", (queues[0], payload, now))
            return
        with self._write() as db:
            db.executemany(
                "INSERT INTO messages (queue, payload, published_at) VALUES (?, ?, ?)",
                [(queue, payload, now) for queue in queues],
            )

    def claim(self, queue: str, lease: float, token: str) -> tuple[int, str, int] | None:
        """Lease the oldest available message of ``queue``: ``(id, payload, deliveries)``."""
        now = time.time()
        until = now + lease
        with self._lock:
            db = self._db
            # A plain read first: idle polls never take the write lock.
            peeked = db.execute(_PEEK, (queue, now)).fetchall()
            if not peeked:
                return None
            rows = db.execute(_CLAIM_ID, (until, token, peeked[0][0], now)).fetchall()
            if not rows:  # another consumer took it between the read and the claim
                rows = db.execute(_CLAIM_OLDEST, (until, token, queue, now)).fetchall()
        return rows[0] if rows else None

    def claim_many(self, queue: str, lease: float, token: str, limit: int) -> list[tuple[int, str, int]]:
        """Lease up to ``limit`` of the oldest available messages, in id order."""
        if limit <= 1:
            row = self.claim(queue, lease, token)
            return [row] if row else []
        now = time.time()
        with self._lock:
            db = self._db
            if not db.execute(_PEEK, (queue, now)).fetchall():  # idle polls never take the write lock
                return []
            rows = db.execute(_CLAIM_MANY, (now + lease, token, queue, now, limit)).fetchall()
        return sorted(rows)

    def take(self, queue: str) -> tuple[int, str, int] | None:
        """Remove and return the oldest available message (for ``no_ack`` consumers)."""
        now = time.time()
        with self._lock:
            db = self._db
            if not db.execute(_PEEK, (queue, now)).fetchall():
                return None
            rows = db.execute(_TAKE_OLDEST, (queue, now)).fetchall()
        return rows[0] if rows else None

    def delete_messages(self, ids: list[int]) -> None:
        """Ack: delete these rows, whoever holds their lease now."""
        if len(ids) == 1:
            self._run("DELETE FROM messages WHERE id = ?", (ids[0],))
        elif ids:
            with self._write() as db:
                db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in ids])

    def release(self, leases: list[tuple[int, str]]) -> None:
        """Make messages available again, where these tokens still hold the lease."""
        sql = "UPDATE messages SET lease_until = 0, lease_token = NULL WHERE id = ? AND lease_token = ?"
        if len(leases) == 1:
            self._run(sql, leases[0])
        elif leases:
            with self._write() as db:
                db.executemany(sql, leases)

    def size(self, queue: str) -> int:
        """Messages ready for delivery (not under a live lease), as AMQP counts them."""
        return self._one("SELECT count(*) FROM messages WHERE queue = ? AND lease_until <= ?", (queue, time.time()))[0]

    def purge(self, queue: str) -> int:
        """Delete the ready messages of ``queue``; leased ones stay with their consumer."""
        return self._run("DELETE FROM messages WHERE queue = ? AND lease_until <= ?", (queue, time.time()))


def _parse_tag(delivery_tag: Any) -> tuple[int, str] | None:
    """``"<row id>:<lease token>"`` back to its parts; None for a foreign tag."""
    row_id, sep, token = str(delivery_tag).partition(":")
    if not sep or not row_id.isdigit():
        return None
    return int(row_id), token


class QoS(virtual.QoS):
    """kombu's QoS bookkeeping, settling leases in the file instead of re-publishing."""

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if requeue:
            self.channel._release_tags([delivery_tag])
        else:
            self.channel._delete_tags([delivery_tag])
        self._quick_ack(delivery_tag)

    def restore_unacked(self) -> list:
        """Release every lease this channel holds (clean close, ``basic_recover``)."""
        self._flush()
        tags = list(self._delivered)
        self._delivered.clear()
        if tags:
            try:
                self.channel._release_tags(tags)
            except Exception:
                # Nothing is lost: the leases expire after visibility_timeout.
                logger.warning("could not release %d lease(s); they expire on their own", len(tags), exc_info=True)
        return []


class Channel(virtual.Channel):
    """A channel of the embedded broker: routing and messages in the shared file."""

    QoS = QoS
    supports_fanout = True
    visibility_timeout = DEFAULTS["visibility_timeout"]
    fetch_batch = DEFAULTS["fetch_batch"]

    def __init__(self, connection: Transport, **kwargs: Any):
        super().__init__(connection, **kwargs)
        options = connection.options
        self.visibility_timeout = float(options["visibility_timeout"])
        for name in self.from_transport_options:
            if name in options:
                setattr(self, name, options[name])
        self.fetch_batch = max(1, int(options["fetch_batch"]))
        self._no_ack_queues: set[str] = set()
        self._ready: dict[str, deque] = {}  # queue -> ((id, payload, deliveries), token) leased ahead

    @property
    def store(self) -> QueueFile:
        return self.connection.store

    # -- exchanges, queues, bindings ---------------------------------------------------

    def exchange_declare(self, exchange=None, type="direct", durable=False, auto_delete=False,
                         arguments=None, nowait=False, passive=False):
        type = type or "direct"
        exchange = exchange or f"amq.{type}"
        prev = self.store.get_exchange(exchange)
        if passive:
            if prev is None:
                raise _not_found("exchange", exchange, "Channel.exchange_declare")
            return
        if type not in self.exchange_types:
            raise ChannelError(
                f"COMMAND_INVALID - exchange type {type!r} is not supported by the embedded broker",
                (40, 10), "Channel.exchange_declare", "503",
            )
        if prev is None:
            self.store.declare_exchange(exchange, type, durable, auto_delete, arguments)
            prev = self.store.get_exchange(exchange)  # another process may have won the race
        # Compare through JSON, as stored, so tuples and lists match.
        arguments = json.loads(_json_arguments(arguments))
        if not self.exchange_types[type].equivalent(prev, exchange, type, durable, auto_delete, arguments):
            raise NotEquivalentError(
                f"Cannot redeclare exchange {exchange!r} with different type, durable, auto_delete or "
                f"arguments (stored: {prev})"
            )

    def exchange_delete(self, exchange, if_unused=False, nowait=False):
        self.store.delete_exchange(exchange, if_unused=if_unused)

    def queue_bind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        exchange = exchange or "amq.direct"
        if not self.store.bind(queue, exchange, routing_key, arguments):
            raise _not_found("exchange", exchange, "Channel.queue_bind")

    def queue_unbind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        self.store.unbind(queue, exchange or "amq.direct", routing_key)

    def queue_delete(self, queue, if_unused=False, if_empty=False, **kwargs):
        # if_unused cannot be honoured: consumers in other processes are not tracked.
        if if_empty and self._size(queue):
            return 0
        return self.store.delete_queue(queue)

    def list_bindings(self):
        return iter(self.store.bindings())

    def get_exchanges(self):
        return self.store.exchange_names()

    def get_table(self, exchange):
        """Bindings of ``exchange`` as kombu's exchange types expect them."""
        info = self.store.get_exchange(exchange)
        if info is None:
            raise KeyError(exchange)
        kind = self.exchange_types[info["type"]]
        return [kind.prepare_bind(queue, exchange, rkey, None) for queue, _, rkey in self.store.bindings(exchange)]

    def typeof(self, exchange, default="direct"):
        info = self.store.get_exchange(exchange)
        return self.exchange_types[info["type"] if info else default]

    def _lookup(self, exchange, routing_key, default=None):
        if default is None:
            default = self.deadletter_queue
        if not exchange:  # the default exchange: the routing key names the queue
            return [routing_key or default]
        route = self.store.route(exchange, routing_key)
        if route is None:
            raise _not_found("exchange", exchange, "Channel.basic_publish")
        type_name, bindings = route
        kind = self.exchange_types[type_name]
        table = [kind.prepare_bind(queue, exchange, rkey, None) for rkey, queue in bindings]
        queues = [queue for queue in kind.lookup(table, exchange, routing_key, default)
                  if queue and queue != self.deadletter_queue]
        if not queues and default is not None:
            # kombu's virtual-transport behaviour, only when deadletter_queue is set.
            warnings.warn(UndeliverableWarning(
                f"Message could not be delivered: No queues bound to exchange {exchange!r} "
                f"using binding key {routing_key!r}."
            ))
            self._new_queue(default)
            queues = [default]
        return sorted(set(queues))

    # -- the virtual transport's storage interface -------------------------------------

    def _new_queue(self, queue, **kwargs):
        # durable, exclusive, auto_delete and RabbitMQ's x-* arguments: accepted, ignored.
        self.store.declare_queue(queue, kwargs.get("arguments"))

    def _has_queue(self, queue, **kwargs):
        return self.store.has_queue(queue)

    def _size(self, queue):
        return self.store.size(queue)

    def _purge(self, queue):
        return self.store.purge(queue)

    def _delete(self, queue, *args, **kwargs):
        self.store.delete_queue(queue)

    def _put(self, queue, message, **kwargs):
        self.store.put([queue], kombu_json.dumps(message))

    def _get(self, queue, timeout=None, no_ack=None):
        if no_ack is None:
            no_ack = queue in self._no_ack_queues
        ready = self._ready.get(queue)
        if ready:
            row, token = ready.popleft()
        else:
            token = secrets.token_hex(8)
            if no_ack:
                row = self.store.take(queue)
            else:
                # For a consumer, lease as many as it may hold (its prefetch) in one statement;
                # they wait here, leased, until kombu asks for them one by one. A basic_get
                # takes one.
                limit = 1
                if queue in self._active_queues:
                    limit = self.qos.can_consume_max_estimate() if self.qos.prefetch_count else self.fetch_batch
                rows = self.store.claim_many(queue, self.visibility_timeout, token, min(limit, self.fetch_batch))
                row = rows[0] if rows else None
                if len(rows) > 1:
                    self._ready[queue] = deque((r, token) for r in rows[1:])
        if row is None:
            raise Empty()
        row_id, payload, deliveries = row
        message = kombu_json.loads(payload)
        properties = message["properties"]
        properties["delivery_tag"] = f"{row_id}:{token}"
        if deliveries > 1:
            message["redelivered"] = True
            properties["delivery_info"]["redelivered"] = True
            message["headers"] = {**(message.get("headers") or {}), "x-delivery-count": deliveries - 1}
        return message

    # -- publishing and settling -------------------------------------------------------

    def basic_publish(self, message, exchange, routing_key, **kwargs):
        """Route once and store a row per destination queue in one transaction."""
        self._inplace_augment_message(message, exchange, routing_key)
        queues = [queue for queue in self._lookup(exchange, routing_key) if queue]
        if queues:
            self.store.put(queues, kombu_json.dumps(message))
        else:
            logger.debug("unroutable message dropped: exchange %r, routing key %r", exchange, routing_key)

    def publish_batch(self):
        """A context in which this channel's publishes share one transaction (one commit)."""
        return self.store.batch()

    def basic_consume(self, queue, no_ack, callback, consumer_tag, **kwargs):
        if no_ack:
            self._no_ack_queues.add(queue)
        else:
            self._no_ack_queues.discard(queue)
        return super().basic_consume(queue, no_ack, callback, consumer_tag, **kwargs)

    def basic_cancel(self, consumer_tag):
        queue = self._tag_to_queue.get(consumer_tag)
        super().basic_cancel(consumer_tag)
        if queue is not None and queue not in self._active_queues:
            self._no_ack_queues.discard(queue)
            self._release_ready(queue)

    def _release_ready(self, queue: str) -> None:
        """Give back messages leased ahead for a consumer that is gone."""
        ready = self._ready.pop(queue, None)
        if ready:
            try:
                self.store.release([(row[0], token) for row, token in ready])
            except Exception:  # noqa: BLE001  (nothing is lost: the leases expire on their own)
                logger.warning("could not release %d lease(s); they expire on their own", len(ready), exc_info=True)

    def basic_get(self, queue, no_ack=False, **kwargs):
        try:
            raw = self._get(queue, no_ack=no_ack)
        except Empty:
            return None
        message = self.Message(raw, channel=self)
        if not no_ack:
            self.qos.append(message, message.delivery_tag)
        return message

    def basic_ack(self, delivery_tag, multiple=False):
        """Delete the message's row (with ``multiple``: every earlier unacked one too)."""
        tags = [delivery_tag]
        if multiple:
            self.qos._flush()
            delivered = list(self.qos._delivered)
            if delivery_tag in delivered:
                tags = delivered[: delivered.index(delivery_tag) + 1]
        self._delete_tags(tags)
        for tag in tags:
            self.qos.ack(tag)

    def _delete_tags(self, tags: Iterable[Any]) -> None:
        self.store.delete_messages([lease[0] for lease in map(_parse_tag, tags) if lease])

    def _release_tags(self, tags: Iterable[Any]) -> None:
        self.store.release([lease for lease in map(_parse_tag, tags) if lease])

    def _restore(self, message):
        self._release_tags([message.delivery_tag])

    def _restore_at_beginning(self, message):
        self._release_tags([message.delivery_tag])


class Transport(virtual.Transport):
    """kombu transport for the embedded broker (``embedded://`` URLs)."""

    Channel = Channel

    #: kombu keeps the whole URL in ``client.hostname`` for us to parse.
    can_parse_url = True
    default_port = 0
    polling_interval = DEFAULTS["polling_interval"]
    driver_type = "sqlite"
    driver_name = "sqlite3"
    #: "database is locked" after busy_timeout: kombu's ensure() retries it.
    connection_errors = virtual.Transport.connection_errors + (sqlite3.OperationalError,)
    implements = virtual.Transport.implements.extend(exchange_type=frozenset(["direct", "topic", "fanout"]))

    def __init__(self, client: Any, **kwargs: Any):
        super().__init__(client, **kwargs)
        path, url_options = _location(client)
        self.path = os.path.abspath(path)
        self.options: dict[str, Any] = {**DEFAULTS, **url_options, **(client.transport_options or {})}
        self.polling_interval = float(self.options["polling_interval"])
        self._store: QueueFile | None = None

    @property
    def store(self) -> QueueFile:
        if self._store is None:
            self._store = QueueFile(
                self.path, busy_timeout=self.options["busy_timeout"], synchronous=self.options["synchronous"]
            )
        return self._store

    def establish_connection(self):
        self.store  # noqa: B018  (opens the file now, so a bad path fails at connect)
        return super().establish_connection()

    def close_connection(self, connection):
        try:
            super().close_connection(connection)
        finally:
            if self._store is not None:
                self._store.close()
                self._store = None

    def driver_version(self):
        return sqlite3.sqlite_version


TRANSPORT_ALIASES.setdefault(SCHEME, "hub.messaging.embedded:Transport")
