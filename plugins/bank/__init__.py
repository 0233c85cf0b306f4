"""bank: the banks holding wage special accounts (农民工工资专用账户) and wage deposits (工资保证金).

Reads GB18030 ``|``-separated batch files with a header and a trailer (format 1.2):
``DEPOSIT`` (labour cost credited to the account) as ``account_deposit``, ``PAYOUT``
(wages paid from the account to one worker, 代发) as ``worker_payout``, ``GUARANTEE`` (wage
deposit events) as ``deposit_event`` and ``MISSED`` (labour cost not put in for a month) as
``missed_funding`` records, one per detail line (see docs/formats/bank.md). The bank
receives nothing from the hub: it writes no kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hub import AgencyInfo, NativeMessage, Parsed, PluginSettings, Rejected, hookimpl, samples_from
from plugins.bank import inbound

__version__ = "1.0.0"


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="bank",
        name="开户银行 wage special accounts and wage deposits (农民工工资专用账户)",
        version=__version__,
        kinds_in=inbound.KINDS_IN,
        kinds_out=(),
        settings_schema=PluginSettings(),
        secret_settings=("key",),
        schema_version="1.2",
        description="GB18030 batch files, | separated, header and trailer (count and sum), money in fen.",
    )


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> Iterator[Parsed | Rejected]:
    return inbound.parse(message)


# name, kind, business time (the demo replays samples in this order), bad, what a refusal names.
# The demo's project 37010320236387: March's labour cost credited, April's missed, a wage
# guarantee issued in place of the cash deposit, April's wages paid through the account on
# 10 May, one payout failed. tests/plugins/test_bank.py checks them.
register_samples = samples_from(
    __package__, content_type="text/plain", content_encoding=inbound.ENCODING,
    good=[
        ("bank-guarantee.txt", inbound.GUARANTEE, "2023-01-20T00:00:00+08:00"),
        ("bank-deposit.txt", inbound.DEPOSIT, "2023-03-31T00:00:00+08:00"),
        ("bank-missed.txt", inbound.MISSED, "2023-05-06T00:00:00+08:00"),
        ("bank-payout.txt", inbound.PAYOUT, "2023-05-10T12:00:00+08:00"),
    ],
    bad=[
        ("bank-payout-trailer-sum.txt", inbound.PAYOUT, "trailer"),
        ("bank-payout-field-count.txt", inbound.PAYOUT, "field-count"),
        ("bank-payout-negative.txt", inbound.PAYOUT, "金额"),
        ("bank-deposit-not-gb18030.txt", inbound.DEPOSIT, "encoding"),
        ("bank-unknown-kind.txt", None, "kind"),
    ],
)
