"""Months, paydays and money for the early-warning rules: a payroll month is ``YYYY-MM``, wages
for it fall due on a payday of the following month, amounts are Decimals shown in yuan."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from hub.ids import BEIJING

CENT = Decimal("0.01")


def month_of(day: str) -> str:
    return day[:7]


def add_months(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:7]) - 1 + n
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def month_start(month: str) -> dt.date:
    return dt.date(int(month[:4]), int(month[5:7]), 1)


def month_end(month: str) -> dt.date:
    y, m = int(month[:4]), int(month[5:7])
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=BEIJING)


def pay_day(month: str, region_code: str | None, cfg: Mapping[str, Any]) -> dt.date:
    """The day wages for ``month`` are due: ``[risks] pay_day`` of the following month, or
    the province's own (``[risks.pay_days]``, keyed by its 6-digit code); the month's last
    day when it has fewer days."""
    day = cfg["pay_day"]
    if region_code:
        day = cfg["pay_days"].get(f"{region_code[:2]}0000", day)
    following = add_months(month, 1)
    return month_start(following).replace(day=min(day, month_end(following).day))


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _yuan(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount.quantize(CENT), "f")
