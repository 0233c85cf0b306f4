"""A small real plugin for tests: agency ``fixture``, JSON police receipts; a body that says
POISON makes it raise a bug (not a validation error) every time."""

from __future__ import annotations

import json

from hub import AgencyInfo, InvalidMessage, NativeMessage, Parsed, hookimpl

CALLS = {"poison": 0}


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(code="fixture", name="fixture agency", version="0.0.1", kinds_in=("RECEIPT",))


@hookimpl
def parse_message(message: NativeMessage, settings):
    if b"POISON" in message.body:
        CALLS["poison"] += 1
        raise RuntimeError("a bug in the plugin, holding 37010319821226234X")  # the summary must drop this
    try:
        doc = json.loads(message.body)
    except ValueError:
        raise InvalidMessage("body is not JSON (rule: json)", field="body", rule="json") from None
    return [Parsed(type="police_receipt", record={"transfer_no": doc["no"], "received_at": "2023-06-21T09:30:00+08:00"},
                   source_ref=doc["no"], kind="RECEIPT")]
