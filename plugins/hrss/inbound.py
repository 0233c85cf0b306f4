"""hrss inbound: the labour inspection system's JSON messages as canonical records.

The plugin reads the native format (shape, types, codes, units) and maps it field by
field; the semantic checks of the canonical record (identity-number and credit-code
check characters, division codes, amounts above zero, date order) are the shared
schema's, which the hub applies to what is returned here.

Errors name the native path (``data.amountFen``) and the rule broken, never a value:
identity numbers and mobiles are personal data.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from typing import Any

from hub import InvalidMessage, NativeMessage, Parsed
from schemas.fields import BEIJING

CHANNELS = {"01": "qr_code", "02": "hotline", "03": "petition", "04": "walk_in", "05": "online", "06": "referral"}
CASE_STATUSES = {"10": "accepted", "20": "opened", "30": "mediating", "40": "closed", "50": "transferred",
                 "60": "rejected"}
COMPLIED = {"0": False, "1": True}
LISTING_ACTIONS = {"LIST": "list", "REMOVE": "remove", "EXPIRE": "expire"}

_TIME_RE = re.compile(r"^\d{14}$")
_DATE_RE = re.compile(r"^\d{8}$")
_MONTH_RE = re.compile(r"^\d{6}$")

# Encodings a body may arrive in (codec, name in errors); hrss writes UTF-8, a BOM is tolerated.
_ENCODINGS = {"gb18030": ("gb18030", "GB18030")}
_UTF8 = ("utf-8-sig", "UTF-8")


def fen_to_yuan(fen: int) -> str:
    """Integer fen as a yuan string with two places, exactly (no context rounding)."""
    sign, digits, _ = decimal.Decimal(fen).as_tuple()
    return format(decimal.Decimal((sign, digits, -2)), "f")


class _Obj:
    """One JSON object of a message, read field by field; errors carry the native path."""

    def __init__(self, data: dict[str, Any], path: str, kind: str | None):
        self.data = data
        self.path = path
        self.kind = kind

    def _p(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def _raw(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if isinstance(value, str) and not value.strip():
            value = None  # "" or spaces: no value (an optional field so sent is absent)
        if value is None and required:
            raise InvalidMessage.of(self._p(name), "required", "is required", self.kind)
        return value

    def _typed(self, name: str, required: bool, types: tuple[type, ...], what: str) -> Any:
        value = self._raw(name, required)
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            raise InvalidMessage.of(self._p(name), "type", f"must be {what}", self.kind)
        return value

    def text(self, name: str, required: bool = True) -> str | None:
        return self._typed(name, required, (str,), "a string")

    def count(self, name: str, required: bool = True) -> int | None:
        return self._typed(name, required, (int,), "an integer")

    def fen(self, name: str, required: bool = True) -> str | None:
        value = self._raw(name, required)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidMessage.of(self._p(name), "integer-fen", "must be an integer number of fen", self.kind)
        return fen_to_yuan(value)

    def _stamp(self, name: str, required: bool, pattern: re.Pattern, fmt: str, rule: str, shape: str):
        value = self.text(name, required)
        if value is None:
            return None
        try:
            if not pattern.match(value):
                raise ValueError
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            raise InvalidMessage.of(self._p(name), rule, f"must be a valid {shape}", self.kind) from None

    def time(self, name: str, required: bool = True) -> str | None:
        """``yyyyMMddHHmmss`` Beijing time as ISO 8601 with ``+08:00``."""
        at = self._stamp(name, required, _TIME_RE, "%Y%m%d%H%M%S", "time-format", "time yyyyMMddHHmmss")
        return None if at is None else at.replace(tzinfo=BEIJING).isoformat()

    def date(self, name: str, required: bool = True) -> str | None:
        """``yyyyMMdd`` as ``YYYY-MM-DD``."""
        on = self._stamp(name, required, _DATE_RE, "%Y%m%d", "date-format", "date yyyyMMdd")
        return None if on is None else on.date().isoformat()

    def month(self, name: str, required: bool = True) -> str | None:
        """``yyyyMM`` as ``YYYY-MM``."""
        month = self._stamp(name, required, _MONTH_RE, "%Y%m", "month-format", "month yyyyMM")
        return None if month is None else month.strftime("%Y-%m")

    def code(self, name: str, table: dict[str, Any], required: bool = True) -> Any:
        value = self._raw(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or value not in table:
            raise InvalidMessage.of(self._p(name), "enum", f"must be one of {', '.join(table)}", self.kind)
        return table[value]

    def obj(self, name: str, required: bool = True) -> _Obj | None:
        value = self._typed(name, required, (dict,), "an object")
        return None if value is None else _Obj(value, self._p(name), self.kind)

    def objs(self, name: str, required: bool = True) -> list[_Obj] | None:
        items = self._typed(name, required, (list,), "a list")
        if items is None:
            return None
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise InvalidMessage.of(f"{self._p(name)}[{i}]", "type", "must be an object", self.kind)
            out.append(_Obj(item, f"{self._p(name)}[{i}]", self.kind))
        return out

    def employer_ids(self, uscc: tuple[_Obj, str], id_number: tuple[_Obj, str], *, required: bool
                     ) -> tuple[str | None, str | None]:
        """(credit code, identity number) of an employer that is a company or an individual
        (format 1.2): never both; neither only where the employer's number is optional."""
        code = uscc[0].text(uscc[1], required=False)
        person = id_number[0].text(id_number[1], required=False)
        if (code and person) or (required and not (code or person)):
            what = "are both given" if code else "are both missing"
            raise InvalidMessage.of(uscc[0]._p(uscc[1]), "exactly-one",
                                    f"and {id_number[0]._p(id_number[1])} {what}: the employer is a company (credit code) or "
                                    "an individual (identity number), exactly one", self.kind)
        return code, person

    def texts(self, name: str, required: bool = True) -> list[str] | None:
        items = self._typed(name, required, (list,), "a list")
        if items is None:
            return None
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise InvalidMessage.of(f"{self._p(name)}[{i}]", "type", "must be a string", self.kind)
        return list(items)


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """Drop absent optional fields (the schema's defaults stand for them)."""
    return {k: (_compact(v) if isinstance(v, dict) else v) for k, v in record.items() if v is not None}


