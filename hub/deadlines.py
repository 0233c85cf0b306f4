"""The deadline engine: every time limit on a matter's steps, from the matter's records.

Each rule says which record opens a step, when it starts, how long it may take (from
``[deadlines]`` in the settings: hours, calendar days, working days on China's official
calendar with its make-up working days, or the same day), which record shows it done,
and which agency owes it. Deadlines are derived state: :func:`compute` is a pure
function of the records, and :func:`refresh` rewrites a matter's rows in the pipeline's
transaction whenever a record joins it. An ``open`` deadline past its due time is
overdue (worked out when read, never stored); a step done after its due time is ``late``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import holidays
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.ids import BEIJING
from hub.store import any_of, insert_rows
from hub.store.models import Deadline, Record, utcnow


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    owner: str
    source: str


RULES = {r.name: r for r in (
    Rule("first_contact", "首日对接 first contact with the complainant", "hrss", "city practice (Qingdao)"),
    Rule("accept_complaint", "受理 accept or reject the complaint", "hrss", "labour inspection rules"),
    Rule("close_case", "结案 close the labour inspection case", "hrss", "劳动保障监察条例 Art. 17"),
    Rule("housing_answer", "三交办 the construction department answers the assignment", "housing",
         "city practice"),
    Rule("order_due", "责令支付 the order to pay falls due", "hrss", "the order to pay"),
    Rule("police_decide", "立案审查 police decide on the transfer", "police",
         "行政执法机关移送涉嫌犯罪案件的规定 Art. 8"),
    Rule("police_request_materials", "补充材料 police ask for missing materials", "police",
         "公安机关办理刑事案件程序规定 Art. 180"),
    Rule("complete_materials", "补充材料 labour inspection completes the materials", "hrss",
         "公安机关办理刑事案件程序规定 Art. 180"),
    Rule("handover_after_opening", "移交 hand over remaining materials after the case is opened", "hrss",
         "行政执法机关移送涉嫌犯罪案件的规定 Art. 12"),
)}

# Options shown after a decline, with their limits (rule name -> what it is).
DECLINE_OPTIONS = (
    ("reconsideration_answer", "申请复议 request reconsideration: the police answer within the limit", "police"),
    ("procuratorate_reasons", "检察院要求说明理由 the procuratorate asks for reasons: the police answer within the limit",
     "police"),
    ("procuratorate_order", "检察院通知立案 the procuratorate orders a case opened: the police carry it out within "
     "the limit", "police"),
)


@dataclass
class Due:
    key: str
    rule: str
    subject: str
    owner: str
    title: str
    source: str
    start_at: dt.datetime
    due_at: dt.datetime
    done_at: dt.datetime | None = None
    cancelled: bool = False

    @property
    def status(self) -> str:
        if self.cancelled:
            return "cancelled"
        if self.done_at is None:
            return "open"
        return "met" if self.done_at <= self.due_at else "late"


@functools.lru_cache(maxsize=1)
def _calendar() -> holidays.HolidayBase:
    return holidays.country_holidays("CN")


def is_working_day(day: dt.date) -> bool:
    """A working day in China: weekdays that are not public holidays, plus make-up days."""
    return _calendar().is_working_day(day)


@functools.lru_cache(maxsize=4096)  # the same few start days, over and over: a batch's clues share a day
def add_working_days(day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day after ``day`` (the day itself is not counted)."""
    current = day
    while n > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            n -= 1
    return current


def _end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=BEIJING)


def due_time(start: dt.datetime, limit: Mapping[str, Any]) -> dt.datetime:
    """When a step that started at ``start`` falls due under ``limit``."""
    local = start.astimezone(BEIJING)
    if limit.get("same_day"):
        return _end_of_day(local.date())
    if limit.get("hours") is not None:
        return start + dt.timedelta(hours=float(limit["hours"]))
    if limit.get("days") is not None:
        return _end_of_day(local.date() + dt.timedelta(days=int(limit["days"])))
    return _end_of_day(add_working_days(local.date(), int(limit["working_days"])))


