"""The audit chain: checking it, its signed heads and public key, and an agency's signed
receipt for a message it sent."""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select

from hub import keys
from hub.casework import audit
from hub.contract.errors import BadRequest, NotFound
from hub.ids import BEIJING
from hub.services.paging import rows_page
from hub.store.models import AuditEntry
from hub.web.api.routing import ALL_READERS, api_route, hub, page_cursor, page_limit, query_param, viewer


@api_route("/audit/verify", roles=("admin",), summary="Check the tamper-evident audit log end to end, against "
           "the signed heads kept outside the database", response="AuditResult", statuses=(200,))
def audit_verify():
    return jsonify(hub().verify_audit())


@api_route("/audit/heads", roles=ALL_READERS,
           summary="Signed heads of the audit chain (seq, hash, at, public_key, signature), newest first: keep "
                   "them, a later chain must still contain each",
           params=[query_param("limit", "page size, at most 500", "integer"),
                   query_param("cursor", "from next_cursor")],
           response="HeadPage", statuses=(200, 400))
def audit_heads():
    limit, before = page_limit(), page_cursor()
    heads = audit.newest_heads(hub().heads_file, limit + 1, before_seq=before or None)
    return jsonify(rows_page(heads, limit, key=lambda h: h["seq"], view=list))


@api_route("/audit/public-key", roles=ALL_READERS,
           summary="The hub's Ed25519 public key: checks receipts and signed heads offline", response="Key")
def audit_public_key():
    return jsonify({"algorithm": "Ed25519", "public_key": keys.public_b64(hub().audit_key),
                    "encoding": "base64 of the raw 32-byte key; signatures are over the JSON payload with sorted "
                                "keys and no spaces"})


@api_route("/receipts/<agency>/<message_id>", roles=("admin", "agency"), agency_arg="agency",
           params=[query_param("sender", "an agency with several senders (contractor): whose message, for admins "
                                         "(an agency's own token or user is bound to its sender)")],
           summary="A signed receipt for a message the agency sent: what became of it, checkable offline",
           response="Receipt", statuses=(200, 403, 404))
def receipt(agency: str, message_id: str):
    adapter = hub().registry.get(agency)
    sender = viewer().sender or (request.args.get("sender") or "").strip().upper() or None
    if adapter is not None and adapter.info.sender_header and sender is None:
        raise BadRequest(f"agency {agency} has several senders: name the sender (?sender=)",
                         details={"field": "sender", "rule": "required"})
    kept = f"{sender}/{message_id}" if sender else message_id
    with hub().store.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.subject == f"{agency}/{kept}",
            AuditEntry.action.in_(("message.accepted", "message.rejected"))).order_by(AuditEntry.id.desc())).first()
    if entry is None:
        raise NotFound(f"no message {message_id} from {agency}")
    payload = {
        "agency": agency, **({"sender": sender} if sender else {}), "message_id": message_id,
        "status": entry.action.split(".", 1)[1],
        "records": entry.details.get("records", []), "dead_letters": entry.details.get("dead_letters", []),
        "body_sha256": entry.details.get("body_sha256"), "at": entry.at.astimezone(BEIJING).isoformat(),
        "audit_entry": entry.id, "audit_seq": entry.seq, "audit_hash": entry.hash,
    }
    return jsonify({"receipt": payload, "signature": audit.sign(hub().audit_key, payload), "algorithm": "Ed25519"})
