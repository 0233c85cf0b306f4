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
import hmac
import json
import logging
import pickle
import re
import time
import zlib
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from hub import metrics
from hub.casework import answers, audit, deadlines, linkage, listing, matters, risks, transfers
from hub.contract.errors import Conflict, InvalidMessage, Unavailable
from hub.contract.plugins import Registry
from hub.contract.types import NativeMessage, Parsed, Rejected
from hub.ids import iso, new_id, now_beijing
from hub.logs import error_summary as _summary
from hub.messaging import outbox
from hub.messaging.outbox import OutboxRow, Subscribers, signature_for, waiting_behind  # noqa: F401  (theirs)
from hub.messaging.routes import Route
from hub.store import Store, any_of, insert_rows
from hub.store.models import DeadLetter, Inbox, Record, TransferHold, utcnow
from schemas import RECORD_SCHEMAS, SCHEMAS, RecordInvalid, normalise_record, ruled

log = logging.getLogger(__name__)

FLUSH_EVERY = 500  # rows held back before the transaction writes them
PRECHECK_BYTES = 1 << 20  # a message this big is looked up in the inbox before it is parsed


@dataclass(slots=True)  # a batch file may hold many (one per bad row) until its transaction
class Failure:
    """Why a message or a row was refused (no personal data in any of it)."""

    reason: str
    field: str | None = None
    rule: str | None = None
    kind: str | None = None
    row: int = 0
    body: bytes | None = None


class Failures:
    """An outcome's failures, in order, as a list holds them (append, iterate, index).

    A batch file may have hundreds of thousands, one per bad row with the row's bytes, all
    held until its transaction. Past each ``BLOCK`` they are pickled and compressed: the
    rows of one file are much alike, so a block takes about a tenth of the memory
    (``bench/housing_payroll.py --hub --bad-every 1``).
    """

    BLOCK = 1000

    def __init__(self, items: Iterable[Failure] = ()):
        self._blocks: list[bytes] = []  # BLOCK failures each, pickled and compressed
        self._tail: list[Failure] = []
        for item in items:
            self.append(item)

    def append(self, failure: Failure) -> None:
        self._tail.append(failure)
        if len(self._tail) >= self.BLOCK:
            self._blocks.append(zlib.compress(pickle.dumps(self._tail, protocol=pickle.HIGHEST_PROTOCOL), 1))
            self._tail = []

    def insert(self, index: int, failure: Failure) -> None:
        items = list(self)
        items.insert(index, failure)
        self.clear()
        for item in items:
            self.append(item)

    def pop(self) -> Failure:
        if not self._tail and self._blocks:
            self._tail = pickle.loads(zlib.decompress(self._blocks.pop()))
        return self._tail.pop()

    def clear(self) -> None:
        self._blocks, self._tail = [], []

    def __len__(self) -> int:
        return len(self._blocks) * self.BLOCK + len(self._tail)

    def __iter__(self) -> Iterator[Failure]:
        for block in self._blocks:
            yield from pickle.loads(zlib.decompress(block))
        yield from self._tail

    def __getitem__(self, index: int) -> Failure:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("failure index out of range")
        block, at = divmod(index, self.BLOCK)
        return pickle.loads(zlib.decompress(self._blocks[block]))[at] if block < len(self._blocks) else self._tail[at]

    def __repr__(self) -> str:
        return f"Failures({len(self)})"


@dataclass
class Outcome:
    """What became of one message."""

    agency: str
    message_id: str | None
    status: str = "accepted"
    """``accepted`` (possibly with some rows dead-lettered), ``duplicate``, or ``rejected``."""
    records: list[str] = field(default_factory=list)
    dead_letters: list[int] = field(default_factory=list)
    failures: Failures = field(default_factory=Failures)
    kind: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "agency": self.agency, "message_id": self.message_id, "status": self.status,
            "records": self.records, "dead_letters": self.dead_letters, "kind": self.kind,
            "errors": [{"reason": f.reason, "field": f.field, "rule": f.rule, "row": f.row or None}
                       for f in self.failures],
        }


@dataclass
class _Prepared:
    message: NativeMessage
    outcome: Outcome
    records: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (record, fingerprint)
    whole_failure: Failure | None = None
    names: dict[int, Mapping[str, str] | None] = field(default_factory=dict)  # id(record) -> Parsed.fields


