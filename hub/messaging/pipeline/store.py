"""The store stage: one transaction applies a batch (records, their matters, dead letters,
the inbox), and what it touched is checked again (held dossiers, risks, call backs)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from hub.casework import answers, audit, deadlines, linkage, listing, matters, transfers
from hub.ids import iso, new_id, now_beijing
from hub.messaging import outbox
from hub.messaging.pipeline.check import STATE_CHECKED, _clean, _fitted, _named, _native
from hub.messaging.pipeline.outcome import Failure, Outcome, _Prepared
from hub.messaging.pipeline.spool import RecordSpool, weight
from hub.messaging.pipeline.unit import _Unit
from hub.store import any_of
from hub.store.models import Record, TransferHold, utcnow
from schemas import ruled

FLUSH_EVERY = 500  # rows (spool.weight) held back before the transaction writes them


class Storing:
    """The transaction (a part of :class:`hub.messaging.pipeline.Pipeline`)."""

    def _commit(self, prepared: list[_Prepared], replay_of: int | None, actor: str | None = None) -> None:
        in_batch: set[tuple[str, str]] = set()
        touched: dict[str, list[str]] = {}  # matter -> matters merged into it
        trail: list[tuple[str, str, str, dict[str, Any]]] = []  # audit entries of this batch
        with self.store.transaction() as session, session.no_autoflush:
            seen = self._seen(session, [p.message for p in prepared if p.outcome.status != "duplicate"])
            for p in prepared:
                if (p.message.agency, p.message.message_id) in seen:  # a redelivery or a resend
                    p.outcome = Outcome(p.message.agency, p.message.message_id, "duplicate", kind=p.message.kind)
                    p.records, p.whole_failure = RecordSpool(), None
            unit = _Unit(session, self.outbox)
            unit.prefetch([p for p in prepared if p.outcome.status != "duplicate" and p.whole_failure is None])
            for p in prepared:
                msg, o = p.message, p.outcome
                if o.status == "duplicate":
                    continue
                if msg.message_id and (msg.agency, msg.message_id) in in_batch:
                    o.status = "duplicate"
                    continue
                if p.whole_failure is None and p.records:
                    self._check_state(unit, p)
                if p.whole_failure is not None:
                    o.status = "rejected"
                    o.failures.insert(0, p.whole_failure)
                    o.dead_letters.extend(self._dead_letters(session, msg, [p.whole_failure], replay_of))
                    trail.append((actor or msg.agency, "message.rejected", f"{msg.agency}/{_clean(_fitted(msg).message_id)}",
                                  {"dead_letters": o.dead_letters, "rule": p.whole_failure.rule,
                                   "body_sha256": hashlib.sha256(msg.body).hexdigest()}))
                    continue
                if o.failures:
                    o.dead_letters.extend(self._dead_letters(session, msg, o.failures, replay_of))
                self._store_records(unit, p, touched)
                unit.inbox.append({"agency": msg.agency, "message_id": msg.message_id, "kind": o.kind,
                                   "received_at": unit.now, "records": len(o.records), "rejected": len(o.failures)})
                in_batch.add((msg.agency, msg.message_id))
                trail.append((actor or msg.agency, "message.accepted", f"{msg.agency}/{msg.message_id}",
                              {"records": o.records, "dead_letters": o.dead_letters,
                               "body_sha256": hashlib.sha256(msg.body).hexdigest()}))
            unit.flush()
            merged_away = {m for ms in touched.values() for m in ms}
            live = {m: merged for m, merged in touched.items() if m not in merged_away}
            self._recheck_held(unit, live)
            self._risks(unit, live)
            self._callbacks(unit, prepared, actor)
            # (the matters merged away too: their rows still carry their old id until the refresh)
            replies = answers.reply_states(session, [m for mid, merged in live.items() for m in (mid, *merged)]) \
                if self._has_work_orders(unit, prepared, live) else None
            dues = deadlines.refresh_many(session, live, self.settings["deadlines"],
                                          known=unit.known(live), linkage=self.settings["linkage"],
                                          keep=None if replies is not None else ())
            if replies is not None and (results := answers.result_rows(session, replies, dues)):
                # the matter ended: each work order on it is owed its result (once a round)
                for row in results:
                    outbox.enqueue(session, row, claim=False, hold=True)
                outbox.flush(session)
            if replay_of is not None:
                self._mark_replay(session, replay_of, prepared[0].outcome)
            audit.append_many(session, trail)

    @staticmethod
    def _has_work_orders(unit: _Unit, prepared: list[_Prepared], live: Mapping[str, Any]) -> bool:
        """Whether any matter this batch touched holds a work order (one query, when it might)."""
        if not live:
            return False
        if any("work_order" in p.records.types for p in prepared):  # (no unpacking of a batch file)
            return True
        ids = sorted(live)
        return any(unit.session.execute(select(Record.seq).where(any_of(unit.session, Record.matter_id,
                                                                        ids[i:i + 500]),
                                                                 Record.type == "work_order").limit(1)).first()
                   for i in range(0, len(ids), 500))

    def _callbacks(self, unit: _Unit, prepared: list[_Prepared], actor: str | None) -> None:
        """A call back stored by this batch that reopens its matter tells ``[followup]
        reopen_recipients``; one on a matter the follow-up sample drew is that matter's
        follow-up result too."""
        from hub.casework import followup

        stored = unit.callbacks
        if not stored:
            return
        unit.flush()
        rows: list[dict[str, Any]] = []
        for record in stored:
            matter_id = matters.resolve(unit.session, record["matter_id"]) or record["matter_id"]
            said = {"work_order_no": record["work_order_no"], "called_at": record["called_at"],
                    "reached": record["reached"], "resolved": record.get("resolved"), "paid": record.get("paid"),
                    "satisfied": record.get("satisfied"), "remark": record.get("remark"),
                    "source": record["source_agency"]}
            if deadlines.reopens(record):
                rows += answers.reopen_rows(unit.session, self.settings, self.registry.codes(), matter_id, said,
                                            record["record_id"])
            day = followup.sample_day_of(unit.session, matter_id, self.settings)
            if day is not None and not followup.results_of(unit.session, day).get(matter_id):
                result = {"called_at": deadlines.when(record["called_at"]), "reached": record["reached"],
                          "resolved": record.get("resolved"), "paid_full": record.get("paid"),
                          "satisfied": record.get("satisfied"), "remark": record.get("remark")}
                followup.add_result(unit.session, self.settings, self.registry.codes(), matter_id, result,
                                    source=record["source_agency"], actor=actor or record["source_agency"],
                                    record_id=record["record_id"], sample_day=day)
        for row in rows:
            outbox.enqueue(unit.session, row, claim=False, hold=True)
        outbox.flush(unit.session)

    def _store_records(self, unit: _Unit, p: _Prepared, touched: dict[str, list[str]]) -> None:
        """Store the message's records and their outbox rows."""
        agency = p.message.agency
        for record, fp in p.records:
            if (agency, record["type"], fp) in unit.fingerprints:
                continue  # the same record again, under another message id: no second effect
            unit.fingerprints.add((agency, record["type"], fp))
            record_id = new_id("rec")
            merged: list[str] = []
            matter_id = unit.joiner.link(record, merged)
            touched.setdefault(matter_id, []).extend(merged)
            if record["type"] == listing.TYPE and not record.get("region_code"):
                record["region_code"] = listing.region_of(unit.session, matter_id)
            record.update(record_id=record_id, matter_id=matter_id, accepted_at=iso(now_beijing()))
            unit.hold_local(matter_id, record)
            if record["type"] == "satisfaction":
                unit.callbacks.append(record)
            unit.records.append({
                "record_id": record_id, "type": record["type"], "schema_version": record["schema_version"],
                "source_agency": record["source_agency"], "source_ref": record["source_ref"], "matter_id": matter_id,
                "message_id": p.message.message_id, "fingerprint": fp, "occurred_at": matters.occurred_at(record),
                "accepted_at": unit.now, "data": record,
            })
            p.outcome.records.append(record_id)
            self._route(unit, record, matter_id)
            if (ground := listing.ground_of(record)) is not None:
                unit.flush()
                if (row := listing.candidate(unit.session, matter_id, *ground, self.settings, unit.outbox)) is not None:
                    outbox.enqueue(unit.session, row, claim=False, hold=True)
            unit.pending += weight(record)
            if unit.pending >= FLUSH_EVERY:  # a batch file's rows: keep what waits in memory bounded
                unit.flush()

    def _check_state(self, unit: _Unit, p: _Prepared) -> None:
        """Refuse a message whose record cannot apply to its matter as the store holds it
        (a reconsideration of a transfer never declined...): whole, so nothing of it applies."""
        if p.records.types.isdisjoint(STATE_CHECKED):
            return
        for record, fp, names in p.records.entries():
            if record["type"] not in STATE_CHECKED or \
                    (p.message.agency, record["type"], fp) in unit.fingerprints:
                continue
            unit.flush()
            found = listing.refusal(unit.session, record) if record["type"] in listing.STATE_CHECKED \
                else transfers.refusal(unit.session, record, self.registry)
            if found is None:
                continue
            path, rule, why = found
            p.whole_failure = Failure(ruled(f"{_named(path, names)}: {why}", rule), _native(path, names), rule,
                                      p.message.kind)
            p.records = RecordSpool()
            return

    def _recheck_held(self, unit: _Unit, live: Mapping[str, Any]) -> None:
        """Check again each held dossier of the matters this batch touched, so its missing
        list is current; one now complete goes to the police when ``[linkage]
        release_when_complete`` (else it waits, complete, for the linkage office)."""
        if not live:
            return
        session = unit.session
        unit.flush()
        session.flush()
        held = session.scalars(select(TransferHold).where(any_of(session, TransferHold.matter_id, sorted(live)),
                                                          TransferHold.status == "held")).all()
        for hold in held:
            latest = linkage.latest_hold(session, hold.transfer_no)
            if latest is not None and latest.record_id != hold.record_id:
                continue
            records = linkage.matter_records(session, hold.matter_id)
            record = next((r for r in records if r["record_id"] == hold.record_id), None)
            if record is None:
                continue
            result = linkage.check_dossier(record, [r for r in records if r["record_id"] != hold.record_id],
                                           self.settings["linkage"])
            before = [m["item"] for m in hold.missing.get("missing", [])]
            now = [m["item"] for m in result["missing"]]
            hold.missing = {**result, "rechecked_at": iso(now_beijing())}
            if before != now:
                audit.append(session, "hub", "dossier.rechecked", hold.transfer_no,
                             {"record_id": hold.record_id, "missing": now})
            if result["complete"] and self.settings["linkage"]["release_when_complete"]:
                hold.status, hold.decided_by, hold.decided_at = "released", "hub", utcnow()
                hold.reason = "every missing item arrived"
                audit.append(session, "hub", "transfer.released", hold.transfer_no,
                             {"record_id": hold.record_id, "reason": hold.reason})
                self._route(unit, {**record, "matter_id": hold.matter_id}, hold.matter_id, released=True)
                outbox.enqueue(session, linkage.decision_notice(record, hold.matter_id, "released", result,
                                                                hold.reason), claim=False, hold=True)
        unit.flush()
