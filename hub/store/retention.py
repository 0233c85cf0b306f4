"""Retention: ``wagehub prune`` keeps the store from only growing.

Three kinds of stored content go once past their retention (``[retention]``, in days;
0 keeps them for ever):

- the payload of a delivery sent (the record as its route cut it): replaced by its
  SHA-256; the row stays (recipient, record, message id, when it was sent);
- a dead letter replayed successfully: deleted (the audit log's ``message.rejected`` or
  ``message.accepted`` entry keeps the SHA-256 of its bytes);
- the kept bytes of a dead letter never replayed: replaced by their SHA-256 (it can then
  be replayed only with fixed bytes).

What the law needs is kept longer, whatever the above say: the deliveries of the record
types and the dead letters of the native kinds in ``legal_hold_types`` / ``legal_hold_kinds``
(criminal transfers and the decisions on them) for ``legal_hold_years``. The criminal law
pursues refusing to pay wages (Criminal Law Art. 276-1, up to 7 years when the
consequences are serious) for 10 years after the offence (Art. 87), and not at all once a
case is opened and the suspect escapes (Art. 88); the archive rules keep case files for
a fixed term of 10 or 30 years, or for ever: the default is 30 (docs/deployment.md).

Records, matters, deadlines, the inbox of message ids (a resend must stay a duplicate) and
the audit log are never pruned. Each batch is one transaction with an audit entry naming
what it pruned and the SHA-256 over the pruned items' digests, so the chain stays
verifiable and says what went.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update

from hub.casework import audit
from hub.ids import iso
from hub.store import any_of
from hub.store.models import AuditEntry, DeadLetter, Outbox, utcnow

log = logging.getLogger(__name__)

PRUNED = "x-wagehub-pruned"  # a dead letter's header: its bytes were pruned (when)
KINDS = ("delivered_outbox", "replayed_dead_letters", "dead_letter_bodies")


def digest(payload: Any) -> str:
    """SHA-256 of a JSON payload in its canonical form (keys sorted, no spaces)."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_pruned_payload(payload: Mapping[str, Any]) -> bool:
    return "pruned" in payload and "record" not in payload


@dataclass
class Cutoffs:
    """Per kind, content older than this goes (None: the kind is kept); the legal hold's own."""

    kinds: dict[str, dt.datetime | None]
    legal: dt.datetime | None
    legal_types: list[str]
    legal_kinds: list[str]

    def describe(self) -> dict[str, str | None]:
        return {**{k: iso(v) if v else None for k, v in self.kinds.items()}, "legal_hold": iso(self.legal)
                if self.legal else None}


def cutoffs(settings: Mapping[str, Any], before: dt.datetime | None = None,
            now: dt.datetime | None = None) -> Cutoffs:
    """Each kind's cutoff: its retention counted back from ``now``, and no later than
    ``before`` when given (``--before`` prunes less, never more, than the settings allow)."""
    cfg = settings["retention"]
    now = now or utcnow()

    def back(days: float) -> dt.datetime | None:
        if not days:
            return None
        cut = now - dt.timedelta(days=days)
        return min(cut, before) if before else cut

    kinds = {
        "delivered_outbox": back(cfg["delivered_outbox_days"]),
        "replayed_dead_letters": back(cfg["replayed_dead_letter_days"]),
        "dead_letter_bodies": back(cfg["open_dead_letter_days"]),
    }
    legal = back(cfg["legal_hold_years"] * 365.25) if cfg["legal_hold_years"] else None
    return Cutoffs(kinds, legal, list(cfg["legal_hold_types"]), list(cfg["legal_hold_kinds"]))


@dataclass
class Report:
    cutoffs: dict[str, str | None]
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "cutoffs": self.cutoffs, "pruned": self.counts}


def prune(store, settings: Mapping[str, Any], *, before: dt.datetime | None = None, now: dt.datetime | None = None,
          dry_run: bool = False, actor: str = "hub", batch: int = 1000,
          progress: Callable[[str, int, int], None] | None = None) -> Report:
    """Prune what is past its retention; returns the counts per kind.

    ``progress(kind, done, total)`` is called after each batch (and once with the total at
    the start). With ``dry_run`` nothing is changed and the counts are what would go.
    """
    cut = cutoffs(settings, before, now)
    report = Report(cut.describe(), dry_run=dry_run)
    stamp = iso(now or utcnow())
    for kind, where, step in (
        ("delivered_outbox", _outbox_where(cut), _prune_outbox),
        ("replayed_dead_letters", _replayed_where(cut), _delete_dead_letters),
        ("dead_letter_bodies", _open_where(cut), _prune_bodies),
    ):
        if where is None:
            continue
        model = Outbox if kind == "delivered_outbox" else DeadLetter
        with store.sessions() as session:
            total = session.execute(select(func.count()).select_from(model).where(where)).scalar()
        if progress:
            progress(kind, 0, total)
        if dry_run or not total:
            report.counts[kind] = total
            continue
        done, after = 0, 0
        while True:
            with store.transaction() as session:
                ids = list(session.scalars(select(model.id).where(where, model.id > after)
                                           .order_by(model.id).limit(batch)))
                if not ids:
                    break
                digests = step(session, ids, stamp)
                if digests:
                    audit.append(session, actor, "retention.pruned", kind,
                                 {"count": len(digests), "first_id": ids[0], "last_id": ids[-1],
                                  "cutoff": report.cutoffs[kind],
                                  "sha256": hashlib.sha256("\n".join(digests).encode()).hexdigest()})
            done += len(digests)
            after = ids[-1]
            if progress:
                progress(kind, done, total)
        report.counts[kind] = done
        log.info("retention: %s: %d pruned (before %s)", kind, done, report.cutoffs[kind])
    if not dry_run and (any(report.counts.values()) or actor != "hub"):
        # A run by a person is recorded even when it found nothing; the clock's only when it pruned.
        with store.transaction() as session:
            audit.append(session, actor, "retention.run", stamp, report.to_dict())
    return report


