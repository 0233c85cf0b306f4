"""Time arithmetic: China's working days (with make-up days), a limit's due time,
and record values read as times."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from typing import Any

import holidays

from hub.ids import BEIJING


@functools.lru_cache(maxsize=1)
def _calendar() -> holidays.HolidayBase:
    return holidays.country_holidays("CN")


def is_working_day(day: dt.date) -> bool:
    """A working day in China: weekdays that are not public holidays, plus make-up days."""
    return _calendar().is_working_day(day)


@functools.lru_cache(maxsize=4096)  # the same few start days, over and over: a batch's clues share a day
def add_working_days(day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day after ``day`` (the day itself is not counted)."""
    current = day
    while n > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            n -= 1
    return current


def _end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=BEIJING)


def due_time(start: dt.datetime, limit: Mapping[str, Any]) -> dt.datetime:
    """When a step that started at ``start`` falls due under ``limit``."""
    local = start.astimezone(BEIJING)
    if limit.get("same_day"):
        return _end_of_day(local.date())
    if limit.get("hours") is not None:
        return start + dt.timedelta(hours=float(limit["hours"]))
    if limit.get("days") is not None:
        return _end_of_day(local.date() + dt.timedelta(days=int(limit["days"])))
    return _end_of_day(add_working_days(local.date(), int(limit["working_days"])))


def when(value: Any) -> dt.datetime | None:
    """A canonical time, date or month as an aware datetime (dates at 00:00 Beijing)."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value
    text = str(value)
    if len(text) == 7:
        text += "-01"
    if len(text) == 10:
        return dt.datetime.fromisoformat(text).replace(tzinfo=BEIJING)
    return dt.datetime.fromisoformat(text)


def _earliest(times: Iterable[dt.datetime | None]) -> dt.datetime | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None


def _end_of(value: Any) -> dt.datetime | None:
    """A date's end (23:59:59 Beijing); a time as it is."""
    t = when(value)
    if t is None:
        return None
    return _end_of_day(t.date()) if isinstance(value, str) and len(value) == 10 else t
