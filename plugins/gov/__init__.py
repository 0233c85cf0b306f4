"""gov: district and city governments' office systems (属地政府 OA), over HTTPS webhooks.

Governments have no queue. Each has a division code, a district's (``370103``) or a
city's (``370100``: it takes in its districts), a webhook and its own key. The hub POSTs
what concerns a government's area, signed with that government's key: the 属地
``ASSIGNMENT`` of a clue naming a project in the area (the third party of 三交办), the
area's daily ``BULLETIN``, supervision-level ``ESCALATION``s and ``CREDIT`` decisions. A
government answers an assignment over HTTP (``ANSWER``, signed with the same key, posted
to ``/api/v1/inbound/gov``). See docs/formats/gov.md.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import marshmallow as ma

from hub import (
    AgencyInfo,
    Delivery,
    InvalidMessage,
    NativeMessage,
    Parsed,
    Rendered,
    Undeliverable,
    hookimpl,
    samples_from,
)
from hub.contract import webhooks
from schemas.divisions import covers
from schemas.validators import check_division

__version__ = "1.0.0"

SAMPLES = Path(__file__).parent / "samples"
ASSIGNMENT = "ASSIGNMENT"
BULLETIN = "BULLETIN"
ESCALATION = "ESCALATION"
CREDIT = "CREDIT"
ANSWER = "ANSWER"
GOV_HEADER = "x-wagehub-gov"
# What a routed record's area is: the division whose governments receive it.
AREA_FIELD = "region_code"
# ANSWER results: the canonical names, and the words the housing format uses for them.
RESULTS = {"resolved": "resolved", "in_progress": "in_progress", "unsubstantiated": "unsubstantiated",
           "已解决": "resolved", "处理中": "in_progress", "不属实": "unsubstantiated"}
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _division(value: str) -> None:
    try:
        check_division(value)
    except ValueError as exc:
        raise ma.ValidationError(str(exc)) from None


class GovernmentSchema(ma.Schema):
    class Meta:
        # A misspelt setting must stop the start-up, not be silently ignored.
        unknown = ma.RAISE

    name = ma.fields.String(load_default=None, allow_none=True)
    url = ma.fields.Url(load_default=None, allow_none=True, require_tld=False, schemes={"http", "https"},
                        metadata={"description": "webhook receiving ASSIGNMENT, BULLETIN, ESCALATION, CREDIT"})
    key = ma.fields.String(required=True, validate=ma.validate.Length(min=8),
                           metadata={"description": "HMAC-SHA256 key shared with this government (secret)"})


class GovSettingsSchema(ma.Schema):
    """``[plugins.gov]``: per-government webhook and key, by division code."""

    class Meta:
        # A misspelt setting must stop the start-up, not be silently ignored.
        unknown = ma.RAISE

    timeout = ma.fields.Float(load_default=10.0, validate=ma.validate.Range(0.1, 300))
    verify = ma.fields.Raw(load_default=True, metadata={"description": "TLS check: true, false or a CA bundle path"})
    governments = ma.fields.Dict(keys=ma.fields.String(validate=_division), values=ma.fields.Nested(GovernmentSchema),
                                 load_default=dict)


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="gov",
        name="属地政府 district and city governments",
        version=__version__,
        kinds_in=(ANSWER,),
        kinds_out=(ASSIGNMENT, BULLETIN, ESCALATION, CREDIT),
        settings_schema=GovSettingsSchema(),
        secret_settings=("key",),
        schema_version="1",
        description="JSON over HTTPS webhooks, each government (district or city) with its own key.",
        sender_header=GOV_HEADER,
        sender_field=AREA_FIELD,
        sender_area=True,
    )


def _government(settings: dict[str, Any], code: str | None) -> dict[str, Any] | None:
    return settings.get("governments", {}).get((code or "").strip())


def receivers(settings: dict[str, Any], area: str | None) -> list[tuple[str, dict[str, Any]]]:
    """The governments whose area takes in ``area``: its district's and its city's."""
    return sorted((code, gov) for code, gov in settings.get("governments", {}).items() if covers(code, area))


@hookimpl
def key_from_message(message: NativeMessage, settings: dict[str, Any]) -> str:
    code = str(message.headers.get(GOV_HEADER) or "").strip()
    if not code:
        raise InvalidMessage.of(GOV_HEADER, "required", "is required")
    government = _government(settings, code)
    if government is None:
        raise InvalidMessage.of(GOV_HEADER, "unknown-government", "names no government known to the hub")
    return government["key"]


def _answered_on(value: str) -> str:
    """``answeredAt`` (ISO 8601 with offset, or a date) as the Beijing calendar day."""
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value).isoformat()
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidMessage.of("answeredAt", "datetime", "must be an ISO 8601 time with offset", ANSWER) from None
    if moment.tzinfo is None:
        raise InvalidMessage.of("answeredAt", "datetime", "must carry its offset (+08:00)", ANSWER)
    return moment.astimezone(BEIJING).date().isoformat()


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> list[Parsed]:
    try:
        doc = json.loads(message.body.decode("utf-8-sig"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidMessage("message is not UTF-8 JSON (rule: json)", field="body", rule="json",
                             kind=ANSWER) from None
    if not isinstance(doc, dict):
        raise InvalidMessage.of("body", "type", "must be a JSON object", ANSWER)
    if doc.get("type") != ANSWER:
        raise InvalidMessage.of("type", "enum", f"must be {ANSWER}", ANSWER)
    for name in ("messageId", "assignmentNo", "answeredAt", "result"):
        if doc.get(name) in (None, ""):
            raise InvalidMessage.of(name, "required", "is required", ANSWER)
        if not isinstance(doc[name], str):
            raise InvalidMessage.of(name, "type", "must be a string", ANSWER)
    result = RESULTS.get(doc["result"].strip())
    if result is None:
        raise InvalidMessage.of("result", "enum", "must be resolved, in_progress or unsubstantiated (已解决, 处理中, 不属实)",
                                ANSWER)
    paid = doc.get("paidAmount")
    if paid is not None:
        if isinstance(paid, bool) or not isinstance(paid, (str, int, Decimal)):
            raise InvalidMessage.of("paidAmount", "decimal-string", 'must be yuan as a decimal string like "1200.00"', ANSWER)
        try:
            paid = format(Decimal(str(paid).strip()).quantize(Decimal("0.01")), "f")
        except InvalidOperation:
            raise InvalidMessage.of("paidAmount", "decimal-string", 'must be yuan as a decimal string like "1200.00"', ANSWER) from None
    record = {
        "assignment_no": doc["assignmentNo"],
        "answered_on": _answered_on(doc["answeredAt"]),
        "result": result,
        "amount_paid": paid,
        "answered_by": str(message.headers.get(GOV_HEADER) or "").strip() or None,
    }
    if isinstance(doc.get("note"), str) and doc["note"]:
        record["note"] = doc["note"]
    fields = {"assignment_no": "assignmentNo", "answered_on": "answeredAt", "result": "result",
              "amount_paid": "paidAmount", "answered_by": GOV_HEADER}
    return [Parsed(type="assignment_answer", record=record, source_ref=doc["messageId"], kind=ANSWER, fields=fields)]


# -- outbound ---------------------------------------------------------------------------------

def _first(refs: dict, name: str) -> Any:
    values = refs.get(name) or []
    return values[0] if values else None


def _assignment(delivery: Delivery) -> dict[str, Any]:
    record, refs = delivery.record, delivery.refs
    return {
        "clueNo": record.get("clue_no") or _first(refs, "clue_no"),
        "projectCode": record.get("project_code") or _first(refs, "project_code"),
        "employerName": (record.get("employer") or {}).get("name"),
        "workers": record.get("worker_count"),
        "amount": record.get("amount_owed"),
        "answerBy": delivery.params.get("due_on"),
        "regionCode": record.get(AREA_FIELD),
    }


def _escalation(delivery: Delivery) -> dict[str, Any]:
    record = delivery.record
    return {
        "matterId": record.get("matter_id") or delivery.matter_id,
        "step": record.get("rule"),
        "title": record.get("title"),
        "subject": record.get("subject"),
        "owedBy": record.get("owner"),
        "dueAt": record.get("due_at"),
        "level": record.get("level"),
        # the 包案 leader, when the matter names one
        "owner": record.get("matter_owner"),
        "group": record.get("supervision_group"),
        "regionCode": record.get(AREA_FIELD),
    }


_CREDIT_ACTIONS = {"list": "列入", "remove": "移出", "expire": "到期"}


def _credit(delivery: Delivery) -> dict[str, Any]:
    """As housing's ``CREDIT``: 名单编号, 统一社会信用代码或身份证号, 名称, 动作, 列入日期, 移出日期, 依据."""
    record = delivery.record
    return {
        "listNo": record.get("list_no"),
        "creditCode": record.get("credit_code") or record.get("id_number"),
        "name": record.get("name"),
        "action": _CREDIT_ACTIONS.get(record.get("action"), record.get("action")),
        "startDate": record.get("start_date"),
        "endDate": record.get("end_date"),
        "basis": record.get("basis"),
        "regionCode": record.get(AREA_FIELD),
    }


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError):
        return Decimal(0)


