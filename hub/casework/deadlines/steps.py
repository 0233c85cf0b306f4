"""Every deadline a matter's records open, with what is done: a pure function."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from hub.casework.deadlines.history import (
    _apply_ends,
    _facts,
    _requested_at,
    _sent,
    amount_large,
    transfer_rounds,
    work_order_lives,
)
from hub.casework.deadlines.rules import RULES, Due
from hub.casework.deadlines.workdays import _earliest, _end_of, _end_of_day, due_time, when
from hub.ids import BEIJING


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
