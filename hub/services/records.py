"""Canonical records as a principal may see them: personal data masked for roles without
access to it, an agency's share only (what it sent, and what was routed to it as the route
cut it), one sender's share for an agency with several senders, and its district scope."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select

from hub.messaging.routes import ENVELOPE
from hub.services.principals import Principal
from hub.services.scope import in_scope_matters, matter_in_scope
from hub.store.models import Outbox, Record
from schemas.divisions import covers
from schemas.validators import mask_id_number, mask_mobile, mask_name

# -- personal data ------------------------------------------------------------------------------

def mask_personal(data: Any) -> Any:
    """Mask identity numbers, mobiles and the names of people (an object with an
    ``id_number`` and no USCC or credit code: complainants, suspects, defendants, workers, an
    individual employer, a listed person) for roles without personal-data access. Values already masked (a route's
    cut: ``139****0696``) are left as they are."""
    if isinstance(data, list):
        return [mask_personal(x) for x in data]
    if isinstance(data, Mapping):
        person = "id_number" in data and not (data.get("uscc") or data.get("credit_code"))
        out = {}
        for k, v in data.items():
            if isinstance(v, str) and "*" not in v and (k in MASKS or (person and k == "name")):
                out[k] = MASKS.get(k, mask_name)(v)
            else:
                out[k] = mask_personal(v)
        return out
    return data


MASKS = {"id_number": mask_id_number, "employer_id_number": mask_id_number, "mobile": mask_mobile}


def sees_personal_data(viewer: Principal) -> bool:
    return viewer.role in ("admin", "linkage")


def masked_for(viewer: Principal, data: Any) -> Any:
    """``data`` as the principal may see it: in full, or with personal data masked."""
    return data if sees_personal_data(viewer) else mask_personal(data)


# -- agencies with several senders ------------------------------------------------------------
# (each general contractor's head office): a principal bound to one sender sees what that
# sender sent (its message ids are kept as ``<sender>/<id>``) and what was routed to it
# (the record's ``sender_field``), never another sender's.

def sent_by_me(viewer: Principal, message_id: str | None) -> bool:
    sender = viewer.sender
    return sender is None or (message_id or "").startswith(f"{sender}/")


def for_sender(h, viewer: Principal, routed: dict) -> bool:
    """Whether a record routed to the principal's agency is for its sender."""
    sender = viewer.sender
    if sender is None:
        return True
    adapter = h.registry.get(viewer.agency)
    field = adapter.info.sender_field if adapter is not None else None
    if not field:
        return False
    value = str(routed.get(field) or "").strip().upper()
    return covers(sender, value) if adapter.info.sender_area else value == sender


# -- records ------------------------------------------------------------------------------------

def visible_records(h, viewer: Principal, records: list[Record]) -> list[dict]:
    """The records as the caller may see them; those that are not theirs are left out.

    An agency sees what it sent in full, and what was routed to it as the route cut it.
    """
    agency = viewer.agency
    if agency is None:
        return [r.data if sees_personal_data(viewer) else mask_personal(r.data) for r in records]
    routed_ids = [r.record_id for r in records if r.source_agency != agency]
    routed: dict[str, dict] = {}
    if routed_ids:
        with h.store.sessions() as session:
            for record_id, payload in session.execute(
                    select(Outbox.record_id, Outbox.payload)
                    .where(Outbox.record_id.in_(routed_ids), Outbox.recipient == agency).order_by(Outbox.id)):
                # (no record: pruned by retention, no longer shown to the agency)
                if "record" in payload and for_sender(h, viewer, payload["record"]):
                    routed.setdefault(record_id, payload["record"])
    out = []
    for r in records:
        if r.source_agency == agency:
            if sent_by_me(viewer, r.message_id):
                out.append(r.data)
        elif r.record_id in routed:
            # The route's cut, with the envelope every record carries (the contract's
            # record_id ... matter_id and received_at; none of it personal data).
            out.append({**{k: r.data[k] for k in ENVELOPE if k in r.data}, **routed[r.record_id]})
    return out


def record(h, viewer: Principal, record_id: str) -> dict | None:
    """One record as the principal may see it (None: none, or not theirs)."""
    with h.store.sessions() as session:
        row = session.scalars(select(Record).where(Record.record_id == record_id)).first()
        if row is not None and not matter_in_scope(session, viewer, row.matter_id):
            row = None
    visible = visible_records(h, viewer, [row]) if row is not None else []
    return visible[0] if visible else None


def records_after(h, viewer: Principal, after: int, limit: int, rtype: str | None = None,
                  since: dt.datetime | None = None) -> list[Record]:
    """Up to ``limit`` rows after record ``seq`` ``after``, oldest first, of those the
    principal may see (its agency's share, its districts); pass them to :func:`visible_records`."""
    query = select(Record).where(Record.seq > after).order_by(Record.seq).limit(limit)
    if rtype:
        query = query.where(Record.type == rtype)
    if since:
        query = query.where(Record.accepted_at >= since)
    if viewer.agency:
        routed = select(Outbox.record_id).where(Outbox.recipient == viewer.agency)
        own = Record.source_agency == viewer.agency
        if viewer.sender:
            own = own & Record.message_id.startswith(f"{viewer.sender}/", autoescape=True)
        query = query.where(or_(own, Record.record_id.in_(routed)))
    if (scoped := in_scope_matters(viewer, Record.matter_id)) is not None:
        query = query.where(scoped)
    with h.store.sessions() as session:
        return list(session.scalars(query))