def bulletin_for(record: dict[str, Any], area: str | None) -> dict[str, Any]:
    """The bulletin's figures for ``area`` (None: all of them): its districts' rows, their
    total, and their overdue steps."""
    districts = [row for row in record.get("districts") or [] if area is None or covers(area, row.get("region_code"))]
    if area is None:
        total = record.get("total")
    else:
        total: dict[str, Any] = {"region_code": area, "region_name": "合计"}
        for key, value in (record.get("total") or {}).items():  # every figure, zero where none counts
            if key not in total:
                total[key] = {k: 0 for k in value} if isinstance(value, dict) else \
                    "0.00" if key.startswith("amount_") else 0
        for row in districts:
            for key, value in row.items():
                if key in ("region_code", "region_name"):
                    continue
                if isinstance(value, dict):
                    into = total.setdefault(key, {})
                    for k, n in value.items():
                        into[k] = into.get(k, 0) + n
                elif key.startswith("amount_"):
                    total[key] = format(_money(total.get(key, 0)) + _money(value), "f")
                else:
                    total[key] = total.get(key, 0) + value
    items = [i for i in record.get("overdue_items") or [] if area is None or covers(area, i.get("region_code"))]
    return {"title": record.get("title"), "date": record.get("date"), "from": record.get("from"),
            "to": record.get("to"), "regionCode": area, "districts": districts, "total": total,
            "overdue_items": items}


