"""Retention (``wagehub prune``): delivered payloads and dead letters go past their
retention, criminal transfers and their decisions stay for the legal hold (Criminal Law
Art. 87 and 276-1), and the audit chain still verifies with every entry's hash unchanged."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import subprocess
import sys

from sqlalchemy import select, update

from hub.ids import now_beijing
from hub.store import retention
from hub.store.models import AuditEntry, DeadLetter, Outbox, Record, utcnow
from tests.helpers import count_rows, sample, wait_for

LEGAL = {"criminal_transfer", "police_receipt", "police_decision", "linkage_decision", "materials_request",
         "reconsideration_request", "reconsideration_decision", "supervision_request", "supervision_opinion",
         "court_judgment"}
FIXED = sample("bad/hrss-bad-idcheck.json").replace(b"370103198212262340", b"37010319821226234X")


def feed(hub, agency, client, token) -> dict[str, int]:
    """A matter up to the police decision, and two bad messages: one replayed after a fix."""
    for name in ("hrss-clue.json", "hrss-case.json", "hrss-order.json", "hrss-transfer.json"):
        agency.publish("hrss", sample(name), message_id=f"m-{name}")
        wait_for(lambda n=name: count_rows(hub, Record, Record.message_id == f"m-{n}"), timeout=30)
    for name in ("police-receipt.xml", "police-decision.xml"):
        agency.publish("police", sample(name), message_id=f"m-{name}", content_type="application/xml")
    agency.publish("hrss", sample("bad/hrss-bad-idcheck.json"), message_id="bad-id")
    agency.publish("hrss", sample("bad/hrss-bad-amount.json"), message_id="bad-amount")
    wait_for(lambda: count_rows(hub, DeadLetter) == 2 and count_rows(hub, Record, Record.type == "police_decision"),
             timeout=30)
    ids = {dl.message_id: dl.id for dl in _all(hub, DeadLetter)}
    replayed = client.post(f"/api/v1/dead-letters/{ids['bad-id']}/replay", headers=token("admin"),
                           json={"body_base64": base64.b64encode(FIXED).decode()})
    assert replayed.json["dead_letter"]["status"] == "replayed", replayed.json
    wait_for(lambda: count_rows(hub, Outbox, Outbox.status == "pending") == 0, timeout=30)
    return ids


def _all(hub, model):
    with hub.store.sessions() as session:
        return list(session.scalars(select(model).order_by(model.id if hasattr(model, "id") else model.seq)))


def chain(hub) -> dict[int, str]:
    return {e.id: e.hash for e in _all(hub, AuditEntry)}


def verified(client, token) -> dict:
    result = client.get("/api/v1/audit/verify", headers=token("admin")).json
    assert result["ok"] is True, result
    return result


def test_prune_replaces_payloads_by_their_digest_keeps_the_legal_hold_and_the_chain(hub, workers, agency, client,
                                                                                   token):
    ids = feed(hub, agency, client, token)
    before = {row.id: row for row in _all(hub, Outbox)}
    assert {r.record_type for r in before.values()} & LEGAL and {r.record_type for r in before.values()} - LEGAL
    records, entries = count_rows(hub, Record), chain(hub)

    later = utcnow() + dt.timedelta(days=200)  # past 180 days (deliveries) and 90 (replayed dead letters)
    dry = retention.prune(hub.store, hub.settings, now=later, dry_run=True)
    assert chain(hub) == entries and {r.id: r.payload for r in _all(hub, Outbox)} == {
        i: r.payload for i, r in before.items()}
    seen = []
    report = retention.prune(hub.store, hub.settings, now=later, actor="test",
                             progress=lambda kind, done, total: seen.append((kind, done, total)))
    ordinary = [r for r in before.values() if r.record_type not in LEGAL and r.status == "sent"]
    assert report.counts == dry.counts == {"delivered_outbox": len(ordinary), "replayed_dead_letters": 1,
                                           "dead_letter_bodies": 0}
    assert ("delivered_outbox", len(ordinary), len(ordinary)) in seen

    after = {row.id: row for row in _all(hub, Outbox)}
    digests = []
    for row_id, row in before.items():
        if row.record_type in LEGAL or row.status != "sent":  # the legal hold, or not delivered: untouched
            assert after[row_id].payload == row.payload
        else:
            assert after[row_id].payload == {"pruned": {"at": after[row_id].payload["pruned"]["at"],
                                                        "sha256": retention.digest(row.payload)}}
            assert (after[row_id].message_id, after[row_id].status) == (row.message_id, "sent")
            digests.append(f"{row_id}:{retention.digest(row.payload)}")
    letters = {dl.message_id: dl for dl in _all(hub, DeadLetter)}
    assert set(letters) == {"bad-amount"} and letters["bad-amount"].body == sample("bad/hrss-bad-amount.json")
    assert count_rows(hub, Record) == records

    # Every earlier entry keeps its hash; the prune's own entries say what went.
    now_chain = chain(hub)
    assert {i: now_chain[i] for i in entries} == entries
    pruned = [e for e in _all(hub, AuditEntry) if e.action == "retention.pruned"]
    [outbox_entry] = [e for e in pruned if e.subject == "delivered_outbox"]
    assert outbox_entry.details["count"] == len(ordinary) and outbox_entry.actor == "test"
    assert outbox_entry.details["sha256"] == hashlib.sha256("\n".join(sorted(digests)).encode()).hexdigest()
    assert verified(client, token)["entries"] > len(now_chain)  # (and the token this asks with)

    # A second run finds nothing more; an agency reading a pruned delivery's record gets no error.
    assert retention.prune(hub.store, hub.settings, now=later).counts == dict.fromkeys(retention.KINDS, 0)
    clue = _all(hub, Record)[0]
    assert client.get(f"/api/v1/records/{clue.record_id}", headers=token("agency:union")).status_code in (200, 404)

    # Open dead letters' bytes, once a retention is set: then they replay only with fixed bytes.
    hub.settings["retention"]["open_dead_letter_days"] = 30
    assert retention.prune(hub.store, hub.settings, now=later).counts["dead_letter_bodies"] == 1
    dl = _all(hub, DeadLetter)[0]
    assert dl.body == b"" and dl.body_sha256 == hashlib.sha256(sample("bad/hrss-bad-amount.json")).hexdigest()
    refused = client.post(f"/api/v1/dead-letters/{ids['bad-amount']}/replay", headers=token("admin"))
    assert refused.status_code == 409 and "pruned" in refused.json["error"]["message"]
    fixed = json.loads(sample("bad/hrss-bad-amount.json"))
    fixed["data"]["amountFen"] = 100
    replay = client.post(f"/api/v1/dead-letters/{ids['bad-amount']}/replay", headers=token("admin"),
                         json={"body_base64": base64.b64encode(json.dumps(fixed).encode()).decode()})
    assert replay.status_code == 200, replay.json

    # Past the legal hold (30 years) the transfers' deliveries go too.
    held = count_rows(hub, Outbox, Outbox.status == "sent", Outbox.record_type.in_(LEGAL))
    far = retention.prune(hub.store, hub.settings, now=utcnow() + dt.timedelta(days=31 * 366))
    assert far.counts["delivered_outbox"] >= held > 0
    assert all(retention.is_pruned_payload(r.payload) == (r.status == "sent") for r in _all(hub, Outbox))
    verified(client, token)


def test_before_prunes_less_never_more_than_the_retention_allows(hub, workers, agency, client, token):
    feed(hub, agency, client, token)
    later = utcnow() + dt.timedelta(days=200)
    assert retention.prune(hub.store, hub.settings, now=later, before=utcnow() - dt.timedelta(days=1),
                           dry_run=True).counts == dict.fromkeys(retention.KINDS, 0)
    assert retention.prune(hub.store, hub.settings, now=utcnow(), before=later,
                           dry_run=True).counts == dict.fromkeys(retention.KINDS, 0)


def test_the_clock_prunes_once_a_day_at_its_time(hub, workers, agency, client, token):
    from hub.messaging.scheduler import Scheduler

    feed(hub, agency, client, token)
    hub.settings["retention"].update(daily_at="03:30", delivered_outbox_days=0.0001, replayed_dead_letter_days=0.0001)
    clock = Scheduler(hub)

    def runs():
        return [e for e in _all(hub, AuditEntry) if e.action == "retention.run"]

    day = dt.datetime.now(dt.UTC).astimezone(dt.timezone(dt.timedelta(hours=8))).date() + dt.timedelta(days=1)
    at = dt.datetime.combine(day, dt.time(3, 29), dt.timezone(dt.timedelta(hours=8)))
    clock.run_once(at)
    assert runs() == []
    clock.run_once(at + dt.timedelta(minutes=2))
    assert len(runs()) == 1 and runs()[0].details["pruned"]["delivered_outbox"] > 0
    clock.run_once(at + dt.timedelta(hours=3))
    assert Scheduler(hub).prune.run_if_due(at + dt.timedelta(hours=4)) is None  # another process, the same day
    assert len(runs()) == 1
    # The next day it runs again (the clock's escalations of overdue steps were delivered
    # meanwhile); it records the run when it pruned anything, and a run that found nothing not.
    wait_for(lambda: count_rows(hub, Outbox, Outbox.status == "pending") == 0, timeout=30)
    again = clock.prune.run_if_due(at + dt.timedelta(days=1, minutes=2))
    assert again is not None and len(runs()) == 1 + any(again.counts.values())
    assert clock.prune.run_if_due(at + dt.timedelta(days=2, minutes=2)).counts == dict.fromkeys(retention.KINDS, 0)
    assert len(runs()) == 1 + any(again.counts.values())
    verified(client, token)


def test_wagehub_prune_prints_progress_and_counts(hub, workers, agency, client, token, cli_env):
    feed(hub, agency, client, token)
    env = {**cli_env, "WAGEHUB_RETENTION__DELIVERED_OUTBOX_DAYS": "0.00001",
           "WAGEHUB_RETENTION__REPLAYED_DEAD_LETTER_DAYS": "0.00001"}
    tomorrow = (now_beijing().date() + dt.timedelta(days=2)).isoformat()

    def wagehub(*args):
        return subprocess.run([sys.executable, "-m", "hub.cli.main", *args], env=env, capture_output=True, text=True,
                              timeout=120)

    bad = wagehub("prune", "--before", "last tuesday")
    assert bad.returncode == 2 and "--before" in bad.stderr and "not a date" in bad.stderr
    dry = wagehub("prune", "--before", tomorrow, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would prune" in dry.stdout and "delivered_outbox: " in dry.stderr and "(dry run)" in dry.stderr
    assert count_rows(hub, DeadLetter) == 2
    done = wagehub("prune", "--before", tomorrow, "--json")
    assert done.returncode == 0, done.stderr
    counts = json.loads(done.stdout)["pruned"]
    assert counts["delivered_outbox"] > 0 and counts["replayed_dead_letters"] == 1
    assert f"delivered_outbox: {counts['delivered_outbox']}/{counts['delivered_outbox']}" in done.stderr
    with hub.store.sessions() as session:
        kept = session.scalars(select(Outbox.payload).where(Outbox.record_type == "criminal_transfer")).all()
    assert kept and all("record" in p for p in kept)
    verify = wagehub("audit", "verify")
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"] is True


def test_a_legal_hold_kind_keeps_its_dead_letters(hub, settings):
    """Dead letters of the transfer's kinds stay for the hold, whatever the ordinary retention."""
    from hub.contract.types import NativeMessage

    transfer = json.loads(sample("hrss-transfer.json"))
    transfer["data"]["amountFen"] = "many"
    hub.pipeline.process([NativeMessage("hrss", json.dumps(transfer).encode(), "bad-transfer", "application/json"),
                          NativeMessage("hrss", sample("bad/hrss-bad-amount.json"), "bad-clue", "application/json")])
    letters = {dl.message_id: dl for dl in _all(hub, DeadLetter)}
    assert letters["bad-transfer"].kind == "TRANSFER"
    with hub.store.transaction() as session:
        session.execute(update(DeadLetter).values(status="replayed", replayed_at=utcnow()))
    report = retention.prune(hub.store, hub.settings, now=utcnow() + dt.timedelta(days=100))
    assert report.counts["replayed_dead_letters"] == 1
    assert [dl.message_id for dl in _all(hub, DeadLetter)] == ["bad-transfer"]


def test_the_legal_hold_is_never_shorter_than_the_prosecution_limit_of_art_87():
    import pytest

    from hub.config import load_settings
    from hub.contract.errors import ConfigError

    with pytest.raises(ConfigError, match=r"retention.legal_hold_years: .*Art. 87"):
        load_settings({"retention": {"legal_hold_years": 5}}, environ={})
    assert load_settings({"retention": {"legal_hold_years": 0}}, environ={})["retention"]["legal_hold_years"] == 0
