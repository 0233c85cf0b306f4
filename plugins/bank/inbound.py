"""bank inbound: batch files of the banks holding wage special accounts and wage deposits.

GB18030 text, lines ending in CRLF (a bare LF is read too), fields separated by ``|``, no
quoting. A header line ``H|bank|kind|batch|date|count``, detail lines ``D|...``, a trailer
``T|count|sum``. The body is read line by line where it lies (no list of lines, no copy of
the text): memory does not grow with the file.

- Whole-file problems raise :class:`hub.InvalidMessage` (nothing of the file applies): a
  header that cannot be read, an unknown kind, no trailer, and a trailer that disagrees
  with the details (count, or the sum of the amount column; rule ``trailer-count`` /
  ``trailer-sum``). The trailer is checked at the end: the hub applies nothing of a file
  whose parse raised, whatever was yielded before.
- A bad detail line yields :class:`hub.Rejected` with its line number (the header is line
  1) and the rest goes on. The line's own bytes, between the file's header and a trailer
  of its own, are its dead letter: a fixed line replays alone.
- The sum is checked over the lines whose amount cell is a whole number; when a line's
  amount cannot be read at all (wrong ``|`` count, not GB18030, not a number) only the
  count is checked: the bank's sum holds an amount the hub cannot see.

``source_ref`` is ``<bank>/<batch>/<line>``: the same batch of the same bank sent again gives
the same records, which the hub applies once. Reasons name the field and the rule, never a
value (identity numbers are personal data).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from hub import InvalidMessage, NativeMessage, Parsed, Rejected
from schemas.validators import check_id_number

DEPOSIT = "DEPOSIT"
PAYOUT = "PAYOUT"
GUARANTEE = "GUARANTEE"
MISSED = "MISSED"
KINDS_IN = (DEPOSIT, PAYOUT, GUARANTEE, MISSED)

# kind -> the detail line's fields after "D", in order
COLUMNS = {
    DEPOSIT: ("项目编号", "专户账号", "入账日期", "金额", "付款单位USCC", "所属月份"),
    PAYOUT: ("项目编号", "专户账号", "身份证号", "姓名", "金额", "代发日期", "结果", "失败原因"),
    GUARANTEE: ("项目编号", "施工单位USCC", "类型", "金额", "日期", "保函编号"),
    MISSED: ("项目编号", "专户账号", "应拨付月份", "应拨付金额", "实际拨付金额", "建设单位USCC"),
}
# kind -> the column the trailer sums
AMOUNT = {DEPOSIT: "金额", PAYOUT: "金额", GUARANTEE: "金额", MISSED: "应拨付金额"}
RECORD_TYPES = {DEPOSIT: "account_deposit", PAYOUT: "worker_payout", GUARANTEE: "deposit_event",
                MISSED: "missed_funding"}
# canonical field path -> the column a refusal names (Parsed.fields)
FIELDS = {
    DEPOSIT: {"project_code": "项目编号", "account_no": "专户账号", "credited_on": "入账日期", "amount": "金额",
              "payer_uscc": "付款单位USCC", "month": "所属月份"},
    PAYOUT: {"project_code": "项目编号", "account_no": "专户账号", "worker.id_number": "身份证号",
             "worker.name": "姓名", "amount": "金额", "paid_on": "代发日期", "result": "结果",
             "failure_reason": "失败原因"},
    GUARANTEE: {"project_code": "项目编号", "contractor_uscc": "施工单位USCC", "event": "类型", "amount": "金额",
                "event_on": "日期", "guarantee_no": "保函编号"},
    MISSED: {"project_code": "项目编号", "account_no": "专户账号", "month": "应拨付月份", "amount_due": "应拨付金额",
             "amount_credited": "实际拨付金额", "builder_uscc": "建设单位USCC"},
}
PAYOUT_RESULTS = {"0": "paid", "1": "failed"}
DEPOSIT_EVENTS = {"1": "lodged", "2": "guarantee", "3": "drawn", "4": "returned", "5": "reduced"}

ENCODING = "gb18030"
_BANK_RE = re.compile(r"^\d{12}$", re.ASCII)
_FEN_RE = re.compile(r"^\d{1,15}$", re.ASCII)
_COUNT_RE = re.compile(r"^\d{1,9}$", re.ASCII)
_DATE_RE = re.compile(r"^\d{8}$", re.ASCII)
_MONTH_RE = re.compile(r"^\d{6}$", re.ASCII)
_CODE_MAX = 64


class LineError(ValueError):
    """One field of one detail line breaks a rule; becomes a :class:`hub.Rejected`."""

    def __init__(self, column: str | None, rule: str, what: str):
        super().__init__(f"{'field ' + column if column else 'the line'} {what} (rule: {rule})")
        self.column = column
        self.rule = rule


# -- lines ------------------------------------------------------------------------------------

def lines(body: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number from 1, the line's bytes without its end), read where they lie."""
    start, n, size = 0, 0, len(body)
    while start < size:
        end = body.find(b"\n", start)
        if end < 0:
            end = size
        n += 1
        stop = end - 1 if end > start and body[end - 1:end] == b"\r" else end
        yield n, body[start:stop]
        start = end + 1


