"""Broken: ``parse_message`` takes an argument the spec does not have."""

from __future__ import annotations

from hub import hookimpl
from tests.kit.broken import base


@hookimpl
def register_agency():
    return base.agency()


@hookimpl
def parse_message(msg, settings):
    return base.parse(msg)


@hookimpl
def register_samples():
    return base.samples()