def _clue(d: _Obj) -> tuple[str, dict[str, Any]]:
    complainant = d.obj("complainant")
    employer = d.obj("employer")
    record = {
        "clue_no": d.text("clueNo"),
        "channel": d.code("channel", CHANNELS),
        "received_at": d.time("receivedTime"),
        "region_code": d.text("areaCode"),
        "complainant": {
            "name": complainant.text("name"),
            "id_number": complainant.text("idNo", required=False),
            "mobile": complainant.text("mobile"),
        },
        "employer": _employer(employer.text("name"),
                              *d.employer_ids((employer, "creditCode"), (employer, "idNo"), required=False)),
        "project_code": d.text("projectCode", required=False),
        "worker_count": d.count("workerCount"),
        "amount_owed": d.fen("amountFen"),
        "period_from": d.month("periodFrom", required=False),
        "period_to": d.month("periodTo", required=False),
        "content": d.text("content", required=False),
    }
    return record["clue_no"], record


def _case(d: _Obj) -> tuple[str, dict[str, Any]]:
    record = {
        "case_no": d.text("caseNo"),
        "clue_nos": d.texts("clueNos"),
        "status": d.code("status", CASE_STATUSES),
        "status_at": d.time("statusTime"),
        "first_contact_at": d.time("firstContactTime", required=False),
        "handler": d.text("handler", required=False),
        "amount_recovered": d.fen("recoveredFen", required=False),
        "workers_paid": d.count("paidWorkers", required=False),
        "workers": _workers(d),
    }
    return record["case_no"], record


