"""The check stage: what a database cannot store, what the store's columns hold, and how a
refusal names a field (by the agency's own name, the canonical path after it)."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from hub.casework import listing, transfers
from hub.contract.types import NativeMessage
from hub.store.models import DeadLetter, Inbox
from schemas import RecordInvalid, ruled

NUL = "\x00"


# What no database stores as text: NUL (PostgreSQL's text cannot hold it) and lone
# surrogates (no character at all: JSON's "\ud800", or an AMQP header's bytes read with
# surrogatepass; no encoding can write them). A value with one is refused, or replaced to
# be stored.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


_UNSTORABLE_WHY = {"no-nul": "must not contain NUL characters",
                   "unicode": "must be valid Unicode text (it holds a lone surrogate)"}


def _unstorable(text: str) -> str | None:
    """The rule ``text`` breaks if a database cannot store it (``no-nul``, ``unicode``)."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return "no-nul" if found.group() == NUL else "unicode"


def _unstorable_fields(message: NativeMessage) -> list[tuple[str, str]]:
    """(name, rule) of the message's properties and headers a database cannot store."""
    props = {"message_id": message.message_id, "kind": message.kind, "content_type": message.content_type,
             "content_encoding": message.content_encoding, **{str(k): v for k, v in dict(message.headers).items()}}
    out = []
    for name, value in props.items():
        rule = _unstorable(name) or (_unstorable(value) if isinstance(value, str) else None)
        if rule:
            out.append((_clean(name), rule))
    return out


def _unstorable_path(value: Any, path: str = "") -> tuple[str, str] | None:
    """(dotted path, rule) of the first string (or key) in ``value`` a database cannot store."""
    if isinstance(value, str):
        rule = _unstorable(value)
        return (path or "value", rule) if rule else None
    if isinstance(value, dict):
        for k, v in value.items():
            where = f"{path}.{k}" if path else str(k)
            if rule := _unstorable(str(k)):
                return _clean(where), rule
            if (found := _unstorable_path(v, where)) is not None:
                return found
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            if (found := _unstorable_path(v, f"{path}.{i}" if path else str(i))) is not None:
                return found
    return None


def _native(path: str | None, names: Mapping[str, str] | None) -> str | None:
    """A canonical field path as the agency's format names it (``Parsed.fields``): the
    longest mapped prefix is replaced, the rest kept (``defendants.0.id_number`` with
    ``defendants`` -> ``body.defendants`` is ``body.defendants.0.id_number``). A key may
    name a list's items with ``[]`` (``suspects[].id_number`` -> ``data.suspects[].idNo``):
    the item's index fills the ``[]`` (``data.suspects[0].idNo``). Unmapped: the path itself."""
    if not path or not names:
        return path
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        head = parts[:i]
        native = names.get(".".join(head))
        if native is None and (indexes := [part for part in head if part.isdigit()]):
            pattern: list[str] = []
            for part in head:
                if part.isdigit() and pattern:
                    pattern[-1] += "[]"
                else:
                    pattern.append(part)
            native = names.get(".".join(pattern))
            for index in indexes if native is not None else ():
                native = native.replace("[]", f"[{index}]", 1)
        if native is not None:
            return ".".join([native, *parts[i:]])
    return path


def _named(path: str | None, names: Mapping[str, str] | None) -> str | None:
    """A field for a reason: the native name, with the canonical path after it when they differ."""
    native = _native(path, names)
    return native if native == path else f"{native} ({path})"


def schema_refusal(exc: RecordInvalid, names: Mapping[str, str] | None) -> tuple[str, str | None]:
    """(reason, field) of a record the shared schema refused, as the hub words it: each field
    by the agency's own name (``Parsed.fields``), the canonical path after it."""
    return "; ".join(f"{_named(path, names)}: {msg}" for path, msg in exc.errors), _native(exc.field, names)


# The message's properties the store keeps, with the longest value each column holds. A
# longer message id or kind is refused (an accepted message's are stored); the content
# type and encoding, kept only with a dead letter, are cut to fit there.
_LIMITS = (("message_id", "message_id", min(Inbox.__table__.c.message_id.type.length,
                                             DeadLetter.__table__.c.message_id.type.length)),
           ("x-wagehub-kind", "kind", min(Inbox.__table__.c.kind.type.length, DeadLetter.__table__.c.kind.type.length)),
           ("content_type", "content_type", DeadLetter.__table__.c.content_type.type.length),
           ("content_encoding", "content_encoding", DeadLetter.__table__.c.content_encoding.type.length))


def _fit(text: str | None, limit: int) -> str | None:
    """``text`` cut to ``limit`` characters, a digest of the whole at its end (still telling
    two long values apart), to store what :data:`_LIMITS` refused."""
    if text is None or len(text) <= limit:
        return text
    return text[:limit - 17] + "~" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _fitted(msg: NativeMessage) -> NativeMessage:
    """The message with each property cut to what the store holds (see :func:`_fit`)."""
    fits = {attr: _fit(getattr(msg, attr), limit) for _, attr, limit in _LIMITS}
    return msg if all(fits[attr] is getattr(msg, attr) for attr in fits) else dataclasses.replace(msg, **fits)


def _refusal(where: str, rule: str) -> str:
    return ruled(f"{where} {_UNSTORABLE_WHY[rule]}", rule)


def _clean(text: str | None) -> str | None:
    return _UNSTORABLE.sub("\ufffd", text) if isinstance(text, str) else text


class _HubError(Exception):
    """The hub's own handling of a parsed item raised (wraps the error as its cause)."""


STATE_CHECKED = transfers.STATE_CHECKED | listing.STATE_CHECKED
"""Record types checked against their matter's state before anything of them applies."""