def when(value: Any) -> dt.datetime | None:
    """A canonical time, date or month as an aware datetime (dates at 00:00 Beijing)."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value
    text = str(value)
    if len(text) == 7:
        text += "-01"
    if len(text) == 10:
        return dt.datetime.fromisoformat(text).replace(tzinfo=BEIJING)
    return dt.datetime.fromisoformat(text)


def _earliest(times: Iterable[dt.datetime | None]) -> dt.datetime | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def compute(records: list[dict[str, Any]], limits: Mapping[str, Mapping[str, Any]]) -> list[Due]:
    """Every deadline the records open, with what is done: a pure function."""
    by_type: dict[str, list[dict]] = {}
    for r in records:
        by_type.setdefault(r["type"], []).append(r)
    out: list[Due] = []

    def add(rule: str, subject: str, start: dt.datetime | None, due: dt.datetime | None = None,
            done: dt.datetime | None = None, cancelled: bool = False) -> None:
        if start is None:
            return
        meta = RULES[rule]
        due = due or due_time(start, limits[rule])
        out.append(Due(f"{rule}:{subject}", rule, subject, meta.owner, meta.title, meta.source, start, due,
                       done, cancelled))

    cases = by_type.get("case", [])
    for clue in by_type.get("clue", []):
        number = clue["clue_no"]
        start = when(clue["received_at"])
        mine = [c for c in cases if number in (c.get("clue_nos") or [])]
        add("first_contact", number, start, done=_earliest(when(c.get("first_contact_at")) for c in mine))
        add("accept_complaint", number, start, done=_earliest(when(c.get("status_at")) for c in mine))
        if clue.get("project_code"):
            # The construction department sends no answer of its own: the general
            # contractor's reply on the clue is what shows the assignment answered.
            answers = [when(r.get("replied_at")) for r in by_type.get("contractor_reply", [])
                       if r.get("clue_no") == number]
            add("housing_answer", number, start, done=_earliest(answers))

    for number in dict.fromkeys(c["case_no"] for c in cases):
        history = [c for c in cases if c["case_no"] == number]
        opened = _earliest(when(c["status_at"]) for c in history if c["status"] == "opened")
        ended = _earliest(when(c["status_at"]) for c in history if c["status"] in ("closed", "transferred", "rejected"))
        add("close_case", number, opened, done=ended)

    orders = by_type.get("payment_order", [])
    for number in dict.fromkeys(o["order_no"] for o in orders):
        mine = [o for o in orders if o["order_no"] == number]
        # An order reports no time of payment: the hub's receipt of "complied" stands for it.
        add("order_due", number, when(mine[0]["issued_on"]), due=_end_of_day(when(mine[0]["due_on"]).date()),
            done=_earliest(when(o.get("accepted_at")) for o in mine if o.get("complied")))

    transfers = by_type.get("criminal_transfer", [])
    decisions = by_type.get("police_decision", [])
    for receipt in by_type.get("police_receipt", []):
        number = receipt["transfer_no"]
        start = when(receipt["received_at"])
        mine = sorted((d for d in decisions if d["transfer_no"] == number), key=lambda d: d["decided_at"])
        add("police_decide", number, start, done=_earliest(when(d["decided_at"]) for d in mine))
        returned = [when(d["decided_at"]) for d in mine if d["decision"] == "returned"]
        first = mine[0] if mine else None
        add("police_request_materials", number, start, done=_earliest(returned),
            cancelled=bool(first) and first["decision"] != "returned" and not returned)
    for decision in decisions:
        number = decision["transfer_no"]
        start = when(decision["decided_at"])
        # The first transfer record is the transfer itself; later ones of the same number
        # dated on or after the decision carry the further materials.
        mine = [t for t in transfers if t["transfer_no"] == number][1:]
        later = _earliest(when(t["transferred_on"]) for t in mine if when(t["transferred_on"]).date() >= start.date())
        if decision["decision"] == "returned":
            add("complete_materials", f"{number}@{decision['decided_at'][:10]}", start, done=later)
        elif decision["decision"] == "opened":
            add("handover_after_opening", number, start, done=later)
    return out


def refresh(session: Session, matter_id: str, limits: Mapping[str, Mapping[str, Any]],
            merged: Iterable[str] = ()) -> list[Due]:
    """Rewrite the matter's deadline rows from its records (in the caller's transaction)."""
    return refresh_many(session, {matter_id: list(merged)}, limits)[matter_id]


def refresh_many(session: Session, matters: Mapping[str, Iterable[str]],
                 limits: Mapping[str, Mapping[str, Any]],
                 known: Mapping[str, list[dict[str, Any]]] | None = None) -> dict[str, list[Due]]:
    """Rewrite the deadline rows of several matters (each with the matters merged into it)
    from their records, in a few statements, in the caller's transaction.

    ``known``: matters whose records the caller holds, all of them, in the order it stored
    them (a matter its own transaction created): they are not read back.
    """
    if not matters:
        return {}
    from hub.matters import occurred_at

    known = known or {}
    ids = sorted(matters)
    records: dict[str, list[dict[str, Any]]] = {m: [] for m in ids}
    for m, held in known.items():
        order = {id(r): i for i, r in enumerate(held)}
        records[m] = sorted(held, key=lambda r: (occurred_at(r), order[id(r)]))
    unknown = [m for m in ids if m not in known]
    for i in range(0, len(unknown), 500):
        for mid, data in session.execute(select(Record.matter_id, Record.data)
                                         .where(any_of(session, Record.matter_id, unknown[i:i + 500]))
                                         .order_by(Record.matter_id, Record.occurred_at, Record.seq)):
            records[mid].append(data)
    now = utcnow()
    out: dict[str, list[Due]] = {}
    rows: dict[str, dict[str, Any]] = {}
    for mid in ids:
        dues = out[mid] = compute(records[mid], limits)
        region = next((r.get("region_code") for r in records[mid] if r.get("region_code")), None)
        for d in dues:
            rows[d.key] = {"key": d.key, "matter_id": mid, "rule": d.rule, "subject": d.subject, "owner": d.owner,
                           "title": d.title, "source": d.source, "start_at": d.start_at, "due_at": d.due_at,
                           "done_at": d.done_at, "status": d.status, "region_code": region, "updated_at": now}
    stale = sorted({m for mid in ids for m in [mid, *matters[mid]]} - set(known))  # a new matter has none yet
    for i in range(0, len(stale), 500):
        session.execute(delete(Deadline).where(any_of(session, Deadline.matter_id, stale[i:i + 500])))
    keys = sorted(rows)
    for i in range(0, len(keys), 500):  # a key another matter held (before a merge) moves here
        session.execute(delete(Deadline).where(any_of(session, Deadline.key, keys[i:i + 500])))
    if rows:
        insert_rows(session.connection(), Deadline.__table__, list(rows.values()))
    return out


def view(row: Deadline, now: dt.datetime | None = None) -> dict[str, Any]:
    """A deadline as the API shows it: due time with offset, the rule it comes from, overdue."""
    now = now or utcnow()
    overdue = row.status == "open" and row.due_at < now
    return {
        "key": row.key, "rule": row.rule, "title": row.title, "subject": row.subject, "owner": row.owner,
        "source": row.source, "start_at": row.start_at.astimezone(BEIJING).isoformat(),
        "due_at": row.due_at.astimezone(BEIJING).isoformat(),
        "done_at": row.done_at.astimezone(BEIJING).isoformat() if row.done_at else None,
        "status": "overdue" if overdue else row.status, "overdue": overdue, "late": row.status == "late",
    }
