"""hrss outbound: a canonical record as a ``NOTICE`` message.

Money goes back to integer fen. Which fields are money is read from the record type's
shared schema (every :class:`schemas.fields.Money`, nested ones included), so a record
type added to ``schemas`` later is written correctly without touching this module. The
notices the hub makes itself (the daily bulletin, escalations, linkage decisions) have no
schema: their money is every ``amount_*`` field, at any depth, as the hub names it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping
from typing import Any

import marshmallow as ma

import schemas
from hub import Delivery, Rendered
from schemas.fields import BEIJING, Money

# When a route gives no ``notice_kind``, the record type says it.
NOTICE_KINDS = {
    "police_receipt": "POLICE_RECEIPT",
    "police_decision": "POLICE_DECISION",
    "court_judgment": "COURT_RULING",
    "court_enforcement": "COURT_RULING",
    "mediation_result": "MEDIATION_RESULT",
    "payroll_shortfall": "PAYROLL_SHORTFALL",
    "project": "PROJECT_RISK",
    # format 1.2
    "reconsideration_decision": "RECONSIDER_DECISION",
    # The police asking for materials is their answer to the transfer for now: a police
    # decision, told apart by data.record.type (the format names no kind of its own for it).
    "materials_request": "POLICE_DECISION",
}

# refs key -> (record fields holding that hrss number, first found wins; delivery.refs key)
_REFS = (
    ("caseNo", ("case_no", "hrss_case_no"), "case_no"),
    ("transferNo", ("transfer_no",), "transfer_no"),
    ("clueNo", ("clue_no", "clue_nos"), "clue_no"),
)


def yuan_to_fen(value: Any) -> int:
    """A canonical money value (``"382848.00"``) as integer fen, exactly, or ValueError."""
    if isinstance(value, (bool, float)):
        raise TypeError("money must be a decimal string, not a float or boolean")
    try:
        amount = decimal.Decimal(value if isinstance(value, (int, decimal.Decimal)) else str(value).strip())
    except decimal.InvalidOperation:
        raise ValueError("money is not a decimal number") from None
    if not amount.is_finite():
        raise ValueError("money is not a finite number")
    sign, digits, exponent = amount.as_tuple()
    units = int("".join(map(str, digits)))
    shift = exponent + 2
    if shift >= 0:
        fen = units * 10**shift
    else:
        fen, rest = divmod(units, 10**-shift)
        if rest:
            raise ValueError("money has more than two decimal places: not a whole number of fen")
    return -fen if sign else fen


def _convert(field: ma.fields.Field, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, Money):
        return yuan_to_fen(value)
    if isinstance(field, ma.fields.Nested):
        inner = field.schema
        if field.many and isinstance(value, list):
            return [money_to_fen(inner, item) for item in value]
        return money_to_fen(inner, value) if isinstance(value, Mapping) else value
    if isinstance(field, ma.fields.List) and isinstance(value, list):
        return [_convert(field.inner, item) for item in value]
    if isinstance(field, ma.fields.Tuple) and isinstance(value, (list, tuple)):
        return [_convert(f, item) for f, item in zip(field.tuple_fields, value, strict=False)]
    if isinstance(field, ma.fields.Dict) and field.value_field is not None and isinstance(value, Mapping):
        return {k: _convert(field.value_field, v) for k, v in value.items()}
    return value


def money_to_fen(schema: ma.Schema, record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` with every Money field of ``schema`` in integer fen."""
    out = dict(record)
    for name, field in schema.fields.items():
        key = field.data_key or name
        if key in out:
            out[key] = _convert(field, out[key])
    return out


