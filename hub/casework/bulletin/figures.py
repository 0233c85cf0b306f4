"""The daily bulletin's figures (日通报): one Beijing calendar day, by district.

Every figure is read from the canonical records and deadlines of the store, for the day
``[00:00, 24:00)`` in ``hub.timezone`` (Asia/Shanghai, UTC+8):

``clues_by_channel``, ``clues_total``, ``amount_owed``
    clues whose ``received_at`` falls on the day (the record's business time,
    ``records.occurred_at``). A clue number counts once; its latest version gives the
    channel and the amount.
``first_contacts_on_time`` / ``first_contacts_late``
    ``first_contact`` deadlines done that day: ``met`` is on time, ``late`` is late.
    First contacts still not made and already overdue at the end of the day count as
    late too; ``first_contacts_late_open`` says how many of the late ones they are.
``cases_opened`` / ``cases_closed``
    case numbers with a case record of status ``opened`` / ``closed`` whose
    ``status_at`` falls on the day, each number once.
``amount_recovered`` / ``workers_paid``
    from the cases closed that day (the latest closing record of each case number).
``transfers_by_stage``
    every criminal transfer made by the end of the day, by its stage at the end of the
    day: the last step of :func:`hub.casework.transfers.transfer_view`'s timeline dated before
    the end of the day (the current status when a view has no timeline). Steps
    reported later are not known to an earlier day's bulletin only when they are dated
    later: a step dated on or before the day counts even if it arrived afterwards.
``risks``
    early warnings on construction projects (``hub.casework.risks``) raised that day, counted by
    district and rule: ``risk`` records of status ``raised`` whose ``raised_on`` is the day
    (a list of ``{region_code, region_name, rule, count}``, beside the district table).
``overdue_total`` / ``overdue_by_owner`` and ``overdue_items``
    deadlines open at the end of the day with ``due_at`` before it: those still
    ``open``, and those done ``late`` after the day (so a past day's bulletin does not
    change when the step is finally done, or becomes moot). A window that is a right
    (reconsideration, supervision: ``deadlines.WINDOWS``) never counts.

A record's district is its own ``region_code``; else the ``region_code`` of its
matter's first clue (else first project); else ``unknown``. A deadline's district is
its ``region_code``, else its matter's. Money is a decimal string in yuan, two places.

Publishing (``hub.casework.bulletin.publishing``) sends these figures to the subscribing
agencies once a day; ``hub.casework.bulletin.days.due_day`` tells the clock which day is due.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from hub.casework import matters
from hub.casework.bulletin.days import day_window, report_tz
from hub.casework.bulletin.districts import TOTAL, UNKNOWN, matter_districts, region_name
from hub.casework.transfers import STATUSES, transfer_view
from hub.ids import now_beijing
from hub.store.models import Deadline, Record
from schemas.records import CHANNELS

CENT = decimal.Decimal("0.01")


def _figures(code: str) -> dict[str, Any]:
    return {
        "region_code": code,
        "region_name": region_name(code),
        "clues_total": 0,
        "clues_by_channel": {c: 0 for c in CHANNELS},
        "amount_owed": decimal.Decimal(0),
        "first_contacts_on_time": 0,
        "first_contacts_late": 0,
        "first_contacts_late_open": 0,
        "cases_opened": 0,
        "cases_closed": 0,
        "amount_recovered": decimal.Decimal(0),
        "workers_paid": 0,
        "transfers_by_stage": {s: 0 for s in STATUSES},
        "overdue_total": 0,
        "overdue_by_owner": {},
    }


def _total(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The districts' figures added up; money comes as Decimal or as the written-out string."""
    total = _figures(TOTAL)
    for fig in rows:
        for key, value in fig.items():
            if isinstance(value, dict):
                for k, n in value.items():
                    total[key][k] = total[key].get(k, 0) + n
            elif key in ("amount_owed", "amount_recovered"):
                total[key] += decimal.Decimal(value)
            elif key not in ("region_code", "region_name"):
                total[key] += value
    return total


def _money(value: Any) -> decimal.Decimal:
    if value in (None, ""):
        return decimal.Decimal(0)
    return decimal.Decimal(str(value))


