"""Dead letters: what failed, with its reason and the bytes as they came, and replaying
one after a fix (the agency's signature checked again, unless a named admin overrides it
for a stated reason; every replay audited)."""

from __future__ import annotations

import base64
import hashlib

from sqlalchemy import select

from hub.casework import audit
from hub.contract.errors import BadRequest, Forbidden, NotFound
from hub.messaging.pipeline import message_for_replay
from hub.store.models import DeadLetter, User


def dead_letter_view(dl: DeadLetter) -> dict:
    return {
        "id": dl.id, "agency": dl.agency, "kind": dl.kind, "message_id": dl.message_id, "row": dl.row or None,
        "reason": dl.reason, "field": dl.field, "rule": dl.rule, "status": dl.status,
        "content_type": dl.content_type, "content_encoding": dl.content_encoding,
        "created_at": dl.created_at.isoformat(), "attempts": dl.attempts,
        "replayed_at": dl.replayed_at.isoformat() if dl.replayed_at else None, "replay_result": dl.replay_result,
        "body_base64": base64.b64encode(dl.body).decode(),
    }


def dead_letters(h, *, after: int = 0, limit: int, agency: str | None = None, kind: str | None = None,
                 status: str | None = None) -> list[DeadLetter]:
    """Up to ``limit`` dead letters after id ``after``, oldest first, of ``agency``,
    ``kind`` and ``status`` where given."""
    query = select(DeadLetter).where(DeadLetter.id > after).order_by(DeadLetter.id).limit(limit)
    for value, column in ((agency, DeadLetter.agency), (kind, DeadLetter.kind), (status, DeadLetter.status)):
        if value:
            query = query.where(column == value)
    with h.store.sessions() as session:
        return list(session.scalars(query))


def unsigned_override(store, by: object, reason: object) -> dict[str, str]:
    """The person who decides that unauthenticated bytes go in (an enabled admin's
    username) and why: both required, both audited."""
    if not isinstance(reason, str) or not reason.strip():
        raise BadRequest("accepting unsigned bytes needs the reason", details={"field": "reason", "rule": "required"})
    if not isinstance(by, str) or not by.strip():
        raise BadRequest("accepting unsigned bytes needs the person who decides it: by, an admin's username",
                         details={"field": "by", "rule": "required"})
    with store.sessions() as session:
        user = session.scalars(select(User).where(User.username == by.strip())).first()
    if user is None or user.disabled_at is not None or user.role != "admin":
        raise BadRequest(f"by must name an enabled admin user account, not {by.strip()[:64]!r}",
                         details={"field": "by", "rule": "admin-user"})
    return {"by": user.username, "reason": reason.strip()}


def replay(h, dead_letter_id: int, body: bytes | None = None, actor: str = "cli", *, signature: str | None = None,
           override: dict[str, str] | None = None) -> dict:
    """Feed a dead letter through again. The agency's signature is checked again (of the
    fixed bytes: give ``signature``, made with the agency's key); ``override`` (the person
    and the reason, see :func:`unsigned_override`) accepts bytes without one, audited."""
    if not 0 < dead_letter_id < 2 ** 63:  # beyond any database integer: no such row
        raise NotFound(f"no dead letter {dead_letter_id}")
    with h.store.sessions() as session:
        dl = session.get(DeadLetter, dead_letter_id)
        if dl is None:
            raise NotFound(f"no dead letter {dead_letter_id}")
        if dl.status == "replayed":
            return {"dead_letter": dead_letter_view(dl), "outcome": dl.replay_result}
        message = message_for_replay(dl, body, signature)
        kept_row = bool(dl.row) and body is None
    if h.registry.get(message.agency) is None:
        raise Forbidden(f"no plugin for agency {message.agency}")
    # A row's kept bytes were cut from a message whose signature held (rows are read only
    # after the check); anything else is checked again, unless a person overrides it.
    trusted = bool(override) or kept_row
    outcome = h.pipeline.process([message], replay_of=dead_letter_id, actor=actor, trusted=trusted)[0]
    with h.store.transaction() as session:
        details = {"outcome": outcome.status, "fixed_bytes": body is not None}
        if override:
            details.update(unsigned=True, by=override["by"], reason=override["reason"],
                           body_sha256=hashlib.sha256(message.body).hexdigest())
        audit.append(session, actor, "dead_letter.replay_unsigned" if override else "dead_letter.replay",
                     str(dead_letter_id), details)
        dl = session.get(DeadLetter, dead_letter_id)
        return {"dead_letter": dead_letter_view(dl), "outcome": outcome.to_dict()}
