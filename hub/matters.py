"""Arrears matters: joining records by their numbers, and what a matter knows.

Each record type names the numbers that tie it to its matter (``schemas`` ``LINKS``);
a record whose numbers meet two matters merges them, so every agency's records about
one arrears case end up on one matter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.ids import BEIJING, new_id
from hub.store.models import Matter, MatterKey, Outbox, Record, utcnow
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
}

# Namespace of a link key -> the name of the number in refs.
REF_NAMES = {
    "clue": "clue_no", "case": "case_no", "order": "order_no", "transfer": "transfer_no",
    "project": "project_code", "police_case": "police_case_no", "court_case": "court_case_number",
    "mediation": "mediation_no", "contractor_reply": "reply_no", "supervision_opinion": "opinion_no",
}


def occurred_at(record: Mapping[str, Any]) -> dt.datetime:
    value = record.get(OCCURRED_AT.get(record["type"], "received_at")) or record.get("received_at")
    if isinstance(value, str):
        if len(value) == 7:  # a month
            value = value + "-01"
        if len(value) == 10:  # a date: the start of that day, Beijing time
            return dt.datetime.fromisoformat(value).replace(tzinfo=BEIJING)
        return dt.datetime.fromisoformat(value)
    return utcnow()


def soft_keys(record: Mapping[str, Any]) -> list[str]:
    """Keys that may reveal a duplicate complaint: the complainant (hashed: personal data)
    and the employer plus project (joined only when the periods overlap)."""
    if record.get("type") != "clue":
        return []
    keys = []
    person = (record.get("complainant") or {}).get("id_number")
    if person:
        keys.append("person:" + hashlib.sha256(person.encode()).hexdigest()[:40])
    uscc = (record.get("employer") or {}).get("uscc")
    if uscc and record.get("project_code"):
        keys.append(f"employer-project:{uscc}:{record['project_code']}")
    return keys


def link(session: Session, record: Mapping[str, Any], merged: list[str] | None = None) -> str:
    """The matter this record belongs to: found by its numbers, created, or merged.

    A clue whose own number is new joins the matter of an earlier complaint about the same
    arrears (same complainant, or same employer and project over an overlapping period):
    the QR code, the hotline and a petition reporting one arrears make one matter.
    Matters merged away are appended to ``merged``.
    """
    keys = link_keys(dict(record))
    soft = soft_keys(record)
    rows = session.execute(select(MatterKey.key, MatterKey.matter_id)
                           .where(MatterKey.key.in_(keys + soft))).all() if keys or soft else []
    known = {k: m for k, m in rows}
    found = []
    for k in keys:
        if k in known and known[k] not in found:
            found.append(known[k])
    if not found:
        duplicate = _duplicate_of(session, record, soft, known)
        if duplicate:
            found.append(duplicate)
    if not found:
        matter_id = new_id("mat")
        session.add(Matter(id=matter_id))
    else:
        matter_id = _oldest(session, found)
        others = [m for m in found if m != matter_id]
        if others:
            _merge(session, matter_id, others)
            if merged is not None:
                merged.extend(others)
        session.execute(update(Matter).where(Matter.id == matter_id).values(updated_at=utcnow()))
    seq = time.time_ns() // 1000  # orders a matter's numbers by when they were first seen
    for i, k in enumerate(keys + soft):
        if k not in known:
            session.add(MatterKey(key=k, matter_id=matter_id, seq=seq + i))
    session.flush()
    return matter_id


def _duplicate_of(session: Session, record: Mapping[str, Any], soft: list[str], known: dict[str, str]) -> str | None:
    from hub.linkage import duplicate_reason

    for key in soft:
        matter_id = known.get(key)
        if matter_id is None:
            continue
        if key.startswith("person:"):
            return matter_id
        for (other,) in session.execute(select(Record.data).where(Record.matter_id == matter_id,
                                                                  Record.type == "clue")):
            if duplicate_reason(other, record):
                return matter_id
    return None


def _oldest(session: Session, matter_ids: list[str]) -> str:
    rows = session.execute(select(Matter.id).where(Matter.id.in_(matter_ids)).order_by(Matter.created_at, Matter.id)).all()
    return rows[0][0] if rows else matter_ids[0]


def _merge(session: Session, into: str, others: list[str]) -> None:
    session.execute(update(MatterKey).where(MatterKey.matter_id.in_(others)).values(matter_id=into))
    session.execute(update(Record).where(Record.matter_id.in_(others)).values(matter_id=into))
    session.execute(update(Outbox).where(Outbox.matter_id.in_(others)).values(matter_id=into))
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


def refs(session: Session, matter_id: str) -> dict[str, list[str]]:
    """The matter's numbers by kind (``case_no``: [...]), oldest first."""
    out: dict[str, list[str]] = {}
    rows = session.execute(
        select(MatterKey.key).where(MatterKey.matter_id == matter_id).order_by(MatterKey.seq, MatterKey.key)
    ).all()
    for (key,) in rows:
        ns, _, number = key.partition(":")
        if ns in REF_NAMES:  # not the duplicate-finding keys (a hashed person is no number to share)
            out.setdefault(REF_NAMES[ns], []).append(number)
    return out


def related(session: Session, matter_id: str, rtype: str, record: Mapping[str, Any] | None = None) -> dict | None:
    """The latest record of one type for a route's ``extra`` fields.

    First in the same matter; else, when ``record`` carries the other type's own number
    (a clue's ``project_code`` names a ``project``), the latest record with that number.
    """
    row = session.execute(
        select(Record.data).where(Record.matter_id == matter_id, Record.type == rtype).order_by(Record.seq.desc()).limit(1)
    ).first()
    if row:
        return row[0]
    if record is None or rtype not in RECORD_SCHEMAS or not RECORD_SCHEMAS[rtype].LINKS:
        return None
    ns, field = RECORD_SCHEMAS[rtype].LINKS[0]
    number = record.get(field)
    if not isinstance(number, str) or not number:
        return None
    key = session.get(MatterKey, f"{ns}:{number}")
    if key is None:
        return None
    for data in session.scalars(select(Record.data).where(Record.matter_id == key.matter_id, Record.type == rtype)
                                .order_by(Record.seq.desc())):
        if data.get(field) == number:
            return data
    return None
