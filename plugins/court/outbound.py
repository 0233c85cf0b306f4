"""court outbound: ``referral``, what the court needs for a wage case, as a JSON document,
and (format 1.2) ``credit_listing``, an employer listed as a dishonest wage payer.

``body.kind`` is ``criminal_case`` (a police decision that opened a case, with the
transfer's facts) or ``enforcement_request`` (an unpaid order to pay); ``body.refs`` the
matter's numbers (the first, oldest, of each); ``body.record`` the canonical record as
the route cut it, money as yuan strings. Keys are sorted and the time is the delivery's,
so a retried delivery gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping
from typing import Any

from hub import Delivery, Rendered

REFERRAL = "referral"
REFERRAL_KINDS = ("criminal_case", "enforcement_request")
CREDIT_LISTING = "credit_listing"
KINDS_OUT = (REFERRAL, CREDIT_LISTING)


def _json_default(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value.quantize(decimal.Decimal("0.01")), "f")
    if isinstance(value, (tuple, set, frozenset)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    raise TypeError(f"cannot write a {type(value).__name__} in a referral")


def render(delivery: Delivery) -> Rendered:
    if delivery.kind.lower() == CREDIT_LISTING:
        return render_credit_listing(delivery)
    return render_referral(delivery)


def render_credit_listing(delivery: Delivery) -> Rendered:
    """``credit_listing`` (失信惩戒信息, format 1.2) for the court's own enforcement
    restrictions: the employer by ``credit_code`` or, an individual, ``id_number``; for a
    removal or an expiry ``end_date`` is the day it left the list."""
    if delivery.record_type != "credit_listing":
        raise ValueError(f"court writes credit_listing from a credit_listing record, not {delivery.record_type!r}")
    rec = delivery.record
    if not (rec.get("credit_code") or rec.get("id_number")):
        raise ValueError("court credit_listing: the route must send credit_code and id_number (one names the employer)")
    doc = {"type": CREDIT_LISTING, "list_no": rec.get("list_no"), "action": rec.get("action"), "name": rec.get("name"),
           "start_date": rec.get("start_date"), "end_date": rec.get("end_date"), "basis": rec.get("basis")}
    doc.update({"credit_code": rec["credit_code"]} if rec.get("credit_code") else {"id_number": rec["id_number"]})
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True, default=_json_default).encode("utf-8")
    return Rendered(body=body, content_type="application/json", content_encoding="utf-8")


def render_referral(delivery: Delivery) -> Rendered:
    if delivery.kind.lower() != REFERRAL:
        raise ValueError(f"court writes referral only, not {delivery.kind!r}")
    kind = delivery.params.get("referral_kind", "criminal_case")
    if kind not in REFERRAL_KINDS:
        raise ValueError(f"referral_kind must be one of {', '.join(REFERRAL_KINDS)}, not {kind!r}")
    doc = {
        "doc_type": REFERRAL,
        "doc_id": delivery.message_id,
        "issued_at": delivery.created_at,
        "body": {
            "kind": kind,
            "refs": {name: numbers[0] for name, numbers in delivery.refs.items() if numbers},
            "record": dict(delivery.record),
        },
    }
    body = json.dumps(doc, ensure_ascii=False, sort_keys=True, default=_json_default).encode("utf-8")
    return Rendered(body=body, content_type="application/json", content_encoding="utf-8")