class _Unit:
    """What one transaction writes, held back and inserted in bulk (matters and their numbers,
    records, outbox and inbox rows), with what it has read once for the whole batch.

    :meth:`flush` runs before any query that reads these tables (the linker, the dossier
    check and a route's related records call it), so every query sees the whole transaction.
    """

    def __init__(self, session, subscribers: Subscribers | None = None):
        self.session = session
        self.now = utcnow()
        self.linker = matters.Linker(session, before_read=self.flush, held=self.held)
        self.fingerprints: set[tuple[str, str, str]] = set()  # (agency, type, fingerprint) stored
        self.records: list[dict[str, Any]] = []
        # outbox rows held back (hub.messaging.outbox.enqueue(hold=True)); the relays are told
        # of those no one claimed after the commit
        self.outbox = outbox.track(session, subscribers=subscribers, fresh=self.linker.whole)
        self.inbox: list[dict[str, Any]] = []
        self.local: dict[str, list[dict[str, Any]]] = {}  # records of the matters this transaction created

    def prefetch(self, prepared: list[_Prepared]) -> None:
        """Read, in a few queries, the numbers and fingerprints the batch's records carry."""
        wanted = {(p.message.agency, record["type"], fp) for p in prepared for record, fp in p.records}
        items = sorted(wanted)
        for i in range(0, len(items), 300):
            chunk = items[i:i + 300]
            found = self.session.execute(
                select(Record.source_agency, Record.type, Record.fingerprint)
                .where(any_of(self.session, Record.source_agency, {agency for agency, _, _ in chunk}),
                       any_of(self.session, Record.type, {rtype for _, rtype, _ in chunk}),
                       any_of(self.session, Record.fingerprint, {fp for _, _, fp in chunk}))).all()
            self.fingerprints.update(row for row in map(tuple, found) if row in wanted)
        self.linker.prefetch([record for p in prepared for record, _ in p.records])

    def held(self, matter_id: str, rtype: str) -> list[dict[str, Any]]:
        """The records of one matter and type this transaction holds back (not yet written)."""
        return [r["data"] for r in self.records if r["matter_id"] == matter_id and r["type"] == rtype]

    def flush(self) -> None:
        self.linker.flush()
        if self.records:
            insert_rows(self.session.connection(), Record.__table__, self.records)  # no ORM bookkeeping
            self.records.clear()
        outbox.flush(self.session)
        if self.inbox:
            insert_rows(self.session.connection(), Inbox.__table__, self.inbox)
            self.inbox.clear()


NUL = "\x00"
# What no database stores as text: NUL (PostgreSQL's text cannot hold it) and lone
# surrogates (no character at all: JSON's "\ud800", or an AMQP header's bytes read with
# surrogatepass; no encoding can write them). A value with one is refused, or replaced to
# be stored.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_UNSTORABLE_WHY = {"no-nul": "must not contain NUL characters",
                   "unicode": "must be valid Unicode text (it holds a lone surrogate)"}


def _unstorable(text: str) -> str | None:
    """The rule ``text`` breaks if a database cannot store it (``no-nul``, ``unicode``)."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return "no-nul" if found.group() == NUL else "unicode"


def _unstorable_fields(message: NativeMessage) -> list[tuple[str, str]]:
    """(name, rule) of the message's properties and headers a database cannot store."""
    props = {"message_id": message.message_id, "kind": message.kind, "content_type": message.content_type,
             "content_encoding": message.content_encoding, **{str(k): v for k, v in dict(message.headers).items()}}
    out = []
    for name, value in props.items():
        rule = _unstorable(name) or (_unstorable(value) if isinstance(value, str) else None)
        if rule:
            out.append((_clean(name), rule))
    return out


def _unstorable_path(value: Any, path: str = "") -> tuple[str, str] | None:
    """(dotted path, rule) of the first string (or key) in ``value`` a database cannot store."""
    if isinstance(value, str):
        rule = _unstorable(value)
        return (path or "value", rule) if rule else None
    if isinstance(value, dict):
        for k, v in value.items():
            where = f"{path}.{k}" if path else str(k)
            if rule := _unstorable(str(k)):
                return _clean(where), rule
            if (found := _unstorable_path(v, where)) is not None:
                return found
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            if (found := _unstorable_path(v, f"{path}.{i}" if path else str(i))) is not None:
                return found
    return None


def _native(path: str | None, names: Mapping[str, str] | None) -> str | None:
    """A canonical field path as the agency's format names it (``Parsed.fields``): the
    longest mapped prefix is replaced, the rest kept (``defendants.0.id_number`` with
    ``defendants`` -> ``body.defendants`` is ``body.defendants.0.id_number``). A key may
    name a list's items with ``[]`` (``suspects[].id_number`` -> ``data.suspects[].idNo``):
    the item's index fills the ``[]`` (``data.suspects[0].idNo``). Unmapped: the path itself."""
    if not path or not names:
        return path
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        head = parts[:i]
        native = names.get(".".join(head))
        if native is None and (indexes := [part for part in head if part.isdigit()]):
            pattern: list[str] = []
            for part in head:
                if part.isdigit() and pattern:
                    pattern[-1] += "[]"
                else:
                    pattern.append(part)
            native = names.get(".".join(pattern))
            for index in indexes if native is not None else ():
                native = native.replace("[]", f"[{index}]", 1)
        if native is not None:
            return ".".join([native, *parts[i:]])
    return path


def _named(path: str | None, names: Mapping[str, str] | None) -> str | None:
    """A field for a reason: the native name, with the canonical path after it when they differ."""
    native = _native(path, names)
    return native if native == path else f"{native} ({path})"


def schema_refusal(exc: RecordInvalid, names: Mapping[str, str] | None) -> tuple[str, str | None]:
    """(reason, field) of a record the shared schema refused, as the hub words it: each field
    by the agency's own name (``Parsed.fields``), the canonical path after it."""
    return "; ".join(f"{_named(path, names)}: {msg}" for path, msg in exc.errors), _native(exc.field, names)


