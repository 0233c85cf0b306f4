"""Broken: ``parse_mesage`` is no hook (a typo): the hub must refuse it at start-up."""

from __future__ import annotations

from hub import hookimpl
from tests.kit.broken import base


@hookimpl
def register_agency():
    return base.agency()


@hookimpl
def parse_mesage(message, settings):
    return base.parse(message)


@hookimpl
def render_record(delivery, settings):
    return base.render(base.notice(delivery))


@hookimpl
def register_samples():
    return base.samples()
