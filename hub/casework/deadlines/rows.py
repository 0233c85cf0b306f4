"""The store side: rewriting a matter's deadline rows from its records, and a row's
status and API view as of a time (overdue is worked out when read, never stored)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hub.casework.deadlines.rules import WINDOWS, Due
from hub.casework.deadlines.steps import compute
from hub.casework.matters import WORKER_FACTS
from hub.ids import BEIJING
from hub.store import any_of, insert_rows
from hub.store.models import Deadline, FollowupResult, Matter, Record, TransferHold, utcnow


def refresh(session: Session, matter_id: str, limits: Mapping[str, Mapping[str, Any]],
            merged: Iterable[str] = (), linkage: Mapping[str, Any] | None = None) -> list[Due]:
    """Rewrite the matter's deadline rows from its records (in the caller's transaction)."""
    return refresh_many(session, {matter_id: list(merged)}, limits, linkage=linkage)[matter_id]


def refresh_many(session: Session, matters: Mapping[str, Iterable[str]],
                 limits: Mapping[str, Mapping[str, Any]],
                 known: Mapping[str, list[dict[str, Any]]] | None = None,
                 linkage: Mapping[str, Any] | None = None, keep: Collection[str] | None = None) -> dict[str, list[Due]]:
    """Rewrite the deadline rows of several matters (each with the matters merged into it)
    from their records, in a few statements, in the caller's transaction.

    ``known``: matters whose records the caller holds, all of them, in the order it stored
    them (a matter its own transaction created): they are not read back. ``keep``: the
    matters whose steps to return (all when None). A batch file's matters are refreshed
    ``MATTERS_AT_ONCE`` at a time, so what is read of them at once stays bounded.
    """
    if not matters:
        return {}
    known = known or {}
    ids = sorted(matters)
    out: dict[str, list[Due]] = {}
    for i in range(0, len(ids), MATTERS_AT_ONCE):
        dues = _refresh_group(session, {m: matters[m] for m in ids[i:i + MATTERS_AT_ONCE]}, limits, known, linkage)
        out.update(dues if keep is None else {m: d for m, d in dues.items() if m in keep})
    return out


MATTERS_AT_ONCE = 500


def _refresh_group(session: Session, matters: Mapping[str, Iterable[str]], limits: Mapping[str, Mapping[str, Any]],
                   known: Mapping[str, list[dict[str, Any]]], linkage: Mapping[str, Any] | None) -> dict[str, list[Due]]:
    ids = sorted(matters)
    records: dict[str, list[dict[str, Any]]] = {m: [] for m in ids}
    # (a project's worker facts, thousands to a matter, start and end no step: not read)
    for m in ids:
        if m in known:
            records[m] = [r for r in known[m] if r["type"] not in WORKER_FACTS]
    unknown = [m for m in ids if m not in known]
    for i in range(0, len(unknown), 500):
        for mid, data in session.execute(select(Record.matter_id, Record.data)
                                         .where(any_of(session, Record.matter_id, unknown[i:i + 500]),
                                                Record.type.not_in(WORKER_FACTS))
                                         .order_by(Record.matter_id, Record.seq)):
            records[mid].append(data)
    holds: dict[str, list[dict[str, Any]]] = {}
    with_transfers = [m for m in ids if any(r["type"] == "criminal_transfer" for r in records[m])]
    for i in range(0, len(with_transfers), 500):
        for h in session.scalars(select(TransferHold).where(
                any_of(session, TransferHold.matter_id, with_transfers[i:i + 500]))):
            holds.setdefault(h.matter_id, []).append(
                {"record_id": h.record_id, "transfer_no": h.transfer_no, "status": h.status,
                 "checked_at": h.checked_at, "decided_at": h.decided_at})
    reopened: dict[str, list[dt.datetime]] = {}  # follow-up calls saying not paid (kept outside the records)
    for i in range(0, len(ids), 500):
        for mid, at in session.execute(select(FollowupResult.matter_id, FollowupResult.called_at).where(
                any_of(session, FollowupResult.matter_id, ids[i:i + 500]), FollowupResult.reopens.is_(True))):
            reopened.setdefault(mid, []).append(at)
    now = utcnow()
    out: dict[str, list[Due]] = {}
    rows: dict[str, dict[str, Any]] = {}
    from hub.casework.matters import district

    regions: dict[str | None, list[str]] = {}
    for mid in ids:
        dues = out[mid] = compute(records[mid], limits, linkage, holds.get(mid, ()), reopened.get(mid, ()))
        region = district(records[mid])
        regions.setdefault(region, []).append(mid)
        for d in dues:
            rows[d.key] = {"key": d.key, "matter_id": mid, "rule": d.rule, "subject": d.subject, "owner": d.owner,
                           "title": d.title, "source": d.source, "start_at": d.start_at, "due_at": d.due_at,
                           "done_at": d.done_at or d.moot_at, "status": d.status, "note": d.moot,
                           "region_code": region, "updated_at": now}
    stale = sorted({m for mid in ids for m in [mid, *matters[mid]]} - set(known))  # a new matter has none yet
    for i in range(0, len(stale), 500):
        session.execute(delete(Deadline).where(any_of(session, Deadline.matter_id, stale[i:i + 500])))
    keys = sorted(rows)
    for i in range(0, len(keys), 500):  # a key another matter held (before a merge) moves here
        session.execute(delete(Deadline).where(any_of(session, Deadline.key, keys[i:i + 500])))
    if rows:
        insert_rows(session.connection(), Deadline.__table__, list(rows.values()))
    for region, mids in regions.items():  # the matter's district, for district scopes
        for i in range(0, len(mids), 500):
            session.execute(update(Matter).where(any_of(session, Matter.id, mids[i:i + 500]))
                            .values(region_code=region).execution_options(synchronize_session=False))
    return out


WINDOW_PASSED = "the window passed unused"


def state(row: Deadline, now: dt.datetime | None = None) -> tuple[str, str | None]:
    """A deadline's status as of ``now`` (``open``, ``met``, ``late``, ``overdue``, ``moot``)
    and, when moot, why."""
    now = now or utcnow()
    if row.status == "open" and row.due_at < now:
        return ("moot", WINDOW_PASSED) if row.rule in WINDOWS else ("overdue", None)
    return row.status, row.note if row.status == "moot" else None


def view(row: Deadline, now: dt.datetime | None = None) -> dict[str, Any]:
    """A deadline as the API shows it: due time with offset, the rule it comes from, overdue,
    and for a moot step the reason and when it became moot."""
    status, reason = state(row, now)
    moot = status == "moot"
    return {
        "key": row.key, "rule": row.rule, "title": row.title, "subject": row.subject, "owner": row.owner,
        "source": row.source, "start_at": row.start_at.astimezone(BEIJING).isoformat(),
        "due_at": row.due_at.astimezone(BEIJING).isoformat(),
        "done_at": row.done_at.astimezone(BEIJING).isoformat() if row.done_at and not moot else None,
        "status": status, "overdue": status == "overdue", "late": status == "late",
        "moot_reason": reason,
        "moot_at": (row.done_at.astimezone(BEIJING).isoformat() if row.done_at else None) if moot else None,
    }
