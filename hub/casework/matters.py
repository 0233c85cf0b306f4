"""Arrears matters: joining records by their numbers, and what a matter knows.

Each record type names the numbers that tie it to its matter (``schemas`` ``LINKS``);
a record whose numbers meet two matters merges them, so every agency's records about
one arrears case end up on one matter.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.casework.identity import duplicate_reason, soft_keys
from hub.ids import BEIJING, new_id
from hub.store import any_of, insert_rows
from hub.store.models import FollowupResult, Matter, MatterKey, Outbox, Record, TransferHold, utcnow
from schemas import RECORD_SCHEMAS, link_keys

# The business time of each record type: orders the matter's timeline.
OCCURRED_AT = {
    "clue": "received_at",
    "case": "status_at",
    "payment_order": "issued_on",
    "criminal_transfer": "transferred_on",
    "police_receipt": "received_at",
    "police_decision": "decided_at",
    "court_judgment": "decided_on",
    "court_enforcement": "updated_on",
    "mediation_result": "mediated_on",
    "project": "started_on",
    "payroll_shortfall": "month",
    "contractor_reply": "replied_at",
    "supervision_opinion": "issued_at",
    "reconsideration_request": "requested_on",
    "supervision_request": "requested_on",
    "case_extension": "approved_on",
    "wage_payment": "paid_on",
    "reconsideration_decision": "decided_at",
    "materials_request": "requested_at",
    "assignment_answer": "answered_on",
    "work_order": "taken_at",
    "satisfaction": "called_at",
    # early warning on construction projects (1.2)
    "account_deposit": "credited_on",
    "worker_payout": "paid_on",
    "deposit_event": "event_on",
    "missed_funding": "month",
    "roster_entry": "entered_on",
    "labour_contract": "signed_on",
    "payroll_month": "month",
    "risk": "raised_on",
    "credit_listing": "decision_date",
}

DUPLICATE_PAGE = 50  # a matter's clues read at a time by the duplicate check
DELIVERY_REFS = 20
"""The oldest numbers of each kind a delivery carries (``Delivery.refs``): a matter of
thousands of complaints would otherwise put every clue number in every delivery."""

# Namespace of a link key -> the name of the number in refs.
REF_NAMES = {
    "clue": "clue_no", "case": "case_no", "order": "order_no", "transfer": "transfer_no",
    "project": "project_code", "police_case": "police_case_no", "court_case": "court_case_number",
    "mediation": "mediation_no", "contractor_reply": "reply_no", "supervision_opinion": "opinion_no",
    "assignment": "assignment_no", "work_order": "work_order_no", "listing": "list_no",
}

# Early warnings: records about a project (or an employer) before anyone complains.
WARNINGS = ("project", "payroll_shortfall", "account_deposit", "worker_payout", "deposit_event", "missed_funding",
            "roster_entry", "labour_contract", "payroll_month", "risk")
# Facts about a project's workers, one record a worker and line (a bank's payout file is one
# record a payout) or a month's payroll rows in one: many to a matter, and large. The
# deadline engine needs none of them, so it does not read them back; the early-warning
# rules (hub.casework.risks) do.
WORKER_FACTS = ("worker_payout", "roster_entry", "labour_contract", "payroll_month")


def district(records) -> str | None:
    """A matter's district (GB/T 2260), from its records in the order the hub took them
    in: its first clue's ``region_code``, else its first project's, else the first record's
    that names one (the daily bulletin counts a matter's figures under the same one)."""
    found: dict[str, str] = {}
    for r in records:
        code = r.get("region_code")
        if code:
            found.setdefault(r["type"] if r["type"] in ("clue", "project") else "", code)
    return found.get("clue") or found.get("project") or found.get("")


def occurred_at(record: Mapping[str, Any]) -> dt.datetime:
    value = record.get(OCCURRED_AT.get(record["type"], "received_at")) or record.get("received_at")
    if isinstance(value, str):
        if len(value) == 7:  # a month
            value = value + "-01"
        if len(value) == 10:  # a date: the start of that day, Beijing time
            return dt.datetime.fromisoformat(value).replace(tzinfo=BEIJING)
        return dt.datetime.fromisoformat(value)
    return utcnow()


def link(session: Session, record: Mapping[str, Any], merged: list[str] | None = None) -> str:
    """The matter this record belongs to: found by its numbers, created, or merged.

    One record on its own; a batch uses a :class:`Joiner` (the same rules, fewer round trips).
    """
    joiner = Joiner(session)
    matter_id = joiner.link(record, merged)
    joiner.flush()
    return matter_id


class Joiner:
    """Joins the records of one transaction to their matters, with a few queries per batch.

    A clue whose own number is new joins the matter of an earlier complaint about the same
    arrears (same complainant, or same employer and project over an overlapping period):
    the QR code, the hotline and a petition reporting one arrears make one matter. A record
    whose numbers meet two matters merges them (matters merged away are appended to
    ``merged``).

    :meth:`prefetch` reads every number of a batch in one query; the numbers and matters a
    batch adds wait in memory until :meth:`flush` inserts them in bulk. ``before_read`` is
    called before a merge (the caller flushes what it holds back), so it sees the whole
    transaction; the duplicate check reads the records held back through ``held`` instead. A concurrent writer that added the same
    number first makes the insert fail on its primary key: the caller applies the batch
    again, and the number then joins its matter.
    """

    def __init__(self, session: Session, before_read=None, held=None):
        self.session = session
        self.before_read = before_read or self.flush
        # held(matter_id, type): the records of the caller's transaction not yet written
        self.held = held or (lambda matter_id, rtype: ())
        self.keys: dict[str, str | None] = {}  # key -> matter (None: known not to exist)
        self.numbers: dict[str, list[tuple[int, str]]] = {}  # matter -> its (seq, key), when all known
        self._refs: dict[str, tuple[list, int, dict[str, list[str]]]] = {}  # refs() of a matter's numbers
        self.new_matters: list[dict[str, Any]] = []
        self.new_keys: list[dict[str, Any]] = []
        self.bumped: set[str] = set()  # existing matters whose updated_at moves
        self.fresh: set[str] = set()  # matters this transaction created
        self.whole: set[str] = set()  # ... and that no merge touched: all their records are this transaction's

    def prefetch(self, records: list[Mapping[str, Any]]) -> None:
        wanted = {k for r in records for k in link_keys(dict(r)) + soft_keys(r)} - set(self.keys)
        if not wanted:
            return
        found: dict[str, str] = {}
        chunk = sorted(wanted)
        for i in range(0, len(chunk), 500):
            found.update(self.session.execute(select(MatterKey.key, MatterKey.matter_id)
                                              .where(any_of(self.session, MatterKey.key, chunk[i:i + 500]))).all())
        for k in wanted:
            self.keys[k] = found.get(k)
        self._load_numbers(set(found.values()) - set(self.numbers))

    def _load_numbers(self, matter_ids: set[str]) -> None:
        if not matter_ids:
            return
        for mid in matter_ids:
            self.numbers[mid] = []
        for key, mid, seq in self.session.execute(select(MatterKey.key, MatterKey.matter_id, MatterKey.seq)
                                                  .where(any_of(self.session, MatterKey.matter_id, matter_ids))):
            self.numbers[mid].append((seq, key))
            self.keys[key] = mid

    def _lookup(self, keys: list[str]) -> dict[str, str]:
        unknown = [k for k in keys if k not in self.keys]
        if unknown:
            rows = dict(self.session.execute(select(MatterKey.key, MatterKey.matter_id)
                                             .where(any_of(self.session, MatterKey.key, unknown))).all())
            for k in unknown:
                self.keys[k] = rows.get(k)
            self._load_numbers(set(rows.values()) - set(self.numbers))
        return {k: self.keys[k] for k in keys if self.keys.get(k)}

    def link(self, record: Mapping[str, Any], merged: list[str] | None = None) -> str:
        keys = link_keys(dict(record))
        soft = soft_keys(record)
        known = self._lookup(keys + soft)
        found = []
        for k in keys:
            if k in known and known[k] not in found:
                found.append(known[k])
        if not found:
            duplicate = self._duplicate_of(record, soft, known)
            if duplicate:
                found.append(duplicate)
        if not found:
            matter_id = new_id("mat")
            now = utcnow()
            self.new_matters.append({"id": matter_id, "created_at": now, "updated_at": now, "merged_into": None})
            self.fresh.add(matter_id)
            self.whole.add(matter_id)
            self.numbers[matter_id] = []
        else:
            matter_id = self._oldest(found)
            others = [m for m in found if m != matter_id]
            if others:
                self._merge(matter_id, others)
                if merged is not None:
                    merged.extend(others)
            if matter_id not in self.fresh:
                self.bumped.add(matter_id)
        seq = time.time_ns() // 1000  # orders a matter's numbers by when they were first seen
        for i, k in enumerate(keys + soft):
            if k not in known:
                self.new_keys.append({"key": k, "matter_id": matter_id, "seq": seq + i})
                self.keys[k] = matter_id
                if matter_id in self.numbers:
                    self.numbers[matter_id].append((seq + i, k))
        return matter_id

    def add_key(self, matter_id: str, key: str) -> None:
        """Tie one more number to a matter (the hub's own: an assignment it sent)."""
        self.new_keys.append({"key": key, "matter_id": matter_id, "seq": time.time_ns() // 1000})
        self.keys[key] = matter_id
        if matter_id in self.numbers:
            self.numbers[matter_id].append((time.time_ns() // 1000, key))

    def refs(self, matter_id: str) -> dict[str, list[str]]:
        """The matter's numbers by kind (``case_no``: [...]), oldest first, at most
        :data:`DELIVERY_REFS` of each; worked out once while the matter's numbers stay as they are."""
        if matter_id not in self.numbers:
            self._load_numbers({matter_id})
        numbers = self.numbers[matter_id]
        cached = self._refs.get(matter_id)
        if cached is None or cached[0] is not numbers or cached[1] != len(numbers):
            cached = self._refs[matter_id] = (numbers, len(numbers), _refs_of(sorted(numbers), DELIVERY_REFS))
        return cached[2]

    def flush(self) -> None:
        """Insert the matters and numbers held back, and move the touched matters' time."""
        if self.new_matters:
            insert_rows(self.session.connection(), Matter.__table__, self.new_matters)
            self.new_matters = []
        if self.new_keys:
            insert_rows(self.session.connection(), MatterKey.__table__, self.new_keys)
            self.new_keys = []
        if self.bumped:
            self.session.execute(update(Matter).where(any_of(self.session, Matter.id, sorted(self.bumped))).values(updated_at=utcnow()))
            self.bumped = set()

    def _duplicate_of(self, record: Mapping[str, Any], soft: list[str], known: dict[str, str]) -> str | None:
        for key in soft:
            matter_id = known.get(key)
            if matter_id is None:
                continue
            if key.startswith("person:"):
                return matter_id
            if key.startswith(("project:", "employer:")):
                # An early warning joins the complaint about its project (or employer), not
                # another project's warnings; a complaint joins a matter of early warnings,
                # not another complaint.
                self.before_read()
                complaint = self.session.execute(select(Record.seq).where(
                    Record.matter_id == matter_id, Record.type == "clue").limit(1)).first() is not None
                if complaint == (record.get("type") in WARNINGS):
                    return matter_id
                continue
            # This transaction's clues of the matter (held back, not flushed: a flush per clue
            # would write a batch a row at a time), then the store's, latest first, a page at a
            # time (an index seek): the first overlap ends the search, however big the matter.
            if any(duplicate_reason(other, record) for other in self.held(matter_id, "clue")):
                return matter_id
            last = None
            while True:
                query = select(Record.seq, Record.data).where(Record.matter_id == matter_id, Record.type == "clue")
                if last is not None:
                    query = query.where(Record.seq < last)
                rows = self.session.execute(query.order_by(Record.seq.desc()).limit(DUPLICATE_PAGE)).all()
                if any(duplicate_reason(other, record) for _seq, other in rows):
                    return matter_id
                if len(rows) < DUPLICATE_PAGE:
                    break
                last = rows[-1][0]
        return None

    def _oldest(self, matter_ids: list[str]) -> str:
        if len(matter_ids) == 1:
            return matter_ids[0]
        self.flush()
        rows = self.session.execute(select(Matter.id).where(any_of(self.session, Matter.id, matter_ids))
                                    .order_by(Matter.created_at, Matter.id)).all()
        return rows[0][0] if rows else matter_ids[0]

    def _merge(self, into: str, others: list[str]) -> None:
        self.before_read()  # what this transaction holds back must be in the tables the merge updates
        _merge(self.session, into, others)
        gone = set(others)
        self.whole -= {into, *gone}
        for k, m in self.keys.items():
            if m in gone:
                self.keys[k] = into
        if into in self.numbers and all(m in self.numbers for m in others):
            for m in others:
                self.numbers[into].extend(self.numbers.pop(m))
        else:
            for m in [into, *others]:
                self.numbers.pop(m, None)
        self.bumped -= gone


def _merge(session: Session, into: str, others: list[str]) -> None:
    session.execute(update(MatterKey).where(MatterKey.matter_id.in_(others)).values(matter_id=into))
    session.execute(update(Record).where(Record.matter_id.in_(others)).values(matter_id=into))
    session.execute(update(Outbox).where(Outbox.matter_id.in_(others)).values(matter_id=into))
    session.execute(update(TransferHold).where(TransferHold.matter_id.in_(others)).values(matter_id=into))
    session.execute(update(FollowupResult).where(FollowupResult.matter_id.in_(others)).values(matter_id=into))
    session.execute(update(Matter).where(Matter.id.in_(others)).values(merged_into=into))
    rows = session.execute(select(Record.seq, Record.data).where(Record.matter_id == into)).all()
    for seq, data in rows:
        if data.get("matter_id") != into:
            session.execute(update(Record).where(Record.seq == seq).values(data={**data, "matter_id": into}))


def resolve(session: Session, matter_id: str) -> str | None:
    """Follow merges: the live matter a (possibly merged) id stands for."""
    seen = set()
    while matter_id and matter_id not in seen:
        seen.add(matter_id)
        row = session.get(Matter, matter_id)
        if row is None:
            return None
        if not row.merged_into:
            return row.id
        matter_id = row.merged_into
    return None


def refs(session: Session, matter_id: str, per_kind: int | None = None) -> dict[str, list[str]]:
    """The matter's numbers by kind (``case_no``: [...]), oldest first; at most ``per_kind``
    of each (a delivery's: :data:`DELIVERY_REFS`)."""
    rows = session.execute(
        select(MatterKey.seq, MatterKey.key).where(MatterKey.matter_id == matter_id).order_by(MatterKey.seq, MatterKey.key)
    ).all()
    return _refs_of(rows, per_kind)


def _refs_of(numbers, per_kind: int | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for _seq, key in numbers:
        ns, _, number = key.partition(":")
        if ns in REF_NAMES:  # not the duplicate-finding keys (a hashed person is no number to share)
            kind = out.setdefault(REF_NAMES[ns], [])
            if per_kind is None or len(kind) < per_kind:
                kind.append(number)
    return out


def related(session: Session, matter_id: str, rtype: str, record: Mapping[str, Any] | None = None) -> dict | None:
    """The record of one type a route's ``extra`` fields come from.

    When ``record`` carries that type's own number (a transfer's ``order_no`` names a
    ``payment_order``; a clue's ``project_code`` a ``project``), the record with that
    number: the latest of the matter's, else the latest anywhere; none if no record has
    it (a matter may hold several orders to pay: another one's due date would be wrong).
    Without such a number, the latest record of the type in the matter.
    """
    links = RECORD_SCHEMAS[rtype].LINKS if rtype in RECORD_SCHEMAS else ()
    field = links[0][1] if links else None
    number = record.get(field) if record is not None and field else None
    if not isinstance(number, str) or not number:
        row = session.execute(select(Record.data).where(Record.matter_id == matter_id, Record.type == rtype)
                              .order_by(Record.seq.desc()).limit(1)).first()
        return row[0] if row else None
    key = session.get(MatterKey, f"{links[0][0]}:{number}")
    for where in dict.fromkeys([matter_id, key.matter_id if key is not None else None]):
        if where is None:
            continue
        for data in session.scalars(select(Record.data).where(Record.matter_id == where, Record.type == rtype)
                                    .order_by(Record.seq.desc())):
            if data.get(field) == number:
                return data
    return None
