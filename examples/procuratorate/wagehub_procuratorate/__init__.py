"""procuratorate: the procuratorate's supervision of transfers (检察院 · 立案监督), JSON over UTF-8.

Reads ``JDYJ`` supervision opinions (监督意见) as canonical ``supervision_opinion``
records, and writes ``YSCB`` (a criminal transfer, copied to the procuratorate), ``LAQK``
(the police's decision on it), ``ZFQK`` (wages paid after it) and ``JDJY`` (labour
inspection's request for supervision) documents (see FORMAT.md). ``source_ref`` is the
opinion's document number.

A third-party plugin: a distribution of its own, found by the hub through the
``wagehub`` entry point, written from the hub's plugin guide (docs/plugins.md).
"""

from __future__ import annotations

from typing import Any

from hub import AgencyInfo, Delivery, NativeMessage, Parsed, PluginSettings, Rendered, hookimpl, samples_from

from wagehub_procuratorate import inbound, outbound

__version__ = "1.0.0"


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="procuratorate",
        name="检察院 procuratorate (立案监督)",
        version=__version__,
        kinds_in=(inbound.JDYJ,),
        kinds_out=tuple(outbound.WRITERS),
        settings_schema=PluginSettings(),
        secret_settings=("key",),
        # supervision_opinion came with canonical schema 1.1; wage_payment and
        # supervision_request, and individual employers and workers, with 1.2
        schema_version="1.2",
        description="JSON documents, camelCase keys, codes as strings, Beijing times without offset.",
    )


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> list[Parsed]:
    return inbound.parse(message)


@hookimpl
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered:
    return outbound.render(delivery)


# good: file under samples/, kind, business time (the demo replays samples in this order);
# bad: file under samples/bad/, kind, what a refusal names
register_samples = samples_from(
    __package__,
    good=[
        ("procuratorate-opinion.json", inbound.JDYJ, "2023-07-10T09:00:00+08:00"),
    ],
    bad=[
        ("procuratorate-unknown-opinion.json", inbound.JDYJ, "opinionType"),
        ("procuratorate-no-transfer.json", inbound.JDYJ, "transfer_no"),
        ("procuratorate-not-json.json", inbound.JDYJ, "json"),
    ],
)
