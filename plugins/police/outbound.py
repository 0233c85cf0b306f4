"""police outbound: a canonical ``criminal_transfer`` as an ``AJYS`` packet.

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


def render_transfer(delivery: Delivery, settings: Mapping[str, Any]) -> Rendered:
    if delivery.kind != "AJYS" or delivery.record_type != "criminal_transfer":
        raise ValueError(f"police writes AJYS from a criminal_transfer only, not {delivery.kind!r} "
                         f"from {delivery.record_type!r}")
    encoding = str(settings.get("encoding") or DEFAULTS["encoding"]).strip().lower().replace("utf8", "utf-8")
    if encoding not in _PROLOG_NAMES:
        raise ValueError("police setting 'encoding' must be gb18030 or utf-8")
    if not delivery.created_at:
        raise ValueError("delivery.created_at is needed: an AJYS's FSSJ must not change between retries")
    rec = delivery.record
    employer = rec.get("employer") or {}

    packet = ET.Element("PACKET", {"TYPE": "AJYS", "VERSION": "1.0"})
    head = ET.SubElement(packet, "HEAD")
    _add(head, "XXBH", delivery.message_id)
    _add(head, "FSDW", settings.get("sender_unit") or DEFAULTS["sender_unit"])
    _add(head, "FSSJ", beijing(delivery.created_at).strftime("%Y-%m-%d %H:%M:%S"))

    body = ET.SubElement(packet, "BODY")
    _add(body, "YSBH", rec.get("transfer_no"))
    _add(body, "YSDW", settings.get("transferring_unit") or DEFAULTS["transferring_unit"])
    _add(body, "JSDW", rec.get("police_unit"))
    _add(body, "DWMC", employer.get("name"))
    _add(body, "TYXYDM", employer.get("uscc"))
    for suspect in rec.get("suspects") or []:
        xyr = ET.SubElement(body, "XYR")
        _add(xyr, "XM", suspect.get("name"))
        _add(xyr, "SFZH", suspect.get("id_number"))
        _add(xyr, "ZW", suspect.get("role"), required=False)
    _add(body, "SJRS", rec.get("worker_count"))
    _add(body, "QXJE", None if rec.get("amount_owed") is None else _yuan(rec["amount_owed"]))
    _add(body, "ZLZFBH", rec.get("order_no"))
    _add(body, "ZLZFQX", None if rec.get("order_due_on") is None else _date(rec["order_due_on"], "ZLZFQX"))
    _add(body, "ZJQD", ",".join(_text(code, "ZJQD") for code in rec.get("evidence") or []))
    _add(body, "YSRQ", None if rec.get("transferred_on") is None else _date(rec["transferred_on"], "YSRQ"))
    _add(body, "AQZY", rec.get("summary"), required=False)

    prolog = f'<?xml version="1.0" encoding="{_PROLOG_NAMES[encoding]}"?>\n'
    # ElementTree leaves a carriage return raw, and every XML parser reads it as a line feed:
    # written as a character reference, it arrives as sent.
    xml = prolog + ET.tostring(packet, encoding="unicode").replace("\r", "&#13;") + "\n"
    return Rendered(body=xml.encode(encoding), content_type="application/xml", content_encoding=encoding)
