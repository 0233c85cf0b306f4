"""housing inbound: CSV batches of projects (``PROJECT``) and payroll (``PAYROLL``).

A batch is read as a stream: the csv reader runs over a text wrapper on the body, and
nothing is kept per row. ``PROJECT`` rows become ``project`` records one by one.
``PAYROLL`` has no canonical record of its own: each row is checked here, and the
good rows are only summed per project and month (so memory grows with the number of
project-months that have a shortfall, not with the rows); at the end one
``payroll_shortfall`` is yielded per project and month where someone was paid less
than due.

Whole-message problems (encoding, header, kind) raise :class:`hub.InvalidMessage`
before anything is yielded; a bad row yields :class:`hub.Rejected` and the batch goes
on. ``row`` is the 1-based number of the data record: the header is not counted, blank
lines are (so without quoted line breaks, row ``n`` is line ``n + 1`` of the file).
Reasons name the column and rule, never a value: identity numbers are personal data.

Lenient on purpose, where the format page leaves room:

- dates ``yyyy-MM-dd`` or ``yyyy/M/d`` (one or two digits for month and day, either
  separator, used consistently); months ``yyyy-MM``, also ``yyyy-M`` and ``yyyy/M``;
- column names are trimmed and full-width parentheses read as half-width
  (``应发工资（元）``); columns the format does not know are ignored;
- a row with fewer cells than the header has its missing trailing cells read as empty
  (the required-cell rule then names the column); extra cells must be empty;
- a declared ``gbk``/``gb2312`` is read as GB18030 (its superset); a UTF-8 byte-order
  mark wins over the declared encoding.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import decimal
import hashlib
import io
import re
from collections.abc import Iterable, Iterator

from hub import InvalidMessage, NativeMessage, Parsed, Rejected
from schemas.validators import check_id_number, id_hash

PROJECT = "PROJECT"
PAYROLL = "PAYROLL"
ANSWER = "ANSWER"
ROSTER = "ROSTER"
CONTRACT = "CONTRACT"
KINDS_IN = (PROJECT, PAYROLL, ANSWER, ROSTER, CONTRACT)

# column -> required
PROJECT_COLUMNS = {
    "项目编号": True, "项目名称": True, "所属区划": True, "建设单位统一社会信用代码": True,
    "总包单位统一社会信用代码": True, "总包单位名称": True, "开工日期": True, "专用账户": True,
    "工资保证金(元)": True, "实名制": True, "状态": True,
}
PAYROLL_COLUMNS = {
    "项目编号": True, "工人姓名": True, "身份证号": True, "所属月份": True, "出勤天数": True,
    "应发工资(元)": True, "实发工资(元)": True, "发放日期": False, "发放方式": False,
}
# 交办回复 (format 1.2): the page lists the columns without saying which are required; an
# answer names its assignment, its date and its result, the amount and note may be empty.
ANSWER_COLUMNS = {"交办编号": True, "答复日期": True, "处理结果": True, "已支付金额(元)": False, "备注": False}
# 实名制进退场 and 电子劳动合同 (format 1.2): 退场日期 is empty while the worker is on site;
# the page marks no column optional, the hub reads 班组, 工种, 劳务企业 and 终止日期 as optional.
ROSTER_COLUMNS = {"项目编号": True, "工人姓名": True, "身份证号": True, "班组": False, "工种": False, "进场日期": True,
                  "退场日期": False, "劳务企业统一社会信用代码": False}
CONTRACT_COLUMNS = {"合同编号": True, "项目编号": True, "身份证号": True, "工人姓名": True, "用工单位统一社会信用代码": True,
                    "签订日期": True, "计薪方式": True, "工资标准(元)": True, "终止日期": False}
COLUMNS = {PROJECT: PROJECT_COLUMNS, PAYROLL: PAYROLL_COLUMNS, ANSWER: ANSWER_COLUMNS, ROSTER: ROSTER_COLUMNS,
           CONTRACT: CONTRACT_COLUMNS}

# canonical field path -> the column it is read from, spelt as the row refusals name it
# (``Parsed.fields``): a refusal by the shared schema then names the column the agency knows.
PROJECT_FIELDS = {
    "source_ref": "项目编号", "project_code": "项目编号", "name": "项目名称", "region_code": "所属区划",
    "builder_uscc": "建设单位统一社会信用代码", "contractor.name": "总包单位名称",
    "contractor.uscc": "总包单位统一社会信用代码", "started_on": "开工日期", "special_account": "专用账户",
    "wage_deposit": "工资保证金(元)", "real_name": "实名制", "status": "状态",
}
# payroll_shortfall: its totals (worker_count, amount_*) and source_ref (project/month) are
# derived from many rows, no one column: left out.
PAYROLL_FIELDS = {"project_code": "项目编号", "month": "所属月份"}
# payroll_month (format 1.2): a project's rows of one month, read by the early-warning rules;
# each row is checked here, cell by cell, before it joins the month
PAYROLL_MONTH_FIELDS = PAYROLL_FIELDS
ROSTER_FIELDS = {"project_code": "项目编号", "worker.name": "工人姓名", "worker.id_number": "身份证号", "team": "班组",
                 "trade": "工种", "entered_on": "进场日期", "left_on": "退场日期",
                 "subcontractor_uscc": "劳务企业统一社会信用代码"}
CONTRACT_FIELDS = {"source_ref": "合同编号", "contract_no": "合同编号", "project_code": "项目编号",
                   "worker.id_number": "身份证号", "worker.name": "工人姓名", "employer_uscc": "用工单位统一社会信用代码",
                   "signed_on": "签订日期", "pay_basis": "计薪方式", "wage_rate": "工资标准(元)", "ends_on": "终止日期"}
ANSWER_FIELDS = {"source_ref": "交办编号", "assignment_no": "交办编号", "answered_on": "答复日期", "result": "处理结果",
                 "amount_paid": "已支付金额(元)", "note": "备注"}
FIELDS = {PROJECT: PROJECT_FIELDS, PAYROLL: PAYROLL_FIELDS, ANSWER: ANSWER_FIELDS, ROSTER: ROSTER_FIELDS,
          CONTRACT: CONTRACT_FIELDS}

YES_NO = {"是": True, "否": False}
PROJECT_STATUSES = {"在建": "under_construction", "停工": "halted", "竣工": "completed"}
PAY_METHODS = {"专户代发": "special_account", "银行代发": "bank", "现金": "cash"}
PAY_BASES = {"月": "monthly", "日": "daily", "件": "piece"}
ANSWER_RESULTS = {"已解决": "resolved", "处理中": "in_progress", "不属实": "unsubstantiated"}
_ASSIGNMENT_MAX = 200  # the hub's own message ids (the ASSIGNMENT's 交办编号) are at most 200 characters

_ENCODINGS = {
    "utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig", "utf8-sig": "utf-8-sig",
    "gb18030": "gb18030", "gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030",
}
_MONEY_RE = re.compile(r"^\d{1,15}(?:\.\d{1,2})?$", re.ASCII)
_DATE_RE = re.compile(r"^(\d{4})([-/])(\d{1,2})\2(\d{1,2})$", re.ASCII)
_MONTH_RE = re.compile(r"^(\d{4})[-/](\d{1,2})$", re.ASCII)
_DAYS_RE = re.compile(r"^\d{1,2}$", re.ASCII)
_CODE_MAX = 64  # canonical identifiers (project_code, source_ref) are at most 64 characters
_CHUNK = 1 << 16

# csv's default cell limit (131,072 characters) would make one long cell refuse the whole
# batch, though the spec has one bad row never drop it. A body is at most api.max_body bytes
# anyway: read any cell, and let the row's own checks judge it.
csv.field_size_limit(2**31 - 1)


class RowError(ValueError):
    """One cell of one row breaks a rule; becomes a :class:`hub.Rejected`."""

    def __init__(self, column: str | None, rule: str, what: str):
        super().__init__(f"{'column ' + column if column else 'the row'} {what} (rule: {rule})")
        self.column = column
        self.rule = rule


# -- encoding, header, kind ------------------------------------------------------------------

def detect_encoding(message: NativeMessage) -> str:
    """The codec to read the body with: the declared one, else guessed (BOM, UTF-8, GB18030)."""
    body = message.body
    if body.startswith(codecs.BOM_UTF8):
        _check_decodes(body, "utf-8-sig", message.kind)
        return "utf-8-sig"
    declared = (message.content_encoding or "").strip().lower()
    if declared and declared != "binary":  # kombu's default for bytes bodies says nothing
        encoding = _ENCODINGS.get(declared)
        if encoding is None:
            raise InvalidMessage.of("content_encoding", "encoding", "must be utf-8-sig, gb18030 or utf-8 for a CSV batch",
                                    message.kind)
        _check_decodes(body, encoding, message.kind)
        return encoding
    try:
        _check_decodes(body, "utf-8", message.kind)
        return "utf-8"
    except InvalidMessage:
        pass
    try:
        _check_decodes(body, "gb18030", message.kind)
    except InvalidMessage:
        raise InvalidMessage.of("body", "encoding", "is neither UTF-8 nor GB18030 text", message.kind) from None
    return "gb18030"


def _check_decodes(body: bytes, encoding: str, kind: str | None) -> None:
    """Decode the whole body once, chunk by chunk, keeping nothing: refuse it before any row."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    view = memoryview(body)
    start = 0
    try:
        for start in range(0, len(view), _CHUNK):
            decoder.decode(view[start:start + _CHUNK], final=False)
        start = len(view)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise InvalidMessage.of("body", "encoding", f"is not valid {encoding} text (near byte {start + exc.start})",
                                kind) from None


