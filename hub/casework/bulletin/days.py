"""The bulletin's day: a calendar day ``[00:00, 24:00)`` in ``hub.timezone``, and which day is due.

Shared with the follow-up figures (``hub.casework.followup``), which count the same day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hub.ids import BEIJING
from hub.store.models import utcnow


def report_tz(settings: Mapping[str, Any]) -> dt.tzinfo:
    """``hub.timezone`` as a tzinfo (a fixed UTC+8 when the system has no zone database)."""
    name = settings["hub"]["timezone"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        if name in ("Asia/Shanghai", "Asia/Chongqing", "PRC"):
            return BEIJING
        raise


def day_window(day: dt.date, settings: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    """The day as ``[start, end)``, aware, in the report timezone."""
    tz = report_tz(settings)
    start = dt.datetime.combine(day, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start, end


def due_day(now: dt.datetime, settings: Mapping[str, Any]) -> dt.date | None:
    """The day whose bulletin is due at ``now``: yesterday (report timezone) once
    ``bulletin.time`` has passed today, else None. A naive ``now`` is read as UTC."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    local = now.astimezone(report_tz(settings))
    hour, minute = (int(x) for x in settings["bulletin"]["time"].split(":"))
    if local.time().replace(tzinfo=None) >= dt.time(hour, minute):
        return local.date() - dt.timedelta(days=1)
    return None


def yesterday(settings: Mapping[str, Any], now: dt.datetime | None = None) -> dt.date:
    now = now or utcnow()
    return now.astimezone(report_tz(settings)).date() - dt.timedelta(days=1)

