"""One arrears matter, as the caller may see it."""

from __future__ import annotations

from flask import jsonify

from hub.contract.errors import NotFound
from hub.services.matters import matter_view
from hub.services.records import masked_for
from hub.web.api.routing import api_route, hub, viewer


@api_route("/matters/<matter_id>", roles=("admin", "linkage", "viewer"),
           summary="One arrears matter: its records from every agency in time order, deadlines, duplicates, "
                   "amounts side by side", response="Matter", statuses=(200, 404))
def matter(matter_id: str):
    with hub().store.sessions() as session:
        view = matter_view(session, hub().settings, viewer(), matter_id)
    if view is None:
        raise NotFound(f"no matter {matter_id}")
    return jsonify(masked_for(viewer(), view))
