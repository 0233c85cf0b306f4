"""The bulletin written out: JSON, CSV (UTF-8 with BOM, for Excel) and XLSX.

Spreadsheet text that could start a formula is neutralised (:func:`safe_text`); the
CSV and the XLSX share one column list (:func:`columns`), Chinese header with English key.
"""

from __future__ import annotations

import csv
import decimal
import io
import json
from collections.abc import Mapping
from typing import Any

from hub.casework.transfers import STATUSES
from schemas.records import CHANNELS

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

CHANNEL_NAMES = {"qr_code": "扫码", "hotline": "热线", "petition": "信访", "walk_in": "来访", "online": "网上",
                 "referral": "转办"}
STAGE_NAMES = {"held": "暂缓待补", "transferred": "已移送", "received": "已接收", "opened": "已立案",
               "declined": "不予立案", "returned": "退回补充", "reconsidering": "提请复议", "supervised": "立案监督",
               "judged": "已判决", "closed": "已结案"}

FOLLOWUP_ROWS = (("drawn", "回头看抽取件数 drawn"), ("calls", "当日回访 calls"), ("reached", "联系上 reached"),
                 ("resolved", "已解决 resolved"), ("paid_full", "工资全额支付 paid in full"),
                 ("lawful", "程序合法 lawful"), ("satisfied", "满意 satisfied"), ("reopened", "重新办理 reopened"))


def to_json(bulletin: Mapping[str, Any]) -> bytes:
    return json.dumps(bulletin, ensure_ascii=False, indent=2).encode("utf-8")


def _owners(bulletin: Mapping[str, Any]) -> list[str]:
    return sorted({o for fig in [*bulletin["districts"], bulletin["total"]] for o in fig["overdue_by_owner"]})



def columns(bulletin: Mapping[str, Any]) -> list[tuple[str, str, Any]]:
    """The district table's columns: (english key, header, getter). Money getters return str."""
    cols: list[tuple[str, str, Any]] = [
        ("region_code", "区划代码", lambda f: f["region_code"]),
        ("region_name", "区划名称", lambda f: f["region_name"]),
        ("clues_total", "线索总数", lambda f: f["clues_total"]),
    ]
    for c in CHANNELS:
        cols.append((f"clues_{c}", f"线索·{CHANNEL_NAMES.get(c, c)}", lambda f, c=c: f["clues_by_channel"].get(c, 0)))
    cols += [
        ("amount_owed", "涉及欠薪金额(元)", lambda f: f["amount_owed"]),
        ("first_contacts_on_time", "首次联系按时", lambda f: f["first_contacts_on_time"]),
        ("first_contacts_late", "首次联系超时", lambda f: f["first_contacts_late"]),
        ("first_contacts_late_open", "其中超时未联系", lambda f: f["first_contacts_late_open"]),
        ("cases_opened", "立案数", lambda f: f["cases_opened"]),
        ("cases_closed", "结案数", lambda f: f["cases_closed"]),
        ("amount_recovered", "追回金额(元)", lambda f: f["amount_recovered"]),
        ("workers_paid", "兑付人数", lambda f: f["workers_paid"]),
    ]
    for s in STATUSES:
        cols.append((f"transfers_{s}", f"移送·{STAGE_NAMES.get(s, s)}", lambda f, s=s: f["transfers_by_stage"].get(s, 0)))
    cols.append(("overdue_total", "逾期事项", lambda f: f["overdue_total"]))
    for o in _owners(bulletin):
        cols.append((f"overdue_{o}", f"逾期·{o}", lambda f, o=o: f["overdue_by_owner"].get(o, 0)))
    return cols


MONEY_COLUMNS = ("amount_owed", "amount_recovered")
TEXT_COLUMNS = ("region_code", "region_name")


def header(zh: str, en: str) -> str:
    return f"{zh} ({en})"


def safe_text(value: str) -> str:
    """Neutralise spreadsheet formula injection: text starting = + - @ (or tab, CR) gets a ``'``."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(bulletin: Mapping[str, Any]) -> bytes:
    """One row per district and a total row; UTF-8 with BOM (Excel reads it as such)."""
    cols = columns(bulletin)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([header(zh, en) for en, zh, _ in cols])
    for fig in [*bulletin["districts"], bulletin["total"]]:
        cells = []
        for en, _, get in cols:
            value = get(fig)
            cells.append(safe_text(str(value)) if en in TEXT_COLUMNS else value)
        writer.writerow(cells)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(bulletin: Mapping[str, Any]) -> bytes:
    """Sheet 日通报 (title row, header row, one row per district, total) and sheet 逾期事项."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    def cell_value(value: Any) -> Any:
        return safe_text(value) if isinstance(value, str) else value

    cols = columns(bulletin)
    wb = Workbook()
    ws = wb.active
    ws.title = "日通报"
    ws.append([cell_value(f"{bulletin['title']} {bulletin['date']} ({bulletin['timezone']})")])
    ws.append([header(zh, en) for en, zh, _ in cols])
    for fig in [*bulletin["districts"], bulletin["total"]]:
        ws.append([decimal.Decimal(get(fig)) if en in MONEY_COLUMNS else cell_value(get(fig)) for en, _, get in cols])
    for i, (en, _, _) in enumerate(cols, start=1):
        if en in MONEY_COLUMNS:
            for (cell,) in ws.iter_rows(min_row=3, min_col=i, max_col=i):
                cell.number_format = "#,##0.00"
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "C3"

    items = wb.create_sheet("逾期事项")
    fields = (("region_code", "区划代码"), ("region_name", "区划名称"), ("rule", "事项"), ("title", "标题"),
              ("subject", "对象"), ("owner", "责任单位"), ("due_at", "期限"), ("matter_id", "案件编号"))
    items.append([header(zh, en) for en, zh in fields])
    for item in bulletin["overdue_items"]:
        items.append([cell_value(item.get(en)) for en, _ in fields])
    for cell in items[1]:
        cell.font = Font(bold=True)
    items.freeze_panes = "A2"

    follow = wb.create_sheet("回头看")
    follow.append(["项目 (figure)", "数量 (count)"])
    for key, title in FOLLOWUP_ROWS:
        follow.append([title, bulletin["followup"][key]])
    for cell in follow[1]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


WRITERS = {"json": to_json, "csv": to_csv, "xlsx": to_xlsx}
MIMETYPES = {"json": "application/json", "csv": "text/csv", "xlsx": XLSX_MIMETYPE}
