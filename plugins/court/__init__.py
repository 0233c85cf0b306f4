"""court: the people's court case system (法院), JSON over UTF-8, snake_case.

Reads ``judgment`` and ``enforcement`` documents as canonical ``court_judgment`` and
``court_enforcement`` records, and writes ``referral`` documents and (format 1.2)
``credit_listing`` documents (see docs/formats/court.md). ``source_ref`` is the court case number, with full-width
parentheses: ``（2023）鲁0103刑初880号`` and ``(2023)鲁0103刑初880号`` are the same case.
"""

from __future__ import annotations

from typing import Any

from hub import AgencyInfo, Delivery, NativeMessage, Parsed, PluginSettings, Rendered, hookimpl, samples_from
from plugins.court import inbound, outbound

__version__ = "1.0.0"


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="court",
        name="法院 people's court",
        version=__version__,
        kinds_in=inbound.KINDS_IN,
        kinds_out=outbound.KINDS_OUT,
        settings_schema=PluginSettings(),
        secret_settings=("key",),
        schema_version="1",
        description="JSON documents, snake_case, money as yuan decimal strings, ISO dates.",
    )


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> list[Parsed]:
    return inbound.parse(message)


@hookimpl
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered:
    return outbound.render(delivery)


# good: file, kind, business time (the document's issued_at: the demo replays samples in this
# order); bad: what a refusal names.
register_samples = samples_from(
    __package__,
    good=[
        ("court-judgment.json", inbound.JUDGMENT, "2023-09-01T15:20:00+08:00"),
        ("court-enforcement.json", inbound.ENFORCEMENT, "2023-10-10T10:00:00+08:00"),
        # format 1.2: the workers of the individual employer's matter win their civil case against him
        ("court-judgment-individual.json", inbound.JUDGMENT, "2023-10-20T10:00:00+08:00"),
    ],
    bad=[
        ("court-float-amount.json", inbound.JUDGMENT, "amount_ordered"),
        ("court-both-employers.json", inbound.JUDGMENT, "exactly-one"),
    ],
)
