"""What one transaction writes, held back and written in bulk."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select

from hub.casework import matters
from hub.messaging import outbox
from hub.messaging.outbox import Subscribers
from hub.messaging.pipeline.outcome import _Prepared
from hub.messaging.pipeline.spool import weight
from hub.store import any_of, insert_rows
from hub.store.models import Inbox, Record, utcnow

LOCAL_LIMIT = 2000  # rows of new matters kept for their deadlines and risks (a batch file's are not)


class _Unit:
    """What one transaction writes, held back and inserted in bulk (matters and their numbers,
    records, outbox and inbox rows), with what it has read once for the whole batch.

    :meth:`flush` runs before any query that reads these tables (the joiner, the dossier
    check and a route's related records call it), so every query sees the whole transaction.
    """

    def __init__(self, session, subscribers: Subscribers | None = None):
        self.session = session
        self.now = utcnow()
        self.joiner = matters.Joiner(session, before_read=self.flush, held=self.held)
        self.fingerprints: set[tuple[str, str, str]] = set()  # (agency, type, fingerprint) stored
        self.records: list[dict[str, Any]] = []
        # outbox rows held back (hub.messaging.outbox.enqueue(hold=True)); the relays are told
        # of those no one claimed after the commit
        self.outbox = outbox.track(session, subscribers=subscribers, fresh=self.joiner.whole)
        self.inbox: list[dict[str, Any]] = []
        self.local: dict[str, list[dict[str, Any]]] = {}  # records of the matters this transaction created
        self.held_count = 0  # rows put in ``local`` (by weight); past LOCAL_LIMIT it is no longer kept
        self.pending = 0  # rows (by weight) of the records held back since the last flush
        self.callbacks: list[dict[str, Any]] = []  # call-back records stored (satisfaction)

    def hold_local(self, matter_id: str, record: dict[str, Any]) -> None:
        """Keep a record of a matter this transaction created, so the deadlines and the risks
        need not read it back. Past ``LOCAL_LIMIT`` rows in all (a batch file's), the
        records are let go and those matters are read back from the store instead."""
        if matter_id not in self.joiner.whole or self.held_count > LOCAL_LIMIT:
            return
        self.local.setdefault(matter_id, []).append(record)
        self.held_count += weight(record)
        if self.held_count > LOCAL_LIMIT:
            self.local.clear()

    def known(self, live: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """The records held of each live matter this transaction created whole."""
        return {m: self.local[m] for m in live if m in self.joiner.whole and m in self.local}

    def prefetch(self, prepared: list[_Prepared]) -> None:
        """Read, in a few queries, the numbers and fingerprints the batch's records carry."""
        def chunks() -> Iterator[set[tuple[str, str, str]]]:  # (a batch file's: not all at once)
            chunk: set[tuple[str, str, str]] = set()
            for p in prepared:
                for record, fp in p.records:
                    chunk.add((p.message.agency, record["type"], fp))
                    if len(chunk) == 300:
                        yield chunk
                        chunk = set()
            if chunk:
                yield chunk

        for chunk in chunks():
            found = self.session.execute(
                select(Record.source_agency, Record.type, Record.fingerprint)
                .where(any_of(self.session, Record.source_agency, {agency for agency, _, _ in chunk}),
                       any_of(self.session, Record.type, {rtype for _, rtype, _ in chunk}),
                       any_of(self.session, Record.fingerprint, {fp for _, _, fp in chunk}))).all()
            self.fingerprints.update(row for row in map(tuple, found) if row in chunk)
        self.joiner.prefetch(record for p in prepared for record, _ in p.records)

    def held(self, matter_id: str, rtype: str) -> list[dict[str, Any]]:
        """The records of one matter and type this transaction holds back (not yet written)."""
        return [r["data"] for r in self.records if r["matter_id"] == matter_id and r["type"] == rtype]

    def flush(self) -> None:
        self.joiner.flush()
        if self.records:
            insert_rows(self.session.connection(), Record.__table__, self.records)  # no ORM bookkeeping
            self.records.clear()
        self.pending = 0
        outbox.flush(self.session)
        if self.inbox:
            insert_rows(self.session.connection(), Inbox.__table__, self.inbox)
            self.inbox.clear()
