"""Report routes on the ``/api/v1`` blueprint: the daily bulletin and the follow-up sample.

Imported by :func:`hub.web.app.create_app` before the blueprint is registered, so
:func:`hub.web.api.api_route` adds them to the blueprint and to the OpenAPI document.
"""

from __future__ import annotations

import datetime as dt
import re

from flask import Response, jsonify, request

from hub.casework import bulletin as bulletins
from hub.casework import followup as followups_
from hub.casework.followup import followup_sample, mask_names
from hub.contract.errors import BadRequest, NotFound
from hub.services.records import mask_personal, sees_personal_data
from hub.services.scope import matter_in_scope, scoped_views
from hub.web.api.routing import api_route, hub, json_object, viewer

REPORT_READERS = ("admin", "linkage", "viewer")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9999, 12, 30)


def _q(name: str, description: str, required: bool = False, enum: list[str] | None = None,
       fmt: str | None = None) -> dict:
    schema: dict = {"type": "string"}
    if fmt:
        schema["format"] = fmt
    if enum:
        schema["enum"] = enum
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def day_arg() -> dt.date:
    """The required ``date`` query argument: a calendar date, YYYY-MM-DD."""
    raw = request.args.get("date")
    if not raw:
        raise BadRequest("date is required: a calendar date YYYY-MM-DD",
                         details={"field": "date", "rule": "required"})
    try:
        if not _DATE_RE.match(raw):
            raise ValueError
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest("date must be a calendar date YYYY-MM-DD", details={"field": "date", "rule": "date"}) from None
    if not FIRST_DAY <= day <= LAST_DAY:  # the day's window in UTC must stay within the calendar
        raise BadRequest(f"date must be between {FIRST_DAY} and {LAST_DAY}", details={"field": "date", "rule": "range"})
    return day


@api_route("/bulletin", roles=REPORT_READERS,
           summary="The daily bulletin (日通报) of one day, by district: JSON, or a CSV / XLSX download",
           params=[_q("date", "the day, YYYY-MM-DD (Beijing time)", required=True, fmt="date"),
                   _q("format", "json (default), csv or xlsx", enum=["json", "csv", "xlsx"])],
           response="Bulletin", statuses=(200, 400))
def bulletin():
    day = day_arg()
    fmt = request.args.get("format") or "json"
    if fmt not in bulletins.WRITERS:
        raise BadRequest("format must be one of json, csv, xlsx", details={"field": "format", "rule": "enum"})
    h = hub()
    with h.store.sessions() as session:
        data = bulletins.for_area(bulletins.build_bulletin(session, day, h.settings), viewer().scope)
    if fmt == "json":
        return jsonify(data)
    return Response(bulletins.WRITERS[fmt](data), mimetype=bulletins.MIMETYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="bulletin-{day.isoformat()}.{fmt}"'})


@api_route("/followups", roles=REPORT_READERS,
           summary="Follow-up sample (回头看): a reproducible draw of the day's closed matters, with contacts",
           params=[_q("date", "the day the matters closed, YYYY-MM-DD (Beijing time)", required=True, fmt="date")],
           response="FollowupList", statuses=(200, 400))
def followups():
    day = day_arg()
    h = hub()
    with h.store.sessions() as session:
        items = scoped_views(session, viewer(), followup_sample(session, day, h.settings))
        results = followups_.results_of(session, day)
        for item in items:
            row = results.get(item["matter_id"])
            item["result"] = followups_.result_view(row) if row is not None else None
    if not sees_personal_data(viewer()):
        items = mask_personal(mask_names(items))
    return jsonify({"items": items, "next_cursor": None})


@api_route("/followups/<matter_id>/result", methods=("POST",), roles=("admin", "linkage"), body="followup_result",
           summary="Record the follow-up call (回头看) of a sampled matter: reached, resolved, paid in full, "
                   "procedure lawful, satisfied, remark; not resolved or not paid reopens the matter",
           response="FollowupResult", statuses=(201, 400, 404, 409))
def followup_result(matter_id: str):
    result = followups_.load_result(json_object())
    with hub().store.sessions() as session:
        if not matter_in_scope(session, viewer(), matter_id):  # a district's office records its district's calls
            raise NotFound(f"no matter {matter_id}")
    view = followups_.record_result(hub(), matter_id, result, viewer().actor)
    return jsonify(view), 201
