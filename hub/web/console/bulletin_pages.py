"""The daily bulletin (日通报): one day's figures by district, with charts, as the API and
``wagehub bulletin`` build it (``hub.casework.bulletin``); downloadable as XLSX or CSV, printable."""

from __future__ import annotations

import datetime as dt
import re

from flask import Response, g, render_template, request

from hub.casework import bulletin as bulletins
from hub.contract.errors import BadRequest
from hub.web.console.access import allow, hub
from hub.web.console.blueprint import bp
from hub.web.console.charts import bar_chart
from hub.web.console.display import agency_name
from hub.web.reports import FIRST_DAY, LAST_DAY

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _day() -> dt.date:
    raw = request.args.get("date") or ""
    if not raw:
        return bulletins.yesterday(hub().settings)
    try:
        if not _DATE_RE.match(raw):
            raise ValueError
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest("日期格式应为 YYYY-MM-DD the date must be YYYY-MM-DD") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadRequest(f"日期超出范围 the date must be between {FIRST_DAY} and {LAST_DAY}")
    return day


def _build(day: dt.date) -> dict:
    h = hub()
    with h.store.sessions() as s:
        return bulletins.for_area(bulletins.build_bulletin(s, day, h.settings), g.principal.scope)


def charts(b: dict) -> list:
    districts = b["districts"]
    total = b["total"]
    return [
        bar_chart("ch-clues", "新增线索 New clues", [(d["region_name"], [d["clues_total"]]) for d in districts],
                  unit="件"),
        bar_chart("ch-closed", "结案 Cases closed", [(d["region_name"], [d["cases_closed"]]) for d in districts],
                  unit="件"),
        bar_chart("ch-amounts", "欠薪与追回金额 Amount owed and recovered (元)",
                  [(d["region_name"], [d["amount_owed"], d["amount_recovered"]]) for d in districts],
                  unit="元", legend=["涉及欠薪 owed", "追回 recovered"], money=True),
        bar_chart("ch-stages", "移送阶段 Transfers by stage",
                  [(bulletins.STAGE_NAMES.get(k, k), [n]) for k, n in total["transfers_by_stage"].items()], unit="件"),
        bar_chart("ch-overdue", "逾期事项 Overdue items by district",
                  [(d["region_name"], [d["overdue_total"]]) for d in districts], unit="项"),
        bar_chart("ch-owners", "逾期事项·责任单位 Overdue items by owner",
                  [(agency_name(o, hub().registry).split(" ")[0], [n]) for o, n in total["overdue_by_owner"].items()], unit="项"),
    ]


@bp.get("/bulletin")
@allow("admin", "linkage", "viewer")
def bulletin():
    day = _day()
    b = _build(day)
    return render_template("console/bulletin.html", b=b, day=day, charts=charts(b),
                           columns=bulletins.columns(b), followup_rows=bulletins.FOLLOWUP_ROWS,
                           prev_day=day - dt.timedelta(days=1),
                           next_day=day + dt.timedelta(days=1))


@bp.get("/bulletin/download")
@allow("admin", "linkage", "viewer")
def bulletin_download():
    day = _day()
    fmt = request.args.get("format") or "xlsx"
    if fmt not in ("xlsx", "csv"):
        raise BadRequest("格式须为 xlsx 或 csv the format is xlsx or csv")
    data = bulletins.WRITERS[fmt](_build(day))
    return Response(data, mimetype=bulletins.MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="bulletin-{day.isoformat()}.{fmt}"'})