def normalise_column(name: str) -> str:
    return name.replace("\ufeff", "").strip().replace("（", "(").replace("）", ")")


def resolve_kind(declared: str | None, columns: dict[str, int]) -> str:
    """The batch kind: ``x-wagehub-kind`` when set, else recognised from the header row."""
    if declared:
        kind = declared.strip().upper()
        if kind not in COLUMNS:
            raise InvalidMessage.of("x-wagehub-kind", "enum", f"must be one of {', '.join(KINDS_IN)}", None)
    else:
        complete = [k for k in KINDS_IN if all(c in columns for c, req in COLUMNS[k].items() if req)]
        if len(complete) != 1:
            # Name what is missing from the kind the header looks most like.
            kind = max(KINDS_IN, key=lambda k: sum(c in columns for c in COLUMNS[k]))
            missing = [c for c, req in COLUMNS[kind].items() if req and c not in columns]
            raise InvalidMessage.of("header", "kind", f"is not a {', '.join(KINDS_IN)} header row (closest: "
                                    f"{kind}, missing {', '.join(missing) or 'nothing'}); set x-wagehub-kind", None)
        kind = complete[0]
    for column, required in COLUMNS[kind].items():
        if required and column not in columns:
            raise InvalidMessage.of(column, "required-column", "is a required column, missing from the header row", kind)
    return kind


