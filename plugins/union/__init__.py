"""union: the trade union's labour-dispute mediation office (总工会 / 劳动争议调解), XLSX.

Reads the mediation ledger (调解台账), a workbook sent as a batch, as canonical
``mediation_result`` records, one per row, and writes ``referral`` workbooks (转办) for
clues referred to mediation (see docs/formats/union.md). ``source_ref`` is the
mediation number (调解编号). Workbooks over the size limit, zip bombs and workbooks that
would cost too much work to read (:mod:`hub.contract.workbook`) are refused before they are opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import marshmallow as ma

from hub import AgencyInfo, Delivery, NativeMessage, Parsed, PluginSettings, Rejected, Rendered, hookimpl, samples_from
from plugins.union import inbound, outbound, xlsx
from schemas import ruled

__version__ = "1.0.0"


class UnionSettingsSchema(PluginSettings):
    """``[plugins.union]``: the HMAC key (checked by the hub) and the workbook limits."""

    max_bytes = ma.fields.Integer(
        load_default=xlsx.MAX_BYTES, validate=ma.validate.Range(min=1, error=ruled("must be at least {min}", "range")),
        metadata={"description": "largest workbook accepted, in bytes (default 10 MiB)"})
    max_uncompressed = ma.fields.Integer(
        load_default=xlsx.MAX_UNCOMPRESSED,
        validate=ma.validate.Range(min=1, error=ruled("must be at least {min}", "range")),
        metadata={"description": "largest total unpacked size of a workbook's zip entries, in bytes "
                                 "(default 100 MiB)"})
    max_ratio = ma.fields.Float(
        load_default=xlsx.MAX_RATIO, validate=ma.validate.Range(min=1, error=ruled("must be at least {min}", "range")),
        metadata={"description": "largest unpacked/packed size ratio of a workbook over 1 MiB unpacked "
                                 "(default 100)"})
    # The work a workbook may cost (hub.contract.workbook): each refused under the rule of its name.
    max_rows = ma.fields.Integer(
        load_default=xlsx.workbook.MAX_ROWS,
        validate=ma.validate.Range(min=1, error=ruled("must be at least {min}", "range")),
        metadata={"description": "highest row number a sheet may use (rule max-rows; default 200,000)"})
    max_columns = ma.fields.Integer(
        load_default=xlsx.workbook.MAX_COLUMNS,
        validate=ma.validate.Range(min=1, max=16384, error=ruled("must be {min} to {max}", "range")),
        metadata={"description": "highest column any cell may use, 1 = A (rule max-columns; default 256, IV)"})
    max_cells = ma.fields.Integer(
        load_default=xlsx.workbook.MAX_CELLS,
        validate=ma.validate.Range(min=1, error=ruled("must be at least {min}", "range")),
        metadata={"description": "most cells of a sheet: those written, or rows × columns used if more "
                                 "(rule max-cells; default 5,000,000)"})
    max_text = ma.fields.Integer(
        load_default=xlsx.workbook.MAX_TEXT,
        validate=ma.validate.Range(min=1024, error=ruled("must be at least {min}", "range")),
        metadata={"description": "longest text, tag or comment of a workbook's XML, in bytes "
                                 "(rule max-text; default 256 KiB)"})
    max_seconds = ma.fields.Float(
        load_default=xlsx.workbook.MAX_SECONDS,
        validate=ma.validate.Range(min=0, min_inclusive=False, error=ruled("must be more than {min}", "range")),
        metadata={"description": "CPU seconds reading one workbook may take (rule max-seconds; default 60)"})


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="union",
        name="总工会 labour-dispute mediation office (劳动争议调解)",
        version=__version__,
        kinds_in=inbound.KINDS_IN,
        kinds_out=(outbound.REFERRAL,),
        settings_schema=UnionSettingsSchema(),
        secret_settings=("key",),
        schema_version="1",
        description="XLSX workbooks, one sheet with a header row; amounts as numbers or text in yuan.",
    )


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> Iterator[Parsed | Rejected]:
    return inbound.parse(message, settings or {})


@hookimpl
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered:
    return outbound.render_referral(delivery)


# good: file, kind, business time (the 调解日期: the demo replays samples in this order); bad: what
# a refusal names.
register_samples = samples_from(
    __package__, content_type=xlsx.XLSX_TYPE, content_encoding="binary",
    good=[
        ("union-mediation.xlsx", inbound.MEDIATION, "2023-05-25T00:00:00+08:00"),
    ],
    bad=[
        ("union-not-xlsx.xlsx", inbound.MEDIATION, "workbook"),
    ],
)