def _moment(value: Any, tz: dt.tzinfo) -> dt.datetime | None:
    """A timeline time (a date, or a time with or without offset) as an aware datetime."""
    if not value:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def stage_at(view: Mapping[str, Any], end: dt.datetime, tz: dt.tzinfo) -> str | None:
    """A transfer's stage just before ``end``; None when it was not transferred yet."""
    timeline = view.get("timeline") or []
    if not timeline:
        return view.get("status")
    stage = None
    for step in timeline:
        at = _moment(step.get("at"), tz)
        if at is None or at < end:  # an undated step cannot be placed later: it counts
            stage = step.get("status")
    return stage


def _records(session: Session, rtype: str, start: dt.datetime, end: dt.datetime, *where) -> list[Record]:
    return list(session.scalars(
        select(Record).where(Record.type == rtype, Record.occurred_at >= start, Record.occurred_at < end, *where)
        .order_by(Record.occurred_at, Record.seq)))


def _latest_by(rows: list[Record], field: str) -> dict[str, Record]:
    """The latest record of each number (rows come oldest first)."""
    out: dict[str, Record] = {}
    for row in rows:
        out[str(row.data.get(field) or row.source_ref)] = row
    return out


def open_at_end(end: dt.datetime):
    """Deadlines still open at ``end`` and due before it (see the module docstring)."""
    from hub.casework.deadlines import WINDOWS

    # (a step that became moot, or was done late, after the day was still open that day;
    # a window, such as the right to ask for reconsideration, is never overdue)
    return and_(Deadline.due_at < end, Deadline.start_at < end, Deadline.rule.not_in(sorted(WINDOWS)),
                or_(Deadline.status == "open",
                    and_(Deadline.status.in_(("late", "moot")), Deadline.done_at >= end)))


