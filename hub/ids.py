"""Identifiers the hub mints: time-ordered, so ids sort by creation."""

from __future__ import annotations

import datetime as dt
import os
import random
import time

# Beijing time (UTC+8) has one definition, in the schemas plugins share; the hub's modules
# import it from here. Every aware time the hub writes carries this offset.
from schemas.fields import BEIJING

_random = random.Random()  # seeded from os.urandom; ids need uniqueness, not secrecy (no syscall per id)
os.register_at_fork(after_in_child=_random.seed)  # a forked worker must not repeat its parent's ids


def new_id(prefix: str) -> str:
    """``rec_0190f3c2a1b4_9f2c4e7a1b3d``: milliseconds since 1970 in hex, then randomness."""
    return f"{prefix}_{int(time.time() * 1000):012x}{_random.getrandbits(48):012x}"


def now_beijing() -> dt.datetime:
    return dt.datetime.now(BEIJING).replace(microsecond=0)


def iso(value: dt.datetime) -> str:
    return value.isoformat()
