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
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import holidays
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from hub.casework.matters import WORKER_FACTS
from hub.ids import BEIJING
from hub.store import any_of, insert_rows
from hub.store.models import Deadline, FollowupResult, Matter, Record, TransferHold, utcnow


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    owner: str
    source: str


TRANSFER_REGULATION = "行政执法机关移送涉嫌犯罪案件的规定"
RULES = {r.name: r for r in (
    Rule("first_contact", "首日对接 first contact with the complainant", "hrss", "city practice (Qingdao)"),
    Rule("accept_complaint", "受理 accept or reject the complaint", "hrss", "labour inspection rules"),
    Rule("close_case", "结案 close the labour inspection case", "hrss",
         "劳动保障监察条例 Art. 17 (60 working days, + up to 30 approved)"),
    Rule("housing_answer", "三交办 the construction department answers the assignment", "housing",
         "city practice"),
    Rule("gov_answer", "三交办 属地 the government of the project's area answers the assignment", "gov",
         "city practice"),
    Rule("order_due", "责令支付 the order to pay falls due", "hrss", "the order to pay"),
    Rule("mediation_pay", "调解协议 the employer pays what the mediation agreement says by its date", "hrss",
         "the mediation agreement (劳动争议调解仲裁法 Art. 15)"),
    Rule("transfer_approve", "批准移送 approve or refuse the transfer of a suspected crime", "hrss",
         f"{TRANSFER_REGULATION} Art. 5 ¶1"),
    Rule("transfer_handover", "移送 hand the approved transfer to the police", "hrss",
         f"{TRANSFER_REGULATION} Art. 5 ¶2"),
    Rule("linkage_decide", "两法衔接 the linkage office decides on a held dossier", "linkage",
         "city practice ([deadlines.linkage_decide])"),
    Rule("police_decide", "立案审查 police decide on the transfer", "police", f"{TRANSFER_REGULATION} Art. 8"),
    Rule("police_request_materials", "补充材料 police ask for missing materials", "police",
         "公安机关办理刑事案件程序规定 Art. 180"),
    Rule("complete_materials", "补充材料 labour inspection completes the materials", "hrss",
         "公安机关办理刑事案件程序规定 Art. 180"),
    Rule("handover_after_opening", "移交 hand over remaining materials after the case is opened", "hrss",
         f"{TRANSFER_REGULATION} Art. 12"),
    Rule("reconsideration_request", "提请复议 labour inspection may ask the police to reconsider a decline", "hrss",
         f"{TRANSFER_REGULATION} Art. 9"),
    Rule("reconsideration_answer", "复议决定 police answer a request for reconsideration", "police",
         f"{TRANSFER_REGULATION} Art. 9"),
    Rule("supervision_request", "建议立案监督 labour inspection may ask the procuratorate to supervise", "hrss",
         f"{TRANSFER_REGULATION} Art. 9"),
    Rule("procuratorate_reasons", "说明不立案理由 police explain to the procuratorate why no case was opened",
         "police", "公安机关办理刑事案件程序规定 Art. 183"),
    Rule("procuratorate_order", "通知立案 police open the case the procuratorate ordered", "police",
         "公安机关办理刑事案件程序规定 Art. 183"),
    Rule("work_order_reply", "12345 办理结果 answer the hotline's work order with its result", "hrss",
         "the work order's own 办结时限 (replyBy); once reopened: [deadlines.work_order_reply]"),
)}

# The number each step's subject is, by rule (the rest are transfer numbers).
SUBJECT_FIELDS = {"first_contact": "clue_no", "accept_complaint": "clue_no", "housing_answer": "clue_no",
                  "gov_answer": "clue_no",
                  "close_case": "case_no", "order_due": "order_no", "transfer_approve": "order_no",
                  "mediation_pay": "mediation_no", "work_order_reply": "work_order_no"}


def subject_field(rule: str) -> str:
    return SUBJECT_FIELDS.get(rule, "transfer_no")


# Steps whose due time the record itself gives (no [deadlines] limit).
EXPLICIT_DUE = frozenset({"order_due", "mediation_pay"})

# Steps that are a right, not a duty: a window that passes unused is moot, never overdue.
WINDOWS = frozenset({"reconsideration_request", "supervision_request"})

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
    moot: str | None = None
    """Why the step is no longer needed (the matter was paid, closed...): closed unmet."""
    moot_at: dt.datetime | None = None

    @property
    def status(self) -> str:
        if self.done_at is not None:
            return "met" if self.done_at <= self.due_at else "late"
        return "moot" if self.moot else "open"


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


