"""What a matter's records say about its course: the rounds of each transfer, when the
matter ended (paid, closed) or was reopened, and the work orders' answers owed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hub.casework.deadlines.rules import CRIMINAL_RULES, Due
from hub.casework.deadlines.workdays import when


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
