"""housing outbound: ``ASSIGNMENT`` (交办), one CSV row per clue assigned to the project's
department, and (format 1.2) ``REMINDER`` (催办) when its answer is overdue, ``RISK``
(风险预警) when the hub raises an early warning on a project, and ``CREDIT`` (失信惩戒) when
an employer is listed as a dishonest wage payer, removed early, or its term ends.

UTF-8 with a byte-order mark (what Excel on a Chinese desktop opens correctly), CRLF
line ends (RFC 4180). Every cell is neutralised against formula injection: a cell
beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
apostrophe, so a spreadsheet shows it as text instead of running it. A cell that is a
plain decimal number (``-12.50`` included) is left alone: it cannot be a formula, and
the counts and amounts must stay numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import re
from typing import Any

from hub import Delivery, Rendered
from schemas.fields import BEIJING

ASSIGNMENT = "ASSIGNMENT"
REMINDER = "REMINDER"
RISK = "RISK"
CREDIT = "CREDIT"
KINDS_OUT = (ASSIGNMENT, REMINDER, RISK, CREDIT)
RISK_HEADER = ("预警编号", "项目编号", "规则", "所属月份", "金额(元)", "说明", "预警日期")
CREDIT_HEADER = ("名单编号", "统一社会信用代码或身份证号", "名称", "动作", "列入日期", "移出日期", "依据")
CREDIT_ACTIONS = {"list": "列入", "remove": "移出", "expire": "到期"}
REMINDER_HEADER = ("交办编号", "线索编号", "办结期限", "催办级别", "催办日期")
REMINDER_LEVELS = {"agency": "1", "supervision": "2"}
HEADER = ("交办编号", "线索编号", "项目编号", "总包单位统一社会信用代码", "欠薪人数", "欠薪金额(元)", "交办日期", "办结期限")
DEFAULT_DEADLINE_DAYS = 10

_NUMBER_RE = re.compile(r"^-?\d+(?:\.\d+)?$", re.ASCII)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A cell's text with formula injection neutralised (numbers left as they are)."""
    if value is None:
        return ""
    if isinstance(value, decimal.Decimal):
        value = format(value, "f")
    text = str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER_RE.fullmatch(text):
        return "'" + text
    return text


def beijing_date(value: Any) -> dt.date:
    """The calendar date in Beijing of an ISO date, an ISO time or a date/datetime.

    A time without an offset is the hub's clock, read as UTC (as the hrss plugin does).
    """
    if isinstance(value, str):
        text = value.strip()
        value = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(BEIJING).date()
    if isinstance(value, dt.date):
        return value
    raise ValueError("expected an ISO date or time")


def _first(delivery: Delivery, field: str, ref: str) -> Any:
    value = delivery.record.get(field)
    if value in (None, ""):
        refs = delivery.refs.get(ref) or []
        value = refs[0] if refs else None
    return value


def render(delivery: Delivery) -> Rendered:
    kind = delivery.kind.upper()
    if kind == REMINDER:
        return render_reminder(delivery)
    if kind == RISK:
        return render_risk(delivery)
    if kind == CREDIT:
        return render_credit(delivery)
    if kind != ASSIGNMENT:
        raise ValueError(f"housing writes {' or '.join(KINDS_OUT)} only, not {delivery.kind!r}")
    return render_assignment(delivery)


def _csv(header: tuple[str, ...], row: tuple, kind: str) -> Rendered:
    """A header and one row, cells neutralised, UTF-8 with BOM, CRLF."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerow([safe_cell(v) for v in row])
    return Rendered(body=buf.getvalue().encode("utf-8-sig"), content_type="text/csv",
                    content_encoding="utf-8-sig", headers={"x-wagehub-kind": kind})


def render_reminder(delivery: Delivery) -> Rendered:
    """REMINDER (催办, format 1.2): an assignment's answer is overdue; 催办级别 1 reminder, 2 supervision."""
    if delivery.record_type != "escalation":
        raise ValueError(f"housing writes REMINDER from an escalation, not from {delivery.record_type!r}")
    level = REMINDER_LEVELS.get(delivery.record.get("level"))
    if level is None:
        raise ValueError(f"housing REMINDER: level must be one of {', '.join(REMINDER_LEVELS)}")
    assignment = _first(delivery, "assignment_no", "assignment_no")
    if not assignment:
        raise ValueError("housing REMINDER: no assignment number (交办编号) in the record or the matter")
    if not delivery.created_at:
        raise ValueError("a REMINDER needs delivery.created_at: its date is the reminder's date")
    due = delivery.record.get("due_at")
    row = (assignment, _first(delivery, "clue_no", "clue_no"), beijing_date(due).isoformat() if due else None, level,
           beijing_date(delivery.created_at).isoformat())
    return _csv(REMINDER_HEADER, row, REMINDER)


def render_assignment(delivery: Delivery) -> Rendered:
    created = delivery.created_at or delivery.record.get("received_at")
    if not created:
        raise ValueError("an ASSIGNMENT needs delivery.created_at: its date is the assignment date")
    assigned_on = beijing_date(created)
    if delivery.params.get("due_on"):
        due_on = beijing_date(delivery.params["due_on"])
    else:
        days = int(delivery.params.get("deadline_days", DEFAULT_DEADLINE_DAYS))
        due_on = assigned_on + dt.timedelta(days=days)
    row = (
        delivery.message_id,
        _first(delivery, "clue_no", "clue_no"),
        _first(delivery, "project_code", "project_code"),
        delivery.record.get("contractor_uscc"),
        delivery.record.get("worker_count"),
        delivery.record.get("amount_owed"),
        assigned_on.isoformat(),
        due_on.isoformat(),
    )
    return _csv(HEADER, row, ASSIGNMENT)


def render_risk(delivery: Delivery) -> Rendered:
    """RISK (风险预警, format 1.2): an early warning the hub raised on a project; 所属月份
    ``yyyy-MM`` or empty, 预警日期 the day it was raised."""
    if delivery.record_type != "risk":
        raise ValueError(f"housing writes RISK from a risk, not from {delivery.record_type!r}")
    r = delivery.record
    if not r.get("risk_no") or not r.get("rule"):
        raise ValueError("housing RISK: the risk has no number or rule")
    row = (r["risk_no"], r.get("project_code"), r["rule"], r.get("month"), r.get("amount"), r.get("detail"),
           r.get("raised_on"))
    return _csv(RISK_HEADER, row, RISK)


def render_credit(delivery: Delivery) -> Rendered:
    """CREDIT (失信惩戒, format 1.2) from a ``credit_listing``: 列入 with the term's last day as
    移出日期; 移出 and 到期 with the day the employer left the list."""
    if delivery.record_type != "credit_listing":
        raise ValueError(f"housing writes CREDIT from a credit_listing, not from {delivery.record_type!r}")
    rec = delivery.record
    action = CREDIT_ACTIONS.get(rec.get("action"))
    if action is None:
        raise ValueError(f"housing CREDIT: action must be one of {', '.join(CREDIT_ACTIONS)}")
    subject = rec.get("credit_code") or rec.get("id_number")
    if not subject:
        raise ValueError("housing CREDIT: the route must send credit_code and id_number (one names the employer)")
    row = (rec.get("list_no"), subject, rec.get("name"), action, rec.get("start_date"), rec.get("end_date"),
           rec.get("basis"))
    return _csv(CREDIT_HEADER, row, CREDIT)
