"""The daily bulletin (日通报): a day's figures by district, written out and published.

- :mod:`.days`: the report day in ``hub.timezone`` and which day is due;
- :mod:`.districts`: a matter's district and a district's name;
- :mod:`.figures`: the figures themselves (their definitions are there);
- :mod:`.writers`: JSON, CSV and XLSX;
- :mod:`.publishing`: the outbox rows for the subscribing agencies.

Callers import from ``hub.casework.bulletin``; the names below are its whole surface.
"""

from hub.casework.bulletin.days import day_window, due_day, report_tz, yesterday
from hub.casework.bulletin.districts import TOTAL, UNKNOWN, chunks, matter_districts, region_name
from hub.casework.bulletin.figures import CENT, build_bulletin, followup_figures, for_area, open_at_end, stage_at
from hub.casework.bulletin.publishing import MATTER, RECORD_TYPE, ROUTE, message_id, publish_bulletin
from hub.casework.bulletin.writers import (
    CHANNEL_NAMES,
    FOLLOWUP_ROWS,
    MIMETYPES,
    MONEY_COLUMNS,
    STAGE_NAMES,
    TEXT_COLUMNS,
    WRITERS,
    XLSX_MIMETYPE,
    columns,
    header,
    safe_text,
    to_csv,
    to_json,
    to_xlsx,
)

__all__ = [
    "CENT", "CHANNEL_NAMES", "FOLLOWUP_ROWS", "MATTER", "MIMETYPES", "MONEY_COLUMNS", "RECORD_TYPE", "ROUTE",
    "STAGE_NAMES", "TEXT_COLUMNS", "TOTAL", "UNKNOWN", "WRITERS", "XLSX_MIMETYPE", "build_bulletin", "chunks",
    "columns", "day_window", "due_day", "followup_figures", "for_area", "header", "matter_districts", "message_id",
    "open_at_end", "publish_bulletin", "region_name", "report_tz", "safe_text", "stage_at", "to_csv", "to_json",
    "to_xlsx", "yesterday",
]
