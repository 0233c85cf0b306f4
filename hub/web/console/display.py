"""How the console shows things: Chinese labels with English, times, money, record fields,
and a dead letter's original bytes decoded and (for all but admins) masked."""

from __future__ import annotations

import datetime as dt
import decimal
import io
import re
import zipfile
from collections.abc import Mapping
from typing import Any

from hub.casework.bulletin import STAGE_NAMES
from hub.contract import workbook
from hub.contract.errors import InvalidMessage
from hub.ids import BEIJING
from schemas.divisions import division_name
from schemas.validators import mask_id_number, mask_mobile

ROLE_NAMES = {"admin": "管理员 admin", "linkage": "两法衔接办公室 legal-linkage office", "viewer": "只读 viewer"}

# Fallbacks for owners and agencies without an installed plugin (the plugin's own title wins).
AGENCY_NAMES = {
    "hrss": "人社 labour inspection", "police": "公安 police", "housing": "住建 construction",
    "court": "法院 court", "union": "总工会 trade union", "contractor": "总包单位 general contractor",
    "gov": "属地政府 area government",
    "linkage": "两法衔接办公室 linkage office", "procuratorate": "检察院 procuratorate", "hub": "枢纽 hub",
}

RECORD_TYPES = {
    "clue": "线索 clue", "case": "案件 case", "payment_order": "责令支付 order to pay",
    "criminal_transfer": "刑事移送 criminal transfer", "police_receipt": "公安接收 police receipt",
    "police_decision": "公安决定 police decision", "court_judgment": "法院判决 judgment",
    "court_enforcement": "法院执行 enforcement", "mediation_result": "调解结果 mediation",
    "project": "工程项目 project", "payroll_shortfall": "工资缺口 payroll shortfall",
    "contractor_reply": "总包回复 contractor reply", "daily_bulletin": "日通报 daily bulletin",
    "linkage_decision": "衔接决定 linkage decision", "credit_listing": "失信名单 dishonest-employer list",
}

LISTING_STATUSES = {"listed": "名单内 listed", "removed": "已提前移出 removed early", "expired": "期满移出 term ended"}
LISTING_ACTIONS = {"list": "列入 listed", "remove": "提前移出 removed early", "expire": "期满移出 term ended"}

STATUS_NAMES = {
    **{k: f"{v} {k}" for k, v in STAGE_NAMES.items()},
    "open": "未办 open", "overdue": "逾期 overdue", "met": "按时 met", "late": "超时办结 late",
    "cancelled": "已取消 cancelled", "moot": "无需办理 moot", "replayed": "已重放 replayed", "accepted": "已接受 accepted",
    "rejected": "被拒 rejected", "duplicate": "重复 duplicate", "passed": "审查通过 passed",
    "released": "已放行 released", "pending": "待发 pending", "sent": "已发送 sent",
    "undeliverable": "无法送达 undeliverable", "failed": "失败 failed",
}

# The number that names a record on the timeline, and the fields its one-line summary shows.
SUMMARY_FIELDS = {
    "clue": ("channel", "amount_owed", "worker_count"),
    "case": ("status", "amount_recovered", "workers_paid"),
    "payment_order": ("amount", "due_on", "served_on", "complied"),
    "criminal_transfer": ("amount_owed", "worker_count", "police_unit"),
    "police_receipt": ("officer",),
    "police_decision": ("decision", "police_case_no", "reason"),
    "court_judgment": ("verdict", "sentence_months", "amount_ordered"),
    "court_enforcement": ("status", "amount_paid"),
    "mediation_result": ("outcome", "amount_agreed", "amount_paid"),
    "project": ("name", "status"),
    "payroll_shortfall": ("month", "worker_count", "amount_short"),
    "contractor_reply": ("outcome", "amount_paid"),
    "credit_listing": ("action", "start_date", "end_date"),
}

REF_NAMES = {
    "clue_no": "线索编号 clue", "case_no": "案件编号 case", "order_no": "责令支付编号 order to pay",
    "transfer_no": "移送编号 transfer", "project_code": "项目编号 project", "police_case_no": "公安案件编号 police case",
    "court_case_number": "法院案号 court case", "mediation_no": "调解编号 mediation", "reply_no": "总包回复编号 reply",
    "list_no": "失信名单编号 listing",
}


