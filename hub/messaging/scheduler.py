"""Work the hub does by the clock: signing the audit chain's head (every
``audit.checkpoint_every`` seconds), escalating overdue steps, raising the early-warning
risks whose time has come (``hub.casework.risks``: a shortfall on payday), the daily bulletin, and the
dishonest-employer list's proposals and expiries (``hub/casework/listing.py``).

Each overdue step is escalated once per level: first to the agency that owes it, in its
own format (on its queue, when its plugin writes a kind for it: ``[linkage]
escalation_kinds``: the police's 催办通知, housing's 催办, labour inspection's notice) and
to the linkage office (``GET /api/v1/escalations``, which lists them all), then, once
``escalation_grace_hours`` have passed, at the supervisory level (督导) to the same agency
and to ``supervision_recipients`` (the governments among them: the one of the matter's
area), and listed for the supervision group (``[linkage.supervision_groups]``) whose
districts take in the matter's district. Agencies in ``supervision_only`` (the
governments) hear of the supervisory level only. A step that is done or moot (the matter was paid or
closed) is not overdue, and a window that is a right (``deadlines.WINDOWS``) never is.
A unique key per step and level makes it once even with several workers.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.casework import deadlines, matters, owners, risks
from hub.ids import BEIJING, iso, now_beijing
from hub.messaging import outbox
from hub.messaging.outbox import OutboxRow
from hub.store.models import Deadline, Escalation, Outbox, Record, utcnow
from schemas.divisions import covers

log = logging.getLogger(__name__)


def escalate(hub, now: dt.datetime | None = None) -> int:
    """Escalate what is overdue at ``now``; returns the number of new escalations."""
    now = now or utcnow()
    cfg: Mapping[str, Any] = hub.settings["linkage"]
    grace = dt.timedelta(hours=cfg["escalation_grace_hours"])
    created = 0
    with hub.store.sessions() as session:
        overdue = list(session.scalars(select(Deadline).where(Deadline.status == "open", Deadline.due_at < now,
                                                              Deadline.rule.not_in(sorted(deadlines.WINDOWS)))
                                       .order_by(Deadline.due_at).limit(1000)))
        done = {(e.deadline_key, e.level): e for e in session.scalars(
            select(Escalation).where(Escalation.deadline_key.in_([d.key for d in overdue])))}
    for d in overdue:
        first = done.get((d.key, "agency"))
        if first is None:
            created += _escalate(hub, d, "agency", [d.owner], now)
        elif (d.key, "supervision") not in done and first.created_at + grace <= now:
            created += _escalate(hub, d, "supervision",
                                 list(dict.fromkeys([d.owner, *cfg["supervision_recipients"]])), now)
    return created


def supervision_group(groups: Mapping[str, Mapping[str, Any]], region: str | None) -> str | None:
    """The supervision group (督导组) whose districts take in ``region``: the one naming it
    most closely (a district before its city, a city before its province), else None."""
    best: tuple[int, str] | None = None
    for key, group in groups.items():
        for area in group["districts"]:
            if covers(area, region):
                rank = 0 if area.endswith("0000") else 1 if area.endswith("00") else 2
                if best is None or rank > best[0]:
                    best = (rank, key)
    return best[1] if best else None


def _escalate(hub, d: Deadline, level: str, recipients: list[str], now: dt.datetime) -> int:
    cfg = hub.settings["linkage"]
    kinds = cfg["escalation_kinds"]
    group = supervision_group(cfg["supervision_groups"], d.region_code) if level == "supervision" else None
    try:
        with hub.store.transaction() as session:
            escalation = Escalation(deadline_key=d.key, level=level, matter_id=d.matter_id, owner=d.owner,
                                    region_code=d.region_code, supervision_group=group)
            session.add(escalation)
            session.flush()
            refs = matters.refs(session, d.matter_id, matters.DELIVERY_REFS)
            leader = owners.matter_leader(session, d.matter_id)
            # ``owner`` is the agency that owes the step; ``matter_owner`` the matter's 包案 leader, when named
            record = {"type": "escalation", "level": level, **deadlines.view(d, now),
                      "overdue_since": d.due_at.astimezone(BEIJING).isoformat(), "matter_id": d.matter_id,
                      "region_code": d.region_code, "supervision_group": group,
                      "supervision_group_name": cfg["supervision_groups"][group]["name"] if group else None,
                      # the matter's named 包案 leader (hub.casework.owners), when one is named
                      "matter_owner": {k: leader[k] for k in owners.LEADER_FIELDS} if leader else None,
                      **numbers(session, d, refs)}
            for agency in recipients:
                if agency not in kinds or hub.registry.get(agency) is None:
                    continue
                if level != "supervision" and agency in cfg["supervision_only"]:
                    continue
                outbox.enqueue(session, OutboxRow.new(
                    record_id=f"esc_{escalation.id}", record_type="escalation",
                    source_agency="hub", matter_id=d.matter_id, recipient=agency, kind=kinds[agency],
                    route=f"escalation-{level}",
                    payload={"record": record, "refs": refs, "params": {"notice_kind": "ESCALATION"},
                             "created_at": iso(now_beijing())}))
    except IntegrityError:
        return 0  # another worker escalated it first
    log.info("escalated %s (%s, owed by %s) to the %s level", d.rule, d.subject, d.owner, level)
    return 1


def numbers(session, d: Deadline, refs: Mapping[str, list[str]]) -> dict[str, str]:
    """The numbers the owner knows the step by: the step's own (``transfer_no``,
    ``case_no``, ``clue_no``, ``order_no``...), the matter's case and clue where it has
    one, and for a housing assignment the number the hub gave it (its message id)."""
    field = deadlines.subject_field(d.rule)
    out = {field: d.subject}
    for name in ("transfer_no", "case_no", "clue_no"):
        if name not in out and refs.get(name):
            out[name] = refs[name][0]
    if field == "clue_no":
        sent = session.execute(
            select(Outbox.message_id).join(Record, Record.record_id == Outbox.record_id)
            .where(Outbox.matter_id == d.matter_id, Outbox.recipient == d.owner, Record.type == "clue",
                   Record.source_ref == d.subject).order_by(Outbox.id).limit(1)).first()
        assigned = set(refs.get("assignment_no") or [])
        if sent is not None and (not assigned or sent[0] in assigned):
            out["assignment_no"] = sent[0]
    return out


class Scheduler:
    """Runs the clock-driven work on a thread of the worker process."""

    def __init__(self, hub, on_work=None):
        self.hub = hub
        self.on_work = on_work
        self.every = hub.settings["linkage"]["check_every"]
        self.checkpoint_every = hub.settings["audit"]["checkpoint_every"]
        from hub.store.retention import Daily

        self.prune = Daily(hub)

    def run_once(self, now: dt.datetime | None = None) -> int:
        from hub.casework import listing

        self.hub.checkpoint()
        n = escalate(self.hub, now)
        n += risks.sweep(self.hub.pipeline, now)
        n += publish_due_bulletin(self.hub, now)
        n += listing.propose_due(self.hub, now)
        n += listing.expire_due(self.hub, now)
        if n and self.on_work:
            self.on_work()
        self.prune.run_if_due(now)
        return n

    def run(self, stop: threading.Event) -> None:
        due = time.monotonic() + self.every
        while not stop.wait(max(0.0, min(self.checkpoint_every, due - time.monotonic()))):
            try:
                if time.monotonic() >= due:
                    due = time.monotonic() + self.every
                    self.run_once()
                else:
                    self.hub.checkpoint()
            except Exception as exc:  # noqa: BLE001  (database down: try again next round)
                log.warning("scheduler: %s", type(exc).__name__)


def publish_due_bulletin(hub, now: dt.datetime | None = None) -> int:
    """Publish yesterday's bulletin once its time of day has come (once per day)."""
    try:
        from hub.casework import bulletin
    except ImportError:  # pragma: no cover  (the bulletin module ships with the hub)
        return 0
    day = bulletin.due_day(now or utcnow(), hub.settings)
    if day is None:
        return 0
    with hub.store.transaction() as session:
        return bulletin.publish_bulletin(session, day, hub.settings, hub.registry.codes())