def hub_money_to_fen(value: Any) -> Any:
    """A copy of a hub-made record with every ``amount_*`` value in integer fen."""
    if isinstance(value, Mapping):
        return {k: yuan_to_fen(v) if str(k).startswith("amount_") and isinstance(v, str)
                else hub_money_to_fen(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [hub_money_to_fen(v) for v in value]
    return value


def _sorted(value: Any) -> Any:
    """Keys sorted at every level: the same record gives the same bytes however it was stored."""
    if isinstance(value, Mapping):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [_sorted(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    raise TypeError(f"cannot write a {type(value).__name__} in a NOTICE")


def beijing(at: str) -> dt.datetime:
    """An ISO 8601 time in Beijing time; a time without offset is read as UTC (hub clock)."""
    moment = dt.datetime.fromisoformat(at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BEIJING)


def _send_time(delivery: Delivery) -> str:
    at = delivery.created_at or delivery.record.get("accepted_at") or delivery.record.get("received_at")
    if not at:
        raise ValueError("delivery.created_at is needed: a NOTICE's sendTime must not change between retries")
    return beijing(str(at)).strftime("%Y%m%d%H%M%S")


def _refs(delivery: Delivery) -> dict[str, str]:
    refs: dict[str, str] = {}
    for key, fields, ref_key in _REFS:
        for name in fields:
            value = delivery.record.get(name)
            if isinstance(value, list):
                value = value[0] if value else None
            if value:
                refs[key] = str(value)
                break
        else:
            known = delivery.refs.get(ref_key) or []
            if known:
                refs[key] = str(known[0])
    return refs


def _stamp(value: Any, fmt: str) -> str | None:
    return beijing(str(value)).strftime(fmt) if value else None


def _month(value: Any) -> str | None:
    return str(value).replace("-", "") if value else None


def render_clue(delivery: Delivery) -> Rendered:
    """A clue another channel took (a 12345 work order) as labour inspection's own ``CLUE``:
    the fields its route lets through, in the shape hrss sends its clues (money in fen,
    Beijing times without offset); figures the caller did not give are left out."""
    from plugins.hrss.inbound import CHANNELS

    r = delivery.record
    codes = {name: code for code, name in CHANNELS.items()}
    person, employer = r.get("complainant") or {}, r.get("employer") or {}
    data = {
        "clueNo": r.get("clue_no"), "channel": codes.get(r.get("channel")),
        "receivedTime": _stamp(r.get("received_at"), "%Y%m%d%H%M%S"), "areaCode": r.get("region_code"),
        "complainant": {"name": person.get("name"), "idNo": person.get("id_number"), "mobile": person.get("mobile")},
        "employer": {"name": employer.get("name"), "creditCode": employer.get("uscc"), "idNo": employer.get("id_number")},
        "projectCode": r.get("project_code"), "workerCount": r.get("worker_count"),
        "amountFen": None if r.get("amount_owed") is None else yuan_to_fen(r["amount_owed"]),
        "periodFrom": _month(r.get("period_from")), "periodTo": _month(r.get("period_to")), "content": r.get("content"),
    }
    data = {k: ({kk: vv for kk, vv in v.items() if vv is not None} if isinstance(v, dict) else v)
            for k, v in data.items() if v is not None}
    message = {"msgType": "CLUE", "msgId": delivery.message_id, "sendTime": _send_time(delivery), "data": data}
    body = json.dumps(message, ensure_ascii=False, default=_json_default).encode("utf-8")
    return Rendered(body=body, content_type="application/json", content_encoding="utf-8")


def render_notice(delivery: Delivery) -> Rendered:
    if delivery.kind != "NOTICE":
        raise ValueError(f"hrss writes NOTICE only, not {delivery.kind!r}")
    # Notices the hub makes itself (escalations, linkage decisions, the daily bulletin) have
    # no canonical schema: their amount_* fields are the money.
    schema = schemas.SCHEMAS.get(delivery.record_type)
    kind = delivery.params.get("notice_kind") or NOTICE_KINDS.get(delivery.record_type)
    if not kind:
        raise ValueError(f"no notice_kind for record type {delivery.record_type!r}: set it in the route's params")
    message = {
        "msgType": "NOTICE",
        "msgId": delivery.message_id,
        "sendTime": _send_time(delivery),
        "data": {
            "kind": kind,
            "refs": _refs(delivery),
            "record": _sorted(money_to_fen(schema, delivery.record) if schema is not None
                              else hub_money_to_fen(delivery.record)),
        },
    }
    body = json.dumps(message, ensure_ascii=False, default=_json_default).encode("utf-8")
    return Rendered(body=body, content_type="application/json", content_encoding="utf-8")
