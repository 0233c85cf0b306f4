"""Bearer tokens and roles: ``admin``, ``linkage``, ``viewer``, ``agency:<code>``.

Tokens are random, shown once, and stored as their SHA-256 only; they can expire and
be revoked. Every ``/api/`` route names the roles that may call it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from flask import g, request
from sqlalchemy import select

from hub import audit
from hub.errors import BadRequest, Forbidden, Unauthorized
from hub.store import Store
from hub.store.models import ApiToken, utcnow

ROLE_RE = re.compile(r"^(admin|linkage|viewer|agency:[a-z][a-z0-9_-]{0,39})$")
TOKEN_PREFIX = "wht_"


@dataclass(frozen=True)
class Principal:
    role: str
    token_id: int

    @property
    def agency(self) -> str | None:
        return self.role.split(":", 1)[1] if self.role.startswith("agency:") else None

    def may(self, roles: tuple[str, ...]) -> bool:
        return self.role in roles or (self.agency is not None and "agency" in roles)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, role: str, label: str | None = None, expires_in_days: float | None = None,
                 actor: str = "cli") -> str:
    if not ROLE_RE.match(role):
        raise BadRequest(f"role must be admin, linkage, viewer or agency:<code>, not {role!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    with store.session() as session:
        row = ApiToken(token_hash=hash_token(token), role=role, label=label, expires_at=expires)
        session.add(row)
        session.flush()
        audit.append(session, actor, "token.created", str(row.id), {"role": role, "label": label})
    return token


def revoke_token(store: Store, token_or_id: str, actor: str = "cli") -> bool:
    with store.session() as session:
        if token_or_id.isdigit():
            row = session.get(ApiToken, int(token_or_id))
        else:
            row = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(token_or_id))).first()
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        audit.append(session, actor, "token.revoked", str(row.id), {"role": row.role})
        return True


def authenticate(store: Store) -> Principal:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token: send Authorization: Bearer <token>")
    digest = hash_token(token.strip())
    with store.sessions() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    # compare_digest keeps the final check constant-time even though the lookup is by hash
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise Unauthorized("unknown token")
    if row.revoked_at is not None:
        raise Unauthorized("token revoked")
    if row.expires_at is not None and row.expires_at <= utcnow():
        raise Unauthorized("token expired")
    return Principal(role=row.role, token_id=row.id)


def require(store: Store, roles: tuple[str, ...], agency: str | None = None) -> Principal:
    """Authenticate the request and check its role; ``agency`` for agency-scoped routes."""
    principal = authenticate(store)
    allowed = principal.role in roles
    if not allowed and principal.agency and "agency" in roles:
        allowed = agency is None or principal.agency == agency
    if not allowed:
        raise Forbidden(f"role {principal.role} may not do this")
    g.principal = principal
    return principal
