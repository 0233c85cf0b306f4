"""Bearer tokens and roles: ``admin``, ``linkage``, ``viewer``, ``agency:<code>``.

Tokens are for systems (people sign in to the console with user accounts,
``hub.web.accounts``). They are random, shown once, and stored as their SHA-256 only;
they can expire and be revoked. Every ``/api/`` route names the roles that may call it.
A bad token is logged (never the token) and counted against its address
(``hub.web.limits``).
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

from hub.casework import audit
from hub.contract.errors import BadRequest, Forbidden, Unauthorized
from hub.store import Store
from hub.store.models import ApiToken, utcnow
from hub.web.limits import client_address, limiter
from schemas.divisions import covers
from schemas.validators import check_division

ROLE_RE = re.compile(r"^(admin|linkage|viewer|agency:[a-z][a-z0-9_-]{0,39})(@[0-9]{6}(,[0-9]{6}){0,7})?$")


def split_role(role: str) -> tuple[str, tuple[str, ...]]:
    """A stored role (``viewer@370103``, ``agency:gov@370100``, ``linkage@370102,370103``) as
    its role and its district scope (the division codes, none: unlimited)."""
    base, _, codes = role.partition("@")
    return base, tuple(c for c in codes.split(",") if c)
TOKEN_PREFIX = "wht_"


@dataclass(frozen=True)
class Principal:
    """Who is asking: a system by its token, or a person by their user account."""

    role: str
    token_id: int | None = None
    user_id: int | None = None
    username: str | None = None
    sender: str | None = None
    """For an agency with several senders: the one this principal speaks for."""
    scope: tuple[str, ...] = ()
    """District scope: the division codes whose records this principal sees (a city's
    code takes in its districts); empty: every district."""

    @classmethod
    def of(cls, role: str, **kwargs) -> Principal:
        """The principal of a stored role, its district scope split off."""
        base, scope = split_role(role)
        return cls(role=base, scope=scope, **kwargs)

    @property
    def stored_role(self) -> str:
        """The role as stored with the token or user (with its scope)."""
        return f"{self.role}@{','.join(self.scope)}" if self.scope else self.role

    def covers(self, region: str | None) -> bool:
        """Whether a matter of district ``region`` lies in this principal's scope."""
        return not self.scope or any(covers(area, region) for area in self.scope)

    @property
    def actor(self) -> str:
        """The name the audit log and decisions carry: the person, or the token's id (with its role)."""
        return f"user:{self.username}" if self.username else f"{self.role}#{self.token_id}"

    @property
    def agency(self) -> str | None:
        return self.role.split(":", 1)[1] if self.role.startswith("agency:") else None

    def may(self, roles: tuple[str, ...]) -> bool:
        return self.role in roles or (self.agency is not None and "agency" in roles)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_role(role: str) -> None:
    if not ROLE_RE.match(role):
        raise BadRequest(f"role must be admin, linkage, viewer or agency:<code>, each optionally limited to districts "
                         f"(viewer@370103, agency:gov@370100), not {role!r}", details={"field": "role", "rule": "enum"})
    base, scope = split_role(role)
    if scope and base == "admin":
        raise BadRequest("an admin is not limited to districts: give admin alone",
                         details={"field": "role", "rule": "scope"})
    for code in scope:
        try:
            check_division(code)
        except ValueError as exc:
            raise BadRequest(f"district scope {code}: {exc}", details={"field": "role", "rule": "division"}) from None


def create_token(store: Store, role: str, label: str | None = None, expires_in_days: float | None = None,
                 actor: str = "cli", sender: str | None = None) -> str:
    check_role(role)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    with store.session() as session:
        row = ApiToken(token_hash=hash_token(token), role=role, label=label, expires_at=expires, sender=sender)
        session.add(row)
        session.flush()
        audit.append(session, actor, "token.created", str(row.id), {"role": role, "label": label, "sender": sender})
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


def authenticate(store: Store) -> Principal:
    failures = limiter()
    address = client_address()
    failures.check(address)
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token: send Authorization: Bearer <token>")
    principal, problem = token_principal(store, token)
    if principal is None:
        failures.failed(address, "token", problem)
        raise Unauthorized(problem)
    return principal


def refuse_unbound(principal: Principal, registry) -> None:
    """An agency with several senders takes only principals bound to one of them."""
    adapter = registry.get(principal.agency) if principal.agency else None
    if adapter is not None and adapter.info.sender_header and principal.sender is None:
        raise Forbidden(f"agency {principal.agency} has several senders: this token or user is bound to none "
                        "(create one with --sender)")


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
