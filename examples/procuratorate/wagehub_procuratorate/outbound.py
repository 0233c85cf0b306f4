"""procuratorate outbound: ``YSCB`` (a criminal transfer), ``LAQK`` (a police decision),
``ZFQK`` (wages paid after a transfer) and ``JDJY`` (labour inspection asks for supervision).

Each document is built from the fields the route lets through, nothing else, and is
deterministic: ``docId`` and ``sentAt`` come from the delivery, keys are sorted.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from hub import Delivery, Rendered
from schemas.fields import BEIJING

YSCB = "YSCB"
LAQK = "LAQK"
ZFQK = "ZFQK"
JDJY = "JDJY"
DECISION_CODES = {"opened": "1", "declined": "2", "returned": "3"}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def beijing(at: str | None) -> str | None:
    """An ISO 8601 time as Beijing time ``yyyy-MM-dd HH:mm:ss`` (no offset: the hub's clock is UTC)."""
    if not at:
        return None
    moment = dt.datetime.fromisoformat(at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BEIJING).strftime(TIME_FORMAT)


def _first(delivery: Delivery, field: str) -> Any:
    """A number from the record, else the matter's (``delivery.refs``)."""
    value = delivery.record.get(field)
    if value in (None, ""):
        value = next(iter(delivery.refs.get(field) or []), None)
    return value


def _transfer(delivery: Delivery) -> dict[str, Any]:
    rec = delivery.record
    employer = rec.get("employer") or {}
    return {
        "transferNo": _first(delivery, "transfer_no"),
        "caseNo": _first(delivery, "case_no"),
        "orderNo": _first(delivery, "order_no"),
        "orderDueOn": rec.get("order_due_on"),
        # A company (creditCode) or an individual employer (idNo, canonical schema 1.2).
        "employer": {"name": employer.get("name"), "creditCode": employer.get("uscc"),
                     "idNo": employer.get("id_number")},
        "suspects": [{"name": s.get("name"), "idNo": s.get("id_number"), "role": s.get("role")}
                     for s in rec.get("suspects") or []],
        "workerCount": rec.get("worker_count"),
        "amountOwed": rec.get("amount_owed"),
        "evidence": list(rec.get("evidence") or []),
        "transferredOn": rec.get("transferred_on"),
        "policeUnit": rec.get("police_unit"),
        "summary": rec.get("summary"),
        "workers": None if rec.get("workers") is None else [
            {"name": w.get("name"), "amount": w.get("amount"), "periodFrom": w.get("period_from"),
             "periodTo": w.get("period_to")} for w in rec["workers"]],
    }


def _decision(delivery: Delivery) -> dict[str, Any]:
    rec = delivery.record
    decision = rec.get("decision")
    if decision is not None and decision not in DECISION_CODES:
        raise ValueError(f"LAQK has no code for decision {decision!r}")
    return {
        "transferNo": _first(delivery, "transfer_no"),
        "decisionCode": DECISION_CODES.get(decision),
        "policeCaseNo": rec.get("police_case_no"),
        "decidedAt": beijing(rec.get("decided_at")),
        "reason": rec.get("reason"),
    }


def _payment(delivery: Delivery) -> dict[str, Any]:
    """Wages paid after the transfer: Criminal Law Art. 276-1 para. 3 lets punishment be
    reduced or waived when they are paid before prosecution."""
    rec = delivery.record
    full = rec.get("full")
    return {
        "transferNo": _first(delivery, "transfer_no"),
        "caseNo": _first(delivery, "case_no"),
        "amountPaid": rec.get("amount_paid"),
        "paidOn": rec.get("paid_on"),
        "paidWorkers": rec.get("workers_paid"),
        "full": None if full is None else ("1" if full else "0"),
    }


def _supervision_request(delivery: Delivery) -> dict[str, Any]:
    rec = delivery.record
    return {"transferNo": _first(delivery, "transfer_no"), "requestedOn": rec.get("requested_on"),
            "reason": rec.get("reason")}


# native kind -> (canonical record type it is written from, writer)
WRITERS: dict[str, tuple[str, Callable[[Delivery], dict[str, Any]]]] = {
    YSCB: ("criminal_transfer", _transfer),
    LAQK: ("police_decision", _decision),
    ZFQK: ("wage_payment", _payment),
    JDJY: ("supervision_request", _supervision_request),
}


def _compact(value: Any) -> Any:
    """Absent values left out, at every level (a key set to null is absent in this format)."""
    if isinstance(value, Mapping):
        return {k: _compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def render(delivery: Delivery) -> Rendered:
    if delivery.kind not in WRITERS:
        raise ValueError(f"procuratorate writes {', '.join(WRITERS)}, not {delivery.kind!r}")
    record_type, writer = WRITERS[delivery.kind]
    if delivery.record_type != record_type:
        raise ValueError(f"{delivery.kind} is written from a {record_type}, not a {delivery.record_type}")
    if not delivery.created_at:
        raise ValueError("delivery.created_at is needed: sentAt must not change between retries")
    doc = {"docType": delivery.kind, "docId": delivery.message_id, "sentAt": beijing(delivery.created_at),
           **writer(delivery)}
    body = json.dumps(_compact(doc), ensure_ascii=False, sort_keys=True).encode("utf-8")
    return Rendered(body=body, content_type="application/json", content_encoding="utf-8")
