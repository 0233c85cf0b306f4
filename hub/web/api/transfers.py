"""Criminal-case transfers and the legal-linkage office's decisions on held ones."""

from __future__ import annotations

from flask import jsonify, request

from hub.casework.transfers import STATUSES
from hub.contract.errors import BadRequest, NotFound
from hub.services import transfers as transfers_
from hub.services.paging import page
from hub.web.api.routing import api_route, hub, json_object, page_cursor, page_limit, query_param, viewer


@api_route("/transfers", roles=("linkage", "admin"),
           summary="Criminal-case transfers with status, dossier check and deadlines; overdue ones first",
           params=[query_param("status", "one of " + ", ".join(STATUSES)),
                   query_param("district", "division code (prefix)"),
                   query_param("overdue", "true: only those with an overdue step"),
                   query_param("limit", "page size", "integer"), query_param("cursor", "from next_cursor")],
           response="TransferPage", statuses=(200, 400))
def transfers():
    status = request.args.get("status")
    if status and status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}", details={"field": "status", "rule": "enum"})
    overdue = request.args.get("overdue", "").lower() in ("1", "true", "yes")
    limit, after = page_limit(), page_cursor()
    views = transfers_.transfer_list(hub(), viewer(), status=status, district=request.args.get("district"),
                                     overdue=overdue)
    chosen = views[after:after + limit]
    items = [{k: v[k] for k in transfers_.LIST_FIELDS} for v in chosen]
    return jsonify(page(items, after + len(chosen), after + limit < len(views)))


@api_route("/transfers/<transfer_no>", roles=("linkage", "admin"),
           summary="One transfer: dossier check, receipts, decisions, court outcome, timeline, deadlines",
           response="Transfer", statuses=(200, 404))
def transfer(transfer_no: str):
    view = transfers_.transfer(hub(), viewer(), transfer_no)
    if view is None:
        raise NotFound(f"no transfer {transfer_no}")
    return jsonify(view)


def _decide(transfer_no: str, decision: str):
    payload = json_object()
    reason = payload.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BadRequest("reason must be text", details={"field": "reason", "rule": "type"})
    if decision == "return" and not (reason or "").strip():
        raise BadRequest("a return needs the reasons", details={"field": "reason", "rule": "required"})
    return jsonify(transfers_.decide(hub(), viewer(), transfer_no, decision, viewer().actor, reason))


@api_route("/transfers/<transfer_no>/release", methods=("POST",), roles=("linkage",), body="decision",
           summary="Release a held transfer to the police (legal-linkage office)", response="Dossier",
           statuses=(200, 400, 404, 409))
def transfer_release(transfer_no: str):
    return _decide(transfer_no, "release")


@api_route("/transfers/<transfer_no>/return", methods=("POST",), roles=("linkage",), body="decision",
           summary="Return a held transfer to labour inspection with the reasons", response="Dossier",
           statuses=(200, 400, 404, 409))
def transfer_return(transfer_no: str):
    return _decide(transfer_no, "return")
