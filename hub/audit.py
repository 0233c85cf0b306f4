"""The tamper-evident audit log: an append-only hash chain with signed checkpoints.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own content
(time, actor, action, subject, details), so editing, deleting or reordering any entry
breaks the chain from there on; :func:`verify` walks it and names the first broken entry.
Every accepted message, dead letter, delivery and admin or linkage decision is appended in
the transaction that makes it. Appends are serialised (one writer holds the chain's head).

Checkpoints are entries whose details carry an Ed25519 signature over the chain's head at
that point, made with the hub's signing key (derived from ``hub.secret_key``); the public
key is published (``GET /api/v1/audit/public-key``), so anyone can check a checkpoint, or a
receipt the hub signed for an agency's message, offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hub.store import insert_rows
from hub.store.models import AuditEntry, utcnow

GENESIS = "0" * 64
_LOCK_KEY = 7_215_001  # PostgreSQL advisory lock that serialises appends


def entry_hash(prev_hash: str, at: str, actor: str, action: str, subject: str, details: dict[str, Any]) -> str:
    body = json.dumps([prev_hash, at, actor, action, subject, details], ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _stamp(entry: AuditEntry) -> str:
    return entry.at.isoformat(timespec="microseconds")


def signing_key(secret: str) -> Ed25519PrivateKey:
    """The hub's Ed25519 key, derived from its secret (so every process holds the same)."""
    seed = hashlib.sha256(b"wagehub-audit-signing:" + secret.encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_b64(secret: str) -> str:
    raw = signing_key(secret).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(secret: str, payload: dict[str, Any]) -> str:
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    return base64.b64encode(signing_key(secret).sign(data)).decode()


def check_signature(public_key: str, payload: dict[str, Any], signature: str) -> bool:
    """Offline check of a receipt or checkpoint with the hub's published public key."""
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)).verify(base64.b64decode(signature), data)
    except (InvalidSignature, ValueError):
        return False
    return True


def _chain(session: Session, entries: list[tuple[str, str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows of new entries, each linked to the one before (the chain's head first)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    prev = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar() or GENESIS
    rows = []
    for actor, action, subject, details in entries:
        at = utcnow()
        details = details or {}
        entry_hash_ = entry_hash(prev, at.isoformat(timespec="microseconds"), actor, action, subject, details)
        rows.append({"at": at, "actor": actor, "action": action, "subject": subject, "details": details,
                     "prev_hash": prev, "hash": entry_hash_})
        prev = entry_hash_
    return rows


def append_many(session: Session, entries: Iterable[tuple[str, str, str, dict[str, Any]]]) -> None:
    """Append ``(actor, action, subject, details)`` entries in the caller's transaction
    (one statement for them all).

    Never put personal data in them: subjects are message ids, numbers and record ids.
    """
    entries = list(entries)
    if entries:
        insert_rows(session.connection(), AuditEntry.__table__, _chain(session, entries))


def append(session: Session, actor: str, action: str, subject: str, details: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction; returns it (with its id)."""
    entry = AuditEntry(**_chain(session, [(actor, action, subject, details or {})])[0])
    session.add(entry)
    session.flush()
    return entry


def checkpoint(session: Session, secret: str) -> AuditEntry | None:
    """Sign the chain's head; a no-op when nothing was appended since the last checkpoint."""
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    if last is None or last.action == "audit.checkpoint":
        return None
    count = session.execute(select(func.count()).select_from(AuditEntry)).scalar()
    payload = {"head": last.hash, "entry": last.id, "entries": count}
    return append(session, "hub", "audit.checkpoint", str(last.id), {**payload, "signature": sign(secret, payload)})


def verify(session: Session, secret: str | None = None) -> dict[str, Any]:
    """Walk the chain; report the first entry whose link, content or signature does not hold."""
    prev = GENESIS
    count = checkpoints = 0
    last_id = 0
    public = public_key_b64(secret) if secret else None
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        count += 1
        if entry.prev_hash != prev:
            return {"ok": False, "entries": count, "first_broken": entry.id,
                    "reason": "does not follow the entry before it (deleted or reordered entries)"}
        if entry.hash != entry_hash(prev, _stamp(entry), entry.actor, entry.action, entry.subject, entry.details):
            return {"ok": False, "entries": count, "first_broken": entry.id,
                    "reason": "content does not match its hash (edited)"}
        if entry.action == "audit.checkpoint" and public:
            details = dict(entry.details)
            signature = details.pop("signature", "")
            if details.get("head") != prev or not check_signature(public, details, signature):
                return {"ok": False, "entries": count, "first_broken": entry.id,
                        "reason": "checkpoint signature does not hold"}
            checkpoints += 1
        prev = entry.hash
        last_id = entry.id
    return {"ok": True, "entries": count, "checkpoints": checkpoints, "first_broken": None,
            "last_id": last_id or None, "head": prev}
