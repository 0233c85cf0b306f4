"""The inbound consumer: ``wagehub.in.<agency>`` for an enabled plugin.

Built on ``kombu.mixins.ConsumerMixin`` (reconnects with backoff, graceful
``should_stop``). Messages are collected into batches, applied by the pipeline in one
transaction, and acknowledged only after the commit. While the database is down the
batch is retried with backoff and nothing is acknowledged. Enabling or disabling a
plugin takes effect within a second: the consumers are rebuilt for the new set, and a
disabled agency's queue keeps its messages.

A worker process runs one consumer per agency (``agencies``), each on a connection and
thread of its own (:class:`hub.runtime.Workers`): a batch holds one agency's messages
only, so one agency's heavy file (a 50,000-row ledger parses for seconds) never holds
another agency's messages. Acknowledgements stay on the thread and channel that
received the messages, as AMQP requires.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from typing import TYPE_CHECKING

from kombu import Consumer
from kombu.mixins import ConsumerMixin

from hub import metrics
from hub.contract.errors import Unavailable
from hub.contract.types import NativeMessage
from hub.messaging import outbox
from hub.messaging.broker import in_queue, native_properties, raw_body

if TYPE_CHECKING:
    from hub.messaging.relay import Relay

log = logging.getLogger(__name__)

STATE_POLL_SECONDS = 1.0
# A batch takes what the broker has already sent: a read that finds nothing within this
# time ends it. (Not zero: a socket with no timeout would block.)
READY_SECONDS = 0.001
# Longest a batch goes on filling while messages keep coming (or ``batch_wait_ms``, if longer).
FILL_SECONDS = 0.25
BEAT_RATE = 4
"""Passed to ``heartbeat_check``, called every ``heartbeat / 8`` seconds: the worker then
sends a heartbeat frame about every half interval, as RabbitMQ does (a lower rate sent
about one a whole interval, and RabbitMQ closed connections for missed heartbeats)."""


class InboundWorker(ConsumerMixin):
    def __init__(self, hub, relay: Relay | None = None, agencies: Collection[str] | None = None):
        self.hub = hub
        self.agencies = None if agencies is None else frozenset(agencies)  # None: every agency
        self.connection = hub.connection()
        cfg = hub.settings["pipeline"]
        self.batch_size = cfg["batch_size"]
        self.batch_wait = cfg["batch_wait_ms"] / 1000.0
        self.fill_for = max(FILL_SECONDS, self.batch_wait)
        self.prefetch = hub.settings["broker"]["prefetch"]
        self.heartbeat = hub.settings["broker"]["heartbeat"]
        self.beat_every = self.heartbeat / 8 if self.heartbeat else None
        self.buffer: list[tuple[NativeMessage, object]] = []
        self.buffer_since = 0.0
        self.consuming: list[str] = []
        self.handled = 0
        self.live = None  # the connection consumed on: ConsumerMixin consumes on a clone of self.connection
        # The queue relay of this process (``hub``: a hub.runtime.Hub): the outbox rows a batch
        # writes under its claim are handed to it right after the commit
        # (hub.messaging.relay.Relay.claim_ahead), not left for its next round.
        self.relay = relay

    # -- kombu ConsumerMixin hooks ------------------------------------------------------------

    def get_consumers(self, _Consumer, channel):
        self.hub.refresh_plugin_state()
        # (on a connection of its own, closed after: self.connection is only the template
        # kombu clones to consume on, and a channel on it would leave its socket open)
        self.hub.ensure_topology()
        self.consuming = self._enabled()
        channel.auto_decode = False  # py-amqp: hand bodies over as the bytes published
        consumers = []
        for code in self.consuming:
            consumers.append(Consumer(channel, queues=[in_queue(self.connection, code, self.hub.settings)],
                                      on_message=self._collector(code), prefetch_count=self.prefetch,
                                      accept=None))
        log.info("consuming %s", ", ".join(f"wagehub.in.{c}" for c in self.consuming) or "nothing")
        return consumers

    def run(self, _tokens=1, **kwargs):
        """Consume until ``should_stop``; an unexpected error restarts the consumers."""
        backoff = 0.5
        while not self.should_stop:
            try:
                super().run(_tokens, **kwargs)
                backoff = 0.5
            except Exception as exc:  # a bug must not end the worker: log it, back off, go on
                log.exception("inbound consumer failed (%s); restarting in %.1fs", type(exc).__name__, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)
                self.buffer = []

    def on_connection_error(self, exc, interval):
        log.warning("broker connection lost (%s); retrying in %ss", type(exc).__name__, interval)

    def on_connection_revived(self):
        log.info("broker connection established")

    def consume(self, limit=None, timeout=None, safety_interval=1, **kwargs):
        """Drain messages into batches; flush a batch when full or old; watch plugin state."""
        self.buffer = []
        try:
            yield from self._consume(**kwargs)
        except (*self.connection.connection_errors, *self.connection.channel_errors):
            # The broker went away: close what is left of this connection before kombu
            # makes a new one (else its socket lingers until the garbage collector).
            try:
                self.connection.collect()
            except Exception:  # noqa: BLE001  (it is broken already)
                pass
            raise

    def _consume(self, **kwargs):
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers):
            self.live = conn
            last_state = last_beat = time.monotonic()
            while not self.should_stop:
                idle = min(1.0, self.beat_every or 1.0)
                wait = max(0.001, self.batch_wait - (time.monotonic() - self.buffer_since)) if self.buffer else idle
                dry = False
                try:
                    conn.drain_events(timeout=wait)
                    self._take_ready(conn)
                except TimeoutError:
                    dry = True
                now = time.monotonic()
                # Heartbeats right after a read, never right after a long flush: the broker's
                # heartbeats that came meanwhile are unread yet, and would count as missed.
                if self.beat_every and now - last_beat >= self.beat_every:
                    conn.heartbeat_check(rate=BEAT_RATE)
                    last_beat = now
                age = now - self.buffer_since
                if self.buffer and (len(self.buffer) >= self.batch_size or age >= self.fill_for
                                    or (dry and age >= self.batch_wait)):
                    self.flush()
                if now - last_state >= STATE_POLL_SECONDS:
                    last_state = now
                    if self._state_changed():
                        break
                yield
            if self.buffer:
                self.flush()

    def _take_ready(self, conn) -> None:
        """Add to the batch what the broker has already sent, without waiting for more.

        The batch is applied once nothing more is ready (``TimeoutError``) or it is full:
        under load it fills with what arrived while the last one was applied, so batches
        grow with the load and the cost of each commit is shared by more messages; when the
        flow is light, a message is applied at once instead of waiting for others.
        """
        while self.buffer and len(self.buffer) < self.batch_size \
                and time.monotonic() - self.buffer_since < self.fill_for:
            conn.drain_events(timeout=READY_SECONDS)

    def _enabled(self) -> list[str]:
        return [c for c in self.hub.registry.enabled_codes() if self.agencies is None or c in self.agencies]

    def _state_changed(self) -> bool:
        try:
            self.hub.refresh_plugin_state()
        except Exception as exc:  # noqa: BLE001  (database down: keep the current set)
            log.debug("plugin state not refreshed: %s", type(exc).__name__)
            return False
        changed = self._enabled() != self.consuming
        if changed:
            log.info("enabled plugins changed: rebuilding consumers")
        return changed

    # -- batching -----------------------------------------------------------------------------

    def _collector(self, agency: str):
        def on_message(message):
            props = native_properties(message)
            native = NativeMessage(
                agency=agency, body=raw_body(message),
                # "" when the wire has none: the pipeline refuses it (rule required), as the contract has it
                message_id=props["message_id"], content_type=props["content_type"] or "",
                content_encoding=props["content_encoding"], kind=props["headers"].get("x-wagehub-kind"),
                headers=props["headers"],
            )
            if not self.buffer:
                self.buffer_since = time.monotonic()
            self.buffer.append((native, message))
            if len(self.buffer) >= self.batch_size:
                self.flush()
        return on_message

    def _wait_beating(self, seconds: float) -> None:
        """Sleep, keeping the connection consumed on alive (heartbeats, as in :meth:`_consume`),
        or the broker drops it and redelivers the held batch."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            time.sleep(min(left, self.beat_every or left))
            if self.live is not None and self.beat_every:
                try:
                    self.live.heartbeat_check(rate=BEAT_RATE)
                except Exception:  # noqa: BLE001  (the broker may be gone too; acks will tell)
                    pass

    def flush(self) -> None:
        """Apply the buffered batch, then acknowledge it (never before the commit)."""
        batch, self.buffer = self.buffer, []
        live = []
        for native, message in batch:
            if self.hub.registry.is_enabled(native.agency):
                live.append((native, message))
            else:
                message.requeue()  # disabled meanwhile: its queue keeps it
        if not live:
            return
        backoff = 0.2
        started = time.perf_counter()
        while True:
            claim = self.relay.claim_ahead() if self.relay is not None else None
            try:
                with outbox.claiming(claim):
                    self.hub.pipeline.process([n for n, _ in live])
                break
            except Unavailable as exc:
                if self.should_stop:
                    return  # unacknowledged: the broker redelivers them
                log.warning("%s; batch of %d held, retrying in %.1fs", exc, len(live), backoff)
                self._wait_beating(backoff)
                backoff = min(backoff * 2, 30)
        # One acknowledgement for the whole batch: every message delivered on this channel
        # up to the last one is in it (a disabled agency's were requeued above).
        live[-1][1].ack(multiple=True)
        self.handled += len(live)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        if claim is not None:
            self.relay.hand_over(claim)