# -- cells ------------------------------------------------------------------------------------

def money(column: str, value: str) -> decimal.Decimal:
    """Yuan as text (``12345.6``, ``800``), at most two decimals, not negative."""
    if not _MONEY_RE.fullmatch(value):
        if value.startswith("-") and _MONEY_RE.fullmatch(value[1:]):
            raise RowError(column, "money-non-negative", "must not be negative")
        raise RowError(column, "money-format", "must be yuan with at most two decimals, like 12345.6")
    return decimal.Decimal(value)


def yuan(amount: decimal.Decimal) -> str:
    return format(amount.quantize(decimal.Decimal("0.01")), "f")


def date(column: str, value: str) -> str:
    """``yyyy-MM-dd`` or ``yyyy/M/d`` as ISO ``YYYY-MM-DD``."""
    m = _DATE_RE.fullmatch(value)
    try:
        if not m:
            raise ValueError
        return dt.date(int(m[1]), int(m[3]), int(m[4])).isoformat()
    except ValueError:
        raise RowError(column, "date", "must be a date yyyy-MM-dd or yyyy/M/d") from None


def month(column: str, value: str) -> str:
    """``yyyy-MM`` (also ``yyyy-M``, ``yyyy/M``) as ``YYYY-MM``."""
    m = _MONTH_RE.fullmatch(value)
    if not m or not 1 <= int(m[2]) <= 12:
        raise RowError(column, "month-format", "must be a month yyyy-MM")
    return f"{m[1]}-{int(m[2]):02d}"


def code(column: str, value: str) -> str:
    if len(value) > _CODE_MAX:
        raise RowError(column, "length", f"must be at most {_CODE_MAX} characters")
    return value


def choice(column: str, value: str, table) -> object:
    if value not in table:
        raise RowError(column, "enum", f"must be one of {', '.join(table)}")
    return table[value] if isinstance(table, dict) else value


