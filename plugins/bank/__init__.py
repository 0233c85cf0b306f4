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
from pathlib import Path
from typing import Any

from hub import AgencyInfo, NativeMessage, Parsed, PluginSettings, Rejected, Sample, hookimpl
from plugins.bank import inbound

__version__ = "1.0.0"

SAMPLES = Path(__file__).parent / "samples"


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
_SAMPLES = (
    ("bank-guarantee.txt", inbound.GUARANTEE, "2023-01-20T00:00:00+08:00", False, ""),
    ("bank-deposit.txt", inbound.DEPOSIT, "2023-03-31T00:00:00+08:00", False, ""),
    ("bank-missed.txt", inbound.MISSED, "2023-05-06T00:00:00+08:00", False, ""),
    ("bank-payout.txt", inbound.PAYOUT, "2023-05-10T12:00:00+08:00", False, ""),
    ("bad/bank-payout-trailer-sum.txt", inbound.PAYOUT, "", True, "trailer"),
    ("bad/bank-payout-field-count.txt", inbound.PAYOUT, "", True, "field-count"),
    ("bad/bank-payout-negative.txt", inbound.PAYOUT, "", True, "金额"),
    ("bad/bank-deposit-not-gb18030.txt", inbound.DEPOSIT, "", True, "encoding"),
    ("bad/bank-unknown-kind.txt", None, "", True, "kind"),
)


@hookimpl
def register_samples() -> list[Sample]:
    return [
        Sample(name=Path(name).name, body=(SAMPLES / name).read_bytes(), content_type="text/plain",
               content_encoding=inbound.ENCODING, kind=kind, at=at, bad=bad, reason=reason)
        for name, kind, at, bad, reason in _SAMPLES
    ]
