"""Overdue steps escalated to their agency and the linkage office, then to supervision."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from hub.casework import matters, owners
from hub.services.matters import escalation_view, supervision_group
from hub.services.paging import rows_page
from hub.services.scope import in_scope_matters
from hub.store.models import Escalation
from hub.web.api.routing import api_route, hub, page_cursor, page_limit, query_param, viewer


@api_route("/escalations", roles=("linkage", "admin"),
           summary="Overdue steps escalated to their agency and the linkage office, then to supervision",
           params=[query_param("level", "agency or supervision"),
                   query_param("group", "a supervision group (督导组): its supervision-level escalations"),
                   query_param("limit", "page size", "integer"), query_param("cursor", "from next_cursor")],
           response="EscalationPage", statuses=(200, 400))
def escalations():
    limit, after = page_limit(), page_cursor()
    group = supervision_group(hub().settings, request.args.get("group"))
    query = select(Escalation).where(Escalation.id > after).order_by(Escalation.id).limit(limit + 1)
    if request.args.get("level"):
        query = query.where(Escalation.level == request.args["level"])
    if group is not None:
        query = query.where(Escalation.supervision_group == group)
    if (scoped := in_scope_matters(viewer(), Escalation.matter_id)) is not None:
        query = query.where(scoped)
    with hub().store.sessions() as session:
        rows = list(session.scalars(query))
        led = owners.leaders_of(session, [matters.resolve(session, e.matter_id) or e.matter_id for e in rows])
        live = {e.id: matters.resolve(session, e.matter_id) or e.matter_id for e in rows}
    return jsonify(rows_page(rows, limit, lambda e: e.id,
                             lambda rows: [escalation_view(e, led.get(live[e.id])) for e in rows]))
