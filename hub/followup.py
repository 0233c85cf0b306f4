"""Follow-up sample (回头看): closed matters drawn for a telephone follow-up.

The matters closed on a day (report timezone) are those with a ``case`` record of
status ``closed`` whose ``status_at`` falls on the day, or a ``court_enforcement`` of
status ``paid`` / ``terminated`` updated that day. Sorted by matter id, a share of them
(``followup.share``, rounded, at least one when there is any) is drawn with
``random.Random(f"{followup.seed}:{day}")``: the same day and seed give the same sample,
in any process, on any machine.

Items carry the complainants' names and mobiles unmasked: callers mask them for roles
without personal-data access (:func:`mask_contacts`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.bulletin import chunks, day_window, matter_districts, region_name
from hub.store.models import Record
from schemas.validators import mask_mobile, mask_name

CLOSING_ENFORCEMENT = ("paid", "terminated")


def closed_matters(session: Session, day: dt.date, settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Matter id -> how it closed that day (``closed_by``, ``case_no``), sorted by matter id."""
    start, end = day_window(day, settings)
    closing: dict[str, dict[str, Any]] = {}
    rows = session.scalars(
        select(Record).where(Record.type == "case", Record.occurred_at >= start, Record.occurred_at < end,
                             Record.data["status"].as_string() == "closed")
        .order_by(Record.occurred_at, Record.seq))
    for r in rows:
        closing[r.matter_id] = {"closed_by": "case", "case_no": r.data.get("case_no")}
    rows = session.scalars(
        select(Record).where(Record.type == "court_enforcement", Record.occurred_at >= start,
                             Record.occurred_at < end,
                             Record.data["status"].as_string().in_(CLOSING_ENFORCEMENT))
        .order_by(Record.occurred_at, Record.seq))
    for r in rows:
        if r.data.get("updated_on") == day.isoformat():
            closing.setdefault(r.matter_id, {"closed_by": "court_enforcement", "case_no": None,
                                             "court_case_number": r.data.get("case_number")})
    return dict(sorted(closing.items()))


def sample_size(n: int, share: float) -> int:
    """``round(share * n)``, at least 1 when there is anything to draw from, at most n."""
    if n <= 0 or share <= 0:
        return 0
    return min(n, max(1, round(share * n)))


def followup_sample(session: Session, day: dt.date, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The day's reproducible sample of closed matters, with contacts from their clues."""
    cfg = settings["followup"]
    closing = closed_matters(session, day, settings)
    ids = list(closing)  # sorted: the draw depends on the day's matters, not on storage order
    rng = random.Random(f"{cfg['seed']}:{day.isoformat()}")
    chosen = sorted(rng.sample(ids, sample_size(len(ids), cfg["share"])))
    if not chosen:
        return []
    districts = matter_districts(session, chosen)
    by_matter: dict[str, list[dict[str, Any]]] = {m: [] for m in chosen}
    for chunk in chunks(chosen):
        for matter_id, data in session.execute(
                select(Record.matter_id, Record.data)
                .where(Record.matter_id.in_(chunk),
                       Record.type.in_(("clue", "case", "criminal_transfer", "mediation_result")))
                .order_by(Record.occurred_at, Record.seq)):
            by_matter[matter_id].append(data)
    items = []
    for matter_id in chosen:
        records = by_matter[matter_id]
        clues = [r for r in records if r["type"] == "clue"]
        cases = [r for r in records if r["type"] == "case"]
        clue_nos = list(dict.fromkeys([c["clue_no"] for c in clues]
                                      + [n for case in cases for n in case.get("clue_nos") or []]))
        complainants = []
        seen = set()
        for c in clues:
            person = c.get("complainant") or {}
            key = (person.get("name"), person.get("mobile"))
            if key not in seen:
                seen.add(key)
                complainants.append({"clue_no": c["clue_no"], "name": person.get("name"),
                                     "mobile": person.get("mobile")})
        employer = next((r["employer"].get("name") for r in records
                         if isinstance(r.get("employer"), Mapping) and r["employer"].get("name")), None)
        info = closing[matter_id]
        code = districts.get(matter_id, "unknown")
        items.append({
            "matter_id": matter_id,
            "region_code": code,
            "region_name": region_name(code),
            "clue_nos": clue_nos,
            "case_no": info.get("case_no") or (cases[-1]["case_no"] if cases else None),
            "closed_on": day.isoformat(),
            "closed_by": info["closed_by"],
            "employer_name": employer,
            "complainant": ({"name": complainants[0]["name"], "mobile": complainants[0]["mobile"]}
                            if complainants else None),
            "complainants": complainants,
        })
    return items


def mask_names(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of the items with complainants' names masked."""
    out = []
    for item in items:
        item = dict(item)
        if item.get("complainant"):
            item["complainant"] = {**item["complainant"], "name": mask_name(item["complainant"].get("name"))}
        item["complainants"] = [{**c, "name": mask_name(c.get("name"))} for c in item.get("complainants") or []]
        out.append(item)
    return out


def mask_contacts(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of the items with complainants' names and mobiles masked."""
    out = []
    for item in mask_names(items):
        if item.get("complainant"):
            item["complainant"] = {**item["complainant"], "mobile": mask_mobile(item["complainant"].get("mobile"))}
        item["complainants"] = [{**c, "mobile": mask_mobile(c.get("mobile"))} for c in item["complainants"]]
        out.append(item)
    return out
