"""union inbound: the mediation ledger (调解台账), an XLSX workbook, as ``mediation_result`` records.

The body is checked before any parser sees it (:func:`plugins.union.xlsx.check_archive`:
size limit, zip package, zip bomb), then read with openpyxl in read-only mode, values
only (``data_only``: a formula is never evaluated, its cached value is read). The first
sheet is read; its first row is the header, found by column name, so the columns may
come in any order and unknown ones are ignored. Rows are streamed: each yields a
:class:`hub.Parsed` or, when a cell cannot be read, a :class:`hub.Rejected` naming the
column and rule; the rest of the batch goes on. Empty rows are skipped.

``row`` is the 1-based number of the data row (the header is not counted; empty rows
are), as for housing; the reason also gives the sheet row an operator sees in a
spreadsheet program (``row 3 (sheet row 4)``). ``raw`` is a workbook of the header and
that row alone, with the cells as read (numbers, dates, text), so it can be replayed.

Cells: a date is a real spreadsheet date or text ``yyyy-MM-dd`` (also ``yyyy/M/d``); an
amount is a number or text, yuan, never negative, with at most two decimals. A number
cell is a binary float, read through its shortest repr (``Decimal(str(value))``:
``12345.6`` is 12345.60); when that has more than two decimals, it is read as a
spreadsheet shows it, at 15 significant digits, so the binary noise of a computed cell
(``191424.00000000003``) goes, while ``0.125`` or ``1/3`` are refused. A count is a whole number (``24.0`` is 24, ``24.5``
is refused). Only the conversions are checked here; the canonical rules (credit-code
check character, at least one worker, an agreed amount when agreed) are the shared
schema's, which the hub applies next.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import math
import re
from collections.abc import Iterator
from typing import Any

import openpyxl
from openpyxl.cell.cell import ERROR_CODES

from hub import InvalidMessage, NativeMessage, Parsed, Rejected
from plugins.union import xlsx

MEDIATION = "mediation"
KINDS_IN = (MEDIATION,)

# column -> required
COLUMNS = {
    "调解编号": True, "线索编号": False, "案件编号": False, "调解日期": True, "单位名称": True,
    "统一社会信用代码": False, "涉及人数": True, "争议金额(元)": True, "调解结果": True,
    "约定支付金额(元)": False, "已支付金额(元)": False, "约定支付期限": False, "调解员": False,
}
OUTCOMES = {"成功": "agreed", "部分成功": "partial", "失败": "failed"}

# canonical field path -> the column it is read from, spelt as the row refusals name it
# (``Parsed.fields``): a refusal by the shared schema then names the column the office knows.
FIELDS = {
    "source_ref": "调解编号", "mediation_no": "调解编号", "clue_no": "线索编号", "case_no": "案件编号",
    "mediated_on": "调解日期", "employer.name": "单位名称", "employer.uscc": "统一社会信用代码",
    "worker_count": "涉及人数", "amount_disputed": "争议金额(元)", "outcome": "调解结果",
    "amount_agreed": "约定支付金额(元)", "amount_paid": "已支付金额(元)", "pay_by": "约定支付期限",
    "mediator": "调解员",
}

_TEXT_MONEY_RE = re.compile(r"^\d{1,15}(?:\.\d{1,2})?$", re.ASCII)
_TEXT_INT_RE = re.compile(r"^\d{1,9}(?:\.0*)?$", re.ASCII)
_DATE_RE = re.compile(r"^(\d{4})([-/])(\d{1,2})\2(\d{1,2})$", re.ASCII)
_TWO = decimal.Decimal("0.01")
_MAX_MONEY = decimal.Decimal(10) ** 15



class RowError(ValueError):
    """One cell of one row breaks a rule; becomes a :class:`hub.Rejected`."""

    def __init__(self, column: str, rule: str, what: str):
        super().__init__(f"column {column} {what} (rule: {rule})")
        self.column = column
        self.rule = rule


# -- cells -------------------------------------------------------------------------------------

def text(column: str, value: Any, required: bool = False) -> str | None:
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)  # an id typed into a number cell: 880.0 is "880"
    if isinstance(value, (dt.datetime, dt.date)):
        value = value.isoformat()
    result = str(value).strip() if value is not None else ""
    if not result:
        if required:
            raise RowError(column, "required", "is required but empty")
        return None
    return result


def date(column: str, value: Any, required: bool = False) -> str | None:
    """A date cell, or text ``yyyy-MM-dd`` / ``yyyy/M/d``, as ISO ``YYYY-MM-DD``."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        if value.year < 1900:  # a serial of 0 or below: a spreadsheet shows ##### for it, no date
            raise RowError(column, "date", "must be a date (a date cell or text yyyy-MM-dd)")
        return value.isoformat()
    if isinstance(value, str) and (stripped := value.strip()):
        m = _DATE_RE.fullmatch(stripped)
        try:
            if not m:
                raise ValueError
            return dt.date(int(m[1]), int(m[3]), int(m[4])).isoformat()
        except ValueError:
            pass
    elif value is None or isinstance(value, str):
        if required:
            raise RowError(column, "required", "is required but empty")
        return None
    raise RowError(column, "date", "must be a date (a date cell or text yyyy-MM-dd)")


