"""The tamper-evident audit log: an append-only hash chain.

Each entry's hash is SHA-256 over the previous entry's hash and the entry's own content
(time, actor, action, subject, details), so editing, deleting or reordering any entry
breaks the chain from there on; :func:`verify` walks it and names the first broken entry.
Appends are serialised (one writer at a time holds the chain's head).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.store.models import AuditEntry, utcnow

GENESIS = "0" * 64
_LOCK_KEY = 7_215_001  # PostgreSQL advisory lock that serialises appends


def entry_hash(prev_hash: str, at: str, actor: str, action: str, subject: str, details: dict[str, Any]) -> str:
    body = json.dumps([prev_hash, at, actor, action, subject, details], ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _stamp(entry: AuditEntry) -> str:
    return entry.at.isoformat(timespec="microseconds")


def append(session: Session, actor: str, action: str, subject: str, details: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry in the caller's transaction. Never put personal data in ``details``."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    prev = last or GENESIS
    entry = AuditEntry(at=utcnow(), actor=actor, action=action,
                       subject=subject, details=details or {}, prev_hash=prev, hash="")
    entry.hash = entry_hash(prev, _stamp(entry), actor, action, subject, entry.details)
    session.add(entry)
    session.flush()
    return entry


def verify(session: Session) -> dict[str, Any]:
    """Walk the chain; report the first entry whose link or content does not hold."""
    prev = GENESIS
    count = 0
    last_id = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        count += 1
        if entry.prev_hash != prev:
            return {"ok": False, "entries": count, "first_broken": entry.id,
                    "reason": "does not follow the entry before it (deleted or reordered entries)"}
        if entry.hash != entry_hash(prev, _stamp(entry), entry.actor, entry.action, entry.subject, entry.details):
            return {"ok": False, "entries": count, "first_broken": entry.id,
                    "reason": "content does not match its hash (edited)"}
        prev = entry.hash
        last_id = entry.id
    return {"ok": True, "entries": count, "first_broken": None, "last_id": last_id or None, "head": prev}
