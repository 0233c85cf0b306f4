"""Shared canonical schemas of wage-arrears-hub.

Depends on marshmallow alone (never on ``hub`` or ``plugins``), so agencies and
plugin authors can use it by itself::

    from schemas import normalise_record, RecordInvalid
    record = normalise_record({"type": "police_receipt", ...})
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from schemas.messages import RuleMessage, rule_of, ruled
from schemas.records import PERSONAL_FIELDS, RECORD_SCHEMAS, SCHEMA_VERSION, SCHEMAS, RecordSchema

__all__ = [
    "PERSONAL_FIELDS", "RECORD_SCHEMAS", "SCHEMA_VERSION", "SCHEMAS", "RecordSchema",
    "RecordInvalid", "normalise_record", "flatten_errors", "link_keys", "RuleMessage", "ruled", "rule_of",
]


class RecordInvalid(ValueError):
    """A record breaks its schema. ``errors`` is a list of ``(field path, message)``."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{path}: {msg}" for path, msg in errors))

    @property
    def field(self) -> str | None:
        return self.errors[0][0] if self.errors else None

    @property
    def rule(self) -> str | None:
        """The rule the first error names (:func:`schemas.messages.rule_of`)."""
        return rule_of(self.errors[0][1]) if self.errors else None


def flatten_errors(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested error dict as ``[("complainant.id_number", "..."), ...]``."""
    out: list[tuple[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = prefix if key == "_schema" else (f"{prefix}.{key}" if prefix else str(key))
            out.extend(flatten_errors(value, path))
    elif isinstance(messages, list):
        if all(isinstance(m, str) for m in messages):
            out.extend((prefix or "record", m) for m in messages)
        else:
            for m in messages:
                out.extend(flatten_errors(m, prefix))
    else:
        out.append((prefix or "record", messages if isinstance(messages, str) else str(messages)))
    return out


def normalise_record(data: dict[str, Any]) -> dict[str, Any]:
    """Validate a record and return it in canonical JSON form (money with two places...).

    Raises :class:`RecordInvalid` naming each field and the rule it broke.
    """
    if not isinstance(data, dict):
        raise RecordInvalid([("record", ruled("a record must be an object", "type"))])
    rtype = data.get("type")
    # A non-string type (a list, say) is unhashable: refuse it as unknown, not with TypeError.
    schema = SCHEMAS.get(rtype) if isinstance(rtype, str) else None
    if schema is None:
        raise RecordInvalid([("type", RuleMessage(f"unknown record type (rule: enum); known: {', '.join(sorted(SCHEMAS))}",
                                                   "enum"))])
    try:
        loaded = schema.load(data)
    except ma.ValidationError as exc:
        raise RecordInvalid(flatten_errors(exc.messages)) from None
    return schema.dump(loaded)


def link_keys(record: dict[str, Any]) -> list[str]:
    """The ``namespace:number`` keys that tie a record to its arrears matter."""
    schema = RECORD_SCHEMAS[record["type"]]
    keys: list[str] = []
    for ns, field in schema.LINKS:
        value = record.get(field)
        for item in value if isinstance(value, list) else [value]:
            if item:
                key = f"{ns}:{item}"
                if key not in keys:
                    keys.append(key)
    return keys