# -- rows -------------------------------------------------------------------------------------

class _Row:
    """One data record of a batch, its cells trimmed and keyed by column name."""

    __slots__ = ("cells",)

    def __init__(self, fields: list[str], index: dict[str, int], width: int):
        n = len(fields)
        if n > width and any(f.strip() for f in fields[width:]):
            raise RowError(None, "column-count", f"has {n} cells, the header only {width}")
        self.cells = {column: fields[i].strip() if i < n else "" for column, i in index.items()}

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def required(self, column: str) -> str:
        value = self.cells.get(column)
        if not value:
            raise RowError(column, "required", "is required but empty")
        return value


def project_record(row: _Row) -> dict:
    return {
        "project_code": code("项目编号", row.required("项目编号")),
        "name": row.required("项目名称"),
        "region_code": row.required("所属区划"),
        "builder_uscc": row.required("建设单位统一社会信用代码"),
        "contractor": {"name": row.required("总包单位名称"), "uscc": row.required("总包单位统一社会信用代码")},
        "started_on": date("开工日期", row.required("开工日期")),
        "special_account": choice("专用账户", row.required("专用账户"), YES_NO),
        "wage_deposit": yuan(money("工资保证金(元)", row.required("工资保证金(元)"))),
        "real_name": choice("实名制", row.required("实名制"), YES_NO),
        "status": choice("状态", row.required("状态"), PROJECT_STATUSES),
    }


def answer_record(row: _Row) -> dict:
    """An ANSWER row (交办回复) as an ``assignment_answer``."""
    paid = row.get("已支付金额(元)")
    assignment = row.required("交办编号")
    if len(assignment) > _ASSIGNMENT_MAX:
        raise RowError("交办编号", "length", f"must be at most {_ASSIGNMENT_MAX} characters")
    return {
        "assignment_no": assignment,
        "answered_on": date("答复日期", row.required("答复日期")),
        "result": choice("处理结果", row.required("处理结果"), ANSWER_RESULTS),
        "amount_paid": yuan(money("已支付金额(元)", paid)) if paid else None,
        "note": row.get("备注") or None,
    }


def checked_id(row: _Row) -> str:
    value = row.required("身份证号")
    try:
        return check_id_number(value)
    except ValueError as exc:  # the message names the rule, never the number
        raise RowError("身份证号", "id-number-gb11643", str(exc)) from None


def roster_record(row: _Row) -> dict:
    """A ROSTER row (实名制进退场) as a ``roster_entry``."""
    left = row.get("退场日期")
    return {
        "project_code": code("项目编号", row.required("项目编号")),
        "worker": {"name": row.required("工人姓名"), "id_number": checked_id(row)},
        "team": row.get("班组") or None, "trade": row.get("工种") or None,
        "entered_on": date("进场日期", row.required("进场日期")),
        "left_on": date("退场日期", left) if left else None,
        "subcontractor_uscc": row.get("劳务企业统一社会信用代码") or None,
    }


def contract_record(row: _Row) -> dict:
    """A CONTRACT row (电子劳动合同) as a ``labour_contract``."""
    ends = row.get("终止日期")
    return {
        "contract_no": code("合同编号", row.required("合同编号")),
        "project_code": code("项目编号", row.required("项目编号")),
        "worker": {"name": row.required("工人姓名"), "id_number": checked_id(row)},
        "employer_uscc": row.required("用工单位统一社会信用代码"),
        "signed_on": date("签订日期", row.required("签订日期")),
        "pay_basis": choice("计薪方式", row.required("计薪方式"), PAY_BASES),
        "wage_rate": yuan(money("工资标准(元)", row.required("工资标准(元)"))),
        "ends_on": date("终止日期", ends) if ends else None,
    }