def build_bulletin(session: Session, day: dt.date, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The figures of ``day`` per district and in total (definitions: module docstring)."""
    tz = report_tz(settings)
    start, end = day_window(day, settings)

    clues = _latest_by(_records(session, "clue", start, end), "clue_no")
    cases = _records(session, "case", start, end, Record.data["status"].as_string().in_(("opened", "closed")))
    transfer_nos = list(dict.fromkeys(session.scalars(
        select(Record.source_ref).where(Record.type == "criminal_transfer", Record.occurred_at < end)
        .order_by(Record.seq))))
    views = [v for v in (transfer_view(session, n) for n in transfer_nos) if v is not None]
    done_contacts = list(session.scalars(
        select(Deadline).where(Deadline.rule == "first_contact", Deadline.done_at >= start, Deadline.done_at < end,
                               Deadline.status.in_(("met", "late")))))
    overdue = list(session.scalars(select(Deadline).where(open_at_end(end))
                                   .order_by(Deadline.due_at, Deadline.key)))
    raised = _records(session, "risk", start, end, Record.data["status"].as_string() == "raised")

    matter_ids = {r.matter_id for r in clues.values()} | {r.matter_id for r in cases}
    matter_ids |= {v["matter_id"] for v in views}
    matter_ids |= {d.matter_id for d in done_contacts + overdue if not d.region_code}
    matter_ids |= {r.matter_id for r in raised if not r.data.get("region_code")}
    districts = matter_districts(session, matter_ids)

    def district_of(data: Mapping[str, Any], matter_id: str | None) -> str:
        return data.get("region_code") or districts.get(matter_id or "", UNKNOWN)

    def deadline_district(d: Deadline) -> str:
        if d.region_code:
            return d.region_code
        code = districts.get(d.matter_id, UNKNOWN)
        if code == UNKNOWN:  # a row left on a matter merged since: its live matter's district
            live = matters.resolve(session, d.matter_id)
            if live and live != d.matter_id:
                code = districts[d.matter_id] = matter_districts(session, [live]).get(live, UNKNOWN)
        return code

    table: dict[str, dict[str, Any]] = {}

    def row(code: str) -> dict[str, Any]:
        if code not in table:
            table[code] = _figures(code)
        return table[code]

    for record in clues.values():
        fig = row(district_of(record.data, record.matter_id))
        fig["clues_total"] += 1
        channel = record.data.get("channel")
        fig["clues_by_channel"][channel] = fig["clues_by_channel"].get(channel, 0) + 1
        fig["amount_owed"] += _money(record.data.get("amount_owed"))

    opened: dict[str, set[str]] = defaultdict(set)
    closed: dict[str, Record] = {}
    for record in cases:
        case_no = str(record.data.get("case_no") or record.source_ref)
        if record.data["status"] == "opened":
            opened[district_of(record.data, record.matter_id)].add(case_no)
        else:
            closed[case_no] = record  # oldest first: the last one wins
    for code, numbers in opened.items():
        row(code)["cases_opened"] += len(numbers)
    for record in closed.values():
        fig = row(district_of(record.data, record.matter_id))
        fig["cases_closed"] += 1
        fig["amount_recovered"] += _money(record.data.get("amount_recovered"))
        fig["workers_paid"] += int(record.data.get("workers_paid") or 0)

    for view in views:
        stage = stage_at(view, end, tz)
        if stage is None:
            continue
        stages = row(districts.get(view["matter_id"], UNKNOWN))["transfers_by_stage"]
        stages[stage] = stages.get(stage, 0) + 1

    for d in done_contacts:
        fig = row(deadline_district(d))
        fig["first_contacts_on_time" if d.status == "met" else "first_contacts_late"] += 1

    risk_counts: dict[tuple[str, str], int] = defaultdict(int)
    for record in raised:
        risk_counts[(district_of(record.data, record.matter_id), record.data.get("rule"))] += 1

    items = []
    for d in overdue:
        code = deadline_district(d)
        fig = row(code)
        fig["overdue_total"] += 1
        fig["overdue_by_owner"][d.owner] = fig["overdue_by_owner"].get(d.owner, 0) + 1
        if d.rule == "first_contact":
            fig["first_contacts_late"] += 1
            fig["first_contacts_late_open"] += 1
        items.append({"region_code": code, "region_name": region_name(code), "rule": d.rule, "title": d.title,
                      "subject": d.subject, "owner": d.owner, "due_at": d.due_at.astimezone(tz).isoformat(),
                      "matter_id": d.matter_id})

    rows = [table[c] for c in sorted(table, key=lambda c: (c == UNKNOWN, c))]
    total = _total(rows)
    for fig in [*rows, total]:
        fig["overdue_by_owner"] = dict(sorted(fig["overdue_by_owner"].items()))
        for key in ("amount_owed", "amount_recovered"):
            fig[key] = format(fig[key].quantize(CENT), "f")
    items.sort(key=lambda i: (i["region_code"] == UNKNOWN, i["region_code"], i["due_at"], i["rule"]))
    return {
        "title": "欠薪线索处置日通报",
        "date": day.isoformat(),
        "timezone": settings["hub"]["timezone"],
        "from": start.isoformat(),
        "to": end.isoformat(),
        "generated_at": now_beijing().astimezone(tz).isoformat(),
        "districts": rows,
        "total": total,
        "overdue_items": items,
        "risks": [{"region_code": code, "region_name": region_name(code), "rule": rule, "count": n}
                  for (code, rule), n in sorted(risk_counts.items(), key=lambda kv: (kv[0][0] == UNKNOWN, kv[0]))],
        "followup": followup_figures(session, day, settings),
    }


def followup_figures(session: Session, day: dt.date, settings: Mapping[str, Any]) -> dict[str, Any]:
    from hub.casework.followup import figures

    return figures(session, day, settings)


def for_area(bulletin: Mapping[str, Any], areas: Collection[str]) -> dict[str, Any]:
    """The bulletin as a principal limited to ``areas`` (division codes; a city's takes in its
    districts) sees it: those districts' rows, their total, their overdue items. No areas:
    the whole bulletin."""
    if not areas:
        return dict(bulletin)
    from schemas.divisions import covers

    def mine(code: str) -> bool:
        return any(covers(area, code) for area in areas)

    rows = [dict(r) for r in bulletin["districts"] if mine(r["region_code"])]
    total = _total(rows)
    total["overdue_by_owner"] = dict(sorted(total["overdue_by_owner"].items()))
    for key in ("amount_owed", "amount_recovered"):
        total[key] = format(total[key].quantize(CENT), "f")
    items = [i for i in bulletin["overdue_items"] if mine(i["region_code"])]
    risks = [r for r in bulletin.get("risks", []) if mine(r["region_code"])]
    from hub.casework import followup

    return {**bulletin, "areas": sorted(areas), "districts": rows, "total": total, "overdue_items": items,
            "risks": risks, "followup": followup.for_area(bulletin["followup"], mine)}
