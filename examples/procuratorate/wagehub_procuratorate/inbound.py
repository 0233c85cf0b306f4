"""procuratorate inbound: a ``JDYJ`` supervision opinion as a canonical ``supervision_opinion``.

The plugin reads shape, names, codes and times; the canonical schema then checks the
meaning (a transfer or a case named, grounds given unless there is no objection).
Errors name the native key and the rule, never a value.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hub import InvalidMessage, NativeMessage, Parsed
from schemas.fields import BEIJING

JDYJ = "JDYJ"
OPINIONS = {"1": "explain_not_opening", "2": "open_case", "3": "recommend_transfer", "9": "no_objection"}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def read(message: NativeMessage) -> dict[str, Any]:
    try:
        doc = json.loads(bytes(message.body).decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidMessage.of("body", "encoding", "is not UTF-8 text", message.kind) from None
    except (ValueError, RecursionError):
        raise InvalidMessage.of("body", "json", "is not JSON", message.kind) from None
    if not isinstance(doc, dict):
        raise InvalidMessage.of("body", "type", "must be a JSON object", message.kind)
    if doc.get("docType") != JDYJ:
        raise InvalidMessage.of("docType", "enum", f"must be {JDYJ} (YSCB and LAQK are outbound only)", None)
    return doc


def _text(doc: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise InvalidMessage.of(key, "required", "is required", JDYJ)
        return None
    if not isinstance(value, str):
        raise InvalidMessage.of(key, "type", "must be a string", JDYJ)
    return value


def _time(doc: dict[str, Any], key: str) -> str:
    """``yyyy-MM-dd HH:mm:ss`` Beijing time as ISO 8601 with ``+08:00``."""
    text = _text(doc, key, required=True)
    try:
        return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING).isoformat()
    except ValueError:
        raise InvalidMessage.of(key, "time-format", "must be a time yyyy-MM-dd HH:mm:ss", JDYJ) from None


def _date(doc: dict[str, Any], key: str) -> str | None:
    """``yyyy-MM-dd``, checked."""
    text = _text(doc, key)
    if text is None:
        return None
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidMessage.of(key, "date-format", "must be a date yyyy-MM-dd", JDYJ) from None


def parse(message: NativeMessage) -> list[Parsed]:
    """One opinion document as its single canonical record."""
    doc = read(message)
    opinion_type = _text(doc, "opinionType", required=True)
    if opinion_type not in OPINIONS:
        raise InvalidMessage.of("opinionType", "enum", f"must be one of {', '.join(OPINIONS)}", JDYJ)
    record = {
        "opinion_no": _text(doc, "docNo", required=True),
        "issued_at": _time(doc, "issuedAt"),
        "procuratorate": _text(doc, "procuratorate", required=True),
        "prosecutor": _text(doc, "prosecutor"),
        "transfer_no": _text(doc, "transferNo"),
        "case_no": _text(doc, "caseNo"),
        "police_case_no": _text(doc, "policeCaseNo"),
        "opinion": OPINIONS[opinion_type],
        "reason": _text(doc, "reason"),
        "reply_due_on": _date(doc, "replyBy"),
    }
    record = {k: v for k, v in record.items() if v is not None}
    return [Parsed(type="supervision_opinion", record=record, source_ref=record["opinion_no"], kind=JDYJ)]
