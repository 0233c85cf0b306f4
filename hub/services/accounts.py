"""Console user accounts: named people, each with a role (as tokens have), an agency user
bound to its agency by that role.

Passwords are stored as scrypt hashes only (``hashlib.scrypt``, RFC 7914; the cost
parameters are kept in the hash, so raising them later leaves old hashes checkable).
Disabling a user or resetting the password ends the user's console sessions (each
request checks both). Every change is audited under whoever made it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

from sqlalchemy import select

from hub.casework import audit
from hub.contract.errors import BadRequest, Conflict, NotFound
from hub.services.principals import Principal, check_role
from hub.store import Store
from hub.store.models import User, utcnow

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
# scrypt cost: N=2^15, r=8, p=1 (32 MiB, about 0.1 s on one core): OWASP's interactive-login floor.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 15, 8, 1


def hash_password(password: str, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, r, p)
    return "$".join(["scrypt", str(n), str(r), str(p), base64.b64encode(salt).decode(), base64.b64encode(digest).decode()])


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        return hmac.compare_digest(_scrypt(password, base64.b64decode(salt), int(n), int(r), int(p)), expected)
    except (ValueError, TypeError):
        return False


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + (1 << 20),
                          dklen=32)


# Checked when no such user exists, so a wrong username costs the time a wrong password does.
_DUMMY = hash_password(secrets.token_urlsafe(16))


def _check_new_password(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise BadRequest(f"password must be at least {min_length} characters",
                         details={"field": "password", "rule": "length"})


def create_user(store: Store, username: str, role: str, password: str, *, min_length: int, actor: str = "cli",
                sender: str | None = None) -> int:
    if not USERNAME_RE.match(username):
        raise BadRequest("username must be 2-64 lower-case letters, digits, '.', '_' or '-', starting with a letter "
                         "or digit", details={"field": "username", "rule": "pattern"})
    check_role(role)
    _check_new_password(password, min_length)
    with store.transaction() as session:
        if session.scalars(select(User.id).where(User.username == username)).first() is not None:
            raise Conflict(f"user {username} exists already", details={"field": "username", "rule": "unique"})
        user = User(username=username, password_hash=hash_password(password), role=role, sender=sender)
        session.add(user)
        session.flush()
        audit.append(session, actor, "user.created", username, {"role": role, "sender": sender})
        return user.id


def _user(session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user {username}")
    return user


def disable_user(store: Store, username: str, actor: str = "cli") -> None:
    """Disable the account: its sessions end at their next request, it cannot sign in."""
    with store.transaction() as session:
        user = _user(session, username)
        if user.disabled_at is None:
            user.disabled_at = utcnow()
            audit.append(session, actor, "user.disabled", username, {})


def reset_password(store: Store, username: str, password: str, *, min_length: int, actor: str = "cli") -> None:
    """Set a new password (and enable a disabled account): the user's sessions end."""
    _check_new_password(password, min_length)
    with store.transaction() as session:
        user = _user(session, username)
        user.password_hash = hash_password(password)
        user.password_set_at = utcnow()
        was_disabled, user.disabled_at = user.disabled_at is not None, None
        audit.append(session, actor, "user.password_reset", username, {"enabled_again": was_disabled})


def sign_in(store: Store, username: str, password: str) -> tuple[Principal | None, str | None]:
    """The principal of a username and password, or None and why not (the same words for a
    wrong username as for a wrong password)."""
    with store.sessions() as session:
        user = session.scalars(select(User).where(User.username == username.strip().lower())).first()
    if user is None:
        check_password(password, _DUMMY)
        return None, "wrong username or password"
    if not check_password(password, user.password_hash):
        return None, "wrong username or password"
    if user.disabled_at is not None:
        return None, "account disabled"
    return user_principal(user), None


def user_principal(user: User) -> Principal:
    return Principal.of(user.role, user_id=user.id, username=user.username, sender=user.sender)


def list_users(store: Store) -> list[User]:
    with store.sessions() as session:
        return list(session.scalars(select(User).order_by(User.username)))
