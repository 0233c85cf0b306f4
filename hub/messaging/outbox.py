"""The outbox: every delivery the hub owes is a row written by :func:`enqueue`, in the
transaction of what caused it, and sent after the commit by a relay (``hub.messaging.relay``).

A row keeps its ``message_id`` for life, so a publish retried after a crash is a duplicate
the recipient drops; per matter and recipient rows go out in id order (:func:`waiting_behind`).

An inbound worker's rows need not wait for a relay round: under :func:`claiming`, rows to the
claim's recipients are written already claimed (no second query to claim them), and once the
transaction commits they are the claim's ``rows``, for the worker to hand to its relay. A row
that must wait behind an earlier undelivered one of its matter and recipient is left
unclaimed at the commit; rows no one claimed wake the relays (:class:`Subscribers`).
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime as dt
import hashlib
import hmac
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, aliased

from hub.ids import new_id
from hub.store import any_of, insert_rows
from hub.store.models import Outbox, utcnow

# Rows one transaction writes claimed for the caller to deliver; a batch file's rows past
# these are left to the relay, so its rows are not all held in memory.
CLAIM_AHEAD_ROWS = 2000


def signature_for(key: str, body: bytes) -> str:
    """The ``x-wagehub-signature`` of ``body`` under ``key`` (HMAC-SHA256, hex)."""
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


@dataclass(slots=True)
class OutboxRow:
    """One outbox row, as it is written and as a relay delivers it (either path)."""

    message_id: str
    record_id: str
    record_type: str
    source_agency: str
    matter_id: str
    recipient: str
    kind: str
    route: str
    payload: dict[str, Any]
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    claimed_until: dt.datetime | None = None
    id: int | None = None

    COLUMNS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def new(cls, *, message_id: str | None = None, now: dt.datetime | None = None, **fields: Any) -> OutboxRow:
        """A row to write: a new message id (unless given), due now."""
        now = now or utcnow()
        return cls(message_id=message_id or new_id("out"), next_attempt_at=now, created_at=now, **fields)

    @classmethod
    def of(cls, row: OutboxRow | Mapping[str, Any]) -> OutboxRow:
        """``row`` as an OutboxRow: a mapping's other keys (a stored row's ``sent_at``...) are dropped."""
        if isinstance(row, OutboxRow):
            return row
        return cls(**{name: row[name] for name in cls.COLUMNS if name in row})

    def values(self) -> dict[str, Any]:
        """The columns to insert (the id is the database's)."""
        now = utcnow()
        out = {name: getattr(self, name) for name in self.COLUMNS if name != "id"}
        out["next_attempt_at"] = out["next_attempt_at"] or now
        out["created_at"] = out["created_at"] or now
        return out


OutboxRow.COLUMNS = tuple(f.name for f in dataclasses.fields(OutboxRow))


class Subscribers:
    """Who is told, after a commit, of rows written that no one has claimed: with their
    recipients (a process's relays, to run a round now rather than at their next poll)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[[frozenset[str]], None]] = []

    def subscribe(self, callback: Callable[[frozenset[str]], None]) -> None:
        self._callbacks.append(callback)

    def notify(self, recipients: Iterable[str]) -> None:
        recipients = frozenset(recipients)
        if recipients:
            for callback in list(self._callbacks):
                callback(recipients)


@dataclass
class Claim:
    """A relay's claim, taken ahead, on the rows to ``recipients`` that transactions write
    under :func:`claiming`, until ``until``; ``rows``: those committed, to deliver."""

    recipients: frozenset[str]
    until: dt.datetime
    rows: list[OutboxRow] = field(default_factory=list)


_claim: contextvars.ContextVar[Claim | None] = contextvars.ContextVar("outbox_claim", default=None)


@contextmanager
def claiming(claim: Claim | None) -> Iterator[Claim | None]:
    """Write the outbox rows of this thread's transactions under ``claim`` (None: unclaimed)."""
    token = _claim.set(claim)
    try:
        yield claim
    finally:
        _claim.reset(token)


class _Writes:
    """What one transaction (its session) writes to the outbox."""

    def __init__(self) -> None:
        self.claim = _claim.get()
        self.room = CLAIM_AHEAD_ROWS
        self.claimed: list[OutboxRow] = []
        self.unclaimed: set[str] = set()  # recipients of rows no one claimed
        self.held: list[dict[str, Any]] = []  # rows written in bulk by flush()
        self.fresh: Collection[str] = ()  # matters this transaction made: no row of theirs waits
        self.subscribers: Subscribers | None = None


def _writes(session: Session) -> _Writes:
    writes = session.info.get("outbox")
    if writes is None:
        writes = session.info["outbox"] = _Writes()
    return writes


def track(session: Session, *, subscribers: Subscribers | None = None, fresh: Collection[str] = ()) -> list[dict]:
    """After ``session`` commits, tell ``subscribers`` of the rows it wrote that no one claimed;
    rows of the matters in ``fresh`` (a live collection: the matters this transaction made)
    skip the order check. Returns the rows held back (:func:`enqueue` with ``hold=True``), as
    dicts, until :func:`flush`."""
    writes = _writes(session)
    writes.subscribers, writes.fresh = subscribers, fresh
    return writes.held


def enqueue(session: Session, row: OutboxRow | Mapping[str, Any], *, claim: bool = True,
            hold: bool = False) -> OutboxRow:
    """Write a delivery in ``session``'s transaction (``hold``: at the next :func:`flush`,
    with others, in bulk). Under :func:`claiming` (and ``claim``), a row to one of the
    claim's recipients is written claimed, while the transaction has room."""
    row = OutboxRow.of(row)
    writes = _writes(session)
    taken = writes.claim
    if claim and taken is not None and row.recipient in taken.recipients and writes.room > 0:
        row.claimed_until = taken.until
        writes.room -= 1
        writes.claimed.append(row)
    else:
        row.claimed_until = None
        writes.unclaimed.add(row.recipient)
    writes.held.append(row.values())
    if not hold:
        flush(session)
    return row


def flush(session: Session) -> None:
    """Write the rows held back (:func:`enqueue` with ``hold=True``)."""
    writes = session.info.get("outbox")
    if writes is not None and writes.held:
        insert_rows(session.connection(), Outbox.__table__, writes.held)  # no ORM bookkeeping
        writes.held.clear()


def recipients_unclaimed(session: Session) -> set[str]:
    """The recipients of the rows this transaction wrote unclaimed so far."""
    writes = session.info.get("outbox")
    return set(writes.unclaimed) if writes is not None else set()


@event.listens_for(Session, "before_commit")
def _settle(session: Session) -> None:
    """Unclaim the rows written claimed that must wait for an earlier undelivered row of
    their matter and recipient (not this transaction's): a relay's round sends those in order."""
    writes = session.info.get("outbox")
    if writes is None:
        return
    flush(session)
    ours = {row.message_id: row for row in writes.claimed if row.matter_id not in writes.fresh}
    behind = waiting_behind(session, list(ours)) if ours else set()
    if behind:
        session.execute(update(Outbox).where(any_of(session, Outbox.message_id, sorted(behind)))
                        .values(claimed_until=None).execution_options(synchronize_session=False))
        for message_id in behind:
            ours[message_id].claimed_until = None
            writes.unclaimed.add(ours[message_id].recipient)
        writes.claimed = [row for row in writes.claimed if row.message_id not in behind]


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    writes = session.info.pop("outbox", None)
    if writes is None:
        return
    if writes.claim is not None:
        writes.claim.rows.extend(writes.claimed)
    if writes.subscribers is not None:
        writes.subscribers.notify(writes.unclaimed)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop("outbox", None)


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def waiting_behind(session, message_ids: list[str]) -> set[str]:
    """The outbox rows among ``message_ids`` that must wait: an earlier undelivered row of
    their matter and recipient is not among them. Per-matter order rests on this, however
    many workers relay: a worker's claim ahead and a relay's round both leave such rows."""
    earlier = aliased(Outbox)
    found: set[str] = set()
    for chunk in _chunks(message_ids, 300):
        found.update(session.execute(
            select(Outbox.message_id).where(
                any_of(session, Outbox.message_id, chunk),
                select(earlier.id).where(
                    earlier.matter_id == Outbox.matter_id, earlier.recipient == Outbox.recipient,
                    earlier.status == "pending", earlier.id < Outbox.id,
                    ~any_of(session, earlier.message_id, message_ids)).exists())).scalars())
    return found