class Daily:
    """The daily prune on the workers' clock (``retention.daily_at``): once a day per
    process, and a run another process made since that time counts."""

    def __init__(self, hub):
        self.hub = hub
        self.last: dt.datetime | None = None
        self.loaded = False

    def run_if_due(self, now: dt.datetime | None = None) -> Report | None:
        now = now or utcnow()
        if not due(now, self.hub.settings, self.last):
            return None
        if not self.loaded:  # the last run of any process, once (newest entries first)
            with self.hub.store.sessions() as session:
                stamp = session.execute(select(AuditEntry.subject).where(AuditEntry.action == "retention.run")
                                        .order_by(AuditEntry.id.desc()).limit(1)).scalar()
            self.last = dt.datetime.fromisoformat(stamp) if stamp else None  # the run's own "now"
            self.loaded = True
            if not due(now, self.hub.settings, self.last):
                return None
        report = prune(self.hub.store, self.hub.settings, now=now)
        self.last = now
        return report


def _outbox_where(cut: Cutoffs):
    limit = cut.kinds["delivered_outbox"]
    if limit is None:
        return None
    when = func.coalesce(Outbox.sent_at, Outbox.created_at)
    where = and_(Outbox.status == "sent", when < limit, Outbox.payload["pruned"].as_string().is_(None))
    if cut.legal_types:
        # Deliveries of the legal hold's record types go only once past the hold as well.
        held = Outbox.record_type.in_(cut.legal_types)
        where = and_(where, or_(~held, when < cut.legal) if cut.legal else ~held)
    return where


def _dead_letter_legal(cut: Cutoffs, when):
    """Dead letters of the legal hold's native kinds (``agency:KIND``) go only once past it."""
    if not cut.legal_kinds:
        return None
    held = or_(*(and_(DeadLetter.agency == a, DeadLetter.kind == k)
                 for a, _, k in (x.partition(":") for x in cut.legal_kinds)))
    return or_(~held, when < cut.legal) if cut.legal else ~held


def _replayed_where(cut: Cutoffs):
    limit = cut.kinds["replayed_dead_letters"]
    if limit is None:
        return None
    where = and_(DeadLetter.status == "replayed", DeadLetter.replayed_at < limit)
    legal = _dead_letter_legal(cut, DeadLetter.replayed_at)
    return and_(where, legal) if legal is not None else where


def _open_where(cut: Cutoffs):
    limit = cut.kinds["dead_letter_bodies"]
    if limit is None:
        return None
    where = and_(DeadLetter.status != "replayed", DeadLetter.created_at < limit, func.length(DeadLetter.body) > 0)
    legal = _dead_letter_legal(cut, DeadLetter.created_at)
    return and_(where, legal) if legal is not None else where


def _prune_outbox(session, ids: list[int], stamp: str) -> list[str]:
    digests = []
    for row_id, payload in session.execute(select(Outbox.id, Outbox.payload).where(any_of(session, Outbox.id, ids))):
        if is_pruned_payload(payload):  # pruned meanwhile by another run
            continue
        sha = digest(payload)
        digests.append(f"{row_id}:{sha}")
        session.execute(update(Outbox).where(Outbox.id == row_id)
                        .values(payload={"pruned": {"at": stamp, "sha256": sha}}))
    return sorted(digests)


def _delete_dead_letters(session, ids: list[int], stamp: str) -> list[str]:
    digests = [f"{i}:{sha}" for i, sha in session.execute(
        select(DeadLetter.id, DeadLetter.body_sha256).where(any_of(session, DeadLetter.id, ids)).order_by(DeadLetter.id))]
    session.execute(delete(DeadLetter).where(any_of(session, DeadLetter.id, ids))
                    .execution_options(synchronize_session=False))
    return digests


def _prune_bodies(session, ids: list[int], stamp: str) -> list[str]:
    digests = []
    for dl in session.scalars(select(DeadLetter).where(any_of(session, DeadLetter.id, ids)).order_by(DeadLetter.id)):
        if not dl.body:  # pruned meanwhile by another run
            continue
        digests.append(f"{dl.id}:{dl.body_sha256}")
        dl.body = b""
        dl.headers = {**(dl.headers or {}), PRUNED: stamp}
    return digests


def due(now: dt.datetime, settings: Mapping[str, Any], last: dt.datetime | None) -> bool:
    """Whether the daily prune is due at ``now``: ``retention.daily_at`` (hub.timezone)
    has passed today and no prune ran since then."""
    at = settings["retention"]["daily_at"]
    if not at:
        return False
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(settings["hub"]["timezone"])
    local = now.astimezone(tz)
    hour, minute = (int(x) for x in at.split(":"))
    start = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return local >= start and (last is None or last < start)
