"""Criminal-case transfers followed to their end, from the records of their matter.

A transfer's status is derived from what the agencies reported and what the linkage
office decided, never typed in: ``held`` (dossier incomplete) → ``transferred`` →
``received`` → ``opened`` / ``declined`` / ``returned`` → ``judged`` → ``closed``
(enforcement paid or terminated). A transfer the linkage office returned to labour
inspection is ``returned`` too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import deadlines as dl
from hub.ids import BEIJING
from hub.linkage import hold_view, latest_hold
from hub.store.models import Deadline, MatterKey, Record, utcnow

STATUSES = ("held", "transferred", "received", "opened", "declined", "returned", "judged", "closed")
TRANSFER_RULES = ("police_decide", "police_request_materials", "complete_materials", "handover_after_opening")


def transfer_numbers(session: Session) -> list[str]:
    rows = session.execute(
        select(Record.source_ref).where(Record.type == "criminal_transfer").order_by(Record.seq)
    ).all()
    return list(dict.fromkeys(ref for (ref,) in rows))


def transfer_view(session: Session, transfer_no: str, settings: dict[str, Any] | None = None,
                  now: dt.datetime | None = None) -> dict[str, Any] | None:
    """One transfer: dossier check, police receipts and decisions, court outcome, deadlines."""
    key = session.get(MatterKey, f"transfer:{transfer_no}")
    if key is None:
        return None
    now = now or utcnow()
    records = [r.data for r in session.scalars(
        select(Record).where(Record.matter_id == key.matter_id).order_by(Record.occurred_at, Record.seq))]
    transfer = next((r for r in reversed(records) if r["type"] == "criminal_transfer"
                     and r.get("transfer_no") == transfer_no), None)
    if transfer is None:
        return None
    hold = latest_hold(session, transfer_no)
    receipts = [r for r in records if r["type"] == "police_receipt" and r.get("transfer_no") == transfer_no]
    decisions = [r for r in records if r["type"] == "police_decision" and r.get("transfer_no") == transfer_no]
    judgments = [r for r in records if r["type"] == "court_judgment"]
    enforcements = [r for r in records if r["type"] == "court_enforcement"]
    timeline = []
    if hold is not None and hold.status in ("held", "returned", "released"):
        timeline.append({"at": hold.checked_at.astimezone(BEIJING).isoformat(), "status": "held",
                         "record_id": hold.record_id})
    status = "held" if hold is not None and hold.status == "held" else \
        "returned" if hold is not None and hold.status == "returned" else "transferred"
    if hold is not None and hold.status == "returned":
        timeline.append({"at": hold.decided_at.astimezone(BEIJING).isoformat(), "status": "returned",
                         "by": "linkage", "reason": hold.reason})
    if status == "transferred":
        timeline.append({"at": transfer.get("transferred_on"), "status": "transferred",
                         "record_id": transfer["record_id"]})
    if receipts:
        status = "received"
        timeline.append({"at": receipts[0]["received_at"], "status": "received", "record_id": receipts[0]["record_id"]})
    for d in decisions:
        status = d["decision"]
        timeline.append({"at": d["decided_at"], "status": d["decision"], "record_id": d["record_id"],
                         "reason": d.get("reason")})
    if judgments:
        status = "judged"
        timeline.append({"at": judgments[-1]["decided_on"], "status": "judged", "record_id": judgments[-1]["record_id"]})
    if any(e.get("status") in ("paid", "terminated") for e in enforcements):
        status = "closed"
        last = enforcements[-1]
        timeline.append({"at": last["updated_on"], "status": "closed", "record_id": last["record_id"]})
    rows = session.scalars(select(Deadline).where(Deadline.matter_id == key.matter_id)
                           .order_by(Deadline.due_at)).all()
    steps = [dl.view(r, now) for r in rows if r.rule in TRANSFER_RULES or r.subject == transfer.get("order_no")]
    options = []
    declined = [d for d in decisions if d["decision"] == "declined"]
    if declined and settings is not None:
        decided = dl.when(declined[-1]["decided_at"])
        for rule, what, owner in dl.DECLINE_OPTIONS:
            options.append({"option": rule, "what": what, "owner": owner,
                            "limit": settings["deadlines"][rule],
                            "due_if_made_now": dl.due_time(now, settings["deadlines"][rule]).isoformat(),
                            "reason": declined[-1].get("reason"), "declined_at": decided.isoformat()})
    region = next((r.get("region_code") for r in records if r.get("region_code")), None)
    return {
        "transfer_no": transfer_no,
        "status": status,
        "matter_id": key.matter_id,
        "region_code": region,
        "case_no": transfer.get("case_no"),
        "order_no": transfer.get("order_no"),
        "employer": transfer.get("employer"),
        "amount_owed": transfer.get("amount_owed"),
        "worker_count": transfer.get("worker_count"),
        "transferred_on": transfer.get("transferred_on"),
        "police_unit": transfer.get("police_unit"),
        "dossier": hold_view(hold),
        "transfer": transfer,
        "receipts": receipts,
        "decisions": decisions,
        "court": {"judgments": judgments, "enforcements": enforcements},
        "timeline": timeline,
        "deadlines": [s for s in steps if s["status"] in ("open", "overdue")],
        "steps": steps,
        "overdue": any(s["overdue"] for s in steps),
        "decline_options": options,
    }
