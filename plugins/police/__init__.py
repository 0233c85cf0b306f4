"""police: the public security case system (公安), XML packets in GB18030 or UTF-8.

Reads ``AJJS`` (receipt of a transfer) and ``LAJD`` (decision on opening a case) as
canonical ``police_receipt`` and ``police_decision`` records, and (format 1.2) ``FYJD``
and ``BCCL`` as ``reconsideration_decision`` and ``materials_request``; writes ``AJYS``
(transfer of a suspected crime, ``BCYS`` when sent again) from a ``criminal_transfer``,
``FYSQ`` from a ``reconsideration_request``, ``ZFQK`` from a ``wage_payment`` and
``CBTZ`` from an escalation (see docs/formats/police.md). XML is only ever parsed with defusedxml; DTDs are refused.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma

from hub import AgencyInfo, Delivery, NativeMessage, Parsed, PluginSettings, Rendered, hookimpl, samples_from
from plugins.police import inbound, outbound
from schemas import ruled

__version__ = "1.0.0"


class PoliceSettingsSchema(PluginSettings):
    """``[plugins.police]``: HMAC key (checked by the hub) and what AJYS packets say."""

    encoding = ma.fields.String(
        load_default=outbound.DEFAULTS["encoding"],
        validate=ma.validate.OneOf(["gb18030", "utf-8"], error=ruled("must be one of: {choices}", "enum")),
        metadata={"description": "encoding of outbound packets (declared in the prolog)"})
    sender_unit = ma.fields.String(
        load_default=outbound.DEFAULTS["sender_unit"], validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "FSDW: the hub's sending unit code in HEAD"})
    transferring_unit = ma.fields.String(
        load_default=outbound.DEFAULTS["transferring_unit"], validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "YSDW: the transferring unit named in AJYS"})

    @ma.pre_load
    def _lower_encoding(self, data, **kwargs):
        # "GB18030", "UTF8" are how people write them; the codec names are lower case.
        if isinstance(data, dict) and isinstance(data.get("encoding"), str):
            data = {**data, "encoding": data["encoding"].strip().lower().replace("utf8", "utf-8")}
        return data


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="police",
        name="公安 public security",
        version=__version__,
        kinds_in=tuple(inbound.KINDS_IN),
        kinds_out=outbound.KINDS_OUT,
        settings_schema=PoliceSettingsSchema(),
        secret_settings=("key",),
        schema_version="1",
        description="XML packets, upper-case pinyin tags, GB18030 or UTF-8, Beijing times without offset.",
    )


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> list[Parsed]:
    return inbound.parse(message)


@hookimpl
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered:
    return outbound.render(delivery, settings or {})


# good: file, kind, business time (the demo replays samples in this order); bad: what a refusal names
register_samples = samples_from(
    __package__, content_type="application/xml", content_encoding="gb18030",
    good=[
        ("police-receipt.xml", "AJJS", "2023-06-21T09:30:00+08:00"),
        ("police-decision.xml", "LAJD", "2023-06-28T15:00:00+08:00"),
        # format 1.2: the police ask for the workers one by one before deciding (hrss sends the
        # dossier again: hrss-transfer-resubmitted.json); the individual employer's transfer is
        # declined, reconsidered and the decline upheld.
        ("police-materials.xml", "BCCL", "2023-06-21T11:00:00+08:00"),
        ("police-decision-declined.xml", "LAJD", "2023-07-24T16:00:00+08:00"),
        ("police-reconsideration.xml", "FYJD", "2023-07-28T10:00:00+08:00"),
    ],
    bad=[
        ("police-dtd.xml", "AJJS", "DTD", {"content_encoding": "utf-8"}),
        ("police-missing-ysbh.xml", "LAJD", "YSBH"),
        ("police-fyjd-no-case-number.xml", "FYJD", "LAAJBH"),
        ("police-bccl-no-materials.xml", "BCCL", "QSCL"),
    ],
)
