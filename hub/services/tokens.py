"""Bearer tokens for systems: random, shown once, stored as their SHA-256 only; they can
expire and be revoked (every change audited). Reading the token off a request is the web
layer's part (``hub.web.auth``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import select

from hub.casework import audit
from hub.services.principals import Principal, check_role
from hub.store import Store
from hub.store.models import ApiToken, utcnow

TOKEN_PREFIX = "wht_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, role: str, label: str | None = None, expires_in_days: float | None = None,
                 actor: str = "cli", sender: str | None = None) -> str:
    check_role(role)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    with store.transaction() as session:
        row = ApiToken(token_hash=hash_token(token), role=role, label=label, expires_at=expires, sender=sender)
        session.add(row)
        session.flush()
        audit.append(session, actor, "token.created", str(row.id), {"role": role, "label": label, "sender": sender})
    return token


def revoke_token(store: Store, token_or_id: str, actor: str = "cli") -> bool:
    with store.transaction() as session:
        if token_or_id.isdigit():
            row = session.get(ApiToken, int(token_or_id))
        else:
            row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token_or_id))).first()
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        audit.append(session, actor, "token.revoked", str(row.id), {"role": row.role})
        return True


def token_problem(row: ApiToken | None) -> str | None:
    """Why this token row may not be used (None: it may)."""
    if row is None:
        return "unknown token"
    if row.revoked_at is not None:
        return "token revoked"
    if row.expires_at is not None and row.expires_at <= utcnow():
        return "token expired"
    return None


def token_principal(store: Store, token: str) -> tuple[Principal | None, str | None]:
    """The principal of a token, or None and why not."""
    digest = hash_token(token.strip())
    with store.sessions() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    # compare_digest keeps the final check constant-time even though the lookup is by hash
    if row is not None and not hmac.compare_digest(row.token_hash, digest):
        row = None
    problem = token_problem(row)
    if problem:
        return None, problem
    return Principal.of(row.role, token_id=row.id, sender=row.sender), None
