"""The outbox relay: renders each outbox row with the recipient's plugin and publishes it.

A worker's own batch does not wait for a round: its rows are written under a claim the
relay takes ahead (:meth:`Relay.claim_ahead`, ``hub.messaging.outbox.claiming``) and handed
to the relay's thread after the commit (:meth:`Relay.hand_over`). Rounds take the rest. In a round, rows are claimed in
id order (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers can relay side by
side), published in a batch with confirms, and marked sent only once the broker has
confirmed them. A row keeps its ``message_id`` for life, so a retried publish is a
duplicate the recipient drops. Per matter and recipient, rows go out in order: a row
waits while an earlier one of the same matter is undelivered. A recipient that fails
(rendering raises, broker refuses) delays only its own rows. A round the database cuts
short (the claim made, the rows not marked) frees its claim on the next round, so its
rows go out as soon as the database is back, not when the claim runs out.

Agencies without a queue (contractors' webhooks) are served by a relay of their own
(``direct=True``): their plugin delivers each message itself (``deliver_rendered``),
several at once, so a slow or dead recipient never holds up the queues.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import aliased

from hub import metrics
from hub.casework import audit
from hub.contract.errors import Undeliverable
from hub.contract.plugins import Registry
from hub.contract.types import Delivery
from hub.logs import error_summary as _summary
from hub.messaging.broker import OutMessage, Publisher, PublishError
from hub.messaging.outbox import Claim, OutboxRow, signature_for, waiting_behind
from hub.store import Store, any_of
from hub.store.models import Outbox, utcnow

log = logging.getLogger(__name__)

HANDED_BATCHES = 4  # batches handed over (``Relay.hand_over``) that may wait for the relay's thread
HANDOVER_WAIT = 30.0  # seconds a worker waits for room among them


class Relay:
    def __init__(self, store: Store, registry: Registry, publisher: Publisher | None, settings: Mapping[str, Any],
                 *, direct: bool = False):
        self.direct = direct
        self.store = store
        self.registry = registry
        self.publisher = publisher
        cfg = settings["relay"]
        self.batch_size = cfg["batch_size"]
        self.poll_interval = cfg["poll_interval"]
        self.claim = dt.timedelta(seconds=cfg["claim_seconds"])
        self.backoff_start = cfg["backoff_start"]
        self.backoff_max = cfg["backoff_max"]
        self.wake = threading.Event()
        # Rows (message ids) claimed by rounds that failed, by the claim's end: released on the next round.
        self.stranded: dict[dt.datetime, list[str]] = {}
        self.claimed_until: dt.datetime | None = None  # the last claim's end
        # Rows the inbound worker wrote under a claim ahead, waiting for this relay's thread
        # (``hand_over``); bounded, so a stalled broker slows the worker down.
        self.handed: queue.Queue[Claim] = queue.Queue(maxsize=HANDED_BATCHES)
        self.last_round = 0.0
        self.round_asked = False
        self.pool = ThreadPoolExecutor(max_workers=cfg["direct_concurrency"],
                                       thread_name_prefix="wagehub-deliver") if direct else None

    def recipients(self) -> list[str]:
        """Enabled agencies this relay serves: queue ones, or those that deliver directly."""
        return [code for code in self.registry.enabled_codes() if self._serves(code)]

    # -- claiming ---------------------------------------------------------------------------

    def _claim(self) -> list[OutboxRow]:
        now = utcnow()
        enabled = self.recipients()
        if not enabled:
            return []
        earlier = aliased(Outbox)
        with self.store.transaction() as session:
            query = (
                select(Outbox.__table__)  # plain rows: nothing for the ORM to track
                .where(Outbox.status == "pending", Outbox.next_attempt_at <= now, Outbox.recipient.in_(enabled),
                       or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now),
                       # Not a row behind one of its matter and recipient that this round cannot
                       # take (waiting out a backoff, or claimed elsewhere): left in the batch, a
                       # matter's queue of such rows filled it, and every other matter's rows waited
                       # behind them (an index seek per row: ix_outbox_matter).
                       ~select(earlier.id).where(
                           earlier.matter_id == Outbox.matter_id, earlier.recipient == Outbox.recipient,
                           earlier.status == "pending", earlier.id < Outbox.id,
                           or_(earlier.next_attempt_at > now, earlier.claimed_until >= now)).exists())
                .order_by(Outbox.id)
                .limit(self.batch_size)
            )
            if self.store.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = [OutboxRow.of(row._mapping) for row in session.execute(query)]
            # A row goes only if every earlier undelivered row of its matter and recipient is ours.
            if rows and (behind := waiting_behind(session, [r.message_id for r in rows])):
                rows = [r for r in rows if r.message_id not in behind]
            if rows:
                self.claimed_until = now + self.claim
                session.execute(update(Outbox).where(any_of(session, Outbox.id, [r.id for r in rows]))
                                .values(claimed_until=self.claimed_until)
                                .execution_options(synchronize_session=False))
            return rows

    # -- one round ----------------------------------------------------------------------------

    def claim_ahead(self) -> Claim | None:
        """A claim for rows not yet written: the inbound worker writes its outbox rows under
        it (``hub.messaging.outbox.claiming``), in the transaction that accepts the messages,
        and hands the claim over (:meth:`hand_over`) after the commit, so they go out without a round of this relay
        (no query to claim them, no wait for the next round). If the worker dies before
        they are marked sent, the claim runs out and any relay sends them."""
        if self.direct:
            return None
        return Claim(frozenset(self.recipients()), utcnow() + self.claim)

    def hand_over(self, claim: Claim) -> None:
        """Give this relay's thread the rows committed under ``claim`` to deliver at once;
        the worker goes on with its next batch meanwhile. If the thread cannot take them (it
        has stopped, or is stuck on the broker), the claim runs out and a round sends them."""
        if not claim.rows:
            return
        try:
            self.handed.put(claim, timeout=HANDOVER_WAIT)
        except queue.Full:
            log.warning("relay: %d deliveries not taken at once; they go out when their claim runs out",
                        len(claim.rows))
            return
        self.wake.set()

    def deliver_handed(self) -> int:
        """Deliver what the worker handed over; returns the number sent."""
        sent = 0
        while True:
            try:
                claim = self.handed.get_nowait()
            except queue.Empty:
                return sent
            sent += self._deliver_handed(claim)

    def _deliver_handed(self, claim: Claim) -> int:
        """Deliver the rows committed under ``claim`` (see :meth:`claim_ahead`); returns the
        number sent. Never raises: what is not sent now is sent by a later round."""
        rows = claim.rows
        if not rows or utcnow() > claim.until - self.claim / 2:
            return 0  # (a claim about to run out is left to run out: a relay may take them then)
        try:
            enabled = set(self.recipients())
            if disabled := [r.message_id for r in rows if r.recipient not in enabled]:
                # A recipient disabled since the claim: its rows wait, as a round leaves them.
                self._release(disabled, claimed_until=claim.until)
                rows = [r for r in rows if r.recipient in enabled]
            return self._deliver_claimed(rows, claim.until) if rows else 0
        except PublishError:
            return 0  # released already: the next round sends them
        except Exception as exc:  # noqa: BLE001  (database down: the next round frees the claim)
            log.warning("relay: %s; %d deliveries wait for the next round", _summary(exc), len(rows))
            return 0

    def run_once(self) -> int:
        """Claim, render, deliver and mark one batch; returns the number delivered."""
        while self.stranded:
            # Rows this relay claimed in a round the database cut short: free them now
            # rather than when the claim runs out (``claim_seconds``), unless another
            # relay has claimed them since. Any it published go out again under the same
            # message_id.
            until, ids = next(iter(self.stranded.items()))
            self._release(ids, claimed_until=until)
            del self.stranded[until]
        rows = self._claim()
        if not rows:
            return 0
        return self._deliver_claimed(rows, self.claimed_until)

    def _deliver_claimed(self, rows: list[OutboxRow], claimed_until: dt.datetime | None) -> int:
        try:
            return self._deliver_rows(rows)
        except PublishError:
            raise  # released already
        except Exception:
            self.stranded.setdefault(claimed_until, []).extend(r.message_id for r in rows)
            raise

    def _deliver_rows(self, rows: list[OutboxRow]) -> int:
        started = time.perf_counter()
        out: list[OutMessage] = []
        sendable: list[OutboxRow] = []
        failed: dict[str, str] = {}  # by message id
        set_aside: dict[str, str] = {}
        blocked: set[tuple[str, str]] = set()
        for row in rows:
            key = (row.matter_id, row.recipient)
            if key in blocked:
                continue
            try:
                out.append(self._render(row))
                sendable.append(row)
            except Exception as exc:  # a failing recipient plugin delays only its own rows
                failed[row.message_id] = f"render failed: {_summary(exc)}"
                blocked.add(key)
                log.warning("outbox %s to %s: render failed: %s", row.message_id, row.recipient, _summary(exc))
        if self.direct:
            confirmed = list(self.pool.map(self._deliver, sendable, out))
            for row, result in zip(sendable, confirmed):
                if isinstance(result, str):
                    set_aside[row.message_id] = result
        else:
            try:
                confirmed = self.publisher.publish_many(out)
            except PublishError as exc:
                log.warning("relay: %s; %d deliveries wait", exc, len(out))
                self._release([r.message_id for r in rows])
                raise
        sent = [r.message_id for r, ok in zip(sendable, confirmed) if ok is True]
        for r, ok in zip(sendable, confirmed):
            if ok is False:
                failed[r.message_id] = "recipient did not take it" if self.direct else "broker did not confirm"
        self._finish(rows, sent, failed, set_aside)
        metrics.RELAY_SECONDS.observe(time.perf_counter() - started)
        return len(sent)

    def _deliver(self, row: OutboxRow, message: OutMessage) -> bool | str:
        """One direct delivery: True when taken, False to retry, a reason when undeliverable."""
        adapter = self.registry.get(row.recipient)
        try:
            return adapter.deliver(message.delivery, message.rendered,
                                   {**message.headers, "message_id": message.message_id})
        except Undeliverable as exc:
            log.warning("outbox %s to %s: undeliverable: %s", row.message_id, row.recipient, exc.message)
            return exc.message
        except Exception as exc:  # noqa: BLE001  (transient: retried with backoff)
            log.info("outbox %s to %s: delivery failed: %s", row.message_id, row.recipient, _summary(exc))
            return False

    def _render(self, row: OutboxRow) -> OutMessage:
        adapter = self.registry.get(row.recipient)
        if adapter is None:
            raise LookupError(f"no plugin for agency {row.recipient}")
        payload = row.payload
        delivery = Delivery(
            recipient=row.recipient, kind=row.kind, route=row.route, record_type=row.record_type,
            record=payload["record"], refs=payload.get("refs", {}), message_id=row.message_id,
            matter_id=row.matter_id, params=payload.get("params", {}), created_at=payload.get("created_at"),
        )
        rendered = adapter.render(delivery)
        headers = {
            **dict(rendered.headers),
            "x-wagehub-record-type": row.record_type,
            "x-wagehub-record-id": row.record_id,
            "x-wagehub-source": row.source_agency,
            "x-wagehub-matter": row.matter_id,
            # The kind written, where the plugin chose another than the route's (police BCYS for AJYS).
            "x-wagehub-kind": rendered.headers.get("x-wagehub-kind") or row.kind,
        }
        if adapter.key:
            headers["x-wagehub-signature"] = signature_for(adapter.key, rendered.body)
        return OutMessage(routing_key=row.recipient, body=rendered.body, message_id=row.message_id,
                          content_type=rendered.content_type, content_encoding=rendered.content_encoding,
                          headers=headers, delivery=delivery, rendered=rendered)

    def _release(self, message_ids: list[str], claimed_until: dt.datetime | None = None) -> None:
        """Let other rounds claim these rows (only if still under ``claimed_until``, if given)."""
        mine = [Outbox.claimed_until == claimed_until] if claimed_until is not None else []
        with self.store.transaction() as session:
            session.execute(update(Outbox).where(any_of(session, Outbox.message_id, message_ids), *mine).values(claimed_until=None)
                            .execution_options(synchronize_session=False))

    def _finish(self, rows: list[OutboxRow], sent: list[str], failed: dict[str, str],
                set_aside: dict[str, str] | None = None) -> None:
        """Mark the rows (by message id): sent, to retry after a backoff, or undeliverable."""
        set_aside = set_aside or {}
        now = utcnow()
        by_id = {r.message_id: r for r in rows}
        with self.store.transaction() as session:
            if sent:
                session.execute(update(Outbox).where(any_of(session, Outbox.message_id, sent))
                                .values(status="sent", sent_at=now, claimed_until=None, last_error=None)
                                .execution_options(synchronize_session=False))
            for row_id, error in failed.items():
                attempts = (by_id[row_id].attempts or 0) + 1
                wait = min(self.backoff_max, self.backoff_start * (2 ** (attempts - 1)))
                session.execute(update(Outbox).where(Outbox.message_id == row_id).values(
                    attempts=attempts, last_error=error, claimed_until=None,
                    next_attempt_at=now + dt.timedelta(seconds=wait)))
            for row_id, reason in set_aside.items():
                session.execute(update(Outbox).where(Outbox.message_id == row_id).values(
                    status="undeliverable", last_error=reason, claimed_until=None))
            untouched = [i for i in by_id if i not in failed and i not in sent and i not in set_aside]
            if untouched:
                session.execute(update(Outbox).where(any_of(session, Outbox.message_id, untouched)).values(claimed_until=None)
                                .execution_options(synchronize_session=False))
            # Last: the chain's lock is held from here to the commit.
            audit.append_many(session, [
                ("hub", "delivery.sent", by_id[i].message_id,
                 {"recipient": by_id[i].recipient, "record_id": by_id[i].record_id, "kind": by_id[i].kind})
                for i in sent])
        for row_id in sent:
            metrics.DELIVERIES.labels(agency=by_id[row_id].recipient, outcome="sent").inc()
        for row_id in failed:
            metrics.DELIVERIES.labels(agency=by_id[row_id].recipient, outcome="retry").inc()
        for row_id in set_aside:
            metrics.DELIVERIES.labels(agency=by_id[row_id].recipient, outcome="undeliverable").inc()

    def pending(self) -> int:
        with self.store.sessions() as session:
            return session.execute(select(func.count()).select_from(Outbox).where(Outbox.status == "pending")).scalar()

    # -- loop ---------------------------------------------------------------------------------

    def poke(self, recipients: Iterable[str] | None = None) -> None:
        """Ask for a round now: rows were written that no one has claimed, for
        ``recipients`` (a relay that serves none of them is left alone; ``None``: any)."""
        if recipients is not None and not any(self._serves(code) for code in recipients):
            return
        self.round_asked = True
        self.wake.set()

    def _serves(self, code: str) -> bool:
        adapter = self.registry.get(code)
        return adapter is not None and adapter.delivers_directly == self.direct

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set; back off while the broker or database is down.

        Handed-over rows go out as they come; a round (claiming what else is due: rows
        no worker handed over, retries, claims that ran out, rows that waited for an
        earlier one of their matter) runs when asked (:meth:`poke`), when the last one
        found rows, and every ``poll_interval``.
        """
        backoff = 0.5
        while not stop.is_set():
            try:
                n = self.deliver_handed()
                if self.round_asked or time.monotonic() - self.last_round >= self.poll_interval:
                    self.round_asked = False
                    self.last_round = time.monotonic()
                    found = self.run_once()
                    self.round_asked = self.round_asked or found > 0  # a full round: more may wait
                    n += found
                backoff = 0.5
                if n == 0 and self.handed.empty() and not self.round_asked:
                    self.wake.wait(max(0.0, self.last_round + self.poll_interval - time.monotonic()))
                    self.wake.clear()
            except PublishError:
                stop.wait(backoff)
                backoff = min(backoff * 2, 30)
            except Exception as exc:  # database down, or a bug: keep the thread alive
                log.warning("relay: %s; retrying in %.1fs", _summary(exc), backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30)
        self.deliver_handed()  # the worker's last batch, handed over as it stopped
        if self.publisher is not None:
            self.publisher.close()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
