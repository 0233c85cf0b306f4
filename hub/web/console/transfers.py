"""The transfers board (legal-linkage office): every criminal-case transfer with its
dossier check, status and deadline, overdue ones first; one transfer's full story;
an XLSX export. The linkage office releases or returns a held transfer here."""

from __future__ import annotations

import decimal
import io

from flask import Response, flash, g, redirect, render_template, request, url_for

from hub.casework import linkage, owners
from hub.casework.bulletin import XLSX_MIMETYPE, safe_text
from hub.casework.transfers import STATUSES
from hub.contract.errors import BadRequest, HubError, NotFound
from hub.ids import now_beijing
from hub.services import transfers as transfers_
from hub.web.console.access import actor, allow, hub
from hub.web.console.blueprint import bp
from hub.web.console.display import STATUS_NAMES, show_time


def board(status: str | None = None, overdue: bool = False, district: str | None = None) -> list[dict]:
    """Every transfer as ``transfer_view`` gives it, filtered; overdue first (as the API)."""
    if status and status not in STATUSES:
        raise BadRequest(f"status 须为 must be one of {', '.join(STATUSES)}")
    h = hub()
    views = transfers_.transfer_list(h, g.principal, status=status, district=district, overdue=overdue)
    with h.store.sessions() as s:
        led = owners.leaders_of(s, [v["matter_id"] for v in views])
    for v in views:
        v["next_due"] = min(v["deadlines"], key=lambda d: d["due_at"]) if v["deadlines"] else None
        v["leader"] = led.get(v["matter_id"])
    return views


def _args() -> dict:
    return {"status": request.args.get("status") or "", "overdue": request.args.get("overdue") == "1",
            "district": (request.args.get("district") or "").strip()}


@bp.get("/transfers")
@allow("admin", "linkage")
def transfers():
    args = _args()
    rows = board(args["status"] or None, args["overdue"], args["district"])
    return render_template("console/transfers.html", rows=rows, args=args, statuses=STATUSES)


@bp.get("/transfers.xlsx")
@allow("admin", "linkage")
def transfers_xlsx():
    args = _args()
    rows = board(args["status"] or None, args["overdue"], args["district"])
    stamp = now_beijing().strftime("%Y%m%d-%H%M")
    return Response(to_xlsx(rows), mimetype=XLSX_MIMETYPE,
                    headers={"Content-Disposition": f'attachment; filename="transfers-{stamp}.xlsx"'})


COLUMNS = (
    ("移送编号 transfer_no", lambda v: v["transfer_no"]),
    ("状态 status", lambda v: STATUS_NAMES.get(v["status"], v["status"])),
    ("逾期 overdue", lambda v: "是 yes" if v["overdue"] else "否 no"),
    ("案卷审查 dossier", lambda v: (v["dossier"] or {}).get("status") or ""),
    ("缺少材料 missing", lambda v: "；".join(m.get("item", "") for m in (v["dossier"] or {}).get("missing") or [])),
    ("区划 region", lambda v: v["region_code"] or ""),
    ("案件编号 case_no", lambda v: v["case_no"] or ""),
    ("用人单位 employer", lambda v: (v["employer"] or {}).get("name") or ""),
    ("统一社会信用代码 USCC", lambda v: (v["employer"] or {}).get("uscc") or ""),
    ("欠薪金额(元) amount_owed", lambda v: decimal.Decimal(v["amount_owed"]) if v["amount_owed"] else None),
    ("人数 workers", lambda v: v["worker_count"]),
    ("移送日期 transferred_on", lambda v: v["transferred_on"] or ""),
    ("下一期限 next due", lambda v: show_time(v["next_due"]["due_at"]) if v["next_due"] else ""),
    ("期限事项 step", lambda v: v["next_due"]["title"] if v["next_due"] else ""),
    ("责任单位 owner", lambda v: v["next_due"]["owner"] if v["next_due"] else ""),
    ("包案领导 leader", lambda v: _leader_text(v.get("leader"))),
)


def _leader_text(leader: dict | None) -> str:
    return f"{leader['name']}（{leader['unit']}{leader['post']}）" if leader else ""


def to_xlsx(rows: list[dict]) -> bytes:
    """The board as a workbook: one row per transfer, overdue first; text cells that
    would start a formula get a leading ``'`` (``hub.casework.bulletin.safe_text``)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    wb = Workbook()
    ws = wb.active
    ws.title = "移送看板"
    ws.append([name for name, _ in COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    late = PatternFill("solid", fgColor="FDE2E1")
    for v in rows:
        ws.append([safe_text(x) if isinstance(x, str) else x for x in (get(v) for _, get in COLUMNS)])
        if v["overdue"]:
            for cell in ws[ws.max_row]:
                cell.fill = late
    for (cell,) in ws.iter_rows(min_row=2, min_col=10, max_col=10):
        cell.number_format = "#,##0.00"
    ws.freeze_panes = "B2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@bp.get("/transfers/<transfer_no>")
@allow("admin", "linkage")
def transfer(transfer_no: str):
    view = transfers_.transfer(hub(), g.principal, transfer_no)
    if view is None:
        raise NotFound(f"没有移送 {transfer_no} no transfer {transfer_no}")
    may_decide = g.principal.role == "linkage" and (view["dossier"] or {}).get("status") == "held"
    return render_template("console/transfer.html", t=view, may_decide=may_decide)


@bp.post("/transfers/<transfer_no>/<decision>")
@allow("linkage")
def transfer_decide(transfer_no: str, decision: str):
    if decision not in ("release", "return"):
        raise NotFound("决定只能是放行或退回 the decision is release or return")
    reason = (request.form.get("reason") or "").strip() or None
    if decision == "return" and not reason:
        raise BadRequest("退回须写明理由 a return needs the reasons")
    transfers_.check_transfer_scope(hub(), g.principal, transfer_no)
    try:
        linkage.decide(hub().pipeline, transfer_no, decision, actor(), reason)
    except HubError as exc:
        flash(exc.message, "error")
    else:
        flash("已放行至公安 released to the police" if decision == "release" else "已退回人社 returned to labour inspection",
              "ok")
    return redirect(url_for("console.transfer", transfer_no=transfer_no))
