"""The audit log covers messages, dead letters, deliveries and admin actions; checkpoints
and receipts are signed and check offline with the published public key."""

from __future__ import annotations

import hashlib

from sqlalchemy import select, update

from hub import audit
from hub.store.models import AuditEntry, Outbox
from tests.conftest import sample, wait_for


def actions(hub) -> list[str]:
    with hub.store.sessions() as session:
        return [a for (a,) in session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]


def test_every_message_dead_letter_and_delivery_is_in_the_chain(hub, workers, agency, client, token):
    agency.publish("police", sample("police-receipt.xml"), message_id="r-1", content_type="application/xml")
    agency.publish("hrss", sample("bad/hrss-bad-json.json"), message_id="bad-1")
    agency.receive("hrss", 1)
    wait_for(lambda: "delivery.sent" in actions(hub) and "message.rejected" in actions(hub))
    assert {"message.accepted", "message.rejected", "delivery.sent"} <= set(actions(hub))
    client.post("/api/v1/plugins/union/disable", headers=token("admin"))
    assert {"token.created", "plugin.disabled"} <= set(actions(hub))
    secret = hub.settings["hub"]["secret_key"]
    with hub.store.session() as session:
        assert audit.checkpoint(session, secret) is not None
        assert audit.checkpoint(session, secret) is None  # nothing new to sign
    result = client.get("/api/v1/audit/verify", headers=token("admin")).json
    assert result["ok"] is True and result["checkpoints"] == 1


def test_a_forged_checkpoint_is_found(hub, token):
    token("viewer")
    with hub.store.session() as session:
        cp = audit.checkpoint(session, "another-secret-key")  # signed with the wrong key
    with hub.store.sessions() as session:
        result = audit.verify(session, hub.settings["hub"]["secret_key"])
    assert result["ok"] is False and result["first_broken"] == cp.id and "signature" in result["reason"]


def test_an_agency_gets_a_signed_receipt_it_can_check_offline(hub, client, token):
    from hub.types import NativeMessage

    body = sample("hrss-clue.json")
    hub.pipeline.process([NativeMessage("hrss", body, "clue-77", "application/json")])
    mine = token("agency:hrss")
    resp = client.get("/api/v1/receipts/hrss/clue-77", headers=mine)
    assert resp.status_code == 200
    receipt, signature = resp.json["receipt"], resp.json["signature"]
    assert receipt["status"] == "accepted" and len(receipt["records"]) == 1
    assert receipt["body_sha256"] == hashlib.sha256(body).hexdigest()
    public = client.get("/api/v1/audit/public-key", headers=mine).json["public_key"]
    assert audit.check_signature(public, receipt, signature)
    assert not audit.check_signature(public, {**receipt, "status": "rejected"}, signature)
    assert client.get("/api/v1/receipts/hrss/clue-77", headers=token("agency:police")).status_code == 403
    assert client.get("/api/v1/receipts/hrss/nope", headers=mine).status_code == 404


def test_tampering_with_a_delivery_entry_breaks_the_chain(hub, workers, agency, client, token):
    agency.publish("police", sample("police-receipt.xml"), message_id="r-2", content_type="application/xml")
    agency.receive("hrss", 1)
    wait_for(lambda: "delivery.sent" in actions(hub))
    with hub.store.sessions() as session:
        sent = session.scalars(select(AuditEntry).where(AuditEntry.action == "delivery.sent")).first()
        message_id = session.scalars(select(Outbox.message_id)).first()
    assert sent.subject == message_id
    with hub.store.session() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == sent.id).values(subject="out_forged"))
    result = client.get("/api/v1/audit/verify", headers=token("admin")).json
    assert result["ok"] is False and result["first_broken"] == sent.id
