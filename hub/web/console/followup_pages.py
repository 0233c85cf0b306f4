"""The follow-up sample (回头看): the matters drawn from one day's closed ones, each with its
call's result, and (for the linkage office and admins) the form that records a call."""

from __future__ import annotations

import datetime as dt

from flask import flash, g, redirect, render_template, request, url_for

from hub.casework import followup
from hub.contract.errors import BadRequest, HubError, NotFound
from hub.services.scope import matter_in_scope, scoped_views
from hub.web.console.access import actor, allow, hub
from hub.web.console.blueprint import bp
from hub.web.console.bulletin_pages import _day

RECORDERS = ("admin", "linkage")
_ANSWERS = {"yes": True, "no": False, "": None}


@bp.get("/followups")
@allow("admin", "linkage", "viewer")
def followups():
    day = _day()
    h = hub()
    with h.store.sessions() as session:
        items = scoped_views(session, g.principal, followup.followup_sample(session, day, h.settings))
        results = followup.results_of(session, day)
        figures = followup.figures(session, day, h.settings)
    if g.principal.scope:
        figures = followup.for_area(figures, g.principal.covers)
    if g.principal.role not in RECORDERS:
        items = followup.mask_contacts(items)
    for item in items:
        row = results.get(item["matter_id"])
        item["result"] = followup.result_view(row) if row is not None else None
    return render_template("console/followups.html", items=items, day=day, figures=figures,
                           may_record=g.principal.may(RECORDERS), prev_day=day - dt.timedelta(days=1),
                           next_day=day + dt.timedelta(days=1))


@bp.post("/followups/<matter_id>/result")
@allow(*RECORDERS)
def followup_record(matter_id: str):
    form = request.form
    reached = form.get("reached")
    if reached not in ("yes", "no"):
        raise BadRequest("请选择是否联系上 say whether the complainant was reached")
    payload = {"reached": reached == "yes", "remark": (form.get("remark") or "").strip() or None}
    if payload["reached"]:
        for name in followup.RESULT_FIELDS[1:]:
            value = form.get(name, "")
            if value not in _ANSWERS:
                raise BadRequest(f"{name}: 是、否或未知 yes, no or unknown")
            payload[name] = _ANSWERS[value]
    with hub().store.sessions() as session:
        if not matter_in_scope(session, g.principal, matter_id):
            raise NotFound("未找到 not found")
    try:
        view = followup.record_result(hub(), matter_id, followup.load_result(payload), actor())
    except HubError as exc:
        flash(exc.message, "error")
    else:
        flash("已记录回访结果 the call is recorded" + ("；案件已重新办理，已告知人社 the matter is reopened and labour "
                                                   "inspection told" if view["reopens"] else ""), "ok")
    day = request.args.get("date") or form.get("date") or ""
    return redirect(url_for("console.followups", date=day) if day else url_for("console.followups"))
