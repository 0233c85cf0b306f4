"""hotline: the 12345 government service hotline platform (12345政务服务便民热线), JSON over UTF-8.

Reads ``WORK_ORDER`` (a caller reported unpaid wages) as a canonical ``clue`` (channel
``hotline``, numbered by the work order) and a ``work_order`` (the platform's number and
its reply-by time), and ``SATISFACTION`` (the platform called the caller back) as a
``satisfaction``; writes ``PROGRESS`` at each stage the matter reaches and ``RESULT`` when
it ends (see docs/formats/hotline.md). ``source_ref`` is the work order's number.

Times are read as ``yyyyMMddHHmmss`` (Beijing time, as ``sendTime``) or ISO 8601 with an
offset; money is yuan as a decimal string. Errors name the native path and the rule.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from typing import Any

from hub import (
    AgencyInfo,
    Delivery,
    InvalidMessage,
    NativeMessage,
    Parsed,
    PluginSettings,
    Rendered,
    hookimpl,
    samples_from,
)
from schemas.fields import BEIJING

__version__ = "1.0.0"

WORK_ORDER, SATISFACTION = "WORK_ORDER", "SATISFACTION"
PROGRESS, RESULT = "PROGRESS", "RESULT"
STAGES = ("ACCEPTED", "CASE_OPENED", "ORDER_ISSUED", "TRANSFERRED", "PAID")
FLAGS = {"0": False, "1": True}

_STAMP_RE = re.compile(r"^\d{14}$")
_MONEY_RE = re.compile(r"^\d{1,15}(\.\d{1,2})?$")

# canonical path -> the native one, for the hub's refusals of a record
_CLUE_FIELDS = {
    "clue_no": "data.orderNo", "received_at": "data.acceptedAt", "region_code": "data.areaCode",
    "complainant.name": "data.caller.name", "complainant.id_number": "data.caller.idNo",
    "complainant.mobile": "data.caller.mobile", "employer.name": "data.employerName",
    "employer.uscc": "data.employerCreditCode", "worker_count": "data.workers", "amount_owed": "data.amount",
    "content": "data.content",
}
_ORDER_FIELDS = {"work_order_no": "data.orderNo", "clue_no": "data.orderNo", "taken_at": "data.acceptedAt",
                 "reply_by": "data.replyBy"}
_SATISFACTION_FIELDS = {"work_order_no": "data.orderNo", "called_at": "data.calledAt", "reached": "data.reached",
                        "resolved": "data.resolved", "paid": "data.paid", "satisfied": "data.satisfied",
                        "remark": "data.remark"}


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="hotline",
        name="12345 政务服务便民热线 government service hotline",
        version=__version__,
        kinds_in=(WORK_ORDER, SATISFACTION),
        kinds_out=(PROGRESS, RESULT),
        settings_schema=PluginSettings(),
        secret_settings=("key",),
        schema_version="1.2",
        description="JSON messages like hrss's, money in yuan as decimal strings.",
    )


class _Data:
    """The message's ``data`` object (or one inside it), read field by field."""

    def __init__(self, data: dict[str, Any], path: str, kind: str):
        self.data, self.path, self.kind = data, path, kind

    def _p(self, name: str) -> str:
        return f"{self.path}.{name}"

    def raw(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise InvalidMessage.of(self._p(name), "required", "is required", self.kind)
            return None
        return value

    def text(self, name: str, required: bool = True) -> str | None:
        value = self.raw(name, required)
        if value is not None and not isinstance(value, str):
            raise InvalidMessage.of(self._p(name), "type", "must be a string", self.kind)
        return value.strip() if value is not None else None

    def obj(self, name: str) -> _Data:
        value = self.raw(name, True)
        if not isinstance(value, dict):
            raise InvalidMessage.of(self._p(name), "type", "must be an object", self.kind)
        return _Data(value, self._p(name), self.kind)

    def time(self, name: str, required: bool = True) -> str | None:
        value = self.text(name, required)
        if value is None:
            return None
        if _STAMP_RE.match(value):
            try:
                return dt.datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=BEIJING).isoformat()
            except ValueError:
                raise InvalidMessage.of(self._p(name), "time", "must be a real time yyyyMMddHHmmss", self.kind) from None
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            moment = None
        if moment is None or moment.tzinfo is None:
            raise InvalidMessage.of(self._p(name), "time", "must be yyyyMMddHHmmss or ISO 8601 with an offset", self.kind)
        return moment.isoformat()

    def count(self, name: str) -> int | None:
        value = self.raw(name, False)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise InvalidMessage.of(self._p(name), "type", "must be an integer", self.kind)
        return value

    def money(self, name: str) -> str | None:
        value = self.raw(name, False)
        if value is None:
            return None
        if not isinstance(value, str) or not _MONEY_RE.match(value.strip()):
            raise InvalidMessage.of(self._p(name), "decimal-string", 'must be yuan as a decimal string like "12000.50"',
                                    self.kind)
        return format(decimal.Decimal(value.strip()).quantize(decimal.Decimal("0.01")), "f")

    def flag(self, name: str, required: bool = False) -> bool | None:
        value = self.raw(name, required)
        if value is None:
            return None
        if value not in FLAGS:
            raise InvalidMessage.of(self._p(name), "flag", 'must be "0" or "1"', self.kind)
        return FLAGS[value]


