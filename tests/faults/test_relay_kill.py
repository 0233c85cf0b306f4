"""The outbox relay between the database commit and the broker.

* A worker process killed (SIGKILL) after the inbound commit wrote the outbox rows and
  the relay claimed them, but before it published them: after a restart the rows are
  published (once their claim has expired) and each recipient gets every record.
* Killed after the broker was handed the messages but before the relay learned it (the
  confirms lost, the rows still pending): after a restart the rows are published
  again; the recipient sees the stalled batch twice, each copy under the row's one
  ``message_id``, so dropping duplicates by ``message_id`` leaves every record once.
* A lost confirm in a live relay (published, but reported unconfirmed): the row is
  published again, with the same ``message_id`` and the same bytes.

The killed worker is ``tests/faults/relay_harness.py``: ``wagehub worker``'s threads with
a publisher that stops dead at the chosen point (no hook in the hub).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.messaging.broker import Publisher
from hub.messaging.client import publish_native
from hub.store.models import Inbox, Outbox, Record
from tests.faults.test_crash import RECEIPT, _env, stop_worker
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
N = 40


def count(hub, model, *where):
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def publish_receipts(hub, prefix: str) -> None:
    """Police receipts: each becomes one record and one NOTICE to labour inspection (hrss)."""
    with hub.connection() as conn:
        for i in range(N):
            publish_native(conn, "police", RECEIPT.format(id=f"{prefix}-{i}", i=i).encode(),
                           content_type="application/xml", message_id=f"{prefix}-{i}")


def by_record(received) -> dict[str, set[str]]:
    ids = defaultdict(set)
    for m in received:
        ids[m.headers["x-wagehub-record-id"]].add(m.properties["message_id"])
    return ids


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["before-publish", "after-publish"])
def test_a_relay_killed_between_commit_and_publish_republishes_the_rows(hub, settings, agency, stage, tmp_path):
    os.makedirs(settings["hub"]["var_dir"], exist_ok=True)
    env = {**_env(settings), "WAGEHUB_RELAY__CLAIM_SECONDS": "2"}
    log = open(os.path.join(settings["hub"]["var_dir"], "worker.log"), "ab")
    marker = tmp_path / "stalled"
    publish_receipts(hub, f"kill-{stage}")
    harness = subprocess.Popen([sys.executable, "-m", "tests.faults.relay_harness", stage, str(marker)],
                               env=env, cwd=ROOT, stdout=log, stderr=log)
    worker = None
    try:
        wait_for(lambda: marker.exists() and count(hub, Inbox) == N, timeout=60)
        harness.send_signal(signal.SIGKILL)
        harness.wait()
        stalled = set(marker.read_text().split())
        assert stalled
        # Committed, not one row marked sent: the relay died holding its claim.
        assert count(hub, Record) == count(hub, Outbox) == count(hub, Outbox, Outbox.status == "pending") == N
        early = agency.drain("hrss", wait=1.0)
        if stage == "before-publish":
            assert early == []
        else:
            assert sorted(m.properties["message_id"] for m in early) == sorted(stalled)

        worker = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "worker"], env=env, cwd=ROOT,
                                  stdout=log, stderr=log)
        wait_for(lambda: count(hub, Outbox, Outbox.status == "sent") == N, timeout=60)
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()
        if worker is not None:
            stop_worker(worker)
        log.close()
    received = early + agency.drain("hrss", wait=1.0)
    ids = by_record(received)
    assert len(ids) == N  # every record delivered
    assert all(len(message_ids) == 1 for message_ids in ids.values())  # each under one message_id
    assert len({m.properties["message_id"] for m in received}) == N  # dropping by message_id leaves N
    duplicates = len(received) - N
    assert duplicates == (len(stalled) if stage == "after-publish" else 0)
    print(f"\nrelay killed {stage}: {len(stalled)} row(s) in the stalled batch, {N} delivered after the restart, "
          f"{duplicates} duplicate(s), each under its row's message_id")


class LosesFirstConfirms(Publisher):
    """Publishes for real, but reports each message unconfirmed the first time (a lost confirm)."""

    def __init__(self, settings):
        super().__init__(settings)
        self.seen: set[str] = set()
        self.lost = 0

    def publish_many(self, messages):
        confirmed = super().publish_many(messages)
        result = []
        for msg, ok in zip(messages, confirmed):
            row = msg.headers["x-wagehub-record-id"]  # not the message_id: that is what is checked
            first = row not in self.seen
            self.seen.add(row)
            self.lost += first
            result.append(ok and not first)
        return result


def test_a_lost_confirm_makes_at_most_a_duplicate_with_the_same_message_id(settings, agency):
    from hub.runtime import Hub, Workers

    hub = Hub(settings)
    hub.declare_topology()
    try:
        with Workers(hub) as workers:
            publisher = workers.relay.publisher = LosesFirstConfirms(settings)
            publish_receipts(hub, "lost-confirm")
            wait_for(lambda: count(hub, Outbox, Outbox.status == "sent") == N, timeout=60)
        received = agency.drain("hrss", wait=1.0)
        assert publisher.lost == N and len(received) == 2 * N  # every row published twice
        ids = by_record(received)
        assert len(ids) == N and all(len(message_ids) == 1 for message_ids in ids.values())
        bodies = defaultdict(set)
        for m in received:
            bodies[m.properties["message_id"]].add(m.raw)
        assert len(bodies) == N and all(len(b) == 1 for b in bodies.values())  # the same bytes again
        with hub.store.sessions() as session:
            assert set(session.scalars(select(Outbox.attempts))) == {1}  # one retry each, then sent
        assert count(hub, Record) == N
    finally:
        hub.shutdown()


def test_rows_of_a_round_the_database_cut_short_go_out_on_the_next_round(hub, settings, agency):
    """The database fails after the claim (marking the rows sent fails): the next round
    frees the relay's own claim at once instead of leaving the rows for ``claim_seconds``
    (an hour here), and leaves alone rows another relay has claimed since."""
    import datetime as dt

    from sqlalchemy import update

    from hub.contract.errors import Unavailable
    from hub.contract.types import NativeMessage
    from hub.messaging.relay import Relay
    from hub.store.models import utcnow

    def receipts(prefix, numbers):
        return [NativeMessage(agency="police", body=RECEIPT.format(id=f"{prefix}-{i}", i=i).encode(),
                              message_id=f"{prefix}-{i}", content_type="application/xml") for i in numbers]

    hub.declare_topology()
    hub.pipeline.process(receipts("cut-short", range(N)))
    relay_settings = {**settings, "relay": {**settings["relay"], "claim_seconds": 3600.0, "batch_size": N // 2}}
    relay = Relay(hub.store, hub.registry, Publisher(settings), relay_settings)
    finish = relay._finish

    def database_gone(*args, **kwargs):
        raise Unavailable("database unavailable: OperationalError")

    try:
        relay._finish = database_gone
        with pytest.raises(Unavailable):
            relay.run_once()  # the first half published, never marked sent
        relay._finish = finish
        assert relay.run_once() == N // 2  # freed at once and sent again, not in an hour
        assert relay.run_once() == N // 2
        assert count(hub, Outbox, Outbox.status == "sent") == N

        # Another relay claimed a cut-short round's rows meanwhile: they stay its own.
        hub.pipeline.process(receipts("later", range(N, N + N // 2)))
        relay._finish = database_gone
        with pytest.raises(Unavailable):
            relay.run_once()
        relay._finish = finish
        with hub.store.transaction() as session:  # the claim ran out and another relay took them
            session.execute(update(Outbox).where(Outbox.status == "pending")
                            .values(claimed_until=utcnow() + dt.timedelta(hours=1)))
        assert relay.run_once() == 0
        assert count(hub, Outbox, Outbox.status == "pending", Outbox.claimed_until.is_not(None)) == N // 2
    finally:
        relay.publisher.close()
    received = agency.drain("hrss", wait=1.0)
    ids = by_record(received)
    assert len(ids) == N + N // 2 and all(len(message_ids) == 1 for message_ids in ids.values())
