"""Escalations (催办与督导): overdue steps escalated to their agency, then to the supervisory
level; the supervision groups (督导组) each see the supervision-level escalations of the
districts they cover (``[linkage.supervision_groups]``), newest first, paged."""

from __future__ import annotations

from flask import g, render_template, request
from sqlalchemy import select

from hub.casework import matters, owners
from hub.services.matters import supervision_group
from hub.services.scope import in_scope_matters
from hub.store.models import Deadline, Escalation
from hub.web.console.access import allow, hub
from hub.web.console.blueprint import bp

PAGE = 100


@bp.get("/escalations")
@allow("admin", "linkage")
def escalations():
    group = supervision_group(hub().settings, request.args.get("group"))
    level = request.args.get("level") or ""
    before = request.args.get("before", type=int)
    query = (select(Escalation, Deadline).outerjoin(Deadline, Deadline.key == Escalation.deadline_key)
             .order_by(Escalation.id.desc()).limit(PAGE + 1))
    if group is not None:
        query = query.where(Escalation.supervision_group == group)
    if level in ("agency", "supervision"):
        query = query.where(Escalation.level == level)
    if before:
        query = query.where(Escalation.id < before)
    if (scoped := in_scope_matters(g.principal, Escalation.matter_id)) is not None:
        query = query.where(scoped)
    with hub().store.sessions() as s:
        rows = list(s.execute(query).all())
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        live = {e.matter_id: matters.resolve(s, e.matter_id) or e.matter_id for e, _ in rows}
        led = owners.leaders_of(s, list(live.values()))
    leaders = {m: led.get(lv) for m, lv in live.items()}
    groups = hub().settings["linkage"]["supervision_groups"]
    next_args = {"group": group, "level": level or None, "before": rows[-1][0].id} if more else None
    return render_template("console/escalations.html", rows=rows, groups=groups, group=group, level=level,
                           next_args=next_args, leaders=leaders)
