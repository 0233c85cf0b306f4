"""The contract's pages: ``{"items": [...], "next_cursor": ...}``, the cursor an opaque
base64 row number, the page size bounded by ``[api]``. Parsing takes the raw values (a
query argument, say) and refuses bad ones with the hub's ``BadRequest``."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from hub.contract.errors import BadRequest


def page_size(raw: str | None, cfg: Mapping[str, Any]) -> int:
    """A ``limit`` as given (None: the default page size), within ``[api] page_max``."""
    if raw is None:
        return cfg["page_size"]
    try:
        limit = int(raw)
    except ValueError:
        raise BadRequest("limit must be an integer", details={"field": "limit", "rule": "integer"}) from None
    if not 1 <= limit <= cfg["page_max"]:
        raise BadRequest(f"limit must be between 1 and {cfg['page_max']}",
                         details={"field": "limit", "rule": "range"})
    return limit


def decode_cursor(raw: str | None) -> int:
    """The row number of a cursor this API gave out (none: 0, the start)."""
    if not raw:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(raw.encode() + b"==").decode())
        if not 0 <= value < 2**63:  # a row number: what a database column holds
            raise ValueError
        return value
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("cursor is not one this API gave out", details={"field": "cursor", "rule": "cursor"}) from None


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def page(items: list, last_key: int | None, has_more: bool) -> dict:
    """The contract's page: ``next_cursor`` is null on the last page."""
    return {"items": items, "next_cursor": encode_cursor(last_key) if has_more and last_key is not None else None}


def rows_page(rows: list, limit: int, key: Callable[[Any], int], view: Callable[[list], list]) -> dict:
    """A page from a query that read up to ``limit + 1`` rows after the cursor: the extra
    row only says there is a next page (a last page exactly full gets a null cursor)."""
    shown = rows[:limit]
    return page(view(shown), key(shown[-1]) if shown else None, len(rows) > limit)


def parse_since(raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise BadRequest("since must be an ISO 8601 time with offset",
                         details={"field": "since", "rule": "datetime"}) from None
    if value.tzinfo is None:
        raise BadRequest("since must carry a UTC offset", details={"field": "since", "rule": "time-with-offset"})
    try:
        value.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01 at +14:00 is before the year 1 in UTC
        raise BadRequest("since must be a time between the years 1 and 9999 in UTC",
                         details={"field": "since", "rule": "datetime"}) from None
    return value
