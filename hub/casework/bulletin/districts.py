"""Which district a matter belongs to, and a district's name, for the bulletin's table.

A matter's district is the ``region_code`` of its first clue, else of its first project,
else ``unknown``; shared with the follow-up figures (``hub.casework.followup``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.store.models import Record
from schemas.divisions import division_name

UNKNOWN = "unknown"
TOTAL = "total"


def chunks(items: list, size: int = 500) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def matter_districts(session: Session, matter_ids: Iterable[str]) -> dict[str, str]:
    """Each matter's district: the ``region_code`` of its first clue, else first project."""
    ids = sorted({m for m in matter_ids if m})
    clue: dict[str, str] = {}
    project: dict[str, str] = {}
    for chunk in chunks(ids):
        rows = session.execute(
            select(Record.matter_id, Record.type, Record.data)
            .where(Record.matter_id.in_(chunk), Record.type.in_(("clue", "project")))
            .order_by(Record.occurred_at, Record.seq))
        for matter_id, rtype, data in rows:
            code = data.get("region_code")
            if code:
                (clue if rtype == "clue" else project).setdefault(matter_id, code)
    return {m: clue.get(m) or project.get(m) or UNKNOWN for m in ids}


def region_name(code: str) -> str:
    if code == UNKNOWN:
        return "未知区划"
    if code == TOTAL:
        return "合计"
    return division_name(code) or code

