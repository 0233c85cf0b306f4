"""hrss: the labour inspection case system (人社 / 劳动保障监察), JSON over UTF-8.

Reads ``CLUE``, ``CASE_STATUS``, ``PAY_ORDER`` and ``TRANSFER`` messages as canonical
``clue``, ``case``, ``payment_order`` and ``criminal_transfer`` records, and writes
``NOTICE`` messages back (see docs/formats/hrss.md). ``source_ref`` is the agency's
own number: clueNo, caseNo, orderNo, transferNo.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub import AgencyInfo, Delivery, NativeMessage, Parsed, PluginSettings, Rendered, Sample, hookimpl
from plugins.hrss import inbound, outbound

__version__ = "1.0.0"

SAMPLES = Path(__file__).parent / "samples"


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="hrss",
        name="人社 labour inspection (劳动保障监察)",
        version=__version__,
        kinds_in=tuple(inbound.KINDS_IN),
        kinds_out=("NOTICE",),
        settings_schema=PluginSettings(),
        secret_settings=("key",),
        schema_version="1",
        description="JSON messages, money in integer fen, Beijing times without offset.",
    )


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> list[Parsed]:
    return inbound.parse(message)


@hookimpl
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered:
    return outbound.render_notice(delivery)


# name, kind, business time (the demo replays samples in this order), bad, what a refusal names
_SAMPLES = (
    ("hrss-clue.json", "CLUE", "2023-05-22T09:10:00+08:00", False, ""),
    ("hrss-case.json", "CASE_STATUS", "2023-05-22T16:00:00+08:00", False, ""),
    ("hrss-order.json", "PAY_ORDER", "2023-06-01T00:00:00+08:00", False, ""),
    ("hrss-transfer.json", "TRANSFER", "2023-06-20T00:00:00+08:00", False, ""),
    ("bad/hrss-bad-idcheck.json", "CLUE", "", True, "id_number"),
    ("bad/hrss-bad-json.json", "CLUE", "", True, "json"),
    ("bad/hrss-bad-amount.json", "PAY_ORDER", "", True, "amount"),
    ("bad/hrss-unknown-type.json", None, "", True, "msgType"),
)


@hookimpl
def register_samples() -> list[Sample]:
    return [
        Sample(name=Path(name).name, body=(SAMPLES / name).read_bytes(), content_type="application/json",
               content_encoding="utf-8", kind=kind, at=at, bad=bad, reason=reason)
        for name, kind, at, bad, reason in _SAMPLES
    ]
