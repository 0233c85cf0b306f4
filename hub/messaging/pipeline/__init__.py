"""consume → check → parse → validate → store → route, in one transaction per batch.

The worker (queues) and the web app (HTTP inbound, dead-letter replay) both hand
native messages to :meth:`Pipeline.process`. For each batch it:

1. drops messages whose id the inbox already holds (a redelivery or resend);
2. checks the HMAC signature when the agency has a key;
3. asks the agency's plugin to parse (unexpected plugin errors are retried, then
   dead-lettered with their summary) and validates each record with its schema;
4. in ONE database transaction: stores the records, links them to their matter,
   writes an outbox row for every route, stores dead letters with the original bytes,
   and records the message id in the inbox.

Only after :meth:`process` returns may the caller acknowledge the messages. A database
error raises :class:`hub.contract.errors.Unavailable`: the caller keeps the messages and retries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from hub import metrics
from hub.contract.errors import Unavailable
from hub.contract.plugins import Registry
from hub.contract.types import NativeMessage
from hub.ids import iso, now_beijing
from hub.messaging.outbox import Subscribers
from hub.messaging.pipeline.check import STATE_CHECKED, _unstorable, schema_refusal
from hub.messaging.pipeline.dead_letters import DeadLettering, message_for_replay
from hub.messaging.pipeline.outcome import Failure, Failures, Outcome, _Prepared
from hub.messaging.pipeline.parse import Intake
from hub.messaging.pipeline.route import Routing, transfer_round
from hub.messaging.pipeline.spool import RecordSpool
from hub.messaging.pipeline.store import Storing
from hub.messaging.pipeline.unit import _Unit
from hub.messaging.routes import Route
from hub.store import Store, any_of
from hub.store.models import Inbox
from schemas import SCHEMAS, normalise_record

__all__ = ["STATE_CHECKED", "Failure", "Failures", "Outcome", "Pipeline", "message_for_replay",
           "schema_refusal", "transfer_round"]

log = logging.getLogger("hub.messaging.pipeline")  # one logger for every stage

PRECHECK_BYTES = 1 << 20  # a message this big is looked up in the inbox before it is parsed


class Pipeline(Intake, Storing, Routing, DeadLettering):
    """The stages, one module each: parse (:mod:`.parse`), check (:mod:`.check`), store
    (:mod:`.store`), route (:mod:`.route`), dead letters (:mod:`.dead_letters`)."""

    def __init__(self, store: Store, registry: Registry, routes: list[Route], settings: dict[str, Any],
                 subscribers: Subscribers | None = None):
        self.store = store
        self.registry = registry
        self.routes = routes
        self.settings = settings
        for route in routes:
            rule = route.params.get("due_rule")
            if rule is not None and rule not in settings["deadlines"]:
                raise ValueError(f"route {route.name}: due_rule {rule!r} is no [deadlines] limit "
                                 f"(known: {', '.join(sorted(settings['deadlines']))})")
        self.plugin_attempts = settings["pipeline"]["plugin_attempts"]
        # Told after a commit that wrote outbox rows no one claimed, with their recipients.
        self.outbox = subscribers if subscribers is not None else Subscribers()

    def process(self, messages: Iterable[NativeMessage], *, replay_of: int | None = None,
                actor: str | None = None, trusted: bool = False, _attempt: int = 1) -> list[Outcome]:
        """Apply a batch of messages; returns one outcome each, in order.

        Its outbox rows are written by ``hub.messaging.outbox.enqueue`` (under the caller's
        claim, if it has one: ``hub.messaging.outbox.claiming``). ``actor`` names who
        handed the messages over (a token's id over HTTP) in the audit log; by default the
        agency. ``trusted`` skips the signature check: for a replay of a kept row of a message
        whose signature held, or one a named person decided to accept unsigned (audited by
        the caller); any other replay is checked again, as on arrival.

        Raises :class:`Unavailable` when the database cannot be reached: nothing of the
        batch is applied then, and the caller must not acknowledge it.
        """
        messages = list(messages) if replay_of is not None else [self._scoped(m) for m in messages]
        try:
            # Duplicates are found in the transaction (below); a batch file seen before is
            # found first, so that it is not parsed again for nothing.
            with self.store.sessions() as session:
                seen = self._seen(session, [m for m in messages if len(m.body) > PRECHECK_BYTES])
        except SQLAlchemyError as exc:
            raise Unavailable(f"database unavailable: {type(exc).__name__}") from exc
        prepared = []
        for msg in messages:
            if msg.message_id and (msg.agency, msg.message_id) in seen:
                prepared.append(_Prepared(msg, Outcome(msg.agency, msg.message_id, "duplicate", kind=msg.kind)))
            else:
                prepared.append(self._prepare(msg, trusted=trusted))
        try:
            self._commit(prepared, replay_of, actor)
        except IntegrityError as exc:
            # A concurrent writer committed first: the same message id, or a matter number
            # (clue:..., case:...) this batch also meant to add. Apply the batch again: what
            # is committed now decides (duplicates drop out, numbers join their matter).
            if _attempt >= 5:
                raise Unavailable("concurrent writes kept conflicting with this batch") from exc
            log.info("batch of %d met a concurrent write; applying it again", len(prepared))
            return self.process(messages, replay_of=replay_of, actor=actor, trusted=trusted,
                                _attempt=_attempt + 1)
        except (OperationalError, SQLAlchemyError) as exc:
            raise Unavailable(f"database unavailable: {type(exc).__name__}") from exc
        tally: Counter = Counter()
        for p in prepared:
            o = p.outcome
            metrics.MESSAGES.labels(agency=o.agency, outcome=o.status).inc()
            tally[o.status] += 1
            tally["records"] += len(o.records)
            if o.dead_letters:
                metrics.DEAD_LETTERS.labels(agency=o.agency).inc(len(o.dead_letters))
                tally["dead letters"] += len(o.dead_letters)
            if o.status != "duplicate":
                log.debug("message %s from %s: %s, %d record(s), %d dead letter(s)", o.message_id, o.agency,
                          o.status, len(o.records), len(o.dead_letters))
        log.info("batch of %d message(s) from %s: %s", len(prepared),
                 ", ".join(sorted({p.message.agency for p in prepared})),
                 ", ".join(f"{n} {what}" for what, n in tally.items()))
        return [p.outcome for p in prepared]

    def apply_own(self, record: dict[str, Any], message_id: str, actor: str = "hub") -> bool:
        """Apply a record the hub makes itself (a listing's term ended) as an agency's are
        applied: checked, linked to its matter, stored (source ``hub``) and routed, once per
        ``message_id``. False when it was applied before or its matter's state refuses it."""
        data = {"source_agency": "hub", "schema_version": SCHEMAS[record["type"]].VERSION,
                "received_at": iso(now_beijing()), **record}
        canonical = normalise_record(data)
        fp = hashlib.sha256(json.dumps([canonical["type"], canonical["source_ref"], record], sort_keys=True,
                                       ensure_ascii=False, default=str).encode()).hexdigest()
        message = NativeMessage("hub", b"", message_id, "application/json", "utf-8")
        prep = _Prepared(message, Outcome("hub", message_id, "accepted", kind=None))
        prep.records = RecordSpool([(canonical, fp)])
        with self.store.sessions() as session:
            if self._seen(session, [message]):
                return False
            unit = _Unit(session)
            unit.prefetch([prep])
            self._check_state(unit, prep)
        if prep.whole_failure is not None:
            log.info("the hub's own %s %s was not applied: %s", record["type"], message_id, prep.whole_failure.reason)
            return False
        try:
            self._commit([prep], None, actor)
        except IntegrityError:
            return False  # another worker applied it first
        return prep.outcome.status == "accepted"

    def _scoped(self, message: NativeMessage) -> NativeMessage:
        """For an agency with several senders, the message id as the hub keeps it:
        ``<sender>/<id>``, so one sender's ids never collide with (or squat) another's."""
        adapter = self.registry.get(message.agency)
        sender = adapter.sender_of(message) if adapter is not None else None
        if sender is None or not message.message_id:
            return message
        return dataclasses.replace(message, message_id=f"{sender}/{message.message_id}")

    @staticmethod
    def _seen(session, messages: list[NativeMessage]) -> set[tuple[str, str]]:
        """(agency, message id) of the messages the inbox already holds."""
        pairs = {(m.agency, m.message_id) for m in messages if m.message_id and not _unstorable(m.message_id)}
        if not pairs:
            return set()
        rows = session.execute(
            select(Inbox.agency, Inbox.message_id).where(any_of(session, Inbox.agency, {a for a, _ in pairs}),
                                                         any_of(session, Inbox.message_id, {m for _, m in pairs}))
        ).all()
        return {(a, m) for a, m in rows if (a, m) in pairs}