def decode(raw: bytes) -> str | None:
    try:
        return raw.decode(ENCODING)
    except UnicodeDecodeError:
        return None


# -- fields -----------------------------------------------------------------------------------

def fen(column: str, value: str) -> int:
    """Integer fen, not negative."""
    if _FEN_RE.fullmatch(value):
        return int(value)
    if value.startswith("-") and _FEN_RE.fullmatch(value[1:]):
        raise LineError(column, "money-non-negative", "must not be negative")
    raise LineError(column, "money-fen", "must be a whole number of fen, like 3600000")


def signed_fen(value: str) -> int | None:
    """The amount the trailer sums, as the bank wrote it (negative included); None if it is no number."""
    text = value[1:] if value.startswith("-") else value
    return (-int(text) if value.startswith("-") else int(text)) if _FEN_RE.fullmatch(text) else None


def yuan(amount: int) -> str:
    return f"{amount // 100}.{amount % 100:02d}"


def date(column: str, value: str) -> str:
    try:
        if not _DATE_RE.fullmatch(value):
            raise ValueError
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
    except ValueError:
        raise LineError(column, "date", "must be a date yyyyMMdd") from None


def month(column: str, value: str) -> str:
    if not _MONTH_RE.fullmatch(value) or not 1 <= int(value[4:]) <= 12:
        raise LineError(column, "month-format", "must be a month yyyyMM")
    return f"{value[:4]}-{value[4:]}"


def required(column: str, value: str) -> str:
    if not value.strip():
        raise LineError(column, "required", "is required but empty")
    return value.strip()


def code(column: str, value: str) -> str:
    value = required(column, value)
    if len(value) > _CODE_MAX:
        raise LineError(column, "length", f"must be at most {_CODE_MAX} characters")
    return value


def choice(column: str, value: str, table: dict[str, str]) -> str:
    if value not in table:
        raise LineError(column, "enum", f"must be one of {', '.join(table)}")
    return table[value]


def id_number(column: str, value: str) -> str:
    value = required(column, value)
    try:
        return check_id_number(value)
    except ValueError as exc:  # the message names the rule, never the number
        raise LineError(column, "id-number-gb11643", str(exc)) from None


# -- detail records ---------------------------------------------------------------------------

def deposit(cells: dict[str, str]) -> dict:
    return {"project_code": code("项目编号", cells["项目编号"]), "account_no": code("专户账号", cells["专户账号"]),
            "credited_on": date("入账日期", cells["入账日期"]), "amount": yuan(fen("金额", cells["金额"])),
            "payer_uscc": required("付款单位USCC", cells["付款单位USCC"]),
            "month": month("所属月份", cells["所属月份"])}


def payout(cells: dict[str, str]) -> dict:
    result = choice("结果", cells["结果"], PAYOUT_RESULTS)
    reason = cells["失败原因"].strip()
    if result == "failed" and not reason:
        raise LineError("失败原因", "required-if", "is required when 结果 is 1 (failed)")
    return {"project_code": code("项目编号", cells["项目编号"]), "account_no": code("专户账号", cells["专户账号"]),
            "worker": {"name": required("姓名", cells["姓名"]), "id_number": id_number("身份证号", cells["身份证号"])},
            "amount": yuan(fen("金额", cells["金额"])), "paid_on": date("代发日期", cells["代发日期"]),
            "result": result, "failure_reason": reason or None}


def guarantee(cells: dict[str, str]) -> dict:
    event = choice("类型", cells["类型"], DEPOSIT_EVENTS)
    number = cells["保函编号"].strip()
    if event == "guarantee" and not number:
        raise LineError("保函编号", "required-if", "is required when 类型 is 2 (a bank guarantee)")
    return {"project_code": code("项目编号", cells["项目编号"]),
            "contractor_uscc": required("施工单位USCC", cells["施工单位USCC"]), "event": event,
            "amount": yuan(fen("金额", cells["金额"])), "event_on": date("日期", cells["日期"]),
            "guarantee_no": code("保函编号", number) if number else None}


def missed(cells: dict[str, str]) -> dict:
    due = fen("应拨付金额", cells["应拨付金额"])
    credited = fen("实际拨付金额", cells["实际拨付金额"])
    if credited >= due:
        raise LineError("实际拨付金额", "range", "must be less than 应拨付金额: nothing was missed otherwise")
    return {"project_code": code("项目编号", cells["项目编号"]), "account_no": code("专户账号", cells["专户账号"]),
            "month": month("应拨付月份", cells["应拨付月份"]), "amount_due": yuan(due), "amount_credited": yuan(credited),
            "builder_uscc": required("建设单位USCC", cells["建设单位USCC"])}


READ = {DEPOSIT: deposit, PAYOUT: payout, GUARANTEE: guarantee, MISSED: missed}


# -- the file ---------------------------------------------------------------------------------

