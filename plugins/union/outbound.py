"""union outbound: ``referral`` (转办, 1+X), a clue referred for mediation, as a workbook.

One sheet ``转办``, a header row and one row. The union receives no identity numbers:
the row is built from named fields only, and the complainant's mobile is written
masked (``138****0000``), masked again here if the route let a plain one through;
anything else in that field is left out.

Text cells are string cells, never formulas; text that starts like one (``=``, ``+``,
``-``, ``@``, tab or carriage return) also carries Excel's quote prefix, so it stays text
when edited. Counts, amounts and dates are written as real numbers and dates.

The workbook is a fixed template whose sheet XML is filled in, zipped uncompressed with
every entry dated the delivery's time (Beijing), and the document properties carry that
time too: the same delivery always gives the same bytes. It takes tens of µs; openpyxl
took about 6 ms, a ceiling of ~150 referrals/s on a relay thread (``bench/union_referral.py``
measures the writers side by side).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any

from openpyxl.utils.datetime import to_excel

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


def safe_text(value: Any) -> str | None:
    """Text for a cell (what XML cannot carry is left out when it is written)."""
    return None if value is None else str(value)


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


def referral_row(delivery: Delivery) -> tuple[dt.datetime, tuple]:
    """The delivery's time (Beijing) and the row's cells: text, a date, numbers, or None."""
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
    return created_at, (
        safe_text(clue_no),
        received_on,
        safe_text(record.get("region_code")),
        safe_text(employer.get("name")),
        safe_text(employer.get("uscc")),
        _number(record.get("worker_count")),
        amount.quantize(decimal.Decimal("0.01")) if isinstance(amount, decimal.Decimal) else amount,
        masked_mobile(complainant.get("mobile")),
    )


def render_referral(delivery: Delivery) -> Rendered:
    created_at, row = referral_row(delivery)
    return Rendered(body=workbook(row, created_at), content_type=xlsx.XLSX_TYPE, content_encoding="binary")


def workbook(row: tuple, created_at: dt.datetime) -> bytes:
    """The referral workbook of ``row`` (see :func:`referral_row`), dated ``created_at``."""
    cells = "".join(_cell(ref, value, style) for ref, value, style in zip(_ROW2, row, _STYLES))
    sheet = f'{_SHEET_HEAD}<row r="2">{cells}</row></sheetData></worksheet>'.encode()
    stamp = created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    core = _CORE.format(stamp=stamp).encode()
    parts = (*_FIXED_PARTS, xlsx.part("docProps/core.xml", core), xlsx.part("xl/worksheets/sheet1.xml", sheet))
    local = created_at.replace(tzinfo=None)  # zip times are local: Beijing's
    return xlsx.stored_zip(parts, (local.year, local.month, local.day, local.hour, local.minute, local.second))


def _cell(ref: str, value: Any, style: int) -> str:
    """One cell of the row: a number, a date, or text (quote-prefixed when it starts like a formula)."""
    if isinstance(value, str):
        value = xlsx.XML_ILLEGAL.sub("", value)
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return xlsx.text_cell(ref, value, style + 1 if value.startswith(_FORMULA_START) else style)
    if isinstance(value, dt.date):
        return f'<c r="{ref}" s="{style}"><v>{to_excel(value)}</v></c>'
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s}><v>{value}</v></c>'


# -- the template ----------------------------------------------------------------------------------
# Cell styles (cellXfs): 0 general, 2 date, 4 amount (0.00, built-in format 2), each followed by
# itself quote-prefixed: a text cell that starts like a formula takes its column's style + 1 (an
# amount past 15 digits goes as text).
_ROW2 = tuple(f"{c}2" for c in "ABCDEFGH")
_STYLES = (0, 2, 0, 0, 0, 0, 4, 0)
_STYLESHEET = xlsx.stylesheet(tuple(
    f'<xf numFmtId="{fmt}" fontId="0" fillId="0" borderId="0" xfId="0"{applied}{prefix}/>'
    for fmt, applied in (("0", ""), ("164", ' applyNumberFormat="1"'), ("2", ' applyNumberFormat="1"'))
    for prefix in ("", ' quotePrefix="1"')))
_WORKBOOK = (xlsx.HEAD + f'<workbook xmlns="{xlsx.NS}" xmlns:r="{xlsx.REL_NS}"><sheets>'
             f'<sheet name="{SHEET}" sheetId="1" r:id="rId1"/></sheets></workbook>').encode()
_CORE = (
    xlsx.HEAD + '<cp:coreProperties '
    'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>wage-arrears-hub</dc:creator>'
    '<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
    '<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>')
_SHEET_HEAD = (
    xlsx.HEAD + f'<worksheet xmlns="{xlsx.NS}"><dimension ref="A1:H2"/><cols>'
    + "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(WIDTHS, 1))
    + '</cols><sheetData><row r="1">'
    + "".join(xlsx.text_cell(f"{c}1", h) for c, h in zip("ABCDEFGH", HEADER)) + "</row>")
_FIXED_PARTS = (
    xlsx.part("[Content_Types].xml", xlsx.content_types(("docProps/core.xml", xlsx.CORE_TYPE))),
    xlsx.part("_rels/.rels", xlsx.package_rels((xlsx.CORE_REL, "docProps/core.xml"))),
    xlsx.part("xl/workbook.xml", _WORKBOOK), xlsx.part("xl/_rels/workbook.xml.rels", xlsx.WORKBOOK_RELS),
    xlsx.part("xl/styles.xml", _STYLESHEET))