def payroll_row(row: _Row) -> tuple[str, str, str, decimal.Decimal, decimal.Decimal, tuple]:
    """Check one payroll row; return (project code, month, identity number, due, paid, its row
    for the month's ``payroll_month``: days, paid on, method)."""
    project = code("项目编号", row.required("项目编号"))
    row.required("工人姓名")
    id_number = checked_id(row)
    pay_month = month("所属月份", row.required("所属月份"))
    days = row.required("出勤天数")
    if not _DAYS_RE.fullmatch(days):
        raise RowError("出勤天数", "integer", "must be a whole number of days")
    if int(days) > 31:
        raise RowError("出勤天数", "range", "must be between 0 and 31")
    due = money("应发工资(元)", row.required("应发工资(元)"))
    paid = money("实发工资(元)", row.required("实发工资(元)"))
    paid_on = date("发放日期", row.get("发放日期")) if row.get("发放日期") else None
    method = choice("发放方式", row.get("发放方式"), PAY_METHODS) if row.get("发放方式") else None
    return project, pay_month, id_number, due, paid, (int(days), paid_on, method)


def row_bytes(header: list[str], fields: list[str], encoding: str) -> bytes:
    """The header and one row as a batch of their own, in the batch's encoding (BOM kept)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerow(fields)
    return buf.getvalue().encode(encoding)


def parse(message: NativeMessage) -> Iterator[Parsed | Rejected]:
    """Check the encoding, header and kind now; return a generator over the rows."""
    encoding = detect_encoding(message)
    text = io.TextIOWrapper(io.BytesIO(message.body), encoding=encoding, newline="")
    if text.read(1) != "\ufeff":  # a byte-order mark (GB18030's too) is not part of the first column's name
        text.seek(0)
    reader = csv.reader(text)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidMessage.of("header", "csv", f"cannot be read as CSV ({exc})", message.kind) from None
    if not header or not any(h.strip() for h in header):
        raise InvalidMessage.of("header", "header", "is missing: a batch starts with a row of column names", message.kind)
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        column = normalise_column(name)
        if column in index:
            raise InvalidMessage.of(column, "duplicate-column", "appears twice in the header row", message.kind)
        if column:
            index[column] = i
    kind = resolve_kind(message.kind, index)
    rows = {PROJECT: _project_rows, PAYROLL: _payroll_rows, ANSWER: _answer_rows, ROSTER: _roster_rows,
            CONTRACT: _contract_rows}[kind]
    return rows(message, reader, header, index, encoding)


def _records(message: NativeMessage, reader: Iterable[list[str]], kind: str) -> Iterator[tuple[int, list[str]]]:
    """Numbered non-blank records; a CSV error past the header refuses the whole batch."""
    n = 0
    try:
        for fields in reader:
            n += 1
            if any(fields):
                yield n, fields
    except csv.Error as exc:
        raise InvalidMessage.of("body", "csv", f"cannot be read as CSV after data row {n} ({exc})", kind) from None


def _rejected(n: int, err: RowError, kind: str, header: list[str], fields: list[str], encoding: str) -> Rejected:
    return Rejected(reason=f"row {n}: {err}", kind=kind, field=err.column, rule=err.rule, row=n,
                    raw=row_bytes(header, fields, encoding))


def _row_records(kind: str, record_type: str, read, key: str):
    """A batch of rows that each give one record (PROJECT, ANSWER): a bad row is rejected alone."""

    def rows(message, reader, header, index, encoding) -> Iterator[Parsed | Rejected]:
        width = len(header)
        for n, fields in _records(message, reader, kind):
            try:
                record = read(_Row(fields, index, width))
            except RowError as err:
                yield _rejected(n, err, kind, header, fields, encoding)
                continue
            yield Parsed(type=record_type, record={k: v for k, v in record.items() if v is not None},
                         source_ref=record[key], kind=kind, row=n, raw=row_bytes(header, fields, encoding),
                         fields=FIELDS[kind])

    return rows


_project_rows = _row_records(PROJECT, "project", project_record, "project_code")
_answer_rows = _row_records(ANSWER, "assignment_answer", answer_record, "assignment_no")
_contract_rows = _row_records(CONTRACT, "labour_contract", contract_record, "contract_no")


def _roster_rows(message, reader, header, index, encoding) -> Iterator[Parsed | Rejected]:
    """ROSTER rows: a worker's entry to a project is the roster line (项目编号, 身份证号, 进场日期)."""
    width = len(header)
    for n, fields in _records(message, reader, ROSTER):
        try:
            record = roster_record(_Row(fields, index, width))
        except RowError as err:
            yield _rejected(n, err, ROSTER, header, fields, encoding)
            continue
        # (the identity number hashed: a source_ref is shown and logged, personal data never is)
        ref = f"{record['project_code']}/{_worker_ref(record['worker']['id_number'])}/{record['entered_on']}"
        yield Parsed(type="roster_entry", record={k: v for k, v in record.items() if v is not None}, source_ref=ref,
                     kind=ROSTER, row=n, raw=row_bytes(header, fields, encoding), fields=ROSTER_FIELDS)