def _end_of(value: Any) -> dt.datetime | None:
    """A date's end (23:59:59 Beijing); a time as it is."""
    t = when(value)
    if t is None:
        return None
    return _end_of_day(t.date()) if isinstance(value, str) and len(value) == 10 else t


@dataclass
class _Round:
    """One sending of a transfer to the police (round 1, then each resubmission, 补充移送)."""

    n: int
    transfer: Mapping[str, Any] | None = None
    receipt: Mapping[str, Any] | None = None
    decision: Mapping[str, Any] | None = None
    materials: Mapping[str, Any] | None = None  # the police's request for more (BCCL, or a "returned" decision)
    reconsider: Mapping[str, Any] | None = None
    answer: Mapping[str, Any] | None = None  # the police's decision on the reconsideration
    supervise: Mapping[str, Any] | None = None


ROUND_TYPES = ("police_receipt", "police_decision", "materials_request", "reconsideration_request",
               "reconsideration_decision", "supervision_request")


def transfer_rounds(records: Iterable[Mapping[str, Any]]) -> dict[str, list[_Round]]:
    """The rounds of each transfer, from its records in the order the hub took them in:
    each ``criminal_transfer`` record of a number starts a round; the police's receipt,
    decision and requests belong to the round they follow."""
    rounds: dict[str, list[_Round]] = {}
    for r in records:
        number = r.get("transfer_no")
        if not number or (r["type"] != "criminal_transfer" and r["type"] not in ROUND_TYPES):
            continue
        mine = rounds.setdefault(number, [])
        if r["type"] == "criminal_transfer":
            mine.append(_Round(len(mine) + 1, transfer=r))
            continue
        if not mine:
            mine.append(_Round(1))
        current = mine[-1]
        if r["type"] == "police_receipt":
            current.receipt = current.receipt or r
        elif r["type"] == "police_decision":
            if r["decision"] == "returned":
                current.materials = current.materials or r
            current.decision = current.decision or r
        elif r["type"] == "materials_request":
            current.materials = current.materials or r
        elif r["type"] == "reconsideration_request":
            current.reconsider = current.reconsider or r
        elif r["type"] == "reconsideration_decision":
            current.answer = current.answer or r
        else:
            current.supervise = current.supervise or r
    return rounds


def round_of(records: Iterable[Mapping[str, Any]], transfer_no: str) -> int:
    """The round a transfer record of ``transfer_no`` arriving now starts: 1 + those before."""
    return 1 + sum(1 for r in records if r["type"] == "criminal_transfer" and r.get("transfer_no") == transfer_no)


def _requested_at(materials: Mapping[str, Any]) -> dt.datetime | None:
    return when(materials.get("requested_at") or materials.get("decided_at"))


PAID = "paid"
CLOSED = "closed"
COURT = "court"  # the court's enforcement ended it: the criminal case is over too


def matter_ends(records: Iterable[Mapping[str, Any]]) -> list[tuple[dt.datetime, str, str]]:
    """When the matter's wages were paid in full or its case closed: (time, kind, reason),
    from the records that say so (court enforcement paid or ended, a payment marked full,
    a mediation agreement paid, a general contractor's settlement, the case closed)."""
    out = []
    for r in records:
        t, kind, reason = None, PAID, None
        if r["type"] == "court_enforcement" and r.get("status") == "paid":
            t, kind, reason = when(r["updated_on"]), COURT, "wages paid in full: court enforcement paid"
        elif r["type"] == "court_enforcement" and r.get("status") == "terminated":
            t, kind, reason = when(r["updated_on"]), COURT, "court enforcement ended (terminated)"
        elif r["type"] == "wage_payment" and r.get("full"):
            t, reason = when(r["paid_on"]), "wages paid in full (payment reported as full)"
        elif r["type"] == "mediation_result" and r.get("amount_agreed") is not None \
                and r.get("amount_paid") is not None and Decimal(r["amount_paid"]) >= Decimal(r["amount_agreed"]) > 0:
            t, reason = when(r["mediated_on"]), "wages paid in full: the mediation agreement was paid"
        elif r["type"] == "contractor_reply" and r.get("outcome") == "settled":
            t, reason = when(r["replied_at"]), "wages paid in full: the general contractor settled"
        elif r["type"] == "case" and r.get("status") == "closed":
            t, kind, reason = when(r["status_at"]), CLOSED, f"case {r['case_no']} closed"
        if t is not None:
            out.append((t, kind, reason))
    return sorted(out, key=lambda e: e[0])


