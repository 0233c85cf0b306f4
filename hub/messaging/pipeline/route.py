"""The route stage: an outbox row for each route a stored record takes
(``hub.messaging.outbox.enqueue``), the dossier a criminal transfer waits on, and the
early-warning risks a batch raises."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update

from hub.casework import audit, deadlines, linkage, matters, risks
from hub.ids import iso, new_id, now_beijing
from hub.messaging import outbox
from hub.messaging.outbox import OutboxRow
from hub.messaging.pipeline.unit import _Unit
from hub.messaging.routes import Route
from hub.store.models import Record, TransferHold, utcnow
from schemas import RECORD_SCHEMAS

log = logging.getLogger("hub.messaging.pipeline")  # one logger for every stage


class Routing:
    """Routing (a part of :class:`hub.messaging.pipeline.Pipeline`)."""

    def _route(self, unit: _Unit, record: dict[str, Any], matter_id: str, *,
               released: bool = False, claim: bool = True, cache: dict[str, Any] | None = None) -> list[OutboxRow]:
        """Write an outbox row for each route the record takes; returns the rows.

        A route with ``hold = "dossier"`` sends a criminal transfer only when its dossier
        is complete; otherwise it waits for the linkage office (``released=True`` then
        writes the held routes' rows, and only those).
        """
        written = []
        refs = None
        dossier_ok = None  # checked once, however many routes hold on it
        session = unit.session
        # related records, read once for all the record's routes (or, given, the caller's records of the matter)
        cache = {} if cache is None else cache

        def related(rtype: str) -> dict | None:
            if rtype not in cache:
                # The query must see this transaction's records of that type, if it holds any; else
                # the batch goes on being held back (a flush per clue was most of a clue's cost).
                if any(r["type"] == rtype for r in unit.records):
                    unit.flush()
                cache[rtype] = matters.related(session, matter_id, rtype, record)
            return cache[rtype]

        for route in self.routes:
            if not route.matches(record) or (released and not route.hold):
                continue
            if route.hold == "dossier" and not released:
                if dossier_ok is None:
                    unit.flush()
                    dossier_ok = self._dossier_passes(unit, record, matter_id, written)
                if not dossier_ok:
                    continue
            if refs is None:
                refs = unit.joiner.refs(matter_id)

            params = self._params(route)
            if record["type"] == "criminal_transfer":
                if "round" not in cache:
                    unit.flush()
                    cache["round"] = transfer_round(session, record, matter_id)
                params["round"] = cache["round"]
            for each in self._each(unit, route, matter_id):
                message_id = new_id("out")
                if link_as := params.pop("link_as", None):
                    # The hub's own number for what it sent (an assignment): an answer quoting it
                    # joins this matter.
                    unit.joiner.add_key(matter_id, f"{link_as}:{message_id}")
                    refs = None
                payload = {
                    "record": route.project(record, related if each is None else
                                            (lambda rtype, each=each, route=route: each if rtype == route.for_each
                                             else related(rtype))),
                    "refs": refs if refs is not None else unit.joiner.refs(matter_id),
                    "params": params,
                    "created_at": iso(now_beijing()),
                }
                written.append(outbox.enqueue(session, OutboxRow.new(
                    message_id=message_id, now=unit.now, record_id=record["record_id"], record_type=record["type"],
                    source_agency=record["source_agency"], matter_id=matter_id, recipient=route.to,
                    kind=route.kind, route=route.name, payload=payload), claim=claim and not released, hold=True))
        return written

    @staticmethod
    def _each(unit: _Unit, route: Route, matter_id: str) -> list[dict[str, Any] | None]:
        """The records a ``for_each`` route writes one delivery for (the matter's of that
        type, oldest first, each number once); ``[None]``: one delivery, as usual."""
        if route.for_each is None:
            return [None]
        unit.flush()
        field = RECORD_SCHEMAS[route.for_each].LINKS[0][1] if RECORD_SCHEMAS[route.for_each].LINKS else None
        found: dict[Any, dict[str, Any]] = {}
        for (data,) in unit.session.execute(select(Record.data).where(
                Record.matter_id == matter_id, Record.type == route.for_each).order_by(Record.seq)):
            found.setdefault(data.get(field) if field else data.get("record_id"), data)
        return list(found.values())

    def _risks(self, unit: _Unit, live: Mapping[str, list[str]], now=None) -> int:
        """Raise and clear the early-warning risks of the matters this batch touched
        (``hub.casework.risks``): each risk record is stored on its matter and routed like any record.
        Returns the number of risk records made."""
        if not live:
            return 0
        related: dict[tuple, dict[str, Any]] = {}  # (matter, project) -> the records a route's extra names

        def emit(record: dict[str, Any], matter_id: str) -> None:
            unit.records.append(risks.stored_row(record, matter_id, "hub:risks", unit.now))
            self._route(unit, record, matter_id, claim=False,
                        cache=related.setdefault((matter_id, record.get("project_code")), {}))

        unit.flush()
        made = risks.refresh(unit.session, live, self.settings["risks"], now or utcnow(), emit,
                             known=unit.known(live))
        unit.flush()
        return made

    def refresh_risks(self, session, matters_: Mapping[str, list[str]], now) -> int:
        """:meth:`_risks` for the scheduler's sweep, in the caller's transaction (the relays
        are told of the rows written after its commit)."""
        return self._risks(_Unit(session, self.outbox), matters_, now)

    def _params(self, route: Route) -> dict[str, Any]:
        """The route's params for the renderer. ``due_rule`` names a deadline limit: the
        recipient is told when it ends (``due_on``), under the same settings the hub's own
        deadline for that step uses."""
        params = dict(route.params)
        if rule := params.get("due_rule"):
            params["due_on"] = iso(deadlines.due_time(now_beijing(), self.settings["deadlines"][rule]))
        return params

    def _dossier_passes(self, unit: _Unit, record: dict[str, Any], matter_id: str, held: list[OutboxRow]) -> bool:
        """Check a transfer's dossier and keep the result; a held one is told to the agency
        that made it (a row written and appended to ``held``)."""
        session = unit.session
        related = [r for r in linkage.matter_records(session, matter_id) if r["record_id"] != record["record_id"]]
        result = linkage.check_dossier(record, related, self.settings["linkage"])
        status = "passed" if result["complete"] else "held"
        # A later sending of the same transfer (补充移送) takes the place of one still held.
        session.execute(update(TransferHold).where(TransferHold.transfer_no == record["transfer_no"],
                                                   TransferHold.status == "held",
                                                   TransferHold.record_id != record["record_id"])
                        .values(status="superseded", decided_by="hub", decided_at=utcnow(),
                                reason="sent again before a decision").execution_options(synchronize_session=False))
        session.merge(TransferHold(record_id=record["record_id"], transfer_no=record["transfer_no"],
                                   matter_id=matter_id, status=status, missing=result))
        audit.append(session, "hub", f"dossier.{status}", record["transfer_no"],
                     {"record_id": record["record_id"], "missing": [m["item"] for m in result["missing"]]})
        if status == "held":
            log.info("transfer %s held for the linkage office: %s", record["transfer_no"],
                     ", ".join(m["item"] for m in result["missing"]))
            held.append(outbox.enqueue(session, linkage.decision_notice(record, matter_id, "held", result),
                                       claim=False, hold=True))
        return result["complete"]

    def release(self, session, record: dict[str, Any]) -> set[str]:
        """Send a held transfer on its held routes (the linkage office released it);
        returns the recipients of the rows written (the relays are told of them after the
        commit)."""
        unit = _Unit(session, self.outbox)
        rows = self._route(unit, record, record["matter_id"], released=True)
        unit.flush()
        return {row.recipient for row in rows}


def transfer_round(session, record: Mapping[str, Any], matter_id: str) -> int:
    """The round of a transfer record: 1, then 2, 3... for each sending of the same
    transfer number (补充移送 after the police asked for materials)."""
    number = record["transfer_no"]
    before = 0
    for (data,) in session.execute(select(Record.data).where(Record.matter_id == matter_id,
                                                             Record.type == "criminal_transfer").order_by(Record.seq)):
        if data.get("record_id") == record["record_id"]:
            break
        before += data.get("transfer_no") == number
    return before + 1
