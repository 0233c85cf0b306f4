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

    amount = Decimal(transfer["amount_owed"])
    workers = int(transfer["worker_count"])
    clue = next((r for r in related if r["type"] == "clue"), None)
    months = _months(clue.get("period_from"), clue.get("period_to")) if clue else None
    per_worker = (amount / workers) if workers else Decimal(0)
    individual = per_worker >= rules["individual"] and months is not None and months >= rules["individual_months"]
    collective = amount >= rules["collective"] and workers >= rules["collective_workers"]
    if not (individual or collective):
        lack("amount", f"not relatively large: {amount:.2f} yuan for {workers} worker(s) (province "
                       f"{linkage['province']}: {rules['individual']} yuan per worker for {rules['individual_months']} "
                       f"months or more, or {rules['collective']} yuan for {rules['collective_workers']} workers or more)")

    evidence = set(transfer.get("evidence") or [])
    for code in rules["required_evidence"]:
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
        "amount": {"owed": f"{amount:.2f}", "workers": workers, "per_worker": f"{per_worker:.2f}",
                   "months": months, "individual": individual, "collective": collective},
        "province": linkage["province"],
    }


def hold_view(hold: TransferHold | None) -> dict[str, Any] | None:
    if hold is None:
        return None
    return {
        "status": hold.status, "complete": not hold.missing.get("missing"), "missing": hold.missing.get("missing", []),
        "amount": hold.missing.get("amount"), "checked_at": hold.checked_at.astimezone(BEIJING).isoformat(),
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


def duplicates(records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Clues of one matter that report the same arrears, and why they were joined."""
    clues = [r for r in records if r["type"] == "clue"]
    out = []
    for i, later in enumerate(clues[1:], start=1):
        for first in clues[:i]:
            reason = duplicate_reason(first, later)
            if reason:
                out.append({"clue_no": later["clue_no"], "duplicate_of": first["clue_no"],
                            "channel": later.get("channel"), "reason": reason})
                break
    return out


def duplicate_reason(a: Mapping[str, Any], b: Mapping[str, Any]) -> str | None:
    ida = (a.get("complainant") or {}).get("id_number")
    idb = (b.get("complainant") or {}).get("id_number")
    if ida and ida == idb:
        return "same complainant identity number"
    ea, eb = (a.get("employer") or {}).get("uscc"), (b.get("employer") or {}).get("uscc")
    if ea and ea == eb and a.get("project_code") and a.get("project_code") == b.get("project_code") \
            and periods_overlap(a, b):
        return "same employer and project, overlapping period"
    return None


def periods_overlap(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if not (a.get("period_from") and a.get("period_to") and b.get("period_from") and b.get("period_to")):
        return False
    return a["period_from"] <= b["period_to"] and b["period_from"] <= a["period_to"]


def matter_records(session: Session, matter_id: str) -> list[dict[str, Any]]:
    return [r[0] for r in session.execute(select(Record.data).where(Record.matter_id == matter_id)
                                          .order_by(Record.occurred_at, Record.seq)).all()]


def decide(pipeline, transfer_no: str, decision: str, actor: str, reason: str | None = None) -> dict[str, Any]:
    """The linkage office releases a held transfer to the police, or returns it to labour
    inspection with its reasons. Recorded in the audit log; returns the hold's view."""
    from hub import audit
    from hub.errors import Conflict, NotFound
    from hub.ids import iso, new_id, now_beijing
    from hub.store.models import Outbox, utcnow

    if decision not in ("release", "return"):
        raise ValueError("decision is release or return")
    with pipeline.store.session() as session:
        hold = latest_hold(session, transfer_no)
        if hold is None:
            raise NotFound(f"no transfer {transfer_no}")
        if hold.status != "held":
            raise Conflict(f"transfer {transfer_no} is not held (it is {hold.status})")
        record = session.scalars(select(Record).where(Record.record_id == hold.record_id)).one().data
        hold.status = "released" if decision == "release" else "returned"
        hold.decided_by, hold.decided_at, hold.reason = actor, utcnow(), reason
        if decision == "release":
            recipients = pipeline.release(session, record)
        else:
            missing = hold.missing.get("missing", [])
            recipients = {record["source_agency"]}  # back to the agency that made the transfer
            session.add(Outbox(
                message_id=new_id("out"), record_id=record["record_id"], record_type="linkage_decision",
                source_agency="hub", matter_id=hold.matter_id, recipient=record["source_agency"], kind="NOTICE",
                route="linkage-return",
                payload={"record": {"type": "linkage_decision", "transfer_no": transfer_no, "case_no": record["case_no"],
                                    "decision": "returned", "reason": reason,
                                    "missing": [m["item"] for m in missing],
                                    "missing_details": [m["detail"] for m in missing]},
                         "refs": {"transfer_no": [transfer_no], "case_no": [record["case_no"]]},
                         "params": {"notice_kind": "TRANSFER_RETURNED"}, "created_at": iso(now_beijing())},
            ))
        audit.append(session, actor, f"transfer.{hold.status}", transfer_no,
                     {"record_id": hold.record_id, "reason": reason})
        view = hold_view(hold)
    for callback in pipeline.on_commit:
        callback(frozenset(recipients))
    return view