def _worker_ref(id_number: str) -> str:
    """A worker in a ``source_ref``: the identity number hashed (personal data)."""
    return hashlib.sha256(id_number.encode()).hexdigest()[:16]


def _month_row(line: str) -> tuple:
    """A row of a month as its line holds it: (worker hash, days, paid on, method, due, paid)."""
    worker, days, paid_on, method, due, paid = line.split("|")
    return worker, int(days), paid_on or None, method or None, decimal.Decimal(due), decimal.Decimal(paid)


def _payroll_rows(message, reader, header, index, encoding) -> Iterator[Parsed | Rejected]:
    width = len(header)
    # (project code, month) -> [short workers, their wages due, their wages paid]
    short: dict[tuple[str, str], list] = {}
    # (project, month) -> its rows, each one line "worker hash|days|paid on|method|due|paid":
    # a batch's rows wait for its end, at about 150 bytes a row (as tuples, about 450)
    months: dict[tuple[str, str], list[str]] = {}
    # (project, month, worker) of the rows so far, as 64-bit hashes: 16 MB for 200,000 rows
    # (tracemalloc), against 35 MB or more for the tuples themselves.
    seen: set[int] = set()
    for n, fields in _records(message, reader, PAYROLL):
        try:
            project, pay_month, id_number, due, paid, entry = payroll_row(_Row(fields, index, width))
            if (key := hash((project, pay_month, id_number))) in seen:
                raise RowError("身份证号", "duplicate-worker-month",
                               "has a row already for this project and month (one row per worker and month)")
            seen.add(key)
        except RowError as err:
            yield _rejected(n, err, PAYROLL, header, fields, encoding)
            continue
        # (the worker hashed: the month's record keeps no identity number)
        days, paid_on, method = entry
        months.setdefault((project, pay_month), []).append(
            f"{id_hash(id_number)}|{days}|{paid_on or ''}|{method or ''}|{due}|{paid}")
        if paid < due:
            # Which workers the shortfall stands for, whatever the rows' order: a sum of
            # each short row's digest (worker, due, paid).
            row_digest = int.from_bytes(hashlib.sha256(f"{id_number}|{due}|{paid}".encode()).digest()[:8], "big")
            total = short.get((project, pay_month))
            if total is None:
                short[(project, pay_month)] = [1, due, paid, row_digest]
            else:
                total[0] += 1
                total[1] += due
                total[2] += paid
                total[3] = (total[3] + row_digest) % (1 << 64)
    for (project, pay_month), (workers, due, paid, rows_digest) in short.items():
        # Derived from the whole batch, so the whole batch is what a replay needs. The same
        # workers' rows sent again are the same shortfall; other workers' with equal totals
        # (another batch, a fixed row replayed) are a shortfall of their own.
        yield Parsed(
            type="payroll_shortfall",
            record={"project_code": project, "month": pay_month, "worker_count": workers,
                    "amount_due": yuan(due), "amount_paid": yuan(paid), "amount_short": yuan(due - paid)},
            source_ref=f"{project}/{pay_month}", kind=PAYROLL, row=None, raw=message.body,
            fields=PAYROLL_FIELDS, identity=f"{rows_digest:016x}",
        )
    for (project, pay_month), lines in list(months.items()):
        del months[(project, pay_month)]
        rows = [_month_row(line) for line in lines]
        # Derived from many rows, like the shortfall: the whole batch is what a replay needs;
        # the same rows sent again are the same record.
        digest = hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:16]
        yield Parsed(
            type="payroll_month",
            record={"project_code": project, "month": pay_month,
                    "rows": [{"worker": w, "days": days, "amount_due": yuan(due), "amount_paid": yuan(paid),
                              **({"paid_on": on} if on else {}), **({"method": how} if how else {})}
                             for w, days, on, how, due, paid in rows]},
            source_ref=f"{project}/{pay_month}", kind=PAYROLL, row=None, raw=message.body,
            fields=PAYROLL_MONTH_FIELDS, identity=digest,
        )