def _document(message: NativeMessage) -> tuple[str, dict[str, Any], _Data]:
    try:
        doc = json.loads(message.body.decode("utf-8-sig"), parse_float=decimal.Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidMessage.of("body", "json", "is not UTF-8 JSON", message.kind) from None
    if not isinstance(doc, dict):
        raise InvalidMessage.of("body", "type", "must be a JSON object", message.kind)
    kind = doc.get("msgType")
    if kind not in (WORK_ORDER, SATISFACTION):
        raise InvalidMessage.of("msgType", "enum", f"must be {WORK_ORDER} or {SATISFACTION}", message.kind)
    for name in ("msgId", "sendTime"):
        if not isinstance(doc.get(name), str) or not doc[name].strip():
            raise InvalidMessage.of(name, "required", "is required", kind)
    data = doc.get("data")
    if not isinstance(data, dict):
        raise InvalidMessage.of("data", "required", "is required: an object", kind)
    return kind, doc, _Data(data, "data", kind)


def _work_order(d: _Data) -> list[Parsed]:
    number = d.text("orderNo")
    accepted = d.time("acceptedAt")
    reply_by = d.time("replyBy")
    caller = d.obj("caller")
    content = d.text("content")
    project = d.text("projectName", required=False)
    clue = {
        "clue_no": number, "channel": "hotline", "received_at": accepted, "region_code": d.text("areaCode"),
        "complainant": {"name": caller.text("name"), "mobile": caller.text("mobile")},
        "employer": {"name": d.text("employerName")},
        # the platform names a project, never its code: the name is kept in the clue's text
        "content": f"{content}（项目：{project}）" if project else content,
    }
    if (id_number := caller.text("idNo", required=False)) is not None:
        clue["complainant"]["id_number"] = id_number
    if (uscc := d.text("employerCreditCode", required=False)) is not None:
        clue["employer"]["uscc"] = uscc
    if (workers := d.count("workers")) is not None:
        clue["worker_count"] = workers
    if (amount := d.money("amount")) is not None:
        clue["amount_owed"] = amount
    order = {"work_order_no": number, "clue_no": number, "taken_at": accepted, "reply_by": reply_by}
    return [Parsed(type="clue", record=clue, source_ref=number, kind=WORK_ORDER, fields=_CLUE_FIELDS),
            Parsed(type="work_order", record=order, source_ref=number, kind=WORK_ORDER, fields=_ORDER_FIELDS)]


def _satisfaction(d: _Data) -> list[Parsed]:
    number = d.text("orderNo")
    record = {"work_order_no": number, "called_at": d.time("calledAt"), "reached": d.flag("reached", required=True)}
    for name in ("resolved", "paid", "satisfied"):
        if (value := d.flag(name)) is not None:
            record[name] = value
    if (remark := d.text("remark", required=False)) is not None:
        record["remark"] = remark
    return [Parsed(type="satisfaction", record=record, source_ref=number, kind=SATISFACTION,
                   fields=_SATISFACTION_FIELDS)]


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> list[Parsed]:
    kind, _doc, data = _document(message)
    return _work_order(data) if kind == WORK_ORDER else _satisfaction(data)


# -- outbound ------------------------------------------------------------------------------------

STAGE_TEXT = {
    "ACCEPTED": "人社部门（劳动保障监察）已受理",
    "CASE_OPENED": "人社部门已立案调查",
    "ORDER_ISSUED": "人社部门已向用人单位下达责令支付通知书",
    "TRANSFERRED": "涉嫌拒不支付劳动报酬罪，已移送公安机关",
    "PAID": "用人单位已支付工资",
}


def _stamp(value: Any) -> str | None:
    """A canonical time or date as yyyyMMddHHmmss, Beijing time (a date at its start)."""
    if not value:
        return None
    text = str(value)
    moment = dt.datetime.fromisoformat(text + "T00:00:00+08:00" if len(text) == 10 else text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")


def _send_time(delivery: Delivery) -> str:
    if not delivery.created_at:
        raise ValueError("delivery.created_at is needed: sendTime must not change between retries")
    return _stamp(delivery.created_at)


def _progress(delivery: Delivery) -> dict[str, Any]:
    r = delivery.record
    stage = delivery.params.get("stage")
    if stage not in STAGES:
        raise ValueError(f"route params.stage must be one of {', '.join(STAGES)}")
    at = next((r[k] for k in ("status_at", "issued_on", "paid_on", "updated_on") if r.get(k)), None) \
        or delivery.created_at
    text = STAGE_TEXT[stage]
    if at and len(str(at)) == 10:  # a date: said in words too (at is its start)
        text += f"（{at}）"
    if r.get("case_no"):
        text += f"，案件编号 {r['case_no']}"
    if r.get("order_no"):
        text += f"，责令支付通知书 {r['order_no']}"
    if r.get("due_on"):
        text += f"，限 {r['due_on']} 前支付"
    if r.get("amount_paid"):
        text += f"，金额 {r['amount_paid']} 元"
    if r.get("transfer_no"):
        text += f"，移送编号 {r['transfer_no']}"
    return {"orderNo": r.get("work_order_no"), "at": _stamp(at), "stage": stage, "text": text + "。"}


def _result(delivery: Delivery) -> dict[str, Any]:
    r = delivery.record
    paid = r.get("paid_amount")
    text = ("已办结：" if r.get("resolved") else "已办结（未全部解决）：") + str(r.get("text") or "")
    if paid:
        text += f"；已支付或追回工资 {paid} 元"
    return {"orderNo": r.get("work_order_no"), "at": _stamp(r.get("closed_at") or delivery.created_at),
            "resolved": "1" if r.get("resolved") else "0", "paidAmount": paid or "0.00",
            "handler": r.get("handler"), "text": text + "。"}


@hookimpl
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered:
    if delivery.kind == PROGRESS:
        data = _progress(delivery)
    elif delivery.kind == RESULT:
        data = _result(delivery)
    else:
        raise ValueError(f"hotline writes {PROGRESS} and {RESULT}, not {delivery.kind!r}")
    if not data["orderNo"]:
        raise ValueError("no work order number: the route must join work_order.work_order_no")
    message = {"msgType": delivery.kind, "msgId": delivery.message_id, "sendTime": _send_time(delivery),
               "data": data}
    return Rendered(body=json.dumps(message, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                    content_type="application/json", content_encoding="utf-8")


# good: file, kind, business time (the demo replays samples in this order); bad: what a refusal names
register_samples = samples_from(
    __package__,
    good=[
        ("hotline-work-order.json", WORK_ORDER, "2023-05-20T10:15:00+08:00"),
        ("hotline-satisfaction.json", SATISFACTION, "2023-10-16T15:00:00+08:00"),
    ],
    bad=[
        ("hotline-no-reply-by.json", WORK_ORDER, "replyBy"),
        ("hotline-bad-flag.json", SATISFACTION, "data.paid"),
    ],
)
