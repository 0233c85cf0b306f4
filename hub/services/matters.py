"""A matter as a principal may see it: its records from every agency in time order, the
deliveries, the steps owed and their escalations, its named owners, duplicates and amounts
side by side; for an agency, only its own share. Escalations and supervision groups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from hub.casework import deadlines, identity, linkage, matters, owners
from hub.contract.errors import BadRequest
from hub.ids import BEIJING
from hub.services.principals import Principal
from hub.services.records import for_sender, visible_records
from hub.services.scope import matter_in_scope
from hub.store.models import Deadline, Escalation, Outbox, Record, utcnow


def _rows(session, matter_id: str) -> list[Record]:
    return list(session.scalars(select(Record).where(Record.matter_id == matter_id)
                                .order_by(Record.occurred_at, Record.seq)))


def delivery_view(d: Outbox) -> dict:
    return {"message_id": d.message_id, "record_id": d.record_id, "recipient": d.recipient, "kind": d.kind,
            "route": d.route, "status": d.status, "sent_at": d.sent_at.isoformat() if d.sent_at else None}


def _step_views(steps: list[dict]) -> dict:
    """The open steps (``deadlines``), every step, and who owes what next."""
    open_ = [s for s in steps if s["status"] in ("open", "overdue")]
    return {"deadlines": open_, "steps": steps,
            "next_steps": [{"owner": s["owner"], "title": s["title"], "due_at": s["due_at"], "overdue": s["overdue"]}
                           for s in open_]}


def matter_view(session, settings: Mapping[str, Any], viewer: Principal, matter_id: str) -> dict | None:
    """The whole matter (None: no such matter, or outside the principal's districts);
    personal data is the caller's to mask."""
    live = matters.resolve(session, matter_id)
    if live is None or not matter_in_scope(session, viewer, live):
        return None
    rows = _rows(session, live)
    records = [r.data for r in rows]
    deliveries = list(session.scalars(select(Outbox).where(Outbox.matter_id == live).order_by(Outbox.id)))
    now = utcnow()
    steps = [deadlines.view(d, now) for d in session.scalars(
        select(Deadline).where(Deadline.matter_id == live).order_by(Deadline.due_at))]
    escalated = list(session.scalars(select(Escalation).where(Escalation.matter_id == live).order_by(Escalation.id)))
    leader = owners.matter_leader(session, live)
    return {
        "matter_id": live,
        "refs": matters.refs(session, live),
        "records": [dict(r.data, occurred_at=r.occurred_at.astimezone(BEIJING).isoformat()) for r in rows],
        "deliveries": [delivery_view(d) for d in deliveries],
        **_step_views(steps),
        "escalations": [escalation_view(e, leader) for e in escalated],
        "leader": leader,
        "project_groups": owners.groups_of(session, live),
        "duplicates": identity.duplicates(records),
        "reconciliation": linkage.reconcile(records, settings["linkage"]["reconciliation_tolerance"]),
    }


def agency_view(h, viewer: Principal, matter_id: str) -> dict | None:
    """The matter as the principal's agency may see it: its own records and what was routed
    to it (as routed), and only the steps it owes (None: it took no part)."""
    agency = viewer.agency
    with h.store.sessions() as session:
        live = matters.resolve(session, matter_id)
        if live is None or not matter_in_scope(session, viewer, live):
            return None
        rows = _rows(session, live)
        deliveries = [d for d in session.scalars(select(Outbox).where(Outbox.matter_id == live,
                                                                       Outbox.recipient == agency)
                                                 .order_by(Outbox.id))
                      if for_sender(h, viewer, d.payload.get("record") or {})]
        now = utcnow()
        steps = [deadlines.view(d, now) for d in session.scalars(
            select(Deadline).where(Deadline.matter_id == live, Deadline.owner == agency).order_by(Deadline.due_at))]
        escalated = list(session.scalars(select(Escalation).where(Escalation.matter_id == live,
                                                                  Escalation.owner == agency).order_by(Escalation.id)))
    when = {r.record_id: r.occurred_at.astimezone(BEIJING).isoformat() for r in rows}
    records = [dict(d, occurred_at=when.get(d.get("record_id"))) for d in visible_records(h, viewer, rows)]
    if not records and not deliveries:
        return None
    return {
        "matter_id": live, "refs": {}, "records": records,
        "deliveries": [delivery_view(d) for d in deliveries], **_step_views(steps),
        "escalations": [escalation_view(e) for e in escalated], "duplicates": [], "reconciliation": None,
    }


def escalation_view(e: Escalation, leader: dict | None = None) -> dict:
    """An escalation: ``owner`` the agency that owes the step, ``matter_owner`` the matter's 包案 leader."""
    return {"id": e.id, "deadline": e.deadline_key, "level": e.level, "owner": e.owner, "matter_id": e.matter_id,
            "region_code": e.region_code, "supervision_group": e.supervision_group,
            "at": e.created_at.astimezone(BEIJING).isoformat(),
            "matter_owner": {k: leader[k] for k in owners.LEADER_FIELDS} if leader else None}


def supervision_group(settings: Mapping[str, Any], raw: str | None) -> str | None:
    """A ``group`` argument: a supervision group of ``[linkage.supervision_groups]`` (none: None)."""
    group = raw or None
    groups = settings["linkage"]["supervision_groups"]
    if group is not None and group not in groups:
        raise BadRequest(f"group must be a supervision group: {', '.join(sorted(groups)) or 'none is configured'}",
                         details={"field": "group", "rule": "enum"})
    return group
