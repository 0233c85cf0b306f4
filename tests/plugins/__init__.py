"""Helpers the plugin tests share."""

from __future__ import annotations

import itertools

import hub

_MESSAGE_IDS = itertools.count(1)


def refused_whole(running_hub, agency: str, body: bytes, content_type: str, content_encoding: str | None = None):
    """The one failure of a message the hub refuses whole (each sent with an id of its own)."""
    [outcome] = running_hub.pipeline.process([hub.NativeMessage(
        agency=agency, body=body, message_id=f"{agency}-refused-{next(_MESSAGE_IDS)}", content_type=content_type,
        content_encoding=content_encoding)])
    assert outcome.status == "rejected" and not outcome.records and len(outcome.dead_letters) == 1
    [failure] = list(outcome.failures)
    return failure


def leaf_paths(record: dict, prefix: str = "") -> set[str]:
    """The dotted paths of a record's values, through nested objects (a list is a value)."""
    out = set()
    for key, value in record.items():
        out |= leaf_paths(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key}
    return out