def _order(d: _Obj) -> tuple[str, dict[str, Any]]:
    uscc, id_number = d.employer_ids((d, "creditCode"), (d, "employerIdNo"), required=True)
    record = {
        "order_no": d.text("orderNo"),
        "case_no": d.text("caseNo"),
        "employer_uscc": uscc,
        "employer_id_number": id_number,
        "amount": d.fen("amountFen"),
        "issued_on": d.date("issueDate"),
        "due_on": d.date("dueDate"),
        "served_on": d.date("serveDate", required=False),
        "complied": d.code("complied", COMPLIED),
    }
    return record["order_no"], record


def _transfer(d: _Obj) -> tuple[str, dict[str, Any]]:
    record = {
        "transfer_no": d.text("transferNo"),
        "case_no": d.text("caseNo"),
        "order_no": d.text("orderNo"),
        "employer": _employer(d.text("employerName"),
                              *d.employer_ids((d, "creditCode"), (d, "employerIdNo"), required=True)),
        "suspects": [
            _compact({"name": s.text("name"), "id_number": s.text("idNo"), "role": s.text("role", required=False)})
            for s in d.objs("suspects")
        ],
        "worker_count": d.count("workerCount"),
        "amount_owed": d.fen("amountFen"),
        "evidence": d.texts("evidence"),
        "transferred_on": d.date("transferDate"),
        "police_unit": d.text("policeUnit"),
        "summary": d.text("summary", required=False),
        "workers": _workers(d),
    }
    return record["transfer_no"], record


def _employer(name: str | None, uscc: str | None, id_number: str | None) -> dict[str, Any]:
    return {"name": name, "uscc": uscc, "id_number": id_number}


def _workers(d: _Obj) -> list[dict[str, Any]] | None:
    """``workers`` one by one (format 1.2); absent: only the totals are known."""
    items = d.objs("workers", required=False)
    if items is None:
        return None
    return [{"name": w.text("name"), "id_number": w.text("idNo"), "amount": w.fen("amountFen"),
             "period_from": w.month("periodFrom"), "period_to": w.month("periodTo")} for w in items]


def _transfer_request(d: _Obj) -> tuple[str, dict[str, Any]]:
    """RECONSIDER and SUPERVISE: a request on a transfer, with its date and reason."""
    record = {"transfer_no": d.text("transferNo"), "requested_on": d.date("requestDate"), "reason": d.text("reason")}
    return record["transfer_no"], record


def _extension(d: _Obj) -> tuple[str, dict[str, Any]]:
    record = {
        "case_no": d.text("caseNo"),
        "approved_on": d.date("approvedDate"),
        "working_days": d.count("workingDays"),
        "reason": d.text("reason", required=False),
    }
    return record["case_no"], record


def _payment(d: _Obj) -> tuple[str, dict[str, Any]]:
    record = {
        "case_no": d.text("caseNo"),
        "transfer_no": d.text("transferNo", required=False),
        "amount_paid": d.fen("paidFen"),
        "paid_on": d.date("paidDate"),
        "workers_paid": d.count("paidWorkers", required=False),
        "full": d.code("full", COMPLIED),
    }
    return record["case_no"], record


def _listing(d: _Obj) -> tuple[str, dict[str, Any]]:
    """LISTING (format 1.2): labour inspection's decision on the list of employers in serious
    breach of wage payment. ``basis`` and ``endDate`` (the term) are required to list; a
    removal or an expiry without ``endDate`` left the list on its decision date."""
    action = d.code("action", LISTING_ACTIONS)
    for name in ("basis", "endDate"):
        if action == "list" and d._raw(name, required=False) is None:
            raise InvalidMessage.of(d._p(name), "required-if", "is required when action is LIST (the ground and the term)",
                                    d.kind)
    uscc, id_number = d.employer_ids((d, "creditCode"), (d, "employerIdNo"), required=True)
    persons = d.objs("persons", required=False)
    record = {
        "list_no": d.text("listNo"),
        "action": action,
        "credit_code": uscc,
        "id_number": id_number,
        "name": d.text("employerName"),
        "persons": None if persons is None else [
            _compact({"name": p.text("name"), "id_number": p.text("idNo"), "role": p.text("role", required=False)})
            for p in persons],
        "basis": d.text("basis", required=False),
        "decision_date": d.date("decisionDate"),
        "start_date": d.date("startDate"),
        "end_date": d.date("endDate", required=False),
        "case_no": d.text("caseNo", required=False),
    }
    if action != "list" and record["end_date"] is None:
        record["end_date"] = record["decision_date"]  # removed or expired: it left the list that day
    return record["list_no"], record


