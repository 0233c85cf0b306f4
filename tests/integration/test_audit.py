"""The audit log covers messages, dead letters, deliveries and admin actions; signed heads
and receipts check offline with the published public key; the chain cannot be cut short
or rewritten unseen (the attacks below run on SQLite and, in CI, on PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select, update

from hub import keys
from hub.casework import audit
from hub.store.models import AuditEntry, Outbox
from tests.helpers import sample, wait_for


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
    admin = token("admin")
    workers.stop()  # signs the head as it leaves the chain
    assert hub.checkpoint() is None  # nothing new to sign
    result = client.get("/api/v1/audit/verify", headers=admin).json
    assert result["ok"] is True and result["checkpoints"] == 1 and result["heads_checked"] == 1
    assert result["newest_head"]["seq"] == result["last_seq"] - 1  # the checkpoint entry follows its head


def test_a_checkpoint_signed_with_another_key_is_found(hub, token):
    token("viewer")
    hub.checkpoint()
    token("viewer")
    with hub.store.transaction() as session:  # someone with write access to the database records a key of theirs
        audit.checkpoint(session, Ed25519PrivateKey.generate())
    with hub.store.sessions() as session:
        forged = session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.key")
                                 .order_by(AuditEntry.seq.desc())).first()
    result = hub.verify_audit()
    assert result["ok"] is False and result["first_broken"] == forged.id and "does not trust" in result["reason"]


def test_a_checkpoint_whose_signature_was_copied_is_found(hub, token):
    token("viewer")
    first = hub.checkpoint()
    token("viewer")
    hub.checkpoint()
    with hub.store.transaction() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        details = {**last.details, "signature": first["signature"]}
        rehash(session, last.seq, edit={last.seq: {"details": details}})
    result = hub.verify_audit()
    assert result["ok"] is False and "checkpoint signature" in result["reason"]


def test_an_agency_gets_a_signed_receipt_it_can_check_offline(hub, client, token):
    from hub.contract.types import NativeMessage

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
    with hub.store.transaction() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == sent.id).values(subject="out_forged"))
    result = client.get("/api/v1/audit/verify", headers=token("admin")).json
    assert result["ok"] is False and result["first_broken"] == sent.id


# -- cutting and rewriting the chain -----------------------------------------------------------

def grow(hub, token, n: int) -> dict:
    """``n`` audited actions, then a signed head; the head."""
    for _ in range(n):
        token("viewer")
    head = hub.checkpoint()
    assert head is not None
    return head


def rehash(session, from_seq: int, edit: dict | None = None) -> None:
    """What an attacker with the database does: change entries and hash the chain again from
    ``from_seq`` on, numbering it without gaps (no secret is needed for that)."""
    entries = list(session.scalars(select(AuditEntry).where(AuditEntry.seq >= from_seq).order_by(AuditEntry.id)))
    prev = session.scalars(select(AuditEntry.hash).where(AuditEntry.seq == from_seq - 1)).first() or audit.GENESIS
    for seq, entry in enumerate(entries, from_seq):
        values = {**{k: getattr(entry, k) for k in ("at", "actor", "action", "subject", "details")},
                  **(edit or {}).get(entry.seq, {})}
        new = audit.entry_hash(seq, prev, values["at"].isoformat(timespec="microseconds"), values["actor"],
                               values["action"], values["subject"], values["details"])
        session.execute(update(AuditEntry).where(AuditEntry.id == entry.id)
                        .values(seq=-seq, prev_hash=prev, hash=new, **values))  # negative: no clash while renumbering
        prev = new
    session.execute(update(AuditEntry).where(AuditEntry.seq < 0).values(seq=-AuditEntry.seq))


def test_deleting_the_newest_entries_with_the_latest_checkpoint_is_found(hub, token, client):
    admin = token("admin")
    first = grow(hub, token, 3)
    second = grow(hub, token, 4)
    assert hub.verify_audit()["ok"] is True
    cut = first["seq"] + 3  # two of the second batch stay
    with hub.store.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= cut))
    with hub.store.sessions() as session:  # the chain alone still holds: only the signed heads can tell
        assert audit.verify(session)["ok"] is True
    result = client.get("/api/v1/audit/verify", headers=admin).json
    assert result["ok"] is False and result["first_bad_seq"] == cut and result["reason"].startswith("truncated")
    assert f"seq {second['seq']}" in result["reason"]


def test_deleting_only_the_latest_checkpoint_is_found(hub, token):
    head = grow(hub, token, 2)
    with hub.store.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == head["seq"] + 1))
    result = hub.verify_audit()
    assert result["ok"] is False and result["first_bad_seq"] == head["seq"] + 1 and "truncated" in result["reason"]


def test_an_entry_edited_and_everything_after_rehashed_is_found(hub, token):
    first = grow(hub, token, 3)
    second = grow(hub, token, 4)
    grow(hub, token, 2)
    target = first["seq"] + 3  # a token.created of the second batch
    with hub.store.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq > second["seq"],
                                                 AuditEntry.action == "audit.checkpoint"))
        rehash(session, target, edit={target: {"details": {"role": "admin"}}})
    with hub.store.sessions() as session:
        assert audit.verify(session)["ok"] is True  # consistent without the heads kept outside
    result = hub.verify_audit()
    assert result["ok"] is False and result["reason"].startswith("rewritten")
    assert result["first_bad_seq"] == first["seq"] + 1 <= target  # the first entry no head vouches for


def test_the_heads_an_agency_kept_find_a_cut_the_head_file_lost(hub, token, client):
    grow(hub, token, 2)
    kept = client.get("/api/v1/audit/heads", headers=token("agency:hrss")).json["items"]
    hub.heads_file.unlink()  # the head file was not on WORM storage, and went too
    with hub.store.transaction() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq >= kept[0]["seq"]))
    assert hub.verify_audit()["ok"] is True
    result = hub.verify_audit(kept)
    assert result["ok"] is False and result["first_bad_seq"] == kept[0]["seq"]


def test_a_head_not_signed_by_the_hub_is_refused(hub, token):
    head = grow(hub, token, 2)
    forged = {**head, "hash": "f" * 64}
    assert hub.verify_audit([forged])["ok"] is False
    stranger = Ed25519PrivateKey.generate()
    payload = {k: forged[k] for k in ("seq", "hash", "at")}
    other = {**payload, "public_key": keys.public_b64(stranger), "signature": audit.sign(stranger, payload)}
    result = hub.verify_audit([other])
    assert result["ok"] is False and "does not check" in result["reason"]
    with open(hub.heads_file, "a") as fh:
        fh.write('{"seq": "garbled\n')
    result = hub.verify_audit()
    assert result["ok"] is False and "not a signed head" in result["reason"]


def test_heads_are_served_newest_first_and_paged(hub, token, client):
    heads = [grow(hub, token, 1) for _ in range(3)]
    assert [json.loads(line)["seq"] for line in hub.heads_file.read_text().splitlines()] == [h["seq"] for h in heads]
    viewer = token("viewer")
    page = client.get("/api/v1/audit/heads?limit=2", headers=viewer).json
    assert [h["seq"] for h in page["items"]] == [heads[2]["seq"], heads[1]["seq"]]
    rest = client.get(f"/api/v1/audit/heads?limit=2&cursor={page['next_cursor']}", headers=viewer).json
    assert [h["seq"] for h in rest["items"]] == [heads[0]["seq"]] and rest["next_cursor"] is None
    public = client.get("/api/v1/audit/public-key", headers=viewer).json["public_key"]
    item = page["items"][0]
    assert audit.check_signature(public, {k: item[k] for k in ("seq", "hash", "at")}, item["signature"])
    assert client.get("/api/v1/audit/heads").status_code == 401
    assert stat.S_IMODE(os.stat(hub.heads_file).st_mode) == 0o600


# -- the signing key ---------------------------------------------------------------------------

def test_the_signing_key_is_its_own_and_a_rotation_is_recorded(settings):
    from hub.runtime import Hub

    first = Hub(settings)
    assert keys.public_b64(first.audit_key) != audit.legacy_public_key(first.settings["hub"]["secret_key"])
    head = grow(first, _token(first), 2)
    first.shutdown()
    path = keys.key_path(settings)
    os.unlink(path)  # a new key file: the next checkpoint records it, naming the previous key
    second = Hub(settings)
    assert keys.public_b64(second.audit_key) != head["public_key"]
    grow(second, _token(second), 1)
    with second.store.sessions() as session:
        recorded = [e.details for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.key")
                                                        .order_by(AuditEntry.seq))]
    assert [r["previous"] for r in recorded] == [None, head["public_key"]]
    result = second.verify_audit()
    assert result["ok"] is True and result["heads_checked"] == 2  # the old key's heads still check
    second.shutdown()


def _token(hub):
    from hub.web.auth import create_token

    return lambda role: create_token(hub.store, role)


def test_the_scheduler_signs_the_head_while_entries_are_appended(hub, token):
    from hub.runtime import Workers

    hub.settings["audit"] = {**hub.settings["audit"], "checkpoint_every": 1}
    with Workers(hub):
        token("viewer")
        first = wait_for(lambda: audit.read_heads(hub.heads_file), timeout=10)
        token("viewer")
        wait_for(lambda: len(audit.read_heads(hub.heads_file)) > len(first), timeout=10)
    assert hub.verify_audit()["ok"] is True


def test_workers_sign_the_head_when_they_stop(hub, token):
    from hub.runtime import Workers

    with Workers(hub):
        token("viewer")
        assert audit.read_heads(hub.heads_file) == []  # the next one is a minute away
    heads = audit.read_heads(hub.heads_file)
    assert len(heads) == 1 and hub.verify_audit()["ok"] is True


@pytest.mark.empty_database
def test_a_chain_from_before_sequence_numbers_still_verifies_after_the_upgrade(settings):
    """Migration 0004 numbers the old entries and keeps their hashes (hash version 1,
    checked by the old rule, their checkpoints with the key the old hub derived from its
    secret); new entries follow on, and tampering with an old one is still found."""
    import datetime as dt

    from sqlalchemy import JSON, column, insert, table

    from hub.runtime import Hub
    from hub.store import Store

    old = Store(settings["hub"]["database_url"])
    old.upgrade("0002")
    legacy = Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"wagehub-audit-signing:" + keys.DEV_SECRET.encode()).digest())
    prev, rows = audit.GENESIS, []
    for n in range(4):
        at = dt.datetime(2026, 11, 30, 8, n, tzinfo=dt.UTC)
        if n == 3:  # the old hub's checkpoint
            payload = {"head": prev, "entry": 3, "entries": 3}
            action, subject, details = "audit.checkpoint", "3", {**payload, "signature": audit.sign(legacy, payload)}
        else:
            action, subject, details = "token.created", f"tok-{n}", {"role": "viewer"}
        h = audit.legacy_hash(prev, at.isoformat(timespec="microseconds"), "cli", action, subject, details)
        rows.append({"at": at, "actor": "cli", "action": action, "subject": subject,
                     "details": details, "prev_hash": prev, "hash": h})
        prev = h
    before = table("audit_log", *(column(c) for c in ("actor", "action", "subject", "prev_hash", "hash")),
                   column("at", AuditEntry.__table__.c.at.type), column("details", JSON))
    with old.engine.begin() as conn:
        conn.execute(insert(before), rows)
    old.dispose()

    hub = Hub(settings)  # migrates to the head
    try:
        result = hub.verify_audit()
        assert result["ok"] is True and result["entries"] == 4 and result["checkpoints"] == 1
        grow(hub, _token(hub), 2)
        result = hub.verify_audit()
        assert result["ok"] is True and result["entries"] == 4 + 2 + 2 and result["heads_checked"] == 1
        with hub.store.transaction() as session:
            session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(subject="tok-forged"))
        result = hub.verify_audit()
        assert result["ok"] is False and result["first_bad_seq"] == 2
    finally:
        hub.shutdown()


def test_a_store_restored_where_the_key_is_another_verifies_and_records_the_new_key(settings):
    """A copy of the store on a host with another key file: the chain holds (the new key is
    not in it yet); its first checkpoint records it, naming the chain's last key."""
    from hub.runtime import Hub

    first = Hub(settings)
    grow(first, _token(first), 2)
    first.shutdown()
    os.unlink(keys.key_path(settings))
    os.unlink(first.heads_file)  # another host: its own var/
    second = Hub(settings)
    try:
        assert second.verify_audit()["ok"] is True
        grow(second, _token(second), 1)
        result = second.verify_audit()
        assert result["ok"] is True and result["heads_checked"] == 1
    finally:
        second.shutdown()
