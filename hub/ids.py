"""Identifiers the hub mints: time-ordered, so ids sort by creation."""

from __future__ import annotations

import datetime as dt
import secrets
import time

BEIJING = dt.timezone(dt.timedelta(hours=8))


def new_id(prefix: str) -> str:
    """``rec_0190f3c2a1b4_9f2c4e7a1b3d``: milliseconds since 1970 in hex, then randomness."""
    return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(6)}"


def now_beijing() -> dt.datetime:
    return dt.datetime.now(BEIJING).replace(microsecond=0)


def iso(value: dt.datetime) -> str:
    return value.isoformat()