# Canonical field paths as hrss names them (``Parsed.fields``), so that a refusal by the
# shared schema names the field the agency sends. A nested object is mapped by its own
# path, and its sub-fields where their names differ; a list by its own path, and its
# items' fields with ``[]`` (the item's index fills it: ``data.suspects[0].idNo``).
# ``source_ref`` is the record's number.
WORKERS_FIELDS = {
    "workers": "data.workers",
    "workers[].name": "data.workers[].name",
    "workers[].id_number": "data.workers[].idNo",
    "workers[].amount": "data.workers[].amountFen",
    "workers[].period_from": "data.workers[].periodFrom",
    "workers[].period_to": "data.workers[].periodTo",
}
CLUE_FIELDS = {
    "source_ref": "data.clueNo",
    "clue_no": "data.clueNo",
    "channel": "data.channel",
    "received_at": "data.receivedTime",
    "region_code": "data.areaCode",
    "complainant": "data.complainant",
    "complainant.id_number": "data.complainant.idNo",
    "employer": "data.employer",
    "employer.uscc": "data.employer.creditCode",
    "employer.id_number": "data.employer.idNo",
    "project_code": "data.projectCode",
    "worker_count": "data.workerCount",
    "amount_owed": "data.amountFen",
    "period_from": "data.periodFrom",
    "period_to": "data.periodTo",
    "content": "data.content",
}
CASE_FIELDS = {
    "source_ref": "data.caseNo",
    "case_no": "data.caseNo",
    "clue_nos": "data.clueNos",
    "status": "data.status",
    "status_at": "data.statusTime",
    "first_contact_at": "data.firstContactTime",
    "handler": "data.handler",
    "amount_recovered": "data.recoveredFen",
    "workers_paid": "data.paidWorkers",
    **WORKERS_FIELDS,
}
ORDER_FIELDS = {
    "source_ref": "data.orderNo",
    "order_no": "data.orderNo",
    "case_no": "data.caseNo",
    "employer_uscc": "data.creditCode",
    "employer_id_number": "data.employerIdNo",
    "amount": "data.amountFen",
    "issued_on": "data.issueDate",
    "due_on": "data.dueDate",
    "served_on": "data.serveDate",
    "complied": "data.complied",
}
TRANSFER_FIELDS = {
    "source_ref": "data.transferNo",
    "transfer_no": "data.transferNo",
    "case_no": "data.caseNo",
    "order_no": "data.orderNo",
    # (no native object for the employer: its two fields stand at the top of data)
    "employer.name": "data.employerName",
    "employer.uscc": "data.creditCode",
    "employer.id_number": "data.employerIdNo",
    "suspects": "data.suspects",
    "suspects[].name": "data.suspects[].name",
    "suspects[].id_number": "data.suspects[].idNo",
    "suspects[].role": "data.suspects[].role",
    "worker_count": "data.workerCount",
    "amount_owed": "data.amountFen",
    "evidence": "data.evidence",
    "transferred_on": "data.transferDate",
    "police_unit": "data.policeUnit",
    "summary": "data.summary",
    **WORKERS_FIELDS,
}
REQUEST_FIELDS = {
    "source_ref": "data.transferNo",
    "transfer_no": "data.transferNo",
    "requested_on": "data.requestDate",
    "reason": "data.reason",
}
EXTENSION_FIELDS = {
    "source_ref": "data.caseNo",
    "case_no": "data.caseNo",
    "approved_on": "data.approvedDate",
    "working_days": "data.workingDays",
    "reason": "data.reason",
}
PAYMENT_FIELDS = {
    "source_ref": "data.caseNo",
    "case_no": "data.caseNo",
    "transfer_no": "data.transferNo",
    "amount_paid": "data.paidFen",
    "paid_on": "data.paidDate",
    "workers_paid": "data.paidWorkers",
    "full": "data.full",
}
LISTING_FIELDS = {
    "source_ref": "data.listNo",
    "list_no": "data.listNo",
    "action": "data.action",
    "credit_code": "data.creditCode",
    "id_number": "data.employerIdNo",
    "name": "data.employerName",
    "persons": "data.persons",
    "persons[].name": "data.persons[].name",
    "persons[].id_number": "data.persons[].idNo",
    "persons[].role": "data.persons[].role",
    "basis": "data.basis",
    "decision_date": "data.decisionDate",
    "start_date": "data.startDate",
    "end_date": "data.endDate",
    "case_no": "data.caseNo",
}