def integer(column: str, value: Any, required: bool = False) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(column, "required", "is required but empty")
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _TEXT_INT_RE.fullmatch(value.strip()):
        return int(value.strip().split(".")[0])
    raise RowError(column, "integer", "must be a whole number")


def money(column: str, value: Any, required: bool = False) -> str | None:
    """Yuan from a number or text cell, exactly, as a string with two places."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(column, "required", "is required but empty")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RowError(column, "money-format", "must be an amount in yuan")
    if isinstance(value, str):
        stripped = value.strip()
        if not _TEXT_MONEY_RE.fullmatch(stripped):
            if stripped.startswith("-") and _TEXT_MONEY_RE.fullmatch(stripped[1:]):
                raise RowError(column, "money-non-negative", "must not be negative")
            raise RowError(column, "money-format", "must be yuan with at most two decimals, like 12345.6")
        amount = decimal.Decimal(stripped)
    else:
        if isinstance(value, float) and not math.isfinite(value):
            raise RowError(column, "money-format", "must be a finite amount")
        amount = decimal.Decimal(str(value))
        if amount < 0:
            raise RowError(column, "money-non-negative", "must not be negative")
        if amount >= _MAX_MONEY:
            raise RowError(column, "money-format", "must be less than 10^15 yuan")
        if isinstance(value, float) and amount != amount.quantize(_TWO):
            # Binary noise of a computed cell? Read it at the 15 significant digits a spreadsheet shows.
            shown = decimal.Decimal(format(value, ".15g"))
            if shown == shown.quantize(_TWO):
                amount = shown
        if amount != amount.quantize(_TWO):
            raise RowError(column, "money-format", "must have at most two decimals")
    return format(amount.quantize(_TWO), "f")


def choice(column: str, value: Any, table: dict[str, str]) -> str:
    key = text(column, value, required=True)
    if key not in table:
        raise RowError(column, "enum", f"must be one of {', '.join(table)}")
    return table[key]


# -- rows --------------------------------------------------------------------------------------

def mediation_record(cell) -> dict[str, Any]:
    """One ledger row (``cell(column)`` gives its value) as a canonical mediation_result."""
    employer = {"name": text("单位名称", cell("单位名称"), required=True),
                "uscc": text("统一社会信用代码", cell("统一社会信用代码"))}
    record = {
        "mediation_no": text("调解编号", cell("调解编号"), required=True),
        "clue_no": text("线索编号", cell("线索编号")),
        "case_no": text("案件编号", cell("案件编号")),
        "mediated_on": date("调解日期", cell("调解日期"), required=True),
        "employer": {k: v for k, v in employer.items() if v is not None},
        "worker_count": integer("涉及人数", cell("涉及人数"), required=True),
        "amount_disputed": money("争议金额(元)", cell("争议金额(元)"), required=True),
        "outcome": choice("调解结果", cell("调解结果"), OUTCOMES),
        "amount_agreed": money("约定支付金额(元)", cell("约定支付金额(元)")),
        "amount_paid": money("已支付金额(元)", cell("已支付金额(元)")),
        "pay_by": date("约定支付期限", cell("约定支付期限")),
        "mediator": text("调解员", cell("调解员")),
    }
    # Absent optional fields are left out: the schema fills its own defaults.
    return {k: v for k, v in record.items() if v is not None}


# What a spreadsheet shows for a formula that failed (a cell of type "e"): openpyxl's
# codes, and those newer Excel writes (dynamic arrays, data types).
ERROR_VALUES = frozenset(ERROR_CODES) | {"#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!",
                                         "#BUSY!", "#UNKNOWN!"}

# Built-in number formats Excel and WPS use for dates in Chinese (and other East Asian)
# locales (yyyy"年"m"月"d"日" is 31): styles.xml does not define them, and openpyxl knows
# only the locale-independent ones, so it would hand their dates over as serial numbers.
LOCALE_DATE_FORMAT_IDS = frozenset(range(27, 37)) | frozenset(range(50, 59))


def _read_locale_dates(workbook) -> None:
    """Have openpyxl read cells in the locale date formats as dates, as Excel shows them."""
    styles = getattr(workbook, "_cell_styles", None) or []
    dates = getattr(workbook, "_date_formats", None)
    if dates is None:
        return
    for i, style in enumerate(styles):
        if getattr(style, "numFmtId", None) in LOCALE_DATE_FORMAT_IDS:
            dates.add(i)


def normalise_column(name: Any) -> str:
    return "" if name is None else str(name).strip().replace("（", "(").replace("）", ")")


def _blank(values: tuple) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def parse(message: NativeMessage, settings: dict[str, Any]) -> Iterator[Parsed | Rejected]:
    """Check the package and the header now; return a generator over the rows."""
    limits = xlsx.Limits.from_settings(settings)
    deadline = limits.deadline(MEDIATION)
    scan = xlsx.check_archive(message.body, limits=limits, kind=MEDIATION, deadline=deadline)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(message.body), read_only=True, data_only=True)
        _read_locale_dates(workbook)
        sheet = workbook.worksheets[0]
        # The sheet's <dimension> is a hint some exporters get wrong: read every row there is,
        # as wide as its cells go (never padded further: the guard found how far that is).
        sheet.reset_dimensions()
        rows = sheet.iter_rows(values_only=True, max_col=scan.columns or None)
        header = next(rows, None)
    except Exception as exc:  # openpyxl raises many types on damaged packages; none is a plugin bug
        raise InvalidMessage.of("body", "xlsx", f"is not an XLSX workbook openpyxl can read ({type(exc).__name__})",
                                MEDIATION) from exc
    if header is None or _blank(header):
        workbook.close()
        raise InvalidMessage.of("header", "header", "is missing: the first row of the first sheet names the columns",
                                MEDIATION)
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        column = normalise_column(name)
        if column in index and column in COLUMNS:  # which one would be meant? (unknown ones are ignored)
            workbook.close()
            raise InvalidMessage.of(column, "duplicate-column", "appears twice in the header row", MEDIATION)
        if column and column not in index:
            index[column] = i
    for column, required in COLUMNS.items():
        if required and column not in index:
            workbook.close()
            raise InvalidMessage.of(column, "required-column", "is a required column, missing from the header row",
                                    MEDIATION)
    return _rows(workbook, sheet.title, rows, header, index, deadline)


def _rows(workbook, title: str, rows: Iterator[tuple], header: tuple, index: dict[str, int],
          deadline: xlsx.workbook.Deadline) -> Iterator[Parsed | Rejected]:
    width = len(header)
    n = 0
    try:
        while True:
            try:
                values = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # a damaged sheet part past the header
                raise InvalidMessage.of("body", "xlsx", f"cannot be read past data row {n} ({type(exc).__name__})",
                                        MEDIATION) from exc
            n += 1
            deadline.check()
            if _blank(values):
                continue

            def cell(column: str, values=values) -> Any:
                i = index.get(column)
                value = values[i] if i is not None and i < len(values) else None
                if isinstance(value, str) and value in ERROR_VALUES:  # a formula's error, cached
                    raise RowError(column, "cell-error", f"holds the spreadsheet error {value}, not a value")
                return value

            raw = xlsx.one_row_workbook(header, values[:width], title)
            try:
                record = mediation_record(cell)
            except RowError as err:
                yield Rejected(reason=f"row {n} (sheet row {n + 1}): {err}", kind=MEDIATION, field=err.column,
                               rule=err.rule, row=n, raw=raw)
                continue
            yield Parsed(type="mediation_result", record=record, source_ref=record["mediation_no"],
                         kind=MEDIATION, row=n, raw=raw, fields=FIELDS)
    finally:
        workbook.close()
