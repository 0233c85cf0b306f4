"""Broken: parsing logs the complainant's identity number (at DEBUG, where nobody looks)."""

from __future__ import annotations

import logging

from hub import hookimpl
from tests.kit.broken import base

log = logging.getLogger(__name__)


@hookimpl
def register_agency():
    return base.agency()


@hookimpl
def parse_message(message, settings):
    doc = base.read(message)
    log.debug("complaint %s from %s", doc.get("no"), doc.get("idNo"))
    return base.clue(doc)


@hookimpl
def render_record(delivery, settings):
    return base.render(base.notice(delivery))


@hookimpl
def register_samples():
    return base.samples()