def reopens(record: Mapping[str, Any]) -> bool:
    """A call back (回访) that reached the caller, who says not resolved or not paid."""
    return record["type"] == "satisfaction" and bool(record.get("reached")) \
        and (record.get("resolved") is False or record.get("paid") is False)


def matter_reopenings(records: Iterable[Mapping[str, Any]], extra: Iterable[dt.datetime] = ()) -> list[dt.datetime]:
    """A new report of unpaid wages (a clue), a case opened again, or a call back saying not
    resolved or not paid (``extra``: the follow-up sample's, kept outside the records) starts
    a new life."""
    return sorted([*(t for t in (when(r.get("received_at")) if r["type"] == "clue" else
                                 when(r.get("status_at")) if r["type"] == "case" and r.get("status") == "opened" else
                                 when(r.get("called_at")) if reopens(r) else None
                                 for r in records) if t is not None), *extra])


# The police's and the transfer's steps: payment before prosecution may reduce or waive the
# punishment (Criminal Law Art. 276-1 ¶3), it does not stop the case by itself; whether a
# full payment moots them is the setting [linkage] payment_moots_criminal_steps.
CRIMINAL_RULES = frozenset({"transfer_approve", "transfer_handover", "linkage_decide", "police_decide",
                            "police_request_materials", "complete_materials", "handover_after_opening",
                            "reconsideration_request", "reconsideration_answer", "supervision_request"})


def _apply_ends(out: list[Due], records: list[Mapping[str, Any]], linkage: Mapping[str, Any] | None,
                reopened: Iterable[dt.datetime] = ()) -> None:
    ends = matter_ends(records)
    if not ends:
        return
    reopen = matter_reopenings(records, reopened)
    spare_criminal = linkage is not None and not linkage.get("payment_moots_criminal_steps", True)
    for d in out:
        if d.done_at is not None or d.moot:
            continue
        life = max((t for t in reopen if t <= d.start_at), default=None)
        for t, kind, reason in ends:
            if life is not None and t <= life:
                continue
            if spare_criminal and d.rule in CRIMINAL_RULES and kind != COURT:
                continue
            d.moot, d.moot_at = reason, t
            break


def amount_large(facts: Mapping[str, Any], linkage: Mapping[str, Any]) -> bool:
    """Whether the matter's own figures reach the province's "relatively large" amount."""
    from hub.casework.linkage import amount_test

    return bool(amount_test(facts, linkage)["large"])


def work_order_lives(records: list[Mapping[str, Any]], reopened: Iterable[dt.datetime] = ()
                     ) -> list[tuple[Mapping[str, Any], int, dt.datetime, dt.datetime | None]]:
    """Each work order's answers owed: (work order, round, start, end of the matter that
    answers it or None). Round 1 starts when the call was taken; each reopening after it
    (a call back saying not resolved or not paid, a follow-up saying not paid) after the
    round before was answered starts another. A round is answered by the first end of the
    matter after its start."""
    ends = [t for t, _kind, _reason in matter_ends(records)]
    reopened = list(reopened)
    out = []
    for order in dict((r["work_order_no"], r) for r in records if r["type"] == "work_order").values():
        calls = [r for r in records if r["type"] == "satisfaction" and r["work_order_no"] == order["work_order_no"]]
        start, n = when(order["taken_at"]), 1
        answered = next((t for t in ends if t > start), None)
        out.append((order, n, start, answered))
        for t in matter_reopenings(calls, reopened):
            # a call back reopens a round that was answered before it; one on a matter still
            # open starts nothing new (its answer is still owed)
            if answered is not None and t >= answered:
                start, n = t, n + 1
                answered = next((e for e in ends if e > start), None)
                out.append((order, n, start, answered))
    return out


