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
import re
from collections.abc import Iterable, Mapping
from typing import Any

import marshmallow as ma
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.casework.bulletin.days import day_window
from hub.casework.bulletin.districts import chunks, matter_districts, region_name
from hub.store.models import Record
from schemas.fields import OffsetDateTime
from schemas.messages import ruled
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


# -- results (回头看): what each sampled matter's call found ----------------------------------

RESULT_FIELDS = ("reached", "resolved", "paid_full", "lawful", "satisfied")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # no database stores them as text


def drawn(session: Session, day: dt.date, settings: Mapping[str, Any]) -> list[str]:
    """The matter ids of the day's sample (the same draw as :func:`followup_sample`)."""
    cfg = settings["followup"]
    ids = list(closed_matters(session, day, settings))
    rng = random.Random(f"{cfg['seed']}:{day.isoformat()}")
    return sorted(rng.sample(ids, sample_size(len(ids), cfg["share"])))


def closing_days(session: Session, matter_id: str, settings: Mapping[str, Any]) -> list[dt.date]:
    """The days (report timezone) on which the matter closed, latest first."""
    from hub.casework.bulletin.days import report_tz

    tz = report_tz(settings)
    days = set()
    for r in session.scalars(select(Record).where(Record.matter_id == matter_id,
                                                  Record.type.in_(("case", "court_enforcement")))):
        if r.type == "case" and r.data.get("status") == "closed":
            days.add(r.occurred_at.astimezone(tz).date())
        elif r.type == "court_enforcement" and r.data.get("status") in CLOSING_ENFORCEMENT:
            days.add(dt.date.fromisoformat(r.data["updated_on"]))
    return sorted(days, reverse=True)


def sample_day_of(session: Session, matter_id: str, settings: Mapping[str, Any]) -> dt.date | None:
    """The latest day whose follow-up sample drew the matter, or None (never sampled)."""
    for day in closing_days(session, matter_id, settings):
        if matter_id in drawn(session, day, settings):
            return day
    return None


def reopens(result: Mapping[str, Any]) -> bool:
    """The caller was reached and says not resolved or not paid in full: the matter reopens."""
    return bool(result.get("reached")) and (result.get("resolved") is False or result.get("paid_full") is False)


def result_view(row) -> dict[str, Any]:
    from hub.ids import BEIJING

    return {"id": row.id, "matter_id": row.matter_id, "sample_day": row.sample_day.isoformat(),
            "called_at": row.called_at.astimezone(BEIJING).isoformat(), **{k: getattr(row, k) for k in RESULT_FIELDS},
            "remark": row.remark, "reopens": row.reopens, "source": row.source, "recorded_by": row.recorded_by,
            "record_id": row.record_id, "created_at": row.created_at.astimezone(BEIJING).isoformat()}


def add_result(session: Session, settings: Mapping[str, Any], known_agencies: Iterable[str], matter_id: str,
               result: Mapping[str, Any], *, source: str, actor: str, record_id: str | None = None,
               sample_day: dt.date | None = None) -> tuple[Any, list[dict[str, Any]]]:
    """Record one sampled matter's call in the caller's transaction (audited): the row and
    the outbox rows to write. A matter the sample never drew is refused (``not-sampled``),
    a second result for the same draw too (``once``). "Not resolved" or "not paid" from a
    caller reached reopens the matter: its steps are worked out again and the agencies of
    ``[followup] reopen_recipients`` are told (unless the agency's own call back already
    told them: ``record_id``)."""
    from hub.casework import answers, audit, deadlines
    from hub.contract.errors import Conflict
    from hub.store.models import FollowupResult

    day = sample_day or sample_day_of(session, matter_id, settings)
    if day is None:
        raise Conflict(f"matter {matter_id} was not drawn by any day's follow-up sample (rule: not-sampled)",
                       details={"field": "matter_id", "rule": "not-sampled"})
    if session.scalars(select(FollowupResult.id).where(FollowupResult.matter_id == matter_id,
                                                       FollowupResult.sample_day == day)).first() is not None:
        raise Conflict(f"the follow-up result of matter {matter_id} (sample of {day}) is recorded already "
                       "(rule: once)", details={"field": "matter_id", "rule": "once"})
    row = FollowupResult(matter_id=matter_id, sample_day=day, called_at=result["called_at"],
                         remark=result.get("remark"), reopens=reopens(result), source=source, recorded_by=actor,
                         record_id=record_id, **{k: result.get(k) for k in RESULT_FIELDS})
    session.add(row)
    session.flush()
    audit.append(session, actor, "followup.recorded", matter_id,
                 {"sample_day": day.isoformat(), "source": source, "reopens": row.reopens, "record_id": record_id,
                  **{k: result.get(k) for k in RESULT_FIELDS}})
    rows: list[dict[str, Any]] = []
    if row.reopens and record_id is None:
        deadlines.refresh(session, matter_id, settings["deadlines"], linkage=settings["linkage"])
        called = {"called_at": row.called_at.isoformat(), "source": source, "sample_day": day.isoformat(),
                  **{k: result.get(k) for k in RESULT_FIELDS}, "remark": result.get("remark")}
        rows = answers.reopen_rows(session, settings, known_agencies, matter_id, called, f"fu_{row.id}")
    return row, rows


