"""Dead letters: what failed, and replaying one after a fix (admins)."""

from __future__ import annotations

import base64
import binascii

from flask import jsonify, request

from hub.contract.errors import BadRequest
from hub.services import dead_letters as dead_letters_
from hub.services.paging import rows_page
from hub.web.api.routing import api_route, hub, json_object, page_cursor, page_limit, query_param, viewer


@api_route("/dead-letters", roles=("admin",), summary="What failed, with reason and original bytes",
           params=[query_param("agency", "agency code"), query_param("kind", "native kind"),
                   query_param("status", "open or replayed"),
                   query_param("limit", "page size", "integer"), query_param("cursor", "from next_cursor")],
           response="DeadLetterPage", statuses=(200, 400))
def dead_letters():
    limit, after = page_limit(), page_cursor()
    rows = dead_letters_.dead_letters(hub(), after=after, limit=limit + 1, agency=request.args.get("agency"),
                                      kind=request.args.get("kind"), status=request.args.get("status"))
    return jsonify(rows_page(rows, limit, lambda r: r.id,
                             lambda rows: [dead_letters_.dead_letter_view(r) for r in rows]))


@api_route("/dead-letters/<int:dead_letter_id>/replay", methods=("POST",), roles=("admin",),
           summary="Feed a dead letter through again (optionally with fixed bytes: body_base64, and the agency's "
                   "signature of them); the signature is checked again unless accept_unsigned names the person "
                   "who decided it (by: an admin's username) and why (reason)",
           body="replay", response="ReplayResult", statuses=(200, 400, 404))
def dead_letter_replay(dead_letter_id: int):
    payload = json_object()
    fixed = None
    if payload.get("body_base64"):
        try:
            if not isinstance(payload["body_base64"], str):
                raise ValueError("not text")
            fixed = base64.b64decode(payload["body_base64"], validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("body_base64 is not base64", details={"field": "body_base64", "rule": "base64"}) from None
    signature = payload.get("signature")
    if signature is not None and not isinstance(signature, str):
        raise BadRequest("signature must be text (sha256=<hex>)", details={"field": "signature", "rule": "type"})
    override = None
    if payload.get("accept_unsigned") is not None:
        if payload["accept_unsigned"] is not True:
            raise BadRequest("accept_unsigned must be true when given", details={"field": "accept_unsigned",
                                                                                 "rule": "type"})
        override = dead_letters_.unsigned_override(hub().store, payload.get("by"), payload.get("reason"))
    return jsonify(dead_letters_.replay(hub(), dead_letter_id, fixed, actor=viewer().actor, signature=signature,
                                        override=override))
