"""A recipient with a queue whose plugin raises in ``render_record`` while ``FAILING`` is set
(agency ``failq``): its deliveries must wait without holding up anyone else's."""

from __future__ import annotations

import json

from hub import AgencyInfo, Rendered, hookimpl

FAILING = {"on": True}
CALLS = {"render": 0}


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(code="failq", name="recipient whose renderer fails", version="0.0.1", kinds_out=("NOTE",))


@hookimpl
def render_record(delivery, settings):
    CALLS["render"] += 1
    if FAILING["on"]:
        raise RuntimeError("a bug in the renderer")
    return Rendered(body=json.dumps({"id": delivery.message_id, "record": dict(delivery.record)}).encode(),
                    content_type="application/json", content_encoding="utf-8")
