"""The dishonest-employer list (失信联合惩戒对象名单, 人社部令第45号): every listing with its
term, status and history (labour inspection's decisions and the hub's expiry). Identity
numbers (an individual employer, the persons listed) are masked for viewers."""

from __future__ import annotations

from flask import g, render_template, request

from hub.casework import listing
from hub.contract.errors import BadRequest
from hub.services.records import masked_for
from hub.services.scope import scoped_views
from hub.web.console.access import allow, hub
from hub.web.console.blueprint import bp


@bp.get("/listings")
@allow("admin", "linkage", "viewer")
def listings():
    status = (request.args.get("status") or "").strip()
    if status and status not in listing.STATUSES:
        raise BadRequest(f"status 须为 must be one of {', '.join(listing.STATUSES)}")
    with hub().store.sessions() as session:
        rows = scoped_views(session, g.principal, listing.listings(session, status or None))
    rows = masked_for(g.principal, rows)
    return render_template("console/listings.html", rows=rows, status=status, statuses=listing.STATUSES)