def agency_name(code: str | None, registry=None) -> str:
    """``hrss`` -> ``人社 labour inspection (劳动保障监察)`` (the plugin's title), else a fallback."""
    if not code:
        return "—"
    if registry is not None:
        adapter = registry.get(code)
        if adapter is not None:
            return adapter.info.name
    return AGENCY_NAMES.get(code, code)


def role_name(role: str, registry=None) -> str:
    role, _, scope = role.partition("@")
    where = f" · 区划 districts {scope.replace(',', ', ')}" if scope else ""
    if role.startswith("agency:"):
        return f"单位 agency: {agency_name(role.split(':', 1)[1], registry)}{where}"
    return ROLE_NAMES.get(role, role) + where


def region_label(code: str | None) -> str:
    if not code:
        return "—"
    name = division_name(code)
    return f"{name} {code}" if name else code


def when(value: Any) -> dt.datetime | dt.date | None:
    """An ISO string, a date or a datetime, as a datetime in Beijing time (dates stay dates)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        return value
    else:
        text = str(value)
        try:
            if len(text) == 10:
                return dt.date.fromisoformat(text)
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BEIJING)


def show_time(value: Any, seconds: bool = False) -> str:
    """Beijing time as ``2023-06-15 23:59`` (a date alone as ``2023-06-15``)."""
    moment = when(value)
    if moment is None:
        return "—" if value in (None, "") else str(value)
    if isinstance(moment, dt.datetime):
        return moment.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return moment.isoformat()


def show_money(value: Any) -> str:
    """``"382848.00"`` -> ``382,848.00``; anything else as it is."""
    if value in (None, ""):
        return "—"
    try:
        return f"{decimal.Decimal(str(value)):,.2f}"
    except decimal.InvalidOperation:
        return str(value)


def flatten(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A record's fields as ``(path, text)`` rows for a definition table."""
    rows: list[tuple[str, str]] = []
    if isinstance(data, Mapping):
        for key, value in data.items():
            rows.extend(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and any(isinstance(x, (Mapping, list)) for x in data):
        for i, value in enumerate(data):
            rows.extend(flatten(value, f"{prefix}[{i}]"))
    elif isinstance(data, list):
        rows.append((prefix, ", ".join(str(x) for x in data) or "—"))
    else:
        rows.append((prefix, "—" if data is None else str(data)))
    return rows


def summary(record: Mapping[str, Any]) -> str:
    """One line about a record: its key figures by type."""
    parts = []
    for name in SUMMARY_FIELDS.get(record.get("type", ""), ()):
        value = record.get(name)
        if value in (None, "", []):
            continue
        if name.startswith("amount"):
            value = show_money(value) + " 元"
        parts.append(f"{name}: {value}")
    employer = record.get("employer")
    if isinstance(employer, Mapping) and employer.get("name"):
        parts.insert(0, str(employer["name"]))
    return "；".join(parts)


# -- dead letters' original bytes ------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MOBILE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
TEXT_ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
PREVIEW_BYTES = 2048
PREVIEW_ROWS = 50
PREVIEW_COLUMNS = 30
PREVIEW_CELL_CHARS = 200
PREVIEW_CHARS = 64 * 1024  # all cells' text together: the page stays small whatever the workbook
# A preview is read under the hub's work guard (hub.contract.workbook), with less time than a parse.
PREVIEW_LIMITS = workbook.Limits(seconds=5.0)


def mask_text(text: str) -> str:
    """Identity numbers and mobiles in free text, masked as the API masks them in fields."""
    text = ID_NUMBER_RE.sub(lambda m: mask_id_number(m.group(0)) or "", text)
    return MOBILE_RE.sub(lambda m: mask_mobile(m.group(0)) or "", text)


def _encoding_of(content_encoding: str | None, body: bytes) -> str | None:
    enc = (content_encoding or "").lower().replace("_", "-")
    if enc in ("gbk", "gb2312"):
        enc = "gb18030"
    if enc in TEXT_ENCODINGS:
        return enc
    if enc in ("", "binary") and not body.startswith(b"PK"):
        return "utf-8"  # no encoding named: try UTF-8, fall back to the hex view
    return None


def _workbook_rows(body: bytes, clean) -> tuple[list[list[str]], str, str | None]:
    """The first rows of a workbook's first sheet, read under the work guard and cut to size:
    ``PREVIEW_ROWS`` rows, ``PREVIEW_COLUMNS`` columns, ``PREVIEW_CELL_CHARS`` characters a
    cell and ``PREVIEW_CHARS`` in all, whatever its ``<dimension>`` claims."""
    from openpyxl import load_workbook

    deadline = PREVIEW_LIMITS.deadline()
    scan = workbook.check_archive(body, limits=PREVIEW_LIMITS, deadline=deadline)
    wb = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()
        width = min(scan.columns or PREVIEW_COLUMNS, PREVIEW_COLUMNS)
        rows: list[list[str]] = []
        cut, left = [], PREVIEW_CHARS
        for i, row in enumerate(ws.iter_rows(values_only=True, max_col=width, max_row=PREVIEW_ROWS + 1)):
            deadline.check()
            if i >= PREVIEW_ROWS:
                cut.append(f"前 {PREVIEW_ROWS} 行 first {PREVIEW_ROWS} rows")
                break
            cells = ["" if v is None else clean(str(v))[:PREVIEW_CELL_CHARS] for v in row]
            left -= sum(map(len, cells))
            if left < 0:
                cut.append(f"前 {PREVIEW_CHARS} 字 first {PREVIEW_CHARS} characters")
                break
            rows.append(cells)
        if scan.columns > width:
            cut.append(f"前 {width} 列 first {width} columns")
        return rows, f"XLSX · {ws.title}", "；".join(cut) or None
    finally:
        wb.close()


def decode_body(body: bytes, content_type: str | None, content_encoding: str | None, *,
                masked: bool) -> dict[str, Any]:
    """The original message for people: ``text`` (decoded in its encoding), ``rows``
    (a workbook's first sheet) or ``hex`` (anything else), personal data masked if asked."""
    out: dict[str, Any] = {"size": len(body), "encoding": None, "text": None, "rows": None, "hex": None,
                           "note": None, "editable": False}
    clean = mask_text if masked else (lambda s: s)
    if content_type == XLSX and zipfile.is_zipfile(io.BytesIO(body)):
        try:
            out["rows"], out["encoding"], out["note"] = _workbook_rows(body, clean)
            return out
        except InvalidMessage as exc:  # too big or too much work to read: its bytes are shown below
            out["note"] = f"工作簿未预览 workbook not previewed (rule: {exc.rule})"
        except Exception as exc:  # noqa: BLE001  (a broken workbook is shown as bytes below)
            out["note"] = f"工作簿无法读取 workbook unreadable: {type(exc).__name__}"
    encoding = _encoding_of(content_encoding, body)
    if encoding is not None:
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError as exc:
            out["note"] = f"不是有效的 {encoding} 文本 not valid {encoding} at byte {exc.start}"
        else:
            out["text"], out["encoding"], out["editable"] = clean(text), encoding, True
            return out
    head = body[:PREVIEW_BYTES]
    lines = []
    for i in range(0, len(head), 16):
        chunk = head[i:i + 16]
        printable = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{i:08x}  {chunk.hex(' '):<47}  {printable}")
    out["hex"] = clean("\n".join(lines))
    out["encoding"] = content_encoding or "binary"
    if len(body) > PREVIEW_BYTES:
        out["note"] = (out["note"] + "；" if out["note"] else "") + f"前 {PREVIEW_BYTES} 字节 first {PREVIEW_BYTES} bytes"
    return out


def encode_fixed(text: str, original: bytes, content_encoding: str | None) -> bytes:
    """Fixed text from the form as bytes in the message's own encoding and line endings."""
    if b"\r\n" not in original:
        text = text.replace("\r\n", "\n")  # browsers send a textarea's lines as CRLF
    encoding = _encoding_of(content_encoding, original) or "utf-8"
    if encoding == "utf-8-sig" and not original.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8"
    return text.encode(encoding)
