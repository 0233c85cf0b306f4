"""Answers owed to a complainant's platform, and matters reopened by a call back.

A ``work_order`` (a complaint taken by a hotline) is owed its result when the matter ends
(``deadlines.matter_ends``): the hub writes it to the agency the work order came from, as
its kind ``RESULT``, once per round (``deadlines.work_order_lives``): the step
``work_order_reply`` is done then. A call back that reached the caller, who says not
resolved or not paid (``deadlines.reopens``, or a follow-up result saying so), reopens the
matter: a new life, a new round owed, and the agencies of ``[followup]
reopen_recipients`` are told (notice kind ``REOPENED``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from hub.casework import deadlines, matters
from hub.ids import BEIJING, iso, new_id, now_beijing
from hub.store import any_of
from hub.store.models import Deadline, Record, utcnow

RULE = "work_order_reply"
RESULT_KIND = "RESULT"
REOPENED = "REOPENED"
ENDED = {deadlines.PAID: "欠薪已全额支付", deadlines.COURT: "经法院强制执行，欠薪已全额支付",
         deadlines.CLOSED: "案件已办结"}


def reply_states(session, matter_ids: Iterable[str]) -> dict[str, str]:
    """The stored status of each reply step of these matters (before a refresh rewrites them)."""
    ids = sorted(set(matter_ids))
    out: dict[str, str] = {}
    for i in range(0, len(ids), 500):
        out.update(session.execute(select(Deadline.key, Deadline.status).where(
            any_of(session, Deadline.matter_id, ids[i:i + 500]), Deadline.rule == RULE)).all())
    return out


def _paid_amount(records: list[Mapping[str, Any]]) -> str | None:
    """The most any record says was paid or recovered on the matter (yuan), or None."""
    amounts = []
    payments = sum((Decimal(r["amount_paid"]) for r in records if r["type"] == "wage_payment"), Decimal(0))
    if payments:
        amounts.append(payments)
    for r in records:
        value = r.get("amount_recovered") if r["type"] == "case" else \
            r.get("amount_paid") if r["type"] in ("court_enforcement", "mediation_result", "contractor_reply") else None
        if value is not None:
            amounts.append(Decimal(value))
    return format(max(amounts).quantize(Decimal("0.01")), "f") if amounts else None


def result_rows(session, before: Mapping[str, str], dues: Mapping[str, list[deadlines.Due]]) -> list[dict[str, Any]]:
    """Outbox rows of the results owed now: each reply step done by this refresh (it was
    open, or unknown, before)."""
    rows: list[dict[str, Any]] = []
    for matter_id, steps in dues.items():
        answered = [d for d in steps if d.rule == RULE and d.status in ("met", "late")
                    and before.get(d.key) not in ("met", "late")]
        if not answered:
            continue
        records = [data for (data,) in session.execute(select(Record.data).where(Record.matter_id == matter_id)
                                                       .order_by(Record.seq))]
        orders = {r["work_order_no"]: r for r in records if r["type"] == "work_order"}
        ends = deadlines.matter_ends(records)
        handler = next((r.get("handler") for r in reversed(records) if r["type"] == "case" and r.get("handler")),
                       None)
        refs = matters.refs(session, matter_id, matters.DELIVERY_REFS)
        for d in answered:
            order = orders.get(d.subject)
            if order is None:
                continue
            end = next(((t, kind, reason) for t, kind, reason in ends if t == d.done_at), None)
            kind, reason = (end[1], end[2]) if end else (deadlines.CLOSED, "the matter ended")
            resolved = kind in (deadlines.PAID, deadlines.COURT) and "terminated" not in reason
            record = {
                "type": "work_order_result", "work_order_no": d.subject, "round": int(d.key.rpartition("#")[2])
                if "#" in d.key else 1, "closed_at": d.done_at.astimezone(BEIJING).isoformat(),
                "resolved": resolved, "paid_amount": _paid_amount(records), "handler": handler or d.owner,
                "handler_agency": d.owner, "text": f"{ENDED[kind] if resolved or kind == deadlines.CLOSED else '执行终结'}"
                f"（{reason}）", "late": d.status == "late",
            }
            now = utcnow()
            rows.append({
                "message_id": new_id("out"), "record_id": order["record_id"], "record_type": "work_order_result",
                "source_agency": "hub", "matter_id": matter_id, "recipient": order["source_agency"],
                "kind": RESULT_KIND, "route": "work-order-result", "status": "pending", "attempts": 0,
                "next_attempt_at": now, "created_at": now, "claimed_until": None,
                "payload": {"record": record, "refs": refs, "params": {}, "created_at": iso(now_beijing())},
            })
    return rows


def reopen_rows(session, settings: Mapping[str, Any], known: Iterable[str], matter_id: str,
                called: Mapping[str, Any], record_id: str) -> list[dict[str, Any]]:
    """Outbox rows telling ``[followup] reopen_recipients`` (those with a plugin: ``known``)
    that a call back reopened the matter: ``called`` is what the caller said."""
    cfg = settings["followup"]
    refs = matters.refs(session, matter_id, matters.DELIVERY_REFS)
    record = {"type": "reopening", "matter_id": matter_id, **called}
    now = utcnow()
    known = set(known)
    return [{
        "message_id": new_id("out"), "record_id": record_id, "record_type": "reopening", "source_agency": "hub",
        "matter_id": matter_id, "recipient": agency, "kind": cfg["reopen_kind"], "route": "reopened",
        "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now, "claimed_until": None,
        "payload": {"record": record, "refs": refs, "params": {"notice_kind": REOPENED},
                    "created_at": iso(now_beijing())},
    } for agency in cfg["reopen_recipients"] if agency in known]

