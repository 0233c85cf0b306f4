"""The legal-linkage office (两法衔接办公室): dossier checks, held transfers, reconciliation.

A criminal transfer is checked before it leaves the hub (Criminal Law Art. 276-1 and the
2013 judicial interpretation): an order to pay that was served, is past due and unpaid;
an amount that is "relatively large" by the province's thresholds; evidence E01-E04
(E05 when the transfer claims evasion); a suspect with a valid identity number. A
complete dossier goes to the police at once; an incomplete one is held, with every
missing item listed, until a person of the ``linkage`` role releases it or returns it
to labour inspection; each decision goes into the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.ids import BEIJING
from hub.store.models import Record, TransferHold
from schemas.validators import check_id_number


def _months(period_from: str | None, period_to: str | None) -> int | None:
    if not period_from or not period_to:
        return None
    y1, m1 = map(int, period_from.split("-"))
    y2, m2 = map(int, period_to.split("-"))
    return (y2 - y1) * 12 + (m2 - m1) + 1


def amount_test(facts: Mapping[str, Any], linkage: Mapping[str, Any]) -> dict[str, Any]:
    """"Relatively large" (数额较大) by the 2013 interpretation, Art. 3: (1) any one worker
    owed wages of three months or more (``individual_months``) amounting to the province's
    figure (``individual``, inside 5,000-20,000 yuan) or more; or (2) ten or more workers
    (``collective_workers``) owed the province's figure (``collective``, inside
    30,000-100,000 yuan) or more in total. "Or more" includes the figure itself
    (Criminal Law Art. 99).

    ``facts``: ``workers`` one by one (name, amount, period_from, period_to), else the
    totals ``worker_count`` and ``amount_owed`` (with ``period_from``/``period_to`` when
    known). Without the list, branch (1) can be judged only for a single worker, whose
    total is his own: amounts are never averaged. ``individual`` is True, False, or None
    (could not be judged).
    """
    rules = linkage["thresholds"][linkage["province"]]
    floor, months_needed = Decimal(rules["individual"]), int(rules["individual_months"])
    workers = facts.get("workers")
    qualifying: list[int] = []
    if workers:
        count = len(workers)
        total = sum((Decimal(w["amount"]) for w in workers), Decimal(0))
        for i, w in enumerate(workers):
            months = _months(w.get("period_from"), w.get("period_to"))
            if Decimal(w["amount"]) >= floor and months is not None and months >= months_needed:
                qualifying.append(i)
        individual: bool | None = bool(qualifying)
        largest = max(workers, key=lambda w: Decimal(w["amount"]))
        most = {"amount": f"{Decimal(largest['amount']):.2f}",
                "months": _months(largest.get("period_from"), largest.get("period_to"))}
    else:
        count = int(facts.get("worker_count") or 0)
        total = Decimal(facts.get("amount_owed") or 0)
        months = _months(facts.get("period_from"), facts.get("period_to"))
        if count == 1 and months is not None:
            individual = total >= floor and months >= months_needed
            qualifying = [0] if individual else []
        else:
            individual = None
        most = None
    collective = count >= int(rules["collective_workers"]) and total >= Decimal(rules["collective"])
    return {"owed": f"{total:.2f}", "workers": count, "listed": bool(workers), "qualifying_workers": len(qualifying),
            "individual": individual, "collective": collective, "large": bool(individual) or collective,
            "largest_claim": most, "province": linkage["province"]}


def _amount_detail(result: Mapping[str, Any], linkage: Mapping[str, Any]) -> str:
    rules = linkage["thresholds"][linkage["province"]]
    text = (f"not relatively large (2013 interpretation Art. 3): {result['owed']} yuan for {result['workers']} "
            f"worker(s); province {linkage['province']} needs one worker owed {rules['individual']} yuan or more "
            f"for {rules['individual_months']} months or more, or {rules['collective']} yuan or more in total for "
            f"{rules['collective_workers']} workers or more")
    if result["individual"] is None:
        text += ("; the one-worker branch could not be judged: the transfer lists no workers one by one "
                 "(workers), and amounts are never averaged")
    return text


def employer_is_individual(employer: Mapping[str, Any] | None) -> bool:
    """An individual without the standing to employ (不具备用工主体资格的个人, 2013
    interpretation Art. 7): named by an identity number, with no credit code."""
    return bool(employer) and not employer.get("uscc") and bool(employer.get("id_number"))


def check_dossier(transfer: Mapping[str, Any], related: list[Mapping[str, Any]],
                  linkage: Mapping[str, Any]) -> dict[str, Any]:
    """Check a transfer against the rules; ``related`` are the other records of its matter."""
    rules = linkage["thresholds"][linkage["province"]]
    missing: list[dict[str, str]] = []

    def lack(item: str, detail: str) -> None:
        missing.append({"item": item, "detail": detail})

    orders = [r for r in related if r["type"] == "payment_order" and r.get("order_no") == transfer["order_no"]]
    if not orders:
        lack("order", f"no order to pay {transfer['order_no']} has reached the hub")
    else:
        served = next((o["served_on"] for o in orders if o.get("served_on")), None)
        due_on = orders[0]["due_on"]
        if not served:
            lack("order.served", "the order to pay was not served on the employer (no served_on)")
        if dt.date.fromisoformat(due_on) >= dt.date.fromisoformat(transfer["transferred_on"]):
            lack("order.past_due", f"the order falls due on {due_on}, not before the transfer")
        if any(o.get("complied") for o in orders):
            lack("order.unpaid", "the order to pay has been complied with")

    facts: dict[str, Any] = {"worker_count": transfer["worker_count"], "amount_owed": transfer["amount_owed"]}
    source = "transfer"
    if transfer.get("workers"):
        facts["workers"] = transfer["workers"]
    else:
        case = next((r for r in reversed(related) if r["type"] == "case" and r.get("case_no") == transfer["case_no"]
                     and r.get("workers")), None)
        if case is not None:
            facts["workers"], source = case["workers"], "case"
        elif int(transfer["worker_count"]) == 1:
            clue = next((r for r in related if r["type"] == "clue"), None)
            if clue is not None:
                facts.update(period_from=clue.get("period_from"), period_to=clue.get("period_to"))
    amount = amount_test(facts, linkage)
    amount["source"] = source
    roster = roster_check(facts.get("workers") or [], related)
    if not amount["large"]:
        lack("amount", _amount_detail(amount, linkage))

    individual = employer_is_individual(transfer.get("employer"))
    evidence = set(transfer.get("evidence") or [])
    for code in rules["required_evidence"]:
        if individual and code in rules["company_only_evidence"]:
            continue  # an individual employer has no business registration (E03)
        if code not in evidence:
            lack(f"evidence.{code}", f"evidence {code} is not in the dossier")
    summary = transfer.get("summary") or ""
    if any(word in summary for word in rules["evasion_words"]) and rules["evasion_evidence"] not in evidence:
        lack(f"evidence.{rules['evasion_evidence']}", "evasion is claimed but its proof is not in the dossier")

    valid = 0
    for suspect in transfer.get("suspects") or []:
        try:
            check_id_number(suspect.get("id_number") or "")
            valid += 1
        except ValueError:
            pass
    if not valid:
        lack("suspects", "no suspect with a valid identity number")

    return {
        "complete": not missing,
        "missing": missing,
        "amount": amount,
        "employer": "individual" if individual else "unit",
        "province": linkage["province"],
        "roster": roster,
    }


def roster_check(workers: list[Mapping[str, Any]], related: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    """The workers of a transfer (or its case) against the project's real-name roster, its
    payroll rows and the bank's payouts (保障农民工工资支付条例 Art. 28: real-name registration;
    Art. 31: wages through the special account), for the months the claim covers. None when
    the matter holds no roster.

    With ``workers``: the differences, worker by worker (not on the roster in those months;
    the bank paid them; the payroll says paid in full) and the rostered workers left out whose
    payroll shows them unpaid. Without: the roster's unpaid workers for the project and period,
    a suggestion for labour inspection (not evidence). Identity numbers are shown masked.
    """
    from hub.casework.identity import hashed
    from hub.casework.risks import add_months, month_end, month_of, month_start, payroll_rows

    roster = [r for r in related if r["type"] == "roster_entry"]
    if not roster:
        return None
    projects = sorted({r["project_code"] for r in roster})
    if workers:
        period = (min(w["period_from"] for w in workers), max(w["period_to"] for w in workers))
    else:
        clue = next((r for r in reversed(related) if r["type"] == "clue" and r.get("period_from")), None)
        period = (clue["period_from"], clue["period_to"]) if clue and clue.get("period_to") else None
    payroll = payroll_rows(r for r in related if r["type"] == "payroll_month" and r["project_code"] in projects)
    if period is None:  # no months claimed: the months the payroll speaks of
        months = sorted({m for _w, m in payroll})
        if not months:
            return {"projects": projects, "period": None, "listed": 0, "differences": [], "suggested": []}
        period = (months[0], months[-1])
    start, end = month_start(period[0]), month_end(period[1])
    months = []
    m = period[0]
    while m <= period[1]:
        months.append(m)
        m = add_months(m, 1)
    on_roster: dict[str, dict[str, Any]] = {}
    for r in roster:
        entered, left = dt.date.fromisoformat(r["entered_on"]), r.get("left_on")
        if entered > end or (left and dt.date.fromisoformat(left) < start):
            continue
        w = on_roster.setdefault(hashed(r["worker"]["id_number"]), {"name": r["worker"]["name"],
                                                                    "id_number": r["worker"]["id_number"],
                                                                    "months": set()})
        for month in months:
            if month_of(r["entered_on"]) <= month and (not left or month_of(left) >= month):
                w["months"].add(month)
    paid_out: dict[str, Decimal] = {}
    window_end = month_end(add_months(period[1], 1))  # a month's wages are paid in the next
    for p in related:
        if p["type"] == "worker_payout" and p["result"] == "paid" and p["project_code"] in projects \
                and start <= dt.date.fromisoformat(p["paid_on"]) <= window_end:
            key = hashed(p["worker"]["id_number"])
            paid_out[key] = paid_out.get(key, Decimal(0)) + Decimal(p["amount"])

    def owed(key: str) -> tuple[Decimal, list[str], list[str]]:
        """(what the payroll shows unpaid, months short, on-site months with no payroll row)"""
        total, short, no_row = Decimal(0), [], []
        for month in months:
            e = payroll.get((key, month))
            if e is None:
                if month in on_roster.get(key, {}).get("months", ()):
                    no_row.append(month)
            elif Decimal(e["amount_paid"]) < Decimal(e["amount_due"]):
                total += Decimal(e["amount_due"]) - Decimal(e["amount_paid"])
                short.append(month)
        return total, short, no_row

    def person(name: str, id_number: str) -> dict[str, str]:
        from schemas.validators import mask_id_number

        return {"name": name, "id_number": mask_id_number(id_number)}

    out: dict[str, Any] = {"projects": projects, "period": list(period), "listed": len(workers)}
    if workers:
        differences = []
        listed = set()
        for w in workers:
            key = hashed(w["id_number"])
            listed.add(key)
            if key not in on_roster:
                differences.append({**person(w["name"], w["id_number"]), "issue": "not-on-roster",
                                    "detail": "not on the project's real-name roster in the months claimed"})
            if paid_out.get(key):
                differences.append({**person(w["name"], w["id_number"]), "issue": "paid-by-bank",
                                    "detail": f"the bank paid {paid_out[key]:.2f} yuan into the worker's account "
                                              "in the period"})
            total, short, no_row = owed(key)
            rows = [m for m in months if (key, m) in payroll]
            if rows and not short:
                differences.append({**person(w["name"], w["id_number"]), "issue": "payroll-paid",
                                    "detail": f"the payroll shows {', '.join(rows)} paid in full"})
        for key, r in on_roster.items():
            total, short, no_row = owed(key)
            if key not in listed and (total > 0 or no_row) and not paid_out.get(key):
                differences.append({**person(r["name"], r["id_number"]), "issue": "unlisted-unpaid",
                                    "detail": _unpaid_detail(total, short, no_row)})
        out["differences"] = differences
        out["suggested"] = []
    else:
        suggested = []
        for key, r in on_roster.items():
            total, short, no_row = owed(key)
            if (total > 0 or no_row) and not paid_out.get(key):
                suggested.append({**person(r["name"], r["id_number"]), "owed": f"{total:.2f}", "months_short": short,
                                  "months_without_payroll": no_row, "detail": _unpaid_detail(total, short, no_row)})
        out["differences"] = []
        out["suggested"] = suggested
    return out


def _unpaid_detail(total: Decimal, short: list[str], no_row: list[str]) -> str:
    parts = []
    if short:
        parts.append(f"the payroll shows {total:.2f} yuan unpaid ({', '.join(short)})")
    if no_row:
        parts.append(f"on site with no payroll row ({', '.join(no_row)})")
    return "; ".join(parts)


def hold_view(hold: TransferHold | None) -> dict[str, Any] | None:
    if hold is None:
        return None
    return {
        "status": hold.status, "complete": not hold.missing.get("missing"), "missing": hold.missing.get("missing", []),
        "amount": hold.missing.get("amount"), "roster": hold.missing.get("roster"),
        "checked_at": hold.checked_at.astimezone(BEIJING).isoformat(),
        "decided_by": hold.decided_by,
        "decided_at": hold.decided_at.astimezone(BEIJING).isoformat() if hold.decided_at else None,
        "reason": hold.reason,
    }


def latest_hold(session: Session, transfer_no: str) -> TransferHold | None:
    return session.scalars(select(TransferHold).where(TransferHold.transfer_no == transfer_no)
                           .order_by(TransferHold.checked_at.desc())).first()


PAID_FIELDS = (("case", "amount_recovered"), ("court_enforcement", "amount_paid"),
               ("contractor_reply", "amount_paid"), ("mediation_result", "amount_paid"))


def reconcile(records: list[Mapping[str, Any]], tolerance: Decimal) -> dict[str, Any]:
    """The amounts each agency reported, side by side; flagged when they disagree."""
    def latest(rtype: str, field: str) -> str | None:
        values = [r[field] for r in records if r["type"] == rtype and r.get(field) is not None]
        return values[-1] if values else None

    claimed = latest("clue", "amount_owed")
    figures = {
        "claimed": claimed,
        "ordered": latest("payment_order", "amount"),
        "transferred": latest("criminal_transfer", "amount_owed"),
        "ruled": latest("court_judgment", "amount_ordered"),
        "agreed": latest("mediation_result", "amount_agreed"),
        "paid": {rtype: latest(rtype, field) for rtype, field in PAID_FIELDS if latest(rtype, field) is not None},
    }
    owed = [Decimal(v) for k, v in figures.items() if k in ("claimed", "ordered", "transferred", "ruled") and v]
    disagreements = []
    if owed and max(owed) - min(owed) > tolerance:
        disagreements.append(f"amounts owed differ by {max(owed) - min(owed):.2f} yuan across agencies")
    paid = [Decimal(v) for v in figures["paid"].values()]
    if paid and owed and max(paid) > max(owed) + tolerance:
        disagreements.append(f"paid {max(paid):.2f} yuan is more than ever owed ({max(owed):.2f})")
    return {**figures, "review": bool(disagreements), "disagreements": disagreements,
            "tolerance": f"{tolerance:.2f}"}


def matter_records(session: Session, matter_id: str) -> list[dict[str, Any]]:
    return [r[0] for r in session.execute(select(Record.data).where(Record.matter_id == matter_id)
                                          .order_by(Record.occurred_at, Record.seq)).all()]


NOTICE_KINDS = {"held": "DOSSIER_HELD", "released": "DOSSIER_RELEASED", "returned": "TRANSFER_RETURNED"}


def decision_notice(record: Mapping[str, Any], matter_id: str, decision: str, result: Mapping[str, Any],
                    reason: str | None = None) -> dict[str, Any]:
    """The outbox row telling the agency that made a transfer what became of its dossier
    (``linkage_decision``: held with what is missing, released, returned with the reasons)."""
    from hub.ids import iso, new_id, now_beijing
    from hub.store.models import utcnow

    missing = result.get("missing", [])
    now = utcnow()
    return {
        "message_id": new_id("out"), "record_id": record["record_id"], "record_type": "linkage_decision",
        "source_agency": "hub", "matter_id": matter_id, "recipient": record["source_agency"], "kind": "NOTICE",
        "route": f"linkage-{decision}", "status": "pending", "attempts": 0, "next_attempt_at": now,
        "created_at": now, "claimed_until": None,
        "payload": {"record": {"type": "linkage_decision", "transfer_no": record["transfer_no"],
                               "case_no": record["case_no"], "decision": decision, "reason": reason,
                               "missing": [m["item"] for m in missing],
                               "missing_details": [m["detail"] for m in missing]},
                    "refs": {"transfer_no": [record["transfer_no"]], "case_no": [record["case_no"]]},
                    "params": {"notice_kind": NOTICE_KINDS[decision]}, "created_at": iso(now_beijing())},
    }


def decide(pipeline, transfer_no: str, decision: str, actor: str, reason: str | None = None) -> dict[str, Any]:
    """The linkage office releases a held transfer to the police, or returns it to labour
    inspection with its reasons. Recorded in the audit log, and told to the agency that
    made the transfer; returns the hold's view."""
    from hub.casework import audit
    from hub.contract.errors import Conflict, NotFound
    from hub.messaging import outbox
    from hub.store.models import utcnow

    if decision not in ("release", "return"):
        raise ValueError("decision is release or return")
    with pipeline.store.transaction() as session:
        hold = latest_hold(session, transfer_no)
        if hold is None:
            raise NotFound(f"no transfer {transfer_no}")
        if hold.status != "held":
            raise Conflict(f"transfer {transfer_no} is not held (it is {hold.status})")
        record = session.scalars(select(Record).where(Record.record_id == hold.record_id)).one().data
        hold.status = "released" if decision == "release" else "returned"
        hold.decided_by, hold.decided_at, hold.reason = actor, utcnow(), reason
        outbox.track(session, subscribers=pipeline.outbox)  # the relays are told of its rows after the commit
        if decision == "release":
            pipeline.release(session, record)
        # told either way
        outbox.enqueue(session, decision_notice(record, hold.matter_id, hold.status, hold.missing, reason), claim=False)
        audit.append(session, actor, f"transfer.{hold.status}", transfer_no,
                     {"record_id": hold.record_id, "reason": reason})
        view = hold_view(hold)
    return view