def header(message: NativeMessage) -> tuple[str, str, str, int, bytes]:
    """(bank code, kind, batch number, detail count, the header's bytes) of the first line."""
    first = next(lines(message.body), None)
    if first is None or not first[1].strip():
        raise InvalidMessage.of("header", "header", "is missing: a file starts with H|bank|kind|batch|date|count",
                                message.kind)
    raw = first[1]
    text = decode(raw)
    if text is None:
        raise InvalidMessage.of("header", "encoding", "is not GB18030 text", message.kind)
    cells = text.split("|")
    if cells[0] != "H" or len(cells) != 6:
        raise InvalidMessage.of("header", "field-count", f"must be H and 5 fields separated by |, it has {len(cells)} fields",
                                message.kind)
    _, bank, kind, batch, file_date, count = (c.strip() for c in cells)
    if not _BANK_RE.fullmatch(bank):
        raise InvalidMessage.of("header.bank", "bank-code", "must be 12 digits", message.kind)
    if kind not in COLUMNS:
        raise InvalidMessage.of("header.kind", "kind", f"must be one of {', '.join(KINDS_IN)}", None)
    if message.kind and message.kind.strip().upper() != kind:
        raise InvalidMessage.of("x-wagehub-kind", "kind", "disagrees with the header's kind", kind)
    if not batch or len(batch) > 40 or "/" in batch:
        raise InvalidMessage.of("header.batch", "batch-no", "must be 1 to 40 characters, without /", kind)
    try:
        date("file date", file_date)
    except LineError:
        raise InvalidMessage.of("header.date", "date", "must be a date yyyyMMdd", kind) from None
    if not _COUNT_RE.fullmatch(count):
        raise InvalidMessage.of("header.count", "integer", "must be a whole number of detail lines", kind)
    return bank, kind, batch, int(count), raw


def parse(message: NativeMessage) -> Iterator[Parsed | Rejected]:
    """Check the header now; return a generator over the details that checks the trailer last."""
    bank, kind, batch, declared, head = header(message)
    return _details(message, bank, kind, batch, declared, head)


def _line_file(head: bytes, raw: bytes, amount: int | None) -> bytes:
    """One detail line as a file of its own: the header (count 1), the line, its trailer."""
    cells = head.split(b"|")
    cells[-1] = b"1"
    total = str(amount if amount is not None else 0).encode()
    return b"|".join(cells) + b"\r\n" + raw + b"\r\n" + b"T|1|" + total + b"\r\n"


def _details(message: NativeMessage, bank: str, kind: str, batch: str, declared: int,
             head: bytes) -> Iterator[Parsed | Rejected]:
    columns = COLUMNS[kind]
    width = len(columns) + 1
    amount_at = columns.index(AMOUNT[kind]) + 1
    read = READ[kind]
    count, total, sum_known = 0, 0, True
    trailer: tuple[int, str] | None = None
    for n, raw in lines(message.body):
        if n == 1:
            continue
        if not raw.strip():
            continue
        if trailer is not None:
            raise InvalidMessage.of("trailer", "trailer-last", f"must be the last line: line {n} follows it", kind)
        text = decode(raw)
        if text is not None and text.startswith("T|"):
            trailer = (n, text)
            continue
        if text is not None and not text.startswith("D|"):
            raise InvalidMessage.of(f"line {n}", "record-type", "must start with D| (a detail) or T| (the trailer)", kind)
        count += 1
        amount = None
        try:
            if text is None:
                raise LineError(None, "encoding", "is not GB18030 text")
            cells = text.split("|")
            if len(cells) != width:
                raise LineError(None, "field-count", f"has {len(cells)} fields separated by |, a {kind} line "
                                f"has {width}")
            amount = signed_fen(cells[amount_at].strip())
            record = read({c: v.strip() for c, v in zip(columns, cells[1:])})
        except LineError as err:
            if amount is None:
                sum_known = False
            else:
                total += amount
            yield Rejected(reason=f"line {n}: {err}", kind=kind, field=err.column, rule=err.rule, row=n,
                           raw=_line_file(head, raw, amount))
            continue
        total += amount
        yield Parsed(type=RECORD_TYPES[kind], record={k: v for k, v in record.items() if v is not None},
                     source_ref=f"{bank}/{batch}/{n}", kind=kind, row=n, raw=_line_file(head, raw, amount),
                     fields=FIELDS[kind])
    if trailer is None:
        raise InvalidMessage.of("trailer", "trailer", "is missing: a file ends with T|count|sum", kind)
    n, text = trailer
    cells = text.split("|")
    if len(cells) != 3 or not _COUNT_RE.fullmatch(cells[1].strip()) or signed_fen(cells[2].strip()) is None:
        raise InvalidMessage.of("trailer", "trailer", "must be T|count|sum, two whole numbers", kind)
    t_count, t_sum = int(cells[1].strip()), signed_fen(cells[2].strip())
    if t_count != count or declared != count:
        raise InvalidMessage.of("trailer", "trailer-count", f"says {t_count} detail lines (header: {declared}), the file has "
                                f"{count}: the file is refused whole", kind)
    if sum_known and t_sum != total:
        raise InvalidMessage.of("trailer", "trailer-sum", f"sums the {AMOUNT[kind]} column to {t_sum} fen, the details to "
                                f"{total}: the file is refused whole", kind)