def record_result(hub, matter_id: str, result: Mapping[str, Any], actor: str, source: str = "linkage"
                  ) -> dict[str, Any]:
    """The linkage office records a sampled matter's call (API, console, CLI); returns its view."""
    from hub.casework import matters
    from hub.contract.errors import NotFound
    from hub.messaging import outbox

    with hub.store.transaction() as session:
        live = matters.resolve(session, matter_id)
        if live is None:
            raise NotFound(f"no matter {matter_id}")
        outbox.track(session, subscribers=hub.outbox)  # the relays are told of its rows after the commit
        row, rows = add_result(session, hub.settings, hub.registry.codes(), live, result, source=source, actor=actor)
        for r in rows:
            outbox.enqueue(session, r, claim=False)
        view = result_view(row)
    return view


def results_of(session: Session, day: dt.date) -> dict[str, Any]:
    """The results recorded for one day's sample, by matter id."""
    from hub.store.models import FollowupResult

    return {r.matter_id: r for r in session.scalars(select(FollowupResult).where(FollowupResult.sample_day == day))}


FIGURES = ("drawn", "calls", *RESULT_FIELDS, "reopened")


def figures(session: Session, day: dt.date, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The follow-up figures for the day's bulletin: how many closed matters the day's
    sample drew, and the calls made that day (to any day's sample): reached, resolved,
    paid in full, lawful, satisfied, and the matters they reopened; in all and by district
    (``by_district``, so that an area's bulletin counts its own: :func:`for_area`)."""
    from hub.store.models import FollowupResult

    start, end = day_window(day, settings)
    sample = drawn(session, day, settings)
    rows = list(session.scalars(select(FollowupResult).where(FollowupResult.called_at >= start,
                                                             FollowupResult.called_at < end)))
    districts = matter_districts(session, [*sample, *(r.matter_id for r in rows)])
    by_district: dict[str, dict[str, int]] = {}

    def fig(matter_id: str) -> dict[str, int]:
        return by_district.setdefault(districts.get(matter_id, "unknown"), dict.fromkeys(FIGURES, 0))

    for matter_id in sample:
        fig(matter_id)["drawn"] += 1
    for r in rows:
        counts = fig(r.matter_id)
        counts["calls"] += 1
        counts["reopened"] += bool(r.reopens)
        for k in RESULT_FIELDS:
            counts[k] += bool(getattr(r, k))
    return {"sample_day": day.isoformat(), **_sum(by_district.values()), "by_district": dict(sorted(by_district.items()))}


def _sum(figs) -> dict[str, int]:
    total = dict.fromkeys(FIGURES, 0)
    for f in figs:
        for k in FIGURES:
            total[k] += f[k]
    return total


def for_area(figs: Mapping[str, Any], mine) -> dict[str, Any]:
    """The figures of the districts ``mine(code)`` says are the principal's."""
    by_district = {code: f for code, f in figs["by_district"].items() if mine(code)}
    return {"sample_day": figs["sample_day"], **_sum(by_district.values()), "by_district": by_district}


def _flag(description: str) -> ma.fields.Boolean:
    return ma.fields.Boolean(load_default=None, allow_none=True, truthy={True}, falsy={False},
                             metadata={"description": description})


class FollowupResultInput(ma.Schema):
    """The body of a follow-up result (API, console and CLI all load it through this)."""

    class Meta:
        unknown = ma.RAISE

    called_at = OffsetDateTime(load_default=None, allow_none=True,
                               metadata={"description": "when the call was made (ISO 8601 with offset); default: now"})
    reached = ma.fields.Boolean(required=True, truthy={True}, falsy={False},
                                metadata={"description": "the complainant was reached"})
    resolved = _flag("the complainant says the matter was resolved")
    paid_full = _flag("the complainant says the wages were paid in full")
    lawful = _flag("the procedure was lawful")
    satisfied = _flag("the complainant is satisfied")
    remark = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=2000))

    @ma.validates("remark")
    def _storable(self, value, **kwargs):
        if value is not None and _UNSTORABLE.search(value):
            raise ma.ValidationError(ruled("must be text without NUL characters or lone surrogates", "no-nul"))

    @ma.post_load
    def _when(self, data, **kwargs):
        from hub.ids import now_beijing

        data["called_at"] = data["called_at"] or now_beijing()
        if not data["reached"] and any(data.get(k) is not None for k in RESULT_FIELDS[1:]):
            raise ma.ValidationError({"reached": [ruled("a caller not reached gives no answers", "not-reached")]})
        return data


def result_input_schema() -> FollowupResultInput:
    return FollowupResultInput()


def load_result(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A follow-up result checked (``BadRequest`` naming the field and the rule)."""
    from hub.contract.errors import BadRequest
    from schemas import RecordInvalid, flatten_errors

    try:
        return result_input_schema().load(payload)
    except ma.ValidationError as exc:
        bad = RecordInvalid(flatten_errors(exc.messages))
        raise BadRequest(str(bad), details={"field": bad.field, "rule": bad.rule}) from None
