"""police outbound: packets the hub writes to the police.

``AJYS`` from a ``criminal_transfer`` (``BCYS`` when ``params.round`` is 2 or more: the
dossier sent again with the materials asked for) and, format 1.2, ``FYSQ`` from a
``reconsideration_request``, ``ZFQK`` from a ``wage_payment`` and ``CBTZ`` from an
escalation the hub makes itself.

Built with ElementTree, so every value is escaped; written in GB18030 (the prolog
says so) unless the plugin's ``encoding`` setting is ``utf-8``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree as ET

from hub import Delivery, Rendered
from schemas.fields import BEIJING

DEFAULTS = {
    "encoding": "gb18030",
    "sender_unit": "370000000000",
    "transferring_unit": "人力资源社会保障局劳动保障监察机构",
}
# codec -> the name the prolog declares
_PROLOG_NAMES = {"gb18030": "GB18030", "utf-8": "UTF-8"}

# Characters XML 1.0 cannot carry at all (escaping does not help). hrss's JSON may hold them
# (a vertical tab or form feed is how Word's line and page breaks paste): written as a line
# break, and any other as U+FFFD, so the transfer reaches the police all the same; refusing
# it here would hold it, and the matter's later packets, for good.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BREAKS = {"\x0b": "\n", "\x0c": "\n"}


def beijing(at: str) -> dt.datetime:
    """An ISO 8601 time in Beijing time; a time without offset is read as UTC (hub clock)."""
    moment = dt.datetime.fromisoformat(at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BEIJING)


def _text(value: Any, tag: str) -> str:
    if isinstance(value, bool):
        raise TypeError(f"AJYS {tag}: a boolean has no native form")
    if isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()
    return _NOT_XML.sub(lambda m: _BREAKS.get(m.group(), "\ufffd"), str(value))


def _yuan(value: Any) -> str:
    """Canonical money as yuan with two decimals (``382848.00``)."""
    if isinstance(value, (bool, float)):
        raise TypeError("AJYS QXJE: money must be a decimal string, not a float")
    try:
        amount = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise ValueError("AJYS QXJE: money is not a decimal number") from None
    if not amount.is_finite() or amount != amount.quantize(decimal.Decimal("0.01"), rounding=decimal.ROUND_DOWN):
        raise ValueError("AJYS QXJE: money must be a whole number of fen")
    return format(amount.quantize(decimal.Decimal("0.01")), "f")


def _date(value: Any, tag: str) -> str:
    """A canonical date (``2023-06-20``) as ``yyyy-MM-dd``; checked, not copied blindly."""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        raise ValueError(f"AJYS {tag}: not a date") from None


def _add(parent: ET.Element, tag: str, value: Any, *, required: bool = True) -> None:
    """``<TAG>value</TAG>``; an absent value leaves a required tag empty and omits an optional one."""
    if value is None or value == "":
        if required:
            ET.SubElement(parent, tag)
        return
    ET.SubElement(parent, tag).text = _text(value, tag)


def _round(delivery: Delivery) -> int:
    """The transfer's round: 1 for the first AJYS, 2, 3, ... for each BCYS (the dossier sent again)."""
    value = delivery.params.get("round", 1)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit() \
            or int(value) < 1:
        raise ValueError("police AJYS/BCYS: params.round must be a whole number, 1 or more")
    return int(value)


def _transfer(body: ET.Element, delivery: Delivery, settings: Mapping[str, Any]) -> None:
    """AJYS, or BCYS with its round (BCCS): the same tags, the employer a company or a person."""
    rec = delivery.record
    employer = rec.get("employer") or {}
    round_no = _round(delivery)
    _add(body, "YSBH", rec.get("transfer_no"))
    if round_no >= 2:
        _add(body, "BCCS", round_no)
    _add(body, "YSDW", settings.get("transferring_unit") or DEFAULTS["transferring_unit"])
    _add(body, "JSDW", rec.get("police_unit"))
    _add(body, "DWMC", employer.get("name"))
    _add(body, "TYXYDM", employer.get("uscc"))
    # An individual employer (format 1.2): TYXYDM empty, the person's identity number after it.
    _add(body, "SFZH", employer.get("id_number"), required=False)
    for suspect in rec.get("suspects") or []:
        xyr = ET.SubElement(body, "XYR")
        _add(xyr, "XM", suspect.get("name"))
        _add(xyr, "SFZH", suspect.get("id_number"))
        _add(xyr, "ZW", suspect.get("role"), required=False)
    _add(body, "SJRS", rec.get("worker_count"))
    _add(body, "QXJE", None if rec.get("amount_owed") is None else _yuan(rec["amount_owed"]))
    # The workers one by one (format 1.2): name, amount and months, never an identity number.
    for worker in rec.get("workers") or []:
        grmx = ET.SubElement(body, "GRMX")
        _add(grmx, "XM", worker.get("name"))
        _add(grmx, "JE", None if worker.get("amount") is None else _yuan(worker["amount"]))
        _add(grmx, "QJ", f"{worker.get('period_from') or ''}..{worker.get('period_to') or ''}")
    _add(body, "ZLZFBH", rec.get("order_no"))
    _add(body, "ZLZFQX", None if rec.get("order_due_on") is None else _date(rec["order_due_on"], "ZLZFQX"))
    _add(body, "ZJQD", ",".join(_text(code, "ZJQD") for code in rec.get("evidence") or []))
    _add(body, "YSRQ", None if rec.get("transferred_on") is None else _date(rec["transferred_on"], "YSRQ"))
    _add(body, "AQZY", rec.get("summary"), required=False)


