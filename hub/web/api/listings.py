"""The dishonest-employer list (失信联合惩戒对象名单)."""

from __future__ import annotations

from flask import jsonify, request

from hub.contract.errors import BadRequest, NotFound
from hub.services.records import masked_for
from hub.services.scope import matter_in_scope, scoped_views
from hub.web.api.routing import api_route, hub, query_param, viewer


@api_route("/listings", roles=("admin", "linkage", "viewer"),
           summary="The dishonest-employer list (失信联合惩戒对象名单): each listing with its term and history",
           params=[query_param("status", "listed, removed or expired")], response="ListingList", statuses=(200, 400))
def listings():
    from hub.casework import listing

    status = request.args.get("status") or None
    if status is not None and status not in listing.STATUSES:
        raise BadRequest(f"status must be one of {', '.join(listing.STATUSES)}",
                         details={"field": "status", "rule": "enum"})
    with hub().store.sessions() as session:
        items = scoped_views(session, viewer(), listing.listings(session, status))
    return jsonify({"items": masked_for(viewer(), items), "next_cursor": None})


@api_route("/listings/<list_no>", roles=("admin", "linkage", "viewer"),
           summary="One listing: the employer, its term and every decision on it", response="Listing",
           statuses=(200, 404))
def listing_one(list_no: str):
    from hub.casework import listing

    with hub().store.sessions() as session:
        view = listing.listing(session, list_no)
        if view is not None and not matter_in_scope(session, viewer(), view["matter_id"]):
            view = None
    if view is None:
        raise NotFound(f"no listing {list_no}")
    return jsonify(masked_for(viewer(), view))
