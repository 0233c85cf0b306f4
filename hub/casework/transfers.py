"""Criminal-case transfers followed to their end, from the records of their matter.

A transfer's status is derived from what the agencies reported and what the linkage
office decided, never typed in: ``held`` (dossier incomplete) → ``transferred`` →
``received`` → ``opened`` / ``declined`` / ``returned`` → ``judged`` → ``closed``
(enforcement paid or terminated). A transfer the linkage office returned to labour
inspection, or the police asked materials for, is ``returned``; sent again (补充移送) it
is ``transferred`` again. After a decline, a request for reconsideration makes it
``reconsidering`` (移送规定 Art. 9) until the police decide again (``opened``, or
``declined`` upheld); a request to the procuratorate then makes it ``supervised``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.casework import deadlines as dl
from hub.casework.linkage import hold_view, latest_hold
from hub.ids import BEIJING
from hub.store.models import Deadline, MatterKey, Outbox, Record, utcnow
from schemas.divisions import covers

STATUSES = ("held", "transferred", "received", "opened", "declined", "returned", "reconsidering", "supervised",
            "judged", "closed")
TRANSFER_RULES = tuple(sorted(dl.CRIMINAL_RULES))


def transfer_numbers(session: Session) -> list[str]:
    rows = session.execute(
        select(Record.source_ref).where(Record.type == "criminal_transfer").order_by(Record.seq)
    ).all()
    return list(dict.fromkeys(ref for (ref,) in rows))


def _at(value: Any) -> str | None:
    t = dl.when(value)
    return t.astimezone(BEIJING).isoformat() if t else None


def transfer_view(session: Session, transfer_no: str, settings: dict[str, Any] | None = None,
                  now: dt.datetime | None = None) -> dict[str, Any] | None:
    """One transfer: dossier check, its rounds with the police's receipts and decisions,
    reconsideration and supervision, court outcome, and every step with its deadline."""
    key = session.get(MatterKey, f"transfer:{transfer_no}")
    if key is None:
        return None
    now = now or utcnow()
    records = [data for (data,) in session.execute(
        select(Record.data).where(Record.matter_id == key.matter_id).order_by(Record.seq))]
    transfer = next((r for r in reversed(records) if r["type"] == "criminal_transfer"
                     and r.get("transfer_no") == transfer_no), None)
    if transfer is None:
        return None
    hold = latest_hold(session, transfer_no)
    mine = [r for r in records if r.get("transfer_no") == transfer_no]
    receipts = [r for r in mine if r["type"] == "police_receipt"]
    decisions = [r for r in mine if r["type"] == "police_decision"]
    judgments = [r for r in records if r["type"] == "court_judgment"]
    enforcements = [r for r in records if r["type"] == "court_enforcement"]
    rounds = dl.transfer_rounds(records).get(transfer_no, [])
    timeline: list[dict[str, Any]] = []
    status = "transferred"
    for rnd in rounds:
        if rnd.transfer is not None:
            status = "transferred"
            timeline.append({"at": _at(rnd.transfer["transferred_on"]), "status": "transferred", "round": rnd.n,
                             "record_id": rnd.transfer["record_id"]})
        if rnd.receipt is not None:
            status = "received"
            timeline.append({"at": _at(rnd.receipt["received_at"]), "status": "received", "round": rnd.n,
                             "record_id": rnd.receipt["record_id"]})
        if rnd.materials is not None and rnd.materials["type"] == "materials_request":
            status = "returned"
            timeline.append({"at": _at(rnd.materials["requested_at"]), "status": "returned", "round": rnd.n,
                             "record_id": rnd.materials["record_id"], "reason": rnd.materials.get("missing")})
        if rnd.decision is not None:
            status = rnd.decision["decision"]
            timeline.append({"at": _at(rnd.decision["decided_at"]), "status": status, "round": rnd.n,
                             "record_id": rnd.decision["record_id"], "reason": rnd.decision.get("reason")})
        if rnd.reconsider is not None:
            status = "reconsidering"
            timeline.append({"at": _at(rnd.reconsider["requested_on"]), "status": status, "round": rnd.n,
                             "record_id": rnd.reconsider["record_id"], "reason": rnd.reconsider.get("reason")})
        if rnd.answer is not None:
            status = "opened" if rnd.answer["decision"] == "opened" else "declined"
            timeline.append({"at": _at(rnd.answer["decided_at"]), "status": status, "round": rnd.n,
                             "record_id": rnd.answer["record_id"], "reason": rnd.answer.get("reason"),
                             "reconsidered": True})
        if rnd.supervise is not None:
            status = "supervised"
            timeline.append({"at": _at(rnd.supervise["requested_on"]), "status": status, "round": rnd.n,
                             "record_id": rnd.supervise["record_id"], "reason": rnd.supervise.get("reason")})
    if hold is not None and hold.status in ("held", "returned", "released"):
        timeline.append({"at": hold.checked_at.astimezone(BEIJING).isoformat(), "status": "held",
                         "record_id": hold.record_id})
        if hold.status == "held":
            status = "held"
        elif hold.status == "returned":
            status = "returned"
            timeline.append({"at": hold.decided_at.astimezone(BEIJING).isoformat(), "status": "returned",
                             "by": "linkage", "reason": hold.reason})
    if judgments:
        status = "judged"
        timeline.append({"at": _at(judgments[-1]["decided_on"]), "status": "judged",
                         "record_id": judgments[-1]["record_id"]})
    if any(e.get("status") in ("paid", "terminated") for e in enforcements):
        status = "closed"
        last = enforcements[-1]
        timeline.append({"at": _at(last["updated_on"]), "status": "closed", "record_id": last["record_id"]})
    timeline.sort(key=lambda e: e["at"] or "")
    rows = session.scalars(select(Deadline).where(Deadline.matter_id == key.matter_id)
                           .order_by(Deadline.due_at)).all()
    steps = [dl.view(r, now) for r in rows
             if (r.rule in TRANSFER_RULES and r.subject in (transfer_no, transfer.get("order_no")))
             or r.subject == transfer.get("order_no")]
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
        "round": len([r for r in rounds if r.transfer is not None]),
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
        "reconsideration": [r for r in mine if r["type"] in ("reconsideration_request", "reconsideration_decision")],
        "supervision": [r for r in mine if r["type"] == "supervision_request"],
        "payments": [r for r in mine if r["type"] == "wage_payment"],
        "court": {"judgments": judgments, "enforcements": enforcements},
        "timeline": timeline,
        "deadlines": [s for s in steps if s["status"] in ("open", "overdue")],
        "steps": steps,
        "overdue": any(s["overdue"] for s in steps),
        "decline_options": options,
    }

# Records whose acceptance depends on what the hub already holds about their matter.
STATE_CHECKED = frozenset({"reconsideration_request", "supervision_request", "reconsideration_decision",
                           "materials_request", "case_extension", "assignment_answer", "wage_payment",
                           "satisfaction"})


def _records_of_key(session: Session, key: str) -> list[dict[str, Any]] | None:
    """The records of the matter a number belongs to, in the order the hub took them in."""
    found = session.get(MatterKey, key)
    if found is None:
        return None
    return [data for (data,) in session.execute(select(Record.data).where(Record.matter_id == found.matter_id)
                                                .order_by(Record.seq))]


def refusal(session: Session, record: dict[str, Any], registry: Any = None) -> tuple[str, str, str] | None:
    """Why a record cannot apply to its matter as the hub knows it: (field, rule, reason),
    or None. The schema checked the record itself; these need the store.

    - a request for reconsideration only after the police declined (移送规定 Art. 9), once
      per decline; the police's decision on it only once one was asked;
    - a request for supervision only after a reconsideration upheld the decline (Art. 9);
    - the police's request for materials, a payment after a transfer: a transfer the hub knows;
    - an extension for an open case the hub knows, at most 30 working days in all
      (劳动保障监察条例 Art. 17);
    - an answer to an assignment the hub sent to the answering agency; for an agency whose
      senders speak for areas (the governments, ``AgencyInfo.sender_area``), one whose area
      takes in the assignment's (``registry``: the plugins, to know which those are).
    - a call back on a work order the hub holds, from the agency that sent it.
    """
    rtype = record["type"]
    number = record.get("transfer_no")
    if rtype == "satisfaction":
        orders = [r for r in _records_of_key(session, f"work_order:{record['work_order_no']}") or []
                  if r["type"] == "work_order" and r["work_order_no"] == record["work_order_no"]
                  and r["source_agency"] == record["source_agency"]]
        if not orders:
            return "work_order_no", "unknown-work-order", "no work order with this number has reached the hub"
        return None
    if rtype == "assignment_answer":
        return _assignment_refusal(session, record, registry)
    if rtype == "case_extension":
        records = _records_of_key(session, f"case:{record['case_no']}")
        history = [r for r in records or [] if r["type"] == "case" and r.get("case_no") == record["case_no"]]
        if not history:
            return "case_no", "unknown-case", "no case with this number has reached the hub"
        if history[-1]["status"] in ("closed", "transferred", "rejected"):
            return "case_no", "case-open", f"the case is {history[-1]['status']}: only an open case is extended"
        before = sum(int(r["working_days"]) for r in records if r["type"] == "case_extension"
                     and r.get("case_no") == record["case_no"])
        limit = 30
        if before + int(record["working_days"]) > limit:
            return "working_days", "range", (f"extensions of a case total at most {limit} working days "
                                             f"(劳动保障监察条例 Art. 17); {before} already approved")
        return None
    if not number:
        return None  # (a payment before any transfer)
    records = _records_of_key(session, f"transfer:{number}")
    rounds = dl.transfer_rounds(records or []).get(number)
    if not rounds or all(r.transfer is None for r in rounds):
        return "transfer_no", "unknown-transfer", "no transfer with this number has reached the hub"
    current = rounds[-1]
    if rtype == "reconsideration_request":
        if current.decision is None or current.decision["decision"] != "declined":
            return "transfer_no", "declined-first", ("reconsideration is asked only after the police declined to "
                                                     "open a case (移送规定 Art. 9)")
        if current.reconsider is not None:
            return "transfer_no", "once", "reconsideration of this decline was asked already"
    elif rtype == "reconsideration_decision":
        if current.reconsider is None:
            return "transfer_no", "requested-first", "no reconsideration of this transfer was asked"
        if current.answer is not None:
            return "transfer_no", "once", "the reconsideration of this decline was decided already"
    elif rtype == "supervision_request":
        if current.answer is None or current.answer["decision"] != "upheld":
            return "transfer_no", "upheld-first", ("supervision is asked only after a reconsideration upheld the "
                                                   "decline (移送规定 Art. 9)")
        if current.supervise is not None:
            return "transfer_no", "once", "supervision of this decline was asked already"
    return None


def _assignment_refusal(session: Session, record: dict[str, Any], registry: Any) -> tuple[str, str, str] | None:
    number = record["assignment_no"]
    if session.get(MatterKey, f"assignment:{number}") is None:
        return "assignment_no", "unknown-assignment", "no assignment with this number was sent by the hub"
    sent = session.scalars(select(Outbox).where(Outbox.message_id == number)).first()
    if sent is None:
        return None
    if sent.recipient != record["source_agency"]:
        return "assignment_no", "unknown-assignment", "no assignment with this number was sent to this agency"
    adapter = registry.get(sent.recipient) if registry is not None else None
    info = adapter.info if adapter is not None else None
    by = record.get("answered_by")
    if info is None or not info.sender_area or not info.sender_field:
        return None
    routed = (sent.payload or {}).get("record")  # (None once retention pruned the payload)
    area = routed.get(info.sender_field) if isinstance(routed, dict) else None
    if routed is not None and not (by and covers(by, area)):
        return "assignment_no", "assignment-area", (f"the assignment was sent to the government of {area}: "
                                                    f"{by or 'an unnamed sender'} does not govern that area")
    return None