def compute(records: list[dict[str, Any]], limits: Mapping[str, Mapping[str, Any]],
            linkage: Mapping[str, Any] | None = None, holds: Iterable[Mapping[str, Any]] = (),
            reopened: Iterable[dt.datetime] = ()) -> list[Due]:
    """Every deadline the records open, with what is done: a pure function.

    ``records`` come in the order the hub took them in (a transfer's rounds follow it).
    ``linkage`` (the ``[linkage]`` settings) lets the Art. 5 approval step judge the
    amount; ``holds`` are the dossier checks of the matter's transfers (``TransferHold``
    as dicts), for the linkage office's own step and the hand-over; ``reopened``: when
    follow-up calls reopened the matter.
    """
    reopened = list(reopened)
    by_type: dict[str, list[dict]] = {}
    for r in records:
        by_type.setdefault(r["type"], []).append(r)
    holds_by_record = {h["record_id"]: h for h in holds}
    out: list[Due] = []

    def add(rule: str, subject: str, start: dt.datetime | None, due: dt.datetime | None = None,
            done: dt.datetime | None = None, key: str | None = None, moot: str | None = None,
            extra_working_days: int = 0) -> None:
        limit = limits.get(rule)
        if start is None or (due is None and (limit is None or limit.get("off"))):
            return
        meta = RULES[rule]
        if due is None:
            due = due_time(start, {**limit, "working_days": limit["working_days"] + extra_working_days}
                           if extra_working_days and limit.get("working_days") is not None else limit)
        out.append(Due(key or f"{rule}:{subject}", rule, subject, meta.owner, meta.title, meta.source, start, due,
                       done, moot, start if moot else None))

    cases = by_type.get("case", [])
    answers = [r for r in by_type.get("assignment_answer", []) if r.get("result") != "in_progress"]
    for clue in by_type.get("clue", []):
        number = clue["clue_no"]
        start = when(clue["received_at"])
        mine = [c for c in cases if number in (c.get("clue_nos") or [])]
        add("first_contact", number, start, done=_earliest(when(c.get("first_contact_at")) for c in mine))
        add("accept_complaint", number, start, done=_earliest(when(c.get("status_at")) for c in mine))
        if clue.get("project_code"):
            # The construction department's and the area government's answers (ANSWER) close
            # their own assignments; an answer "in progress" does not.
            for rule in ("housing_answer", "gov_answer"):
                add(rule, number, start,
                    done=_earliest(when(a["answered_on"]) for a in answers
                                   if a.get("source_agency", RULES[rule].owner) == RULES[rule].owner
                                   and when(a["answered_on"]).date() >= start.astimezone(BEIJING).date()))

    extensions = by_type.get("case_extension", [])
    for number in dict.fromkeys(c["case_no"] for c in cases):
        history = [c for c in cases if c["case_no"] == number]
        opened = _earliest(when(c["status_at"]) for c in history if c["status"] == "opened")
        ended = _earliest(when(c["status_at"]) for c in history if c["status"] in ("closed", "transferred", "rejected"))
        extra = sum(int(e["working_days"]) for e in extensions if e.get("case_no") == number)
        add("close_case", number, opened, done=ended, extra_working_days=extra)

    orders = by_type.get("payment_order", [])
    transfers = by_type.get("criminal_transfer", [])
    for number in dict.fromkeys(o["order_no"] for o in orders):
        mine = [o for o in orders if o["order_no"] == number]
        complied = _earliest(when(o.get("accepted_at")) for o in mine if o.get("complied"))
        # An order reports no time of payment: the hub's receipt of "complied" stands for it.
        due_day = when(mine[0]["due_on"]).date()
        add("order_due", number, when(mine[0]["issued_on"]), due=_end_of_day(due_day), done=complied)
        if linkage is not None and amount_large(_facts(records), linkage):
            # Art. 5: once the order has fallen due unpaid the refusal to pay is a suspected
            # crime: the head of labour inspection approves (or refuses) the transfer in 3 days.
            made = _earliest(when(t["transferred_on"]) for t in transfers if t.get("order_no") == number)
            refused = "the order to pay was complied with" if complied and not made else None
            add("transfer_approve", number, _end_of_day(due_day) + dt.timedelta(seconds=1), done=made, moot=refused)

    for number in dict.fromkeys(m["mediation_no"] for m in by_type.get("mediation_result", [])):
        mine = [m for m in by_type["mediation_result"] if m["mediation_no"] == number]
        agreed = next((m for m in mine if m.get("pay_by") and m.get("amount_agreed") is not None
                       and m["outcome"] in ("agreed", "partial")), None)
        if agreed is not None:
            paid = _earliest(when(m["mediated_on"]) for m in mine if m.get("amount_paid") is not None
                             and Decimal(m["amount_paid"]) >= Decimal(m["amount_agreed"]))
            add("mediation_pay", number, when(agreed["mediated_on"]), due=_end_of(agreed["pay_by"]), done=paid)

    for number, rounds in transfer_rounds(records).items():
        opened = False
        for rnd in rounds:
            key = f"#{rnd.n}"
            hold = holds_by_record.get(rnd.transfer["record_id"]) if rnd.transfer and "record_id" in rnd.transfer \
                else None
            sent, returned = _sent(rnd.transfer, hold)
            if rnd.transfer is not None and hold is not None and hold.get("status") != "passed":
                add("linkage_decide", number, when(hold["checked_at"]), key=f"linkage_decide:{number}{key}",
                    done=when(hold.get("decided_at")))
            if rnd.n == 1 and rnd.transfer is not None:
                add("transfer_handover", number, when(rnd.transfer["transferred_on"]),
                    key=f"transfer_handover:{number}{key}", done=sent,
                    moot="returned to labour inspection by the linkage office" if returned else None)
            if opened:
                continue  # materials handed over after the case was opened: no new review
            received = when(rnd.receipt["received_at"]) if rnd.receipt else (sent if rnd.n > 1 else None)
            acted = [t for t in (when(rnd.decision["decided_at"]) if rnd.decision else None,
                                 _requested_at(rnd.materials) if rnd.materials else None) if t is not None]
            add("police_decide", number, received, key=f"police_decide:{number}{key}", done=min(acted, default=None))
            nxt = rounds[rnd.n] if rnd.n < len(rounds) else None
            resent = when(nxt.transfer["transferred_on"]) if nxt and nxt.transfer else None
            if rnd.materials is not None:
                asked = _requested_at(rnd.materials)
                add("police_request_materials", number, received, key=f"police_request_materials:{number}{key}",
                    done=asked)
                add("complete_materials", number, asked, key=f"complete_materials:{number}{key}",
                    done=max(resent, asked) if resent else None)
            decision = rnd.decision["decision"] if rnd.decision else None
            if decision == "declined":
                declined = when(rnd.decision["decided_at"])
                add("reconsideration_request", number, declined, key=f"reconsideration_request:{number}{key}",
                    done=when(rnd.reconsider["requested_on"]) if rnd.reconsider else None)
            if rnd.reconsider is not None:
                add("reconsideration_answer", number, when(rnd.reconsider["requested_on"]),
                    key=f"reconsideration_answer:{number}{key}",
                    done=when(rnd.answer["decided_at"]) if rnd.answer else None)
            if rnd.answer is not None and rnd.answer["decision"] == "upheld":
                add("supervision_request", number, when(rnd.answer["decided_at"]),
                    key=f"supervision_request:{number}{key}",
                    done=when(rnd.supervise["requested_on"]) if rnd.supervise else None)
            for d in (rnd.decision, rnd.answer):
                if d is not None and d["decision"] == "opened":
                    opened = True
                    add("handover_after_opening", number, when(d["decided_at"]),
                        key=f"handover_after_opening:{number}{key}", done=resent)
                    break
    # The hotline's work order: its result is owed by its reply-by time (the platform's
    # 办结时限); after a reopening, within [deadlines.work_order_reply].
    for order, n, start, answered in work_order_lives(records, reopened):
        number = order["work_order_no"]
        add("work_order_reply", number, start, due=when(order["reply_by"]) if n == 1 else None, done=answered,
            key=f"work_order_reply:{number}" if n == 1 else f"work_order_reply:{number}#{n}")
    _apply_ends(out, records, linkage, reopened)
    return out


def _sent(transfer: Mapping[str, Any] | None, hold: Mapping[str, Any] | None) -> tuple[dt.datetime | None, bool]:
    """When the hub sent a transfer record to the police, and whether it was returned instead."""
    if transfer is None:
        return None, False
    if hold is None or hold.get("status") == "passed":
        # straight on to the police: sent the day labour inspection dated it
        return when(transfer["transferred_on"]), False
    if hold.get("status") == "released":
        return when(hold.get("decided_at")), False
    return None, hold.get("status") == "returned"


def _facts(records: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The matter's best figures for the amount test: the latest case that lists its
    workers one by one, else the latest clue's totals."""
    case = next((r for r in reversed(records) if r["type"] == "case" and r.get("workers")), None)
    if case is not None:
        return {"workers": case["workers"]}
    clue = next((r for r in reversed(records) if r["type"] == "clue"), None)
    if clue is None:
        return {}
    return {"worker_count": clue["worker_count"], "amount_owed": clue["amount_owed"]}


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