def _transfer_no(delivery: Delivery, kind: str) -> str:
    """The transfer a packet is about: the record's, else the matter's first."""
    number = delivery.record.get("transfer_no") or next(iter(delivery.refs.get("transfer_no") or ()), None)
    if not number:
        raise ValueError(f"police {kind}: no transfer number (YSBH) in the record or the matter")
    return number


def _reconsideration(body: ET.Element, delivery: Delivery, settings: Mapping[str, Any]) -> None:
    """FYSQ (复议申请): labour inspection asks the police to reconsider a decline."""
    rec = delivery.record
    _add(body, "YSBH", _transfer_no(delivery, "FYSQ"))
    _add(body, "SQRQ", None if rec.get("requested_on") is None else _date(rec["requested_on"], "SQRQ"))
    _add(body, "LY", rec.get("reason"))


def _payment(body: ET.Element, delivery: Delivery, settings: Mapping[str, Any]) -> None:
    """ZFQK (支付情况): wages paid after the transfer (Criminal Law Art. 276-1 para. 3)."""
    rec = delivery.record
    _add(body, "YSBH", _transfer_no(delivery, "ZFQK"))
    _add(body, "ZFJE", None if rec.get("amount_paid") is None else _yuan(rec["amount_paid"]))
    _add(body, "ZFRQ", None if rec.get("paid_on") is None else _date(rec["paid_on"], "ZFRQ"))
    _add(body, "QBZF", {True: "1", False: "0"}.get(rec.get("full")))


ESCALATION_LEVELS = {"agency": "1", "supervision": "2"}


def _escalation(body: ET.Element, delivery: Delivery, settings: Mapping[str, Any]) -> None:
    """CBTZ (催办通知): a step the police owe is overdue; JB 1 a reminder, 2 supervision."""
    rec = delivery.record
    level = ESCALATION_LEVELS.get(rec.get("level"))
    if level is None:
        raise ValueError(f"police CBTZ: level must be one of {', '.join(ESCALATION_LEVELS)}")
    _add(body, "YSBH", _transfer_no(delivery, "CBTZ"))
    _add(body, "SX", rec.get("title") or rec.get("rule"))
    _add(body, "QX", None if not rec.get("due_at") else beijing(str(rec["due_at"])).strftime("%Y-%m-%d %H:%M:%S"))
    _add(body, "JB", level)


# kind asked for -> (record type it is written from, writer)
WRITERS = {
    "AJYS": ("criminal_transfer", _transfer),
    "FYSQ": ("reconsideration_request", _reconsideration),
    "ZFQK": ("wage_payment", _payment),
    "CBTZ": ("escalation", _escalation),
}
KINDS_OUT = (*WRITERS, "BCYS")
"""What the police plugin writes: BCYS is an AJYS of a later round (``params.round`` ≥ 2)."""


def render(delivery: Delivery, settings: Mapping[str, Any]) -> Rendered:
    """One packet: the kind the route asks for, from the record type that kind is written from."""
    kind = "AJYS" if delivery.kind == "BCYS" else delivery.kind
    if kind not in WRITERS or WRITERS[kind][0] != delivery.record_type:
        raise ValueError(f"police writes {', '.join(f'{k} from a {t}' for k, (t, _) in WRITERS.items())}; "
                         f"not {delivery.kind!r} from {delivery.record_type!r}")
    encoding = str(settings.get("encoding") or DEFAULTS["encoding"]).strip().lower().replace("utf8", "utf-8")
    if encoding not in _PROLOG_NAMES:
        raise ValueError("police setting 'encoding' must be gb18030 or utf-8")
    if not delivery.created_at:
        raise ValueError(f"delivery.created_at is needed: a {kind}'s FSSJ must not change between retries")
    if kind == "AJYS" and _round(delivery) >= 2:
        kind = "BCYS"
    packet = ET.Element("PACKET", {"TYPE": kind, "VERSION": "1.0"})
    head = ET.SubElement(packet, "HEAD")
    _add(head, "XXBH", delivery.message_id)
    _add(head, "FSDW", settings.get("sender_unit") or DEFAULTS["sender_unit"])
    _add(head, "FSSJ", beijing(delivery.created_at).strftime("%Y-%m-%d %H:%M:%S"))
    WRITERS["AJYS" if kind == "BCYS" else kind][1](ET.SubElement(packet, "BODY"), delivery, settings)

    prolog = f'<?xml version="1.0" encoding="{_PROLOG_NAMES[encoding]}"?>\n'
    # ElementTree leaves a carriage return raw, and every XML parser reads it as a line feed:
    # written as a character reference, it arrives as sent.
    xml = prolog + ET.tostring(packet, encoding="unicode").replace("\r", "&#13;") + "\n"
    return Rendered(body=xml.encode(encoding), content_type="application/xml", content_encoding=encoding,
                    headers={"x-wagehub-kind": kind})