# The message's properties the store keeps, with the longest value each column holds. A
# longer message id or kind is refused (an accepted message's are stored); the content
# type and encoding, kept only with a dead letter, are cut to fit there.
_LIMITS = (("message_id", "message_id", min(Inbox.__table__.c.message_id.type.length,
                                             DeadLetter.__table__.c.message_id.type.length)),
           ("x-wagehub-kind", "kind", min(Inbox.__table__.c.kind.type.length, DeadLetter.__table__.c.kind.type.length)),
           ("content_type", "content_type", DeadLetter.__table__.c.content_type.type.length),
           ("content_encoding", "content_encoding", DeadLetter.__table__.c.content_encoding.type.length))


def _fit(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters, a digest of the whole at its end (still telling
    two long values apart), to store what :data:`_LIMITS` refused."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit - 17] + "~" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _fitted(msg: NativeMessage) -> NativeMessage:
    """The message with each property cut to what the store holds (see :func:`_fit`)."""
    fits = {attr: _fit(getattr(msg, attr), limit) for _, attr, limit in _LIMITS}
    return msg if all(fits[attr] is getattr(msg, attr) for attr in fits) else dataclasses.replace(msg, **fits)


def _refusal(where: str, rule: str) -> str:
    return ruled(f"{where} {_UNSTORABLE_WHY[rule]}", rule)


def _clean(text: str | None) -> str | None:
    return _UNSTORABLE.sub("\ufffd", text) if isinstance(text, str) else text


class _HubError(Exception):
    """The hub's own handling of a parsed item raised (wraps the error as its cause)."""


STATE_CHECKED = transfers.STATE_CHECKED | listing.STATE_CHECKED
"""Record types checked against their matter's state before anything of them applies."""


class Pipeline:
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

    # -- stage 1: outside the transaction -------------------------------------------------

    def _prepare(self, message: NativeMessage, *, trusted: bool = False) -> _Prepared:
        prep = _Prepared(message, Outcome(agency=message.agency, message_id=message.message_id, kind=message.kind))
        adapter = self.registry.get(message.agency)
        if adapter is None:
            prep.whole_failure = Failure(f"no plugin adapts agency {message.agency!r}", "agency", "unknown-agency")
            return prep
        if not message.message_id:
            prep.whole_failure = Failure("message_id is required (rule: required)", "message_id", "required")
            return prep
        if message.content_type is not None and not message.content_type.strip():
            # ("": a queue message without one; None: a hub caller with no transport, e.g. the demo)
            prep.whole_failure = Failure("content_type is required (rule: required)", "content_type", "required")
            return prep
        for name, value, limit in ((name, getattr(message, attr), limit) for name, attr, limit in _LIMITS[:2]):
            if isinstance(value, str) and len(value) > limit:
                # (stored, it would be a database error, taken for an outage: held for ever)
                prep.whole_failure = Failure(f"{name} must be at most {limit} characters (rule: length)", name,
                                             "length")
                return prep
        if bad := _unstorable_fields(message):
            (name, rule), names = bad[0], ", ".join(n for n, r in bad if r == bad[0][1])
            prep.whole_failure = Failure(_refusal(names, rule), name, rule)
            return prep
        try:
            key = None if trusted else adapter.key_for(message)
        except InvalidMessage as exc:  # the plugin cannot tell whose key should have signed it
            prep.whole_failure = Failure(f"unauthenticated: {exc.reason}", exc.field, exc.rule, message.kind)
            return prep
        if key:
            given = str(message.headers.get("x-wagehub-signature") or "").strip().lower()  # hex in either case
            if not hmac.compare_digest(given, signature_for(key, message.body)):
                rule = "hmac-signature-missing" if not given else "hmac-signature"
                prep.whole_failure = Failure(
                    "unauthenticated: x-wagehub-signature is missing or does not match the body "
                    f"(rule: {rule})", "x-wagehub-signature", rule)
                return prep
        received = iso(now_beijing())

        def take(item) -> None:
            """Validate one parsed item as it comes (a batch file's rows are not all held)."""
            if isinstance(item, Rejected):
                prep.outcome.failures.append(Failure(item.reason, item.field, item.rule, item.kind or message.kind,
                                                     item.row or 0, item.raw))
                return
            record = {"type": item.type, "source_agency": adapter.code, "source_ref": item.source_ref,
                      "schema_version": SCHEMAS[item.type].VERSION if item.type in SCHEMAS else None,
                      **item.record}
            record.setdefault("received_at", received)
            try:
                canonical = normalise_record(record)
            except RecordInvalid as exc:
                where = f"row {item.row}: " if item.row else ""
                reason, field = schema_refusal(exc, item.fields)
                prep.outcome.failures.append(Failure(
                    f"{where}{reason}", field, exc.rule, item.kind, item.row or 0, item.raw))
                return
            # (source_ref last: it repeats a field of the record, which is the one to name)
            if (bad := _unstorable_path(dict(sorted(canonical.items(), key=lambda kv: kv[0] == "source_ref")))) \
                    is not None:
                where = f"row {item.row}: " if item.row else ""
                prep.outcome.failures.append(Failure(f"{where}{_refusal(_named(bad[0], item.fields), bad[1])}",
                                                     _native(bad[0], item.fields), bad[1], item.kind,
                                                     item.row or 0, item.raw))
                return
            # (surrogatepass: a field the schema dropped may still hold a lone surrogate)
            what = [item.type, item.source_ref, item.record] + ([item.identity] if item.identity is not None else [])
            fp = hashlib.sha256(json.dumps(what, sort_keys=True,
                                           ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")).hexdigest()
            prep.records.append((canonical, fp))
            if canonical["type"] in STATE_CHECKED:
                prep.names[id(canonical)] = item.fields
            prep.outcome.kind = prep.outcome.kind or item.kind

        if not self._parse(adapter, message, prep, take):
            return prep
        if not prep.records and prep.outcome.failures and len(prep.outcome.failures) == 1 \
                and not prep.outcome.failures[0].row:
            prep.whole_failure = prep.outcome.failures.pop()
        return prep

    def _parse(self, adapter, message: NativeMessage, prep: _Prepared, take) -> bool:
        """Hand each item the plugin yields to ``take``; False when the message failed whole.

        A plugin that raises part-way is run again from the start (what it yielded before
        is dropped), then dead-lettered after ``plugin_attempts``.
        """
        delay = 0.05
        for attempt in range(1, self.plugin_attempts + 1):
            prep.records.clear()
            prep.outcome.failures.clear()
            try:
                for item in adapter.parse(message) or ():
                    if not isinstance(item, Rejected) and not (isinstance(item, Parsed)
                                                               and isinstance(item.record, Mapping)):
                        raise TypeError(f"parse_message yielded a {type(item).__name__}: "
                                        "a Parsed (with a dict record) or a Rejected was expected")
                    try:
                        take(item)
                    except Exception as exc:  # noqa: BLE001  (the hub's own checks failed: a hub bug)
                        raise _HubError(exc) from exc
                return True
            except _HubError as exc:
                # Not the plugin's fault, and it would fail the same way again: dead-letter
                # at once, naming the hub's code (the bytes replay once the hub is fixed).
                summary = _summary(exc.__cause__)
                log.error("hub failed on an item of message %s from %s: %s", message.message_id, adapter.code,
                          summary)
                prep.records.clear()
                prep.outcome.failures.clear()
                prep.whole_failure = Failure(f"hub error: {summary}", None, "hub-error", message.kind)
                return False
            except InvalidMessage as exc:
                prep.records.clear()
                prep.outcome.failures.clear()
                prep.whole_failure = Failure(exc.reason, exc.field, exc.rule, exc.kind or message.kind)
                return False
            except Exception as exc:  # a bug in the plugin: retry, then dead-letter
                summary = _summary(exc)
                log.warning("plugin %s raised %s on message %s (attempt %d of %d)", adapter.name, summary,
                            message.message_id, attempt, self.plugin_attempts)
                if attempt == self.plugin_attempts:
                    prep.records.clear()
                    prep.outcome.failures.clear()
                    prep.whole_failure = Failure(f"plugin error after {attempt} attempts: {summary}",
                                                 None, "plugin-error", message.kind)
                    return False
                time.sleep(delay)
                delay *= 4
        return False

    # -- stage 2: one transaction ---------------------------------------------------------

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
        prep.records = [(canonical, fp)]
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

    def _commit(self, prepared: list[_Prepared], replay_of: int | None, actor: str | None = None) -> None:
        in_batch: set[tuple[str, str]] = set()
        touched: dict[str, list[str]] = {}  # matter -> matters merged into it
        trail: list[tuple[str, str, str, dict[str, Any]]] = []  # audit entries of this batch
        with self.store.session() as session, session.no_autoflush:
            seen = self._seen(session, [p.message for p in prepared if p.outcome.status != "duplicate"])
            for p in prepared:
                if (p.message.agency, p.message.message_id) in seen:  # a redelivery or a resend
                    p.outcome = Outcome(p.message.agency, p.message.message_id, "duplicate", kind=p.message.kind)
                    p.records, p.whole_failure = [], None
            unit = _Unit(session, self.outbox)
            unit.prefetch([p for p in prepared if p.outcome.status != "duplicate" and p.whole_failure is None])
            for p in prepared:
                msg, o = p.message, p.outcome
                if o.status == "duplicate":
                    continue
                if msg.message_id and (msg.agency, msg.message_id) in in_batch:
                    o.status = "duplicate"
                    continue
                if p.whole_failure is None and p.records:
                    self._check_state(unit, p)
                if p.whole_failure is not None:
                    o.status = "rejected"
                    o.failures.insert(0, p.whole_failure)
                    o.dead_letters.extend(self._dead_letters(session, msg, [p.whole_failure], replay_of))
                    trail.append((actor or msg.agency, "message.rejected", f"{msg.agency}/{_clean(_fitted(msg).message_id)}",
                                  {"dead_letters": o.dead_letters, "rule": p.whole_failure.rule,
                                   "body_sha256": hashlib.sha256(msg.body).hexdigest()}))
                    continue
                if o.failures:
                    o.dead_letters.extend(self._dead_letters(session, msg, o.failures, replay_of))
                self._store_records(unit, p, touched)
                unit.inbox.append({"agency": msg.agency, "message_id": msg.message_id, "kind": o.kind,
                                   "received_at": unit.now, "records": len(o.records), "rejected": len(o.failures)})
                in_batch.add((msg.agency, msg.message_id))
                trail.append((actor or msg.agency, "message.accepted", f"{msg.agency}/{msg.message_id}",
                              {"records": o.records, "dead_letters": o.dead_letters,
                               "body_sha256": hashlib.sha256(msg.body).hexdigest()}))
            unit.flush()
            merged_away = {m for ms in touched.values() for m in ms}
            live = {m: merged for m, merged in touched.items() if m not in merged_away}
            self._recheck_held(unit, live)
            self._risks(unit, live)
            self._callbacks(unit, prepared, actor)
            # (the matters merged away too: their rows still carry their old id until the refresh)
            replies = answers.reply_states(session, [m for mid, merged in live.items() for m in (mid, *merged)]) \
                if self._has_work_orders(unit, prepared, live) else None
            dues = deadlines.refresh_many(session, live, self.settings["deadlines"],
                                          known={m: unit.local[m] for m in live if m in unit.linker.whole},
                                          linkage=self.settings["linkage"])
            if replies is not None and (results := answers.result_rows(session, replies, dues)):
                # the matter ended: each work order on it is owed its result (once a round)
                for row in results:
                    outbox.enqueue(session, row, claim=False, hold=True)
                outbox.flush(session)
            if replay_of is not None:
                self._mark_replay(session, replay_of, prepared[0].outcome)
            audit.append_many(session, trail)

    @staticmethod
    def _has_work_orders(unit: _Unit, prepared: list[_Prepared], live: Mapping[str, Any]) -> bool:
        """Whether any matter this batch touched holds a work order (one query, when it might)."""
        if not live:
            return False
        if any(r["type"] == "work_order" for p in prepared for r, _ in p.records):
            return True
        ids = sorted(live)
        return any(unit.session.execute(select(Record.seq).where(any_of(unit.session, Record.matter_id,
                                                                        ids[i:i + 500]),
                                                                 Record.type == "work_order").limit(1)).first()
                   for i in range(0, len(ids), 500))

    def _callbacks(self, unit: _Unit, prepared: list[_Prepared], actor: str | None) -> None:
        """A call back stored by this batch that reopens its matter tells ``[followup]
        reopen_recipients``; one on a matter the follow-up sample drew is that matter's
        follow-up result too."""
        from hub.casework import followup

        stored = [r for p in prepared if p.outcome.status == "accepted" for r, _ in p.records
                  if r["type"] == "satisfaction" and r.get("record_id") in set(p.outcome.records)]
        if not stored:
            return
        unit.flush()
        rows: list[dict[str, Any]] = []
        for record in stored:
            matter_id = matters.resolve(unit.session, record["matter_id"]) or record["matter_id"]
            said = {"work_order_no": record["work_order_no"], "called_at": record["called_at"],
                    "reached": record["reached"], "resolved": record.get("resolved"), "paid": record.get("paid"),
                    "satisfied": record.get("satisfied"), "remark": record.get("remark"),
                    "source": record["source_agency"]}
            if deadlines.reopens(record):
                rows += answers.reopen_rows(unit.session, self.settings, self.registry.codes(), matter_id, said,
                                            record["record_id"])
            day = followup.sample_day_of(unit.session, matter_id, self.settings)
            if day is not None and not followup.results_of(unit.session, day).get(matter_id):
                result = {"called_at": deadlines.when(record["called_at"]), "reached": record["reached"],
                          "resolved": record.get("resolved"), "paid_full": record.get("paid"),
                          "satisfied": record.get("satisfied"), "remark": record.get("remark")}
                followup.add_result(unit.session, self.settings, self.registry.codes(), matter_id, result,
                                    source=record["source_agency"], actor=actor or record["source_agency"],
                                    record_id=record["record_id"], sample_day=day)
        for row in rows:
            outbox.enqueue(unit.session, row, claim=False, hold=True)
        outbox.flush(unit.session)

    def _store_records(self, unit: _Unit, p: _Prepared, touched: dict[str, list[str]]) -> None:
        """Store the message's records and their outbox rows."""
        agency = p.message.agency
        for record, fp in p.records:
            if (agency, record["type"], fp) in unit.fingerprints:
                continue  # the same record again, under another message id: no second effect
            unit.fingerprints.add((agency, record["type"], fp))
            record_id = new_id("rec")
            merged: list[str] = []
            matter_id = unit.linker.link(record, merged)
            touched.setdefault(matter_id, []).extend(merged)
            if record["type"] == listing.TYPE and not record.get("region_code"):
                record["region_code"] = listing.region_of(unit.session, matter_id)
            record.update(record_id=record_id, matter_id=matter_id, accepted_at=iso(now_beijing()))
            if matter_id in unit.linker.whole:
                unit.local.setdefault(matter_id, []).append(record)
            unit.records.append({
                "record_id": record_id, "type": record["type"], "schema_version": record["schema_version"],
                "source_agency": record["source_agency"], "source_ref": record["source_ref"], "matter_id": matter_id,
                "message_id": p.message.message_id, "fingerprint": fp, "occurred_at": matters.occurred_at(record),
                "accepted_at": unit.now, "data": record,
            })
            p.outcome.records.append(record_id)
            self._route(unit, record, matter_id)
            if (ground := listing.ground_of(record)) is not None:
                unit.flush()
                if (row := listing.candidate(unit.session, matter_id, *ground, self.settings, unit.outbox)) is not None:
                    outbox.enqueue(unit.session, row, claim=False, hold=True)
            if len(unit.records) >= FLUSH_EVERY:  # a batch file's rows: keep what waits in memory bounded
                unit.flush()

    def _route(self, unit: _Unit, record: dict[str, Any], matter_id: str, *,
               released: bool = False, claim: bool = True, cache: dict[str, Any] | None = None) -> list[OutboxRow]:
        """Write an outbox row for each route the record takes; returns the rows.

        A route with ``hold = "dossier"`` sends a criminal transfer only when its dossier
        is complete; otherwise it waits for the linkage office (``released=True`` then
        writes the held routes' rows, and only those).
        """
        written = []
        refs = None
        dossier_ok = None  # checked once, however many routes hold on it
        session = unit.session
        # related records, read once for all the record's routes (or, given, the caller's records of the matter)
        cache = {} if cache is None else cache

        def related(rtype: str) -> dict | None:
            if rtype not in cache:
                # The query must see this transaction's records of that type, if it holds any; else
                # the batch goes on being held back (a flush per clue was most of a clue's cost).
                if any(r["type"] == rtype for r in unit.records):
                    unit.flush()
                cache[rtype] = matters.related(session, matter_id, rtype, record)
            return cache[rtype]

        for route in self.routes:
            if not route.matches(record) or (released and not route.hold):
                continue
            if route.hold == "dossier" and not released:
                if dossier_ok is None:
                    unit.flush()
                    dossier_ok = self._dossier_passes(unit, record, matter_id, written)
                if not dossier_ok:
                    continue
            if refs is None:
                refs = unit.linker.refs(matter_id)

            params = self._params(route)
            if record["type"] == "criminal_transfer":
                if "round" not in cache:
                    unit.flush()
                    cache["round"] = transfer_round(session, record, matter_id)
                params["round"] = cache["round"]
            for each in self._each(unit, route, matter_id):
                message_id = new_id("out")
                if link_as := params.pop("link_as", None):
                    # The hub's own number for what it sent (an assignment): an answer quoting it
                    # joins this matter.
                    unit.linker.add_key(matter_id, f"{link_as}:{message_id}")
                    refs = None
                payload = {
                    "record": route.project(record, related if each is None else
                                            (lambda rtype, each=each, route=route: each if rtype == route.for_each
                                             else related(rtype))),
                    "refs": refs if refs is not None else unit.linker.refs(matter_id),
                    "params": params,
                    "created_at": iso(now_beijing()),
                }
                written.append(outbox.enqueue(session, OutboxRow.new(
                    message_id=message_id, now=unit.now, record_id=record["record_id"], record_type=record["type"],
                    source_agency=record["source_agency"], matter_id=matter_id, recipient=route.to,
                    kind=route.kind, route=route.name, payload=payload), claim=claim and not released, hold=True))
        return written

    @staticmethod
    def _each(unit: _Unit, route: Route, matter_id: str) -> list[dict[str, Any] | None]:
        """The records a ``for_each`` route writes one delivery for (the matter's of that
        type, oldest first, each number once); ``[None]``: one delivery, as usual."""
        if route.for_each is None:
            return [None]
        unit.flush()
        field = RECORD_SCHEMAS[route.for_each].LINKS[0][1] if RECORD_SCHEMAS[route.for_each].LINKS else None
        found: dict[Any, dict[str, Any]] = {}
        for (data,) in unit.session.execute(select(Record.data).where(
                Record.matter_id == matter_id, Record.type == route.for_each).order_by(Record.seq)):
            found.setdefault(data.get(field) if field else data.get("record_id"), data)
        return list(found.values())

    def _risks(self, unit: _Unit, live: Mapping[str, list[str]], now=None) -> int:
        """Raise and clear the early-warning risks of the matters this batch touched
        (``hub.casework.risks``): each risk record is stored on its matter and routed like any record.
        Returns the number of risk records made."""
        if not live:
            return 0
        related: dict[tuple, dict[str, Any]] = {}  # (matter, project) -> the records a route's extra names

        def emit(record: dict[str, Any], matter_id: str) -> None:
            unit.records.append(risks.stored_row(record, matter_id, "hub:risks", unit.now))
            self._route(unit, record, matter_id, claim=False,
                        cache=related.setdefault((matter_id, record.get("project_code")), {}))

        unit.flush()
        made = risks.refresh(unit.session, live, self.settings["risks"], now or utcnow(), emit,
                             known={m: unit.local[m] for m in live if m in unit.linker.whole})
        unit.flush()
        return made

    def refresh_risks(self, session, matters_: Mapping[str, list[str]], now) -> int:
        """:meth:`_risks` for the scheduler's sweep, in the caller's transaction (the relays
        are told of the rows written after its commit)."""
        return self._risks(_Unit(session, self.outbox), matters_, now)

    def _params(self, route: Route) -> dict[str, Any]:
        """The route's params for the renderer. ``due_rule`` names a deadline limit: the
        recipient is told when it ends (``due_on``), under the same settings the hub's own
        deadline for that step uses."""
        params = dict(route.params)
        if rule := params.get("due_rule"):
            params["due_on"] = iso(deadlines.due_time(now_beijing(), self.settings["deadlines"][rule]))
        return params

    def _check_state(self, unit: _Unit, p: _Prepared) -> None:
        """Refuse a message whose record cannot apply to its matter as the store holds it
        (a reconsideration of a transfer never declined...): whole, so nothing of it applies."""
        for record, fp in p.records:
            if record["type"] not in STATE_CHECKED or \
                    (p.message.agency, record["type"], fp) in unit.fingerprints:
                continue
            unit.flush()
            found = listing.refusal(unit.session, record) if record["type"] in listing.STATE_CHECKED \
                else transfers.refusal(unit.session, record, self.registry)
            if found is None:
                continue
            path, rule, why = found
            names = p.names.get(id(record))
            p.whole_failure = Failure(ruled(f"{_named(path, names)}: {why}", rule), _native(path, names), rule,
                                      p.message.kind)
            p.records = []
            return

    def _recheck_held(self, unit: _Unit, live: Mapping[str, Any]) -> None:
        """Check again each held dossier of the matters this batch touched, so its missing
        list is current; one now complete goes to the police when ``[linkage]
        release_when_complete`` (else it waits, complete, for the linkage office)."""
        if not live:
            return
        session = unit.session
        unit.flush()
        session.flush()
        held = session.scalars(select(TransferHold).where(any_of(session, TransferHold.matter_id, sorted(live)),
                                                          TransferHold.status == "held")).all()
        for hold in held:
            latest = linkage.latest_hold(session, hold.transfer_no)
            if latest is not None and latest.record_id != hold.record_id:
                continue
            records = linkage.matter_records(session, hold.matter_id)
            record = next((r for r in records if r["record_id"] == hold.record_id), None)
            if record is None:
                continue
            result = linkage.check_dossier(record, [r for r in records if r["record_id"] != hold.record_id],
                                           self.settings["linkage"])
            before = [m["item"] for m in hold.missing.get("missing", [])]
            now = [m["item"] for m in result["missing"]]
            hold.missing = {**result, "rechecked_at": iso(now_beijing())}
            if before != now:
                audit.append(session, "hub", "dossier.rechecked", hold.transfer_no,
                             {"record_id": hold.record_id, "missing": now})
            if result["complete"] and self.settings["linkage"]["release_when_complete"]:
                hold.status, hold.decided_by, hold.decided_at = "released", "hub", utcnow()
                hold.reason = "every missing item arrived"
                audit.append(session, "hub", "transfer.released", hold.transfer_no,
                             {"record_id": hold.record_id, "reason": hold.reason})
                self._route(unit, {**record, "matter_id": hold.matter_id}, hold.matter_id, released=True)
                outbox.enqueue(session, linkage.decision_notice(record, hold.matter_id, "released", result,
                                                                hold.reason), claim=False, hold=True)
        unit.flush()

    def _dossier_passes(self, unit: _Unit, record: dict[str, Any], matter_id: str, held: list[OutboxRow]) -> bool:
        """Check a transfer's dossier and keep the result; a held one is told to the agency
        that made it (a row written and appended to ``held``)."""
        session = unit.session
        related = [r for r in linkage.matter_records(session, matter_id) if r["record_id"] != record["record_id"]]
        result = linkage.check_dossier(record, related, self.settings["linkage"])
        status = "passed" if result["complete"] else "held"
        # A later sending of the same transfer (补充移送) takes the place of one still held.
        session.execute(update(TransferHold).where(TransferHold.transfer_no == record["transfer_no"],
                                                   TransferHold.status == "held",
                                                   TransferHold.record_id != record["record_id"])
                        .values(status="superseded", decided_by="hub", decided_at=utcnow(),
                                reason="sent again before a decision").execution_options(synchronize_session=False))
        session.merge(TransferHold(record_id=record["record_id"], transfer_no=record["transfer_no"],
                                   matter_id=matter_id, status=status, missing=result))
        audit.append(session, "hub", f"dossier.{status}", record["transfer_no"],
                     {"record_id": record["record_id"], "missing": [m["item"] for m in result["missing"]]})
        if status == "held":
            log.info("transfer %s held for the linkage office: %s", record["transfer_no"],
                     ", ".join(m["item"] for m in result["missing"]))
            held.append(outbox.enqueue(session, linkage.decision_notice(record, matter_id, "held", result),
                                       claim=False, hold=True))
        return result["complete"]

    def release(self, session, record: dict[str, Any]) -> set[str]:
        """Send a held transfer on its held routes (the linkage office released it);
        returns the recipients of the rows written (the relays are told of them after the
        commit)."""
        unit = _Unit(session, self.outbox)
        rows = self._route(unit, record, record["matter_id"], released=True)
        unit.flush()
        return {row.recipient for row in rows}

    def _dead_letters(self, session, msg: NativeMessage, failures: Collection[Failure],
                      replay_of: int | None) -> list[int]:
        """Store a dead letter for each failure (the original bytes: the row's, or the whole
        message's); returns their ids, in order. One that is stored already (a redelivery of
        the same message) is not stored twice. A batch file with many bad rows costs one
        query and a few bulk inserts, not two statements a row."""
        if replay_of is not None:
            return [replay_of] * len(failures)
        msg = _fitted(msg)
        if _unstorable_fields(msg):
            msg = dataclasses.replace(msg, message_id=_clean(msg.message_id), kind=_clean(msg.kind),
                                      content_type=_clean(msg.content_type),
                                      content_encoding=_clean(msg.content_encoding),
                                      headers={_clean(str(k)): _clean(v) for k, v in dict(msg.headers).items()})
        headers = {k: v for k, v in dict(msg.headers).items() if isinstance(v, (str, int, float, bool))}
        out: list[int] = []
        logged: Counter = Counter()  # rows by rule: the first is logged, the rest counted
        first: dict[str | None, tuple[int, str, int, str | None]] = {}  # rule -> the first row's
        statement = insert(DeadLetter).returning(DeadLetter.id, sort_by_parameter_order=True)
        for chunk in _chunks(failures, 1000):  # (so a file's bad rows are never all held at once)
            ids: dict[tuple[str, int, str], int | None] = {}  # (message id, row, sha) -> id
            keys, rows = [], []
            for failure in chunk:
                if _unstorable_path([failure.reason, failure.field, failure.rule, failure.kind]):
                    failure = dataclasses.replace(failure, reason=_clean(failure.reason), field=_clean(failure.field),
                                                  rule=_clean(failure.rule), kind=_clean(failure.kind))
                body = failure.body if failure.body is not None else msg.body
                sha = hashlib.sha256(body).hexdigest()
                key = (msg.message_id or f"missing-{sha[:16]}", failure.row, sha)
                keys.append(key)
                if key not in ids:
                    ids[key] = None
                    rows.append({"agency": msg.agency, "kind": failure.kind or msg.kind, "message_id": key[0],
                                 "row": failure.row, "reason": failure.reason, "field": failure.field,
                                 "rule": failure.rule, "body": body, "body_sha256": sha,
                                 "content_type": msg.content_type, "content_encoding": msg.content_encoding,
                                 "headers": headers})
            # Stored already: by a redelivery of this message, or by an earlier chunk or message of this batch.
            for row_id, message_id, row, sha in session.execute(
                    select(DeadLetter.id, DeadLetter.message_id, DeadLetter.row, DeadLetter.body_sha256)
                    .where(DeadLetter.agency == msg.agency, any_of(session, DeadLetter.message_id, {k[0] for k in ids}),
                           DeadLetter.row.between(min(k[1] for k in ids), max(k[1] for k in ids)))):
                if (message_id, row, sha) in ids:
                    ids[(message_id, row, sha)] = row_id
            rows = [r for r in rows if ids[(r["message_id"], r["row"], r["body_sha256"])] is None]
            if rows:
                for r, row_id in zip(rows, session.execute(statement, rows).scalars()):
                    ids[(r["message_id"], r["row"], r["body_sha256"])] = row_id
                    logged[r["rule"]] += 1
                    first.setdefault(r["rule"], (row_id, r["message_id"], r["row"], r["field"]))
            out.extend(ids[key] for key in keys)
        for rule, count in logged.items():  # a line per rule, not per row: a file may have thousands
            row_id, message_id, row, field_name = first[rule]
            log.warning("dead letter %d: %s message %s row %s: field %s, rule %s%s", row_id, msg.agency, message_id,
                        row or "-", field_name, rule, f" (and {count - 1} more with this rule)" if count > 1 else "")
        return out

    def _mark_replay(self, session, dead_letter_id: int, outcome: Outcome) -> None:
        dl = session.get(DeadLetter, dead_letter_id)
        if dl is None:
            return
        dl.attempts = (dl.attempts or 0) + 1
        dl.replayed_at = utcnow()
        dl.replay_result = outcome.to_dict()
        if outcome.status in ("accepted", "duplicate") and not outcome.failures:
            dl.status = "replayed"
        elif outcome.failures:
            first = outcome.failures[0]
            dl.reason, dl.field, dl.rule = first.reason, first.field, first.rule


def transfer_round(session, record: Mapping[str, Any], matter_id: str) -> int:
    """The round of a transfer record: 1, then 2, 3... for each sending of the same
    transfer number (补充移送 after the police asked for materials)."""
    number = record["transfer_no"]
    before = 0
    for (data,) in session.execute(select(Record.data).where(Record.matter_id == matter_id,
                                                             Record.type == "criminal_transfer").order_by(Record.seq)):
        if data.get("record_id") == record["record_id"]:
            break
        before += data.get("transfer_no") == number
    return before + 1


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    """``items`` in lists of ``size`` (the last may be shorter), taken as they come."""
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def message_for_replay(dl: DeadLetter, body: bytes | None = None, signature: str | None = None) -> NativeMessage:
    """The native message a dead letter stands for (a row replays alone, under its own id),
    with the signature it came with, or ``signature`` (of fixed bytes) in its place."""
    from hub.store.retention import PRUNED

    message_id = dl.message_id if not dl.row else f"{dl.message_id}#row{dl.row}"
    headers = dict(dl.headers or {})
    if headers.pop(PRUNED, None) and body is None:
        raise Conflict(f"dead letter {dl.id}: its bytes were pruned (retention); replay it with fixed bytes")
    if signature is not None:
        headers["x-wagehub-signature"] = signature
    return NativeMessage(agency=dl.agency, body=body if body is not None else dl.body, message_id=message_id,
                         content_type=dl.content_type or None,  # replayed after review, with or without one
                         content_encoding=dl.content_encoding, kind=headers.get("x-wagehub-kind"), headers=headers)
