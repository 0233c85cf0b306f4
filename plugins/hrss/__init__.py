"""hrss: the labour inspection case system (人社 / 劳动保障监察), JSON over UTF-8.

Reads ``CLUE``, ``CASE_STATUS``, ``PAY_ORDER`` and ``TRANSFER`` messages as canonical
``clue``, ``case``, ``payment_order`` and ``criminal_transfer`` records, and (format 1.2)
``RECONSIDER``, ``SUPERVISE``, ``EXTENSION``, ``PAYMENT`` and ``LISTING`` as
``reconsideration_request``, ``supervision_request``, ``case_extension``,
``wage_payment`` and ``credit_listing``; writes ``NOTICE`` messages back, and a clue
another channel took (a 12345 work order) as its own ``CLUE`` (see docs/formats/hrss.md).
``source_ref`` is the agency's own number: clueNo, caseNo, orderNo, transferNo (the
transfer's for a request on it, the case's for an extension or payment), listNo.
"""

from __future__ import annotations

from typing import Any

from hub import AgencyInfo, Delivery, NativeMessage, Parsed, PluginSettings, Rendered, hookimpl, samples_from
from plugins.hrss import inbound, outbound

__version__ = "1.0.0"


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="hrss",
        name="人社 labour inspection (劳动保障监察)",
        version=__version__,
        kinds_in=tuple(inbound.KINDS_IN),
        kinds_out=("NOTICE", "CLUE"),
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
    if delivery.kind == "CLUE":
        return outbound.render_clue(delivery)
    return outbound.render_notice(delivery)


# good: file, kind, business time (the demo replays samples in this order); bad: what a refusal names
register_samples = samples_from(
    __package__,
    good=[
        ("hrss-clue.json", "CLUE", "2023-05-22T09:10:00+08:00"),
        ("hrss-case.json", "CASE_STATUS", "2023-05-22T16:00:00+08:00"),
        ("hrss-order.json", "PAY_ORDER", "2023-06-01T00:00:00+08:00"),
        ("hrss-transfer.json", "TRANSFER", "2023-06-20T00:00:00+08:00"),
        # format 1.2: the dossier sent again with the workers one by one, as the police asked
        # (police-materials.xml); a payment after the transfer; the case's period extended.
        ("hrss-transfer-resubmitted.json", "TRANSFER", "2023-06-23T00:00:00+08:00"),
        ("hrss-payment.json", "PAYMENT", "2023-07-05T00:00:00+08:00"),
        ("hrss-extension.json", "EXTENSION", "2023-08-10T00:00:00+08:00"),
        # the employer listed as a dishonest wage payer for three years, after the conviction
        ("hrss-listing.json", "LISTING", "2023-09-20T00:00:00+08:00"),
        # a second matter: an individual employer (包工头), declined, reconsidered, supervision asked
        ("hrss-order-individual.json", "PAY_ORDER", "2023-07-03T00:00:00+08:00"),
        ("hrss-transfer-individual.json", "TRANSFER", "2023-07-20T00:00:00+08:00"),
        ("hrss-reconsider.json", "RECONSIDER", "2023-07-26T00:00:00+08:00"),
        ("hrss-supervise.json", "SUPERVISE", "2023-07-31T00:00:00+08:00"),
    ],
    bad=[
        ("hrss-bad-idcheck.json", "CLUE", "id_number"),
        ("hrss-bad-json.json", "CLUE", "json"),
        ("hrss-bad-amount.json", "PAY_ORDER", "amount"),
        ("hrss-unknown-type.json", None, "msgType"),
        ("hrss-bad-worker-count.json", "TRANSFER", "worker-count"),
        ("hrss-bad-worker-sum.json", "TRANSFER", "data.amountFen"),
        ("hrss-bad-both-employers.json", "PAY_ORDER", "exactly-one"),
        ("hrss-bad-no-employer.json", "TRANSFER", "employerIdNo"),
        ("hrss-bad-extension.json", "EXTENSION", "workingDays"),
        ("hrss-bad-payment.json", "PAYMENT", "data.full"),
        ("hrss-bad-reconsider.json", "RECONSIDER", "data.reason"),
        ("hrss-bad-supervise.json", "SUPERVISE", "requestDate"),
        ("hrss-bad-listing.json", "LISTING", "data.endDate"),
    ],
)
