"""Canonical records: one, or a page of them, as the caller may see them."""

from __future__ import annotations

from flask import jsonify, request

from hub.contract.errors import NotFound
from hub.services import records as records_
from hub.services.paging import parse_since, rows_page
from hub.web.api.routing import ALL_READERS, api_route, hub, page_cursor, page_limit, query_param, viewer


@api_route("/records/<record_id>", roles=ALL_READERS, summary="One canonical record", response="Record",
           statuses=(200, 404))
def record(record_id: str):
    visible = records_.record(hub(), viewer(), record_id)
    if visible is None:
        raise NotFound(f"no record {record_id} visible to you")
    return jsonify(visible)


@api_route("/records", roles=ALL_READERS, summary="Canonical records, oldest first, paged",
           params=[query_param("type", "record type"),
                   query_param("since", "accepted at or after (ISO 8601 with offset)"),
                   query_param("limit", "page size, at most 500", "integer"),
                   query_param("cursor", "from next_cursor")],
           response="RecordPage", statuses=(200, 400))
def records():
    limit, after, since = page_limit(), page_cursor(), parse_since(request.args.get("since"))
    h, who = hub(), viewer()
    rows = records_.records_after(h, who, after, limit + 1, request.args.get("type"), since)  # see rows_page
    return jsonify(rows_page(rows, limit, lambda r: r.seq, lambda shown: records_.visible_records(h, who, shown)))