# msgType -> (canonical record type, mapper); NOTICE is outbound only.
KINDS_IN = {
    "CLUE": ("clue", _clue),
    "CASE_STATUS": ("case", _case),
    "PAY_ORDER": ("payment_order", _order),
    "TRANSFER": ("criminal_transfer", _transfer),
    # format 1.2
    "RECONSIDER": ("reconsideration_request", _transfer_request),
    "SUPERVISE": ("supervision_request", _transfer_request),
    "EXTENSION": ("case_extension", _extension),
    "PAYMENT": ("wage_payment", _payment),
    "LISTING": ("credit_listing", _listing),
}
FIELDS = {"CLUE": CLUE_FIELDS, "CASE_STATUS": CASE_FIELDS, "PAY_ORDER": ORDER_FIELDS, "TRANSFER": TRANSFER_FIELDS,
          "RECONSIDER": REQUEST_FIELDS, "SUPERVISE": REQUEST_FIELDS, "EXTENSION": EXTENSION_FIELDS,
          "PAYMENT": PAYMENT_FIELDS, "LISTING": LISTING_FIELDS}
"""msgType -> its canonical field paths as hrss names them."""


def _decode(message: NativeMessage) -> Any:
    encoding = (message.content_encoding or "utf-8").strip().lower()
    body = bytes(message.body)
    # The format says UTF-8: a body that is UTF-8 is read so, whatever the transport claims
    # (UTF-8 Chinese read as GB18030 would be stored garbled). Only a body that is not UTF-8
    # is read as the GB18030 the transport declares.
    tries = [_UTF8] + ([_ENCODINGS[encoding]] if encoding in _ENCODINGS else [])
    for codec, name in tries:
        try:
            text = body.decode(codec)
            break
        except UnicodeDecodeError as exc:
            error = f"is not JSON: not valid {name} text at byte {exc.start}"
    else:
        raise InvalidMessage.of("body", "json", error, message.kind) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidMessage.of("body", "json", f"is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                                message.kind) from None
    except (ValueError, RecursionError):
        # Numbers beyond the interpreter's digit limit, nesting beyond its stack.
        raise InvalidMessage.of("body", "json", "is not JSON this reader can hold (too deep or too long a number)",
                                message.kind) from None


def parse(message: NativeMessage) -> list[Parsed]:
    """One hrss message as its single canonical record."""
    doc = _decode(message)
    if not isinstance(doc, dict):
        raise InvalidMessage.of(None, "type", "must be a JSON object", message.kind)
    envelope = _Obj(doc, "", message.kind)
    msg_type = envelope.text("msgType")
    if msg_type not in KINDS_IN:
        raise InvalidMessage.of("msgType", "enum", f"must be one of {', '.join(KINDS_IN)} (NOTICE is outbound only)",
                                None)
    envelope.kind = msg_type
    envelope.text("msgId", required=False)
    envelope.time("sendTime", required=False)
    data = envelope.obj("data")
    record_type, mapper = KINDS_IN[msg_type]
    source_ref, record = mapper(data)
    return [Parsed(type=record_type, record=_compact(record), source_ref=source_ref, kind=msg_type,
                   fields=FIELDS[msg_type])]
