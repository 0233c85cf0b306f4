"""court inbound: ``judgment`` and ``enforcement`` documents as canonical records.

One JSON document per message: it becomes one record, or the message is refused whole
with :class:`hub.InvalidMessage` naming the native path (``body.amount_ordered``) and
the rule, never a value. The plugin checks shape, types and formats of what it maps;
the canonical checks (credit-code check character, enums, criminal judgments naming
defendants) are the shared schema's, which the hub applies next.

Money must be a JSON **string** in yuan: a JSON number (``382848``, or ``1.1e400`` which
a float reader would take for infinity) is refused with rule ``decimal-string``. Numbers
are read as :class:`decimal.Decimal`, never as floats, so nothing is rounded on the way.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import re
from typing import Any

from hub import InvalidMessage, NativeMessage, Parsed
from schemas.fields import normalise_court_case_number

JUDGMENT = "judgment"
ENFORCEMENT = "enforcement"
KINDS_IN = (JUDGMENT, ENFORCEMENT)

_MONEY_RE = re.compile(r"^-?\d{1,15}(?:\.\d{1,2})?$", re.ASCII)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode(message: NativeMessage) -> Any:
    """The body as JSON: UTF-8 (a byte-order mark tolerated), numbers as Decimal."""
    try:
        text = bytes(message.body).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidMessage.of("body", "json", f"is not JSON: not valid UTF-8 text at byte {exc.start}", message.kind) from None
    try:
        return json.loads(text, parse_float=decimal.Decimal, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidMessage.of("body", "json", f"is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                                message.kind) from None
    except (ValueError, RecursionError):
        # NaN/Infinity, numbers beyond the interpreter's digit limit, nesting beyond its stack.
        raise InvalidMessage.of("body", "json", "is not JSON this reader can hold (NaN, too deep or too long a number)",
                                message.kind) from None


class _Obj:
    """One JSON object of a document, read field by field; errors carry the native path."""

    def __init__(self, data: Any, path: str, kind: str | None):
        if not isinstance(data, dict):
            raise InvalidMessage.of(path or None, "type", "must be a JSON object", kind)
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

    def text(self, name: str, required: bool = True) -> str | None:
        value = self._raw(name, required)
        if value is not None and not isinstance(value, str):
            raise InvalidMessage.of(self._p(name), "type", "must be a string", self.kind)
        return value

    def case_number(self, name: str, required: bool = True) -> str | None:
        """A court case number, half-width parentheses read as full-width ones."""
        value = self.text(name, required)
        return normalise_court_case_number(value) if value is not None else None

    def integer(self, name: str, required: bool = True) -> int | None:
        value = self._raw(name, required)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidMessage.of(self._p(name), "integer", "must be a whole number", self.kind)
        return value

    def money(self, name: str, required: bool = True) -> str | None:
        """Yuan as a decimal string with at most two places, returned with exactly two."""
        value = self._raw(name, required)
        if value is None:
            return None
        if not isinstance(value, str):
            raise InvalidMessage.of(self._p(name), "decimal-string",
                                    'must be yuan as a decimal string like "360000.00", not a JSON number', self.kind)
        text = value.strip()
        if not _MONEY_RE.fullmatch(text):
            raise InvalidMessage.of(self._p(name), "money-format", "must be yuan with at most two decimals", self.kind)
        if text.startswith("-"):
            raise InvalidMessage.of(self._p(name), "money-non-negative", "must not be negative", self.kind)
        return format(decimal.Decimal(text).quantize(decimal.Decimal("0.01")), "f")

    def date(self, name: str, required: bool = True) -> str | None:
        value = self.text(name, required)
        if value is None:
            return None
        try:
            if not _DATE_RE.fullmatch(value):
                raise ValueError
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise InvalidMessage.of(self._p(name), "date", "must be an ISO date YYYY-MM-DD", self.kind) from None

    def employer(self, *, required: bool) -> tuple[str | None, str | None]:
        """(credit code, identity number): a company or, format 1.2, an individual defendant
        employer (``employer_id_number`` beside ``employer_credit_code``), never both."""
        code = self.text("employer_credit_code", required=False)
        person = self.text("employer_id_number", required=False)
        if (code and person) or (required and not (code or person)):
            what = "are both given" if code else "are both missing"
            raise InvalidMessage.of(self._p("employer_credit_code"), "exactly-one",
                                    f"and {self._p('employer_id_number')} {what}: the employer is a company (credit code) "
                                    "or an individual (identity number), exactly one", self.kind)
        return code, person

    def objects(self, name: str) -> list[_Obj]:
        value = self._raw(name, False)
        if value is None:
            return []
        if not isinstance(value, list):
            raise InvalidMessage.of(self._p(name), "type", "must be a list", self.kind)
        return [_Obj(item, f"{self._p(name)}[{i}]", self.kind) for i, item in enumerate(value)]


def _judgment(body: _Obj) -> dict[str, Any]:
    uscc, id_number = body.employer(required=True)
    return {
        "case_number": body.case_number("case_number"),
        "court_code": body.text("court_code"),
        "procedure": body.text("procedure"),
        "transfer_no": body.text("transfer_no", required=False),
        "hrss_case_no": body.text("hrss_case_no", required=False),
        "employer_uscc": uscc,
        "employer_id_number": id_number,
        "defendants": [_compact({"name": d.text("name"), "id_number": d.text("id_number", required=False)})
                       for d in body.objects("defendants")],
        "verdict": body.text("verdict"),
        "sentence_months": body.integer("sentence_months", required=False),
        "amount_ordered": body.money("amount_ordered"),
        "decided_on": body.date("decided_on"),
    }


def _enforcement(body: _Obj) -> dict[str, Any]:
    case_number = body.case_number("case_number")
    if "执" not in case_number:
        raise InvalidMessage.of("body.case_number", "enforcement-case-number",
                                "must be an enforcement case number (执 in it)", ENFORCEMENT)
    uscc, id_number = body.employer(required=False)
    return {
        "case_number": case_number,
        "judgment_case_number": body.case_number("judgment_case_number"),
        "status": body.text("status"),
        "amount_paid": body.money("amount_paid"),
        "updated_on": body.date("updated_on"),
        "employer_uscc": uscc,
        "employer_id_number": id_number,
    }


# doc_type -> (canonical record type, mapper); referral is outbound only.
MAPPERS = {JUDGMENT: ("court_judgment", _judgment), ENFORCEMENT: ("court_enforcement", _enforcement)}

# Canonical field paths as the court names them (``Parsed.fields``), so that a refusal by
# the shared schema names the field the court sends. ``defendants`` is a list: its items'
# fields are mapped with ``[]``, which the item's index fills (``body.defendants[0].id_number``).
# ``source_ref`` is the case number.
JUDGMENT_FIELDS = {
    "source_ref": "body.case_number",
    "case_number": "body.case_number",
    "court_code": "body.court_code",
    "procedure": "body.procedure",
    "transfer_no": "body.transfer_no",
    "hrss_case_no": "body.hrss_case_no",
    "employer_uscc": "body.employer_credit_code",
    "employer_id_number": "body.employer_id_number",
    "defendants": "body.defendants",
    "defendants[].name": "body.defendants[].name",
    "defendants[].id_number": "body.defendants[].id_number",
    "verdict": "body.verdict",
    "sentence_months": "body.sentence_months",
    "amount_ordered": "body.amount_ordered",
    "decided_on": "body.decided_on",
}
ENFORCEMENT_FIELDS = {
    "source_ref": "body.case_number",
    "case_number": "body.case_number",
    "judgment_case_number": "body.judgment_case_number",
    "status": "body.status",
    "amount_paid": "body.amount_paid",
    "updated_on": "body.updated_on",
    "employer_uscc": "body.employer_credit_code",
    "employer_id_number": "body.employer_id_number",
}
FIELDS = {JUDGMENT: JUDGMENT_FIELDS, ENFORCEMENT: ENFORCEMENT_FIELDS}
"""doc_type -> its canonical field paths as the court names them."""


def _compact(record: dict[str, Any]) -> dict[str, Any]:
    """Leave out absent optional fields: the schema fills its own defaults."""
    return {k: v for k, v in record.items() if v is not None}


def parse(message: NativeMessage) -> list[Parsed]:
    """One court document as its single canonical record."""
    doc = _Obj(decode(message), "", message.kind)
    doc_type = doc._raw("doc_type", True)
    if not isinstance(doc_type, str) or doc_type not in MAPPERS:
        raise InvalidMessage.of("doc_type", "enum", f"must be one of {', '.join(KINDS_IN)} (referral is outbound only)", None)
    doc.kind = doc_type
    doc.text("doc_id", required=False)
    doc.text("issued_at", required=False)
    record_type, mapper = MAPPERS[doc_type]
    record = _compact(mapper(_Obj(doc._raw("body", True), "body", doc_type)))
    return [Parsed(type=record_type, record=record, source_ref=record["case_number"], kind=doc_type,
                   raw=message.body, fields=FIELDS[doc_type])]
