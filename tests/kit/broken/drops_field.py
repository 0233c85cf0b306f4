"""Broken: the NOTICE leaves out the amount owed, though the route lets it through."""

from __future__ import annotations

from hub import hookimpl
from tests.kit.broken import base


@hookimpl
def register_agency():
    return base.agency()


@hookimpl
def parse_message(message, settings):
    return base.parse(message)


@hookimpl
def render_record(delivery, settings):
    body = base.notice(delivery)
    body.pop("amount_owed", None)
    return base.render(body)


@hookimpl
def register_samples():
    return base.samples()
