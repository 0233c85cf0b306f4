"""Criminal-case transfers followed to their end, from the records of their matter.

A transfer's status is derived from what the agencies reported, never typed in:
``transferred`` → ``received`` → ``opened`` / ``declined`` / ``returned`` → ``judged``
→ ``closed`` (enforcement paid or terminated).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.models import MatterKey, Record

STATUSES = ("held", "transferred", "received", "opened", "declined", "returned", "judged", "closed")


def transfer_numbers(session: Session) -> list[str]:
    rows = session.execute(
        select(Record.source_ref).where(Record.type == "criminal_transfer").order_by(Record.seq)
    ).all()
    return list(dict.fromkeys(ref for (ref,) in rows))


def transfer_view(session: Session, transfer_no: str) -> dict[str, Any] | None:
    """One transfer: the transfer record, police receipts and decisions, court outcome."""
    key = session.get(MatterKey, f"transfer:{transfer_no}")
    if key is None:
        return None
    records = [r.data for r in session.scalars(
        select(Record).where(Record.matter_id == key.matter_id).order_by(Record.occurred_at, Record.seq))]
    transfer = next((r for r in reversed(records) if r["type"] == "criminal_transfer"
                     and r.get("transfer_no") == transfer_no), None)
    if transfer is None:
        return None
    receipts = [r for r in records if r["type"] == "police_receipt" and r.get("transfer_no") == transfer_no]
    decisions = [r for r in records if r["type"] == "police_decision" and r.get("transfer_no") == transfer_no]
    judgments = [r for r in records if r["type"] == "court_judgment"]
    enforcements = [r for r in records if r["type"] == "court_enforcement"]
    status = "transferred"
    timeline = [{"at": transfer.get("transferred_on"), "status": "transferred", "record_id": transfer["record_id"]}]
    if receipts:
        status = "received"
        timeline.append({"at": receipts[0]["received_at"], "status": "received", "record_id": receipts[0]["record_id"]})
    for d in decisions:
        status = d["decision"]
        timeline.append({"at": d["decided_at"], "status": d["decision"], "record_id": d["record_id"]})
    if judgments:
        status = "judged"
        timeline.append({"at": judgments[-1]["decided_on"], "status": "judged", "record_id": judgments[-1]["record_id"]})
    if any(e.get("status") in ("paid", "terminated") for e in enforcements):
        status = "closed"
        last = enforcements[-1]
        timeline.append({"at": last["updated_on"], "status": "closed", "record_id": last["record_id"]})
    return {
        "transfer_no": transfer_no,
        "status": status,
        "matter_id": key.matter_id,
        "case_no": transfer.get("case_no"),
        "order_no": transfer.get("order_no"),
        "employer": transfer.get("employer"),
        "amount_owed": transfer.get("amount_owed"),
        "worker_count": transfer.get("worker_count"),
        "transferred_on": transfer.get("transferred_on"),
        "police_unit": transfer.get("police_unit"),
        "transfer": transfer,
        "receipts": receipts,
        "decisions": decisions,
        "court": {"judgments": judgments, "enforcements": enforcements},
        "timeline": timeline,
        "deadlines": [],
    }
