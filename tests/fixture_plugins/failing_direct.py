"""A recipient without a queue (like a contractor's webhook) whose ``deliver_rendered`` raises
while ``FAILING`` is set (agency ``faild``): its deliveries must wait without holding up
anyone else's. What it takes, it keeps in ``DELIVERED`` (message ids)."""

from __future__ import annotations

import json
import threading

from hub import AgencyInfo, Rendered, hookimpl

FAILING = {"on": True}
CALLS = {"deliver": 0}
DELIVERED: list[str] = []
_lock = threading.Lock()


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(code="faild", name="webhook recipient that fails", version="0.0.1", kinds_out=("NOTE",))


@hookimpl
def render_record(delivery, settings):
    return Rendered(body=json.dumps({"id": delivery.message_id}).encode(), content_type="application/json",
                    content_encoding="utf-8")


@hookimpl
def deliver_rendered(delivery, rendered, headers, settings):
    with _lock:
        CALLS["deliver"] += 1
    if FAILING["on"]:
        raise ConnectionError("the recipient's server is down")
    with _lock:
        DELIVERED.append(headers["message_id"])
    return True
