"""union outbound: ``referral`` (转办, 1+X), a clue referred for mediation, as a workbook.

One sheet ``转办``, a header row and one row. The union receives no identity numbers:
the row is built from named fields only, and the complainant's mobile is written
masked (``138****0000``), masked again here if the route let a plain one through;
anything else in that field is left out.

Text cells are neutralised against formula injection (a leading apostrophe before
``=``, ``+``, ``-``, ``@``, tab or carriage return; openpyxl would otherwise even store
``=...`` as a formula); counts, amounts and dates are written as real numbers and
dates. The bytes are deterministic: document properties carry the delivery's time,
and every zip entry one fixed timestamp (openpyxl stamps the save time on both).
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import re
import zipfile
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from hub import Delivery, Rendered
from plugins.union import xlsx
from schemas.fields import BEIJING
from schemas.validators import mask_mobile

REFERRAL = "referral"
SHEET = "转办"
HEADER = ("线索编号", "受理日期", "所属区划", "单位名称", "统一社会信用代码", "涉及人数", "欠薪金额(元)", "联系电话(脱敏)")
WIDTHS = (22, 12, 10, 36, 22, 10, 16, 16)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MOBILE_RE = re.compile(r"^1\d{10}$", re.ASCII)
_MASKED_RE = re.compile(r"^1\d{2}\*{4}\d{4}$", re.ASCII)
_MODIFIED_RE = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def safe_text(value: Any) -> str | None:
    """Text for a cell, without the characters XML cannot hold (see :func:`as_text` for
    text that looks like a formula)."""
    if value is None:
        return None
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def as_text(cell) -> None:
    """Keep text that starts like a formula (``=``, ``+``, ``-``, ``@``) text, exactly as
    sent: a string cell with Excel's quote prefix (shown without it, and kept text when
    edited), so it is never evaluated and the union reads the value itself, with no
    apostrophe added."""
    if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True


def masked_mobile(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    if _MOBILE_RE.fullmatch(value):
        return mask_mobile(value)
    return value if _MASKED_RE.fullmatch(value) else None


def moment(value: Any) -> dt.datetime:
    """An ISO time (or date) in Beijing time; one without an offset is the hub's clock, UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.strip())
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(0), BEIJING)
    if not isinstance(value, dt.datetime):
        raise ValueError("expected an ISO date or time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(BEIJING)


def _number(value: Any) -> Any:
    """A count or an amount as a spreadsheet number when it is one, else as (safe) text."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        return safe_text(value)
    if not number.is_finite():
        return safe_text(value)
    if len(number.normalize().as_tuple().digits) > 15:
        # A spreadsheet number keeps 15 significant digits: 999999999999999.99 would read
        # back as 1000000000000000. Such an amount goes as text, exactly.
        return format(number, "f")
    return number


def render_referral(delivery: Delivery) -> Rendered:
    if delivery.kind.lower() != REFERRAL:
        raise ValueError(f"union writes referral only, not {delivery.kind!r}")
    record = delivery.record
    created = delivery.created_at or record.get("received_at")
    if not created:
        raise ValueError("a referral needs delivery.created_at: it dates the workbook")
    created_at = moment(created)
    employer = record.get("employer") or {}
    complainant = record.get("complainant") or {}
    clue_no = record.get("clue_no") or next(iter(delivery.refs.get("clue_no") or []), None)
    received_on = moment(record["received_at"]).date() if record.get("received_at") else None
    amount = _number(record.get("amount_owed"))
    row = (
        safe_text(clue_no),
        received_on,
        safe_text(record.get("region_code")),
        safe_text(employer.get("name")),
        safe_text(employer.get("uscc")),
        _number(record.get("worker_count")),
        amount.quantize(decimal.Decimal("0.01")) if isinstance(amount, decimal.Decimal) else amount,
        masked_mobile(complainant.get("mobile")),
    )

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET
    sheet.append(HEADER)
    sheet.append(row)
    for cell in sheet[2]:
        as_text(cell)
    sheet["B2"].number_format = "yyyy-mm-dd"
    sheet["G2"].number_format = "0.00"
    for column, width in zip("ABCDEFGH", WIDTHS):
        sheet.column_dimensions[column].width = width
    utc = created_at.astimezone(dt.UTC).replace(tzinfo=None)
    workbook.properties.creator = "wage-arrears-hub"
    workbook.properties.created = utc
    buf = io.BytesIO()
    workbook.save(buf)
    saved = buf.getvalue()

    # openpyxl sets "modified" to the save time and stamps every zip entry with it: fix both.
    body = xlsx.rewrite_zip(saved, _zip_time(created_at), replace={"docProps/core.xml": _fixed_core(saved, utc)})
    return Rendered(body=body, content_type=xlsx.XLSX_TYPE, content_encoding="binary")


def _zip_time(at: dt.datetime) -> tuple[int, int, int, int, int, int]:
    local = max(at.replace(tzinfo=None), dt.datetime(1980, 1, 1))  # zip times are local, from 1980
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


def _fixed_core(body: bytes, utc: dt.datetime) -> bytes:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        core = archive.read("docProps/core.xml")
    stamp = utc.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    fixed, count = _MODIFIED_RE.subn(lambda m: m[1] + stamp + m[2], core)
    if count != 1:
        raise ValueError("cannot fix the workbook's modified time: openpyxl wrote docProps/core.xml differently")
    return fixed
