"""Broken: bad input raises a plain exception instead of hub.InvalidMessage."""

from __future__ import annotations

import json

from hub import hookimpl
from tests.kit.broken import base


@hookimpl
def register_agency():
    return base.agency()


@hookimpl
def parse_message(message, settings):
    return base.clue(json.loads(message.body))  # a cut-off body raises JSONDecodeError


@hookimpl
def render_record(delivery, settings):
    return base.render(base.notice(delivery))


@hookimpl
def register_samples():
    return base.samples()
