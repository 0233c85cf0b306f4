"""Who is asking, as every layer sees it: a role (``admin``, ``linkage``, ``viewer``,
``agency:<code>``), optionally limited to districts, with the sender it speaks for.

The web layer makes one from a token or a signed-in user; the command line uses
:data:`OPERATOR`, the person at the hub's own console, who sees every district in full.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.contract.errors import BadRequest
from schemas.divisions import covers
from schemas.validators import check_division

ROLE_RE = re.compile(r"^(admin|linkage|viewer|agency:[a-z][a-z0-9_-]{0,39})(@[0-9]{6}(,[0-9]{6}){0,7})?$")


def split_role(role: str) -> tuple[str, tuple[str, ...]]:
    """A stored role (``viewer@370103``, ``agency:gov@370100``, ``linkage@370102,370103``) as
    its role and its district scope (the division codes, none: unlimited)."""
    base, _, codes = role.partition("@")
    return base, tuple(c for c in codes.split(",") if c)


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


OPERATOR = Principal(role="admin")
"""The command line's caller: the operator of the hub, every district, personal data in full."""


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
