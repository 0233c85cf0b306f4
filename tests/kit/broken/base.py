"""The shared parts of the kit's test plugins: a tiny JSON complaint format.

Inbound ``COMPLAINT`` (a canonical ``clue``), outbound ``NOTICE`` (a JSON object of the
fields the route lets through). Every function here is correct; each broken plugin
swaps one of them for a faulty one.
"""

from __future__ import annotations

import json
from typing import Any

from hub import AgencyInfo, Delivery, InvalidMessage, NativeMessage, Parsed, Rendered, Sample

ID = "37010319821226234X"
MOBILE = "13923720696"
GOOD = {
    "kind": "COMPLAINT", "no": "TS-2023-0001", "name": "张三", "idNo": ID, "mobile": MOBILE,
    "employer": "海岱建筑劳务有限公司", "uscc": "91370103JURQ283F5B", "region": "370103", "workers": 24,
    "owedYuan": "382848.00", "at": "2023-05-22T09:10:00+08:00",
}
ROUTES = [{
    "name": "clue-to-kitfixture", "type": "clue", "to": "kitfixture", "kind": "NOTICE",
    "fields": ["clue_no", "employer", "worker_count", "amount_owed", "received_at"],
}]


def agency() -> AgencyInfo:
    return AgencyInfo(code="kitfixture", name="a test agency", version="0.0.1", kinds_in=("COMPLAINT",),
                      kinds_out=("NOTICE",), schema_version="1")


def read(message: NativeMessage) -> dict[str, Any]:
    try:
        doc = json.loads(message.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidMessage("body is not UTF-8 JSON (rule: json)", field="body", rule="json") from None
    if not isinstance(doc, dict) or doc.get("kind") != "COMPLAINT":
        raise InvalidMessage("kind must be COMPLAINT (rule: enum)", field="kind", rule="enum")
    return doc


def clue(doc: dict[str, Any]) -> list[Parsed]:
    record = {
        "clue_no": doc.get("no"), "channel": "hotline", "received_at": doc.get("at"),
        "region_code": doc.get("region"),
        "complainant": {"name": doc.get("name"), "id_number": doc.get("idNo"), "mobile": doc.get("mobile")},
        "employer": {"name": doc.get("employer"), "uscc": doc.get("uscc")},
        "worker_count": doc.get("workers"), "amount_owed": doc.get("owedYuan"),
    }
    return [Parsed(type="clue", record=record, source_ref=str(doc.get("no")), kind="COMPLAINT")]


def parse(message: NativeMessage) -> list[Parsed]:
    return clue(read(message))


def notice(delivery: Delivery) -> dict[str, Any]:
    return {"kind": "NOTICE", "id": delivery.message_id, "sent": delivery.created_at, **dict(delivery.record)}


def render(body: dict[str, Any]) -> Rendered:
    return Rendered(body=json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                    content_type="application/json", content_encoding="utf-8")


def samples() -> list[Sample]:
    good = json.dumps(GOOD, ensure_ascii=False).encode("utf-8")
    return [
        Sample(name="complaint.json", body=good, content_type="application/json", content_encoding="utf-8",
               kind="COMPLAINT", at="2023-05-22T09:10:00+08:00"),
        Sample(name="cut-off.json", body=good[:40], content_type="application/json", content_encoding="utf-8",
               kind="COMPLAINT", bad=True, reason="json"),
    ]
