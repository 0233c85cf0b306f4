"""Bearer tokens and roles: ``admin``, ``linkage``, ``viewer``, ``agency:<code>``.

Tokens are for systems (people sign in to the console with user accounts,
``hub.services.accounts``); making, revoking and reading them is ``hub.services.tokens``.
Here: the bearer token of a request, and the role check every ``/api/`` route makes.
A bad token is logged (never the token) and counted against its address
(``hub.web.limits``).
"""

from __future__ import annotations

from flask import g, request

from hub.contract.errors import Forbidden, Unauthorized
from hub.services.principals import Principal, check_role
from hub.services.tokens import TOKEN_PREFIX, create_token, hash_token, revoke_token, token_principal, token_problem
from hub.store import Store
from hub.web.limits import client_address, limiter

# The token operations are re-exported: tests and tools make their tokens through here.
__all__ = ["TOKEN_PREFIX", "Principal", "authenticate", "check_role", "create_token", "hash_token", "refuse_unbound",
           "require", "revoke_token", "token_principal", "token_problem"]


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
