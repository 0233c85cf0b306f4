"""A small real plugin for tests: agency ``lifecycle``, JSON police receipts; it records
its lifecycle and refuses to parse before ``on_startup`` has run (as a plugin whose
session it opens there would fail)."""

from __future__ import annotations

import json

from hub import AgencyInfo, NativeMessage, Parsed, hookimpl

EVENTS: list[str] = []


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(code="lifecycle", name="lifecycle agency", version="0.0.1", kinds_in=("RECEIPT",))


@hookimpl
def on_startup(settings) -> None:
    EVENTS.append("startup")


@hookimpl
def on_shutdown() -> None:
    EVENTS.append("shutdown")


@hookimpl
def parse_message(message: NativeMessage, settings):
    if not EVENTS or EVENTS[-1] not in ("startup", "parse"):
        raise RuntimeError("parse_message before on_startup")
    EVENTS.append("parse")
    doc = json.loads(message.body)
    return [Parsed(type="police_receipt", record={"transfer_no": doc["no"], "received_at": "2023-06-21T09:30:00+08:00"},
                   source_ref=doc["no"], kind="RECEIPT")]