def _body(delivery: Delivery, area: str | None = None) -> bytes:
    body: dict[str, Any] = {"type": delivery.kind, "messageId": delivery.message_id, "sentAt": delivery.created_at}
    if delivery.kind == ASSIGNMENT:
        body.update(_assignment(delivery))
    elif delivery.kind == ESCALATION:
        body.update(_escalation(delivery))
    elif delivery.kind == CREDIT:
        body.update(_credit(delivery))
    else:
        body.update(bulletin_for(dict(delivery.record), area))
    return json.dumps(body, ensure_ascii=False, sort_keys=True).encode("utf-8")


@hookimpl
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered:
    if delivery.kind not in (ASSIGNMENT, BULLETIN, ESCALATION, CREDIT):
        raise ValueError(f"gov plugin writes {ASSIGNMENT}, {BULLETIN}, {ESCALATION} or {CREDIT}, not {delivery.kind}")
    return Rendered(body=_body(delivery), content_type="application/json", content_encoding="utf-8")


@hookimpl
def deliver_rendered(delivery: Delivery, rendered: Rendered, headers: dict[str, Any],
                     settings: dict[str, Any]) -> bool:
    """POST to every government whose area takes in the delivery's (the district's and its
    city's; for the bulletin, every government, each with its own area's figures). A
    failure of one retries the delivery: those already served drop it by its message id."""
    if delivery.kind == BULLETIN:
        targets = [(code, gov) for code, gov in sorted(settings.get("governments", {}).items())]
    else:
        area = delivery.record.get(AREA_FIELD)
        if not area:
            raise Undeliverable("the record names no division: no government's area can be told")
        targets = receivers(settings, area)
    targets = [(code, gov) for code, gov in targets if gov.get("url")]
    if not targets:
        raise Undeliverable(f"no government webhook configured for division {delivery.record.get(AREA_FIELD)}")
    for code, government in targets:
        body = _body(delivery, code) if delivery.kind == BULLETIN else rendered.body
        webhooks.post_signed(government["url"], government["key"], body, "application/json", headers, settings)
    return True


@hookimpl
def on_shutdown() -> None:
    webhooks.close()


register_samples = samples_from(
    __package__, headers={GOV_HEADER: "370103"},
    good=[("gov-answer.json", ANSWER, "2023-05-31T10:00:00+08:00")],
    bad=[("gov-answer-bad-result.json", ANSWER, "result"), ("gov-answer-no-assignment.json", ANSWER, "assignmentNo")],
)
