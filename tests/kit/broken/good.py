"""The control: a correct plugin, which passes the kit."""

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
    return base.render(base.notice(delivery))


@hookimpl
def register_samples():
    return base.samples()
