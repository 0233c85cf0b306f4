"""Publishing the bulletin: one outbox row per subscribing agency and day.

The ``message_id`` ``bulletin-<day>-<agency>`` makes publishing idempotent, so the clock
(``hub.messaging.scheduler``) may call :func:`publish_bulletin` again without sending twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.casework.bulletin.figures import build_bulletin
from hub.ids import iso, now_beijing
from hub.messaging import outbox
from hub.messaging.outbox import OutboxRow
from hub.store.models import Outbox

log = logging.getLogger(__name__)

ROUTE = "daily-bulletin"
RECORD_TYPE = "daily_bulletin"
MATTER = "bulletin"


def _installed(installed: Any) -> Collection[str]:
    """Agency codes from a :class:`hub.contract.plugins.Registry` or from a collection of codes."""
    if hasattr(installed, "codes") and callable(installed.codes):
        return set(installed.codes())
    return set(installed)


def message_id(day: dt.date, agency: str) -> str:
    return f"bulletin-{day.isoformat()}-{agency}"


def publish_bulletin(session: Session, day: dt.date, settings: Mapping[str, Any], installed: Any) -> int:
    """Write the day's bulletin to the outbox for each subscriber with a plugin installed.

    ``installed``: the registry, or the installed agency codes. Returns the rows written;
    a day already published to an agency is skipped, so calling it again writes none.
    The caller commits.
    """
    cfg = settings["bulletin"]
    codes = _installed(installed)
    targets = []
    for agency in dict.fromkeys(cfg["subscribers"]):
        if agency in codes:
            targets.append(agency)
        else:
            log.warning("bulletin subscriber %s has no installed plugin; skipped", agency)
    ids = {agency: message_id(day, agency) for agency in targets}
    if not ids:
        return 0
    existing = set(session.scalars(select(Outbox.message_id).where(Outbox.message_id.in_(list(ids.values())))))
    todo = [agency for agency in targets if ids[agency] not in existing]
    if not todo:
        return 0
    record = {**build_bulletin(session, day, settings), "type": RECORD_TYPE}
    created = iso(now_beijing())
    for agency in todo:
        outbox.enqueue(session, OutboxRow.new(
            message_id=ids[agency], record_id=f"bulletin-{day.isoformat()}", record_type=RECORD_TYPE,
            source_agency="hub", matter_id=MATTER, recipient=agency, kind=cfg["kinds"].get(agency, cfg["kind"]), route=ROUTE,
            payload={"record": record, "refs": {}, "params": {"notice_kind": cfg["notice_kind"]},
                     "created_at": created},
        ))
    session.flush()
    log.info("bulletin of %s written for %s", day.isoformat(), ", ".join(todo))
    return len(todo)

