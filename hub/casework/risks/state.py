"""Risk state in the store: raise a condition once when its time comes, clear it when the
fact that cures it arrives, and the ``risk`` records that say so."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Text, cast, func, select, update

from hub.casework.matters import occurred_at
from hub.casework.risks.facts import FACT_TYPES
from hub.casework.risks.months import _yuan
from hub.casework.risks.rules import RULES, Condition, compute
from hub.ids import BEIJING, iso, new_id, now_beijing
from hub.store import any_of
from hub.store.models import ProjectRisk, Record, utcnow
from schemas import normalise_record

log = logging.getLogger("hub.casework.risks")  # the name it logged under before the split

# -- state: raise once, clear when cured ---------------------------------------------------------

def risk_record(row: ProjectRisk, cond: Condition | None, status: str, now: dt.datetime,
                cleared_by: str | None = None) -> dict[str, Any]:
    """The ``risk`` record the hub sends when a risk is raised or cleared."""
    rule = RULES[row.rule]
    today = now.astimezone(BEIJING).date().isoformat()
    record = {
        "type": "risk", "source_agency": "hub", "source_ref": row.risk_no, "received_at": iso(now_beijing()),
        "risk_no": row.risk_no, "project_code": row.project_code, "rule": row.rule, "category": rule.category,
        "status": status, "month": row.month, "amount": row.amount, "worker_count": row.worker_count,
        "detail": row.detail or rule.title, "source": rule.source,
        "raised_on": (row.raised_at or now).astimezone(BEIJING).date().isoformat(),
        "cleared_on": today if status == "cleared" else None, "raised_by": row.raised_by, "cleared_by": cleared_by,
        "region_code": row.region_code,
    }
    if cond is not None:
        record.update(cond.extra)
    return normalise_record({k: v for k, v in record.items() if v is not None})


FACTS_AT_ONCE = 1_000_000  # bytes of fact records (as JSON) read from the store at once: a
# project's payouts or payroll months can be many, and each month holds a row per worker


def _facts_by_matter(session, ids: list[str], known: Mapping[str, list[dict[str, Any]]]):
    """``(matter, its facts)`` for each of ``ids`` that has any, in order: the records the
    caller holds, the others read from the store a few matters at a time, about
    ``FACTS_AT_ONCE`` bytes of them at once (a matter with more is read alone)."""
    unknown = [m for m in ids if m not in known]
    sizes: dict[str, int] = {}
    if len(unknown) == 1:  # (a matter is read alone whatever its size: no need to weigh it)
        sizes[unknown[0]] = 1
    else:
        for i in range(0, len(unknown), 500):
            sizes.update(session.execute(select(Record.matter_id, func.sum(func.length(cast(Record.data, Text))))
                                         .where(any_of(session, Record.matter_id, unknown[i:i + 500]),
                                                Record.type.in_(FACT_TYPES))
                                         .group_by(Record.matter_id)).all())

    def read(group: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for mid, data in session.execute(select(Record.matter_id, Record.data)
                                         .where(any_of(session, Record.matter_id, group),
                                                Record.type.in_(FACT_TYPES))
                                         .order_by(Record.matter_id, Record.seq)):
            found.setdefault(mid, []).append(data)
        return found

    pending = [m for m in ids if m in known or sizes.get(m)]
    while pending:
        group, size = [], 0
        for m in pending:
            n = 0 if m in known else sizes[m]
            if group and (size + n > FACTS_AT_ONCE or len(group) == 500):
                break
            group.append(m)
            size += n
        pending = pending[len(group):]
        loaded = read([m for m in group if m not in known])
        for m in group:
            facts = [r for r in known[m] if r["type"] in FACT_TYPES] if m in known else loaded.get(m, [])
            if facts:
                yield m, facts


def refresh(session, matters: Mapping[str, Iterable[str]], cfg: Mapping[str, Any], now: dt.datetime,
            emit, known: Mapping[str, list[dict[str, Any]]] | None = None) -> int:
    """Bring the risk rows of ``matters`` (each with the matters merged into it) in line with
    their records; ``emit(record, matter_id)`` stores and routes each risk record made.
    Returns how many were made."""
    if not cfg["enabled"] or not matters:
        return 0
    known = known or {}
    ids = sorted(matters)
    merged = {m: into for into, ms in matters.items() for m in ms}
    if merged:  # the rows of matters merged away follow them
        for m, into in merged.items():
            session.execute(update(ProjectRisk).where(ProjectRisk.matter_id == m).values(matter_id=into))
    made = 0
    for mid, facts in _facts_by_matter(session, ids, known):
        conds = {c.key: c for c in compute(facts, cfg, now)}
        rows = {r.key: r for r in session.scalars(select(ProjectRisk).where(ProjectRisk.matter_id == mid))}
        missing_rows = [k for k in conds if k not in rows]
        for i in range(0, len(missing_rows), 500):  # a key another matter held (before a merge)
            for r in session.scalars(select(ProjectRisk).where(any_of(session, ProjectRisk.key,
                                                                      missing_rows[i:i + 500]))):
                r.matter_id = mid
                rows[r.key] = r
        region = next((f.get("region_code") for f in reversed(facts) if f["type"] == "project"), None)
        for key, cond in sorted(conds.items(), key=lambda kv: (kv[1].raise_at, list(RULES).index(kv[1].rule))):
            row = rows.get(key)
            if row is None:
                row = ProjectRisk(key=key, matter_id=mid, project_code=cond.project_code, rule=cond.rule,
                                  category=RULES[cond.rule].category, month=cond.month, status="pending",
                                  raise_at=cond.raise_at, detail=cond.detail, updated_at=utcnow())
                session.add(row)
            elif row.status == "cleared":  # the condition is back: a new warning
                row.status, row.cleared_at, row.cleared_by, row.risk_no = "pending", None, None, None
            if row.status == "pending":
                row.raise_at = cond.raise_at
            row.raised_by = row.raised_by if row.status == "raised" else cond.raised_by
            row.amount, row.worker_count, row.detail = _yuan(cond.amount), cond.worker_count, cond.detail
            row.region_code, row.updated_at = region, utcnow()
            if row.status == "pending" and row.raise_at <= now:
                made += _raise(row, cond, now, emit)
        for key, row in sorted(rows.items(), key=lambda kv: (kv[1].raised_at or now, list(RULES).index(kv[1].rule),
                                                           kv[0])):
            if key in conds or row.status == "cleared":
                continue
            if row.status == "pending":
                session.delete(row)
                continue
            cure = _cure(facts, RULES[row.rule].cures)
            row.status, row.cleared_at, row.cleared_by, row.updated_at = "cleared", now, cure, utcnow()
            emit(risk_record(row, None, "cleared", now, cure), mid)
            made += 1
            log.info("risk %s on project %s (%s) cleared", row.rule, row.project_code, row.month or "-")
    session.flush()
    return made


def _raise(row: ProjectRisk, cond: Condition, now: dt.datetime, emit) -> int:
    row.status, row.raised_at, row.risk_no = "raised", now, new_id("rsk")
    emit(risk_record(row, cond, "raised", now), row.matter_id)
    log.info("risk %s raised on project %s (%s)", row.rule, row.project_code, row.month or "-")
    return 1


def _cure(facts: list[Mapping[str, Any]], types: tuple[str, ...]) -> str | None:
    return next((f.get("record_id") for f in reversed(facts) if f["type"] in types), None)


def due_matters(session, now: dt.datetime, limit: int = 1000) -> list[str]:
    """Matters with a risk pending whose time has come."""
    return list(dict.fromkeys(session.scalars(
        select(ProjectRisk.matter_id).where(ProjectRisk.status == "pending", ProjectRisk.raise_at <= now)
        .order_by(ProjectRisk.raise_at).limit(limit))))


def fingerprint(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(f"{record['risk_no']}|{record['status']}".encode()).hexdigest()


def stored_row(record: dict[str, Any], matter_id: str, message_id: str, now: dt.datetime) -> dict[str, Any]:
    """The ``records`` row of a risk record the hub made."""
    record.update(record_id=new_id("rec"), matter_id=matter_id, accepted_at=iso(now_beijing()))
    return {"record_id": record["record_id"], "type": "risk", "schema_version": record["schema_version"],
            "source_agency": "hub", "source_ref": record["source_ref"], "matter_id": matter_id,
            "message_id": message_id, "fingerprint": fingerprint(record), "occurred_at": occurred_at(record),
            "accepted_at": now, "data": record}


def sweep(pipeline, now: dt.datetime | None = None) -> int:
    """Raise the risks whose time has come (a shortfall on payday, a failed payout not paid
    again in time); returns how many risk records were made."""
    now = now or utcnow()
    with pipeline.store.transaction() as session:
        matter_ids = due_matters(session, now)
        if not matter_ids:
            return 0
        # (the relays are told of the rows written once this commits)
        return pipeline.refresh_risks(session, {m: [] for m in matter_ids}, now)
