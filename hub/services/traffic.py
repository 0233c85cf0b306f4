"""Each agency's traffic: queue depths (the console's plugins page, and ``wagehub tail``
saying why a queue is empty), messages of the last hour and day, error rate and last
message time."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from hub.messaging.broker import in_queue, out_queue
from hub.store.models import DeadLetter, Inbox, Outbox, utcnow

log = logging.getLogger(__name__)

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


def queue_depths(hub, codes: Iterable[str]) -> dict[str, dict[str, int | None]]:
    """``{code: {"in": n, "out": n}}`` by a passive declare of ``wagehub.in|out.<code>``;
    None where the queue is missing or the broker cannot be reached."""
    codes = list(codes)
    depths: dict[str, dict[str, int | None]] = {c: {"in": None, "out": None} for c in codes}
    conn = hub.connection()
    try:
        conn.ensure_connection(max_retries=1, timeout=3)
        channel = conn.channel()
        for code in codes:
            for side, make in (("in", in_queue), ("out", out_queue)):
                queue = make(conn, code, hub.settings)
                try:
                    _, count, _ = queue.bind(channel).queue_declare(passive=True)
                    depths[code][side] = int(count)
                except Exception as exc:  # noqa: BLE001  (a missing queue closes the channel on AMQP)
                    log.debug("queue %s not readable: %s", queue.name, type(exc).__name__)
                    try:
                        channel.close()
                    except Exception:  # noqa: BLE001
                        pass
                    channel = conn.channel()
        channel.close()
    except Exception as exc:  # noqa: BLE001  (broker down: the page still shows the rest)
        log.warning("queue depths unavailable: %s", type(exc).__name__)
    finally:
        conn.release()
    return depths


def _counts(session, column, agency_column, since: dt.datetime, *where) -> dict[str, int]:
    rows = session.execute(select(agency_column, func.count()).where(column >= since, *where).group_by(agency_column))
    return {a: n for a, n in rows}


def _latest(session, column, agency_column, *where) -> dict[str, dt.datetime]:
    rows = session.execute(select(agency_column, func.max(column)).where(*where).group_by(agency_column))
    out = {}
    for a, t in rows:
        if t is not None:
            out[a] = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return out


def message_figures(session, codes: Iterable[str], now: dt.datetime | None = None) -> dict[str, dict[str, Any]]:
    """Messages in (accepted, ``inbox``) and out (sent, ``outbox``) in the last hour and day,
    dead letters of the last day, the error rate (dead letters over all messages in of the
    day) and the last message time, per agency code."""
    now = now or utcnow()
    in_hour = _counts(session, Inbox.received_at, Inbox.agency, now - HOUR)
    in_day = _counts(session, Inbox.received_at, Inbox.agency, now - DAY)
    out_hour = _counts(session, Outbox.sent_at, Outbox.recipient, now - HOUR, Outbox.status == "sent")
    out_day = _counts(session, Outbox.sent_at, Outbox.recipient, now - DAY, Outbox.status == "sent")
    dead_day = _counts(session, DeadLetter.created_at, DeadLetter.agency, now - DAY)
    last_in = _latest(session, Inbox.received_at, Inbox.agency)
    last_dead = _latest(session, DeadLetter.created_at, DeadLetter.agency)
    last_out = _latest(session, Outbox.sent_at, Outbox.recipient, Outbox.status == "sent")
    figures = {}
    for code in codes:
        received = in_day.get(code, 0) + dead_day.get(code, 0)
        last_received = max((t for t in (last_in.get(code), last_dead.get(code)) if t), default=None)
        figures[code] = {
            "in_hour": in_hour.get(code, 0), "in_day": in_day.get(code, 0),
            "out_hour": out_hour.get(code, 0), "out_day": out_day.get(code, 0),
            "dead_day": dead_day.get(code, 0),
            "error_rate": dead_day.get(code, 0) / received if received else None,
            "last_in": last_received, "last_out": last_out.get(code),
        }
    return figures
