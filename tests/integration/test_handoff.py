"""The outbox rows a worker's batch writes go out right after the commit: written under a
claim the relay takes ahead, handed to the relay's thread, never left for a relay round
to find (no claiming query, no wait for the next round). A row behind an undelivered one
of its matter and recipient is written unclaimed instead, and the relay's rounds keep their
order (one check, ``hub.messaging.outbox.waiting_behind``, for both).
Runs on the embedded defaults and, in CI, on RabbitMQ and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.contract.types import NativeMessage
from hub.messaging import outbox
from hub.store.models import Outbox
from tests.helpers import wait_for
from tests.integration.test_scale_out import RECEIPT, judgment  # receipt i and judgment i: one matter


@pytest.fixture(autouse=True)
def _no_listing_proposals(settings):
    """A judgment on the transfer would also propose its employer for the dishonest list (a
    row of its own to hrss): the order checked here is the judgment's and the receipt's."""
    settings["listing"]["grounds"] = []


def receipt(i: int) -> NativeMessage:
    return NativeMessage(agency="police", body=RECEIPT.format(i=i).encode(), message_id=f"hnd-r{i}",
                         content_type="application/xml")


def test_a_batchs_deliveries_leave_without_a_relay_round(settings, agency):
    """Handed-over rows go out as they come; the relay's rounds (claiming queries) run only
    every ``relay.poll_interval`` (here longer than the test) or when asked."""
    import copy

    from hub.runtime import Hub, Workers

    settings = copy.deepcopy(settings)
    settings["relay"]["poll_interval"] = 30.0
    hub = Hub(settings)
    hub.declare_topology()
    workers = Workers(hub)
    rounds, claimed_by_rounds = [], []
    claim = workers.relay._claim

    def counting_claim():
        rows = claim()
        rounds.append(len(rows))
        claimed_by_rounds.extend(rows)
        return rows

    workers.relay._claim = counting_claim
    workers.start()
    try:
        for i in range(30):
            agency.publish("police", RECEIPT.format(i=i).encode(), message_id=f"hnd-{i}",
                           content_type="application/xml")
            if i % 10 == 9:
                wait_for(lambda i=i: rows_in(hub, "pending") == 0 and rows_in(hub, "sent") == i + 1)  # three batches at least
        got = agency.receive("hrss", 30, timeout=30)
    finally:
        workers.stop()
    assert len(got) == 30
    assert claimed_by_rounds == []  # every one went out as the worker handed it over
    assert len(rounds) == 1  # the round at start only


def rows_in(hub, status: str) -> int:
    with hub.store.sessions() as session:
        return len(session.execute(select(Outbox.id).where(Outbox.status == status)).all())


def test_a_row_behind_an_undelivered_one_of_its_matter_is_left_to_the_relay_in_order(hub, settings, agency):
    from hub.messaging.broker import Publisher
    from hub.messaging.relay import Relay

    hub.declare_topology()
    relay = Relay(hub.store, hub.registry, Publisher(settings), settings)
    try:
        # Receipt 1's delivery to hrss is still pending (no relay has run) when the judgment
        # on the same transfer arrives: the judgment's must wait for it. Judgment 2 opens a
        # matter of its own and goes at once.
        [first] = hub.pipeline.process([receipt(1)])
        claim = relay.claim_ahead()
        with outbox.claiming(claim):
            outcomes = hub.pipeline.process([
                NativeMessage(agency="court", body=judgment(1), message_id="hnd-j1", content_type="application/json"),
                NativeMessage(agency="court", body=judgment(2), message_id="hnd-j2", content_type="application/json"),
            ])
        behind, fresh = outcomes
        assert behind.records and fresh.records
        assert [(row.recipient, row.record_id) for row in claim.rows] == [("hrss", fresh.records[0])]
        with hub.store.sessions() as session:
            rows = session.execute(select(Outbox.record_id, Outbox.claimed_until).order_by(Outbox.id)).all()
        claimed = {record_id for record_id, until in rows if until is not None}
        assert claimed == {fresh.records[0]}  # the judgment behind the receipt is free for the relay

        relay.hand_over(claim)
        assert relay.deliver_handed() == 1
        assert relay.run_once() == 2  # the receipt, then the judgment behind it
    finally:
        relay.publisher.close()
    got = agency.receive("hrss", 3, timeout=20)
    order = [m.headers["x-wagehub-record-id"] for m in got]
    assert order == [fresh.records[0], first.records[0], behind.records[0]]


def test_past_its_claim_ahead_a_big_batch_leaves_rows_to_the_relay(hub, settings, monkeypatch):
    """A batch file's rows are not all held in memory to deliver: past ``CLAIM_AHEAD_ROWS``
    its outbox rows are written unclaimed, and the relays are woken for them."""
    from hub.messaging.broker import Publisher
    from hub.messaging.relay import Relay

    monkeypatch.setattr(outbox, "CLAIM_AHEAD_ROWS", 3)
    woken = []
    hub.outbox.subscribe(woken.append)
    relay = Relay(hub.store, hub.registry, Publisher(settings), settings)
    try:
        with outbox.claiming(relay.claim_ahead()) as claim:
            hub.pipeline.process([receipt(i) for i in range(10, 15)])
    finally:
        relay.publisher.close()
    assert len(claim.rows) == 3
    with hub.store.sessions() as session:
        unclaimed = session.execute(select(Outbox.id).where(Outbox.claimed_until.is_(None))).all()
    assert len(unclaimed) == 2 and woken == [{"hrss"}]


def test_rows_left_to_a_round_wake_only_the_relay_that_serves_their_recipient(hub):
    """A clue's rows to the general contractor and the area's government (webhooks: the direct
    relay's) are written unclaimed; the queue relay, whose rows were all handed over, is not
    asked for a round."""
    from hub.runtime import Workers
    from tests.helpers import sample

    workers = Workers(hub)  # not started: what its relays were asked is read off them
    try:
        with outbox.claiming(workers.relay.claim_ahead()) as claim:
            hub.pipeline.process([NativeMessage(agency="hrss", body=sample("hrss-clue.json"), message_id="hnd-clue")])
    finally:
        workers.relay.publisher.close()
    with hub.store.sessions() as session:
        left = session.execute(select(Outbox.recipient).where(Outbox.claimed_until.is_(None))).scalars().all()
    assert sorted(left) == ["contractor", "gov"] and claim.rows  # the queue agencies' rows were handed over
    assert workers.direct.round_asked and not workers.relay.round_asked


def test_rows_handed_over_to_a_recipient_disabled_meanwhile_wait_for_it(hub, settings, agency):
    from hub.messaging.broker import Publisher
    from hub.messaging.relay import Relay

    hub.declare_topology()
    relay = Relay(hub.store, hub.registry, Publisher(settings), settings)
    try:
        with outbox.claiming(relay.claim_ahead()) as claim:
            hub.pipeline.process([receipt(20)])
        hub.set_plugin_enabled("hrss", False)
        relay.hand_over(claim)
        assert relay.deliver_handed() == 0
        assert relay.run_once() == 0  # disabled: it waits, unclaimed
        with hub.store.sessions() as session:
            assert session.execute(select(Outbox.status, Outbox.claimed_until)).all() == [("pending", None)]
        hub.set_plugin_enabled("hrss", True)
        assert relay.run_once() == 1
    finally:
        relay.publisher.close()
    assert len(agency.receive("hrss", 1)) == 1


def test_a_round_sends_no_row_ahead_of_an_earlier_undelivered_one_of_its_matter(hub, settings, agency):
    """The receipt's delivery waits out a backoff: the judgment on the same transfer, written
    after it, must wait too, however free it is to go."""
    import datetime as dt

    from sqlalchemy import update

    from hub.messaging.broker import Publisher
    from hub.messaging.relay import Relay
    from hub.store.models import utcnow

    hub.declare_topology()
    relay = Relay(hub.store, hub.registry, Publisher(settings), settings)
    try:
        [first] = hub.pipeline.process([receipt(3)])
        with hub.store.transaction() as session:  # as after a failed attempt
            session.execute(update(Outbox).values(next_attempt_at=utcnow() + dt.timedelta(hours=1)))
        [second] = hub.pipeline.process([NativeMessage(agency="court", body=judgment(3), message_id="hnd-j3",
                                                       content_type="application/json")])
        assert relay.run_once() == 0  # the judgment is due, but behind the receipt
        with hub.store.transaction() as session:
            session.execute(update(Outbox).values(next_attempt_at=utcnow()))
        assert relay.run_once() == 2
    finally:
        relay.publisher.close()
    got = agency.receive("hrss", 2, timeout=20)
    assert [m.headers["x-wagehub-record-id"] for m in got] == [first.records[0], second.records[0]]


def test_rows_behind_one_waiting_out_a_backoff_do_not_hold_other_matters_rows(hub, settings, agency):
    """A round takes rows in id order, so many: if a matter's rows waiting behind one in
    backoff filled the round, no other matter's row was ever reached until that backoff
    ended (up to ``relay.backoff_max``). The round skips such rows in its query instead."""
    import datetime as dt

    from sqlalchemy import update

    from hub.messaging.broker import Publisher
    from hub.messaging.relay import Relay
    from hub.store.models import utcnow

    hub.declare_topology()
    [first] = hub.pipeline.process([receipt(21)])
    with hub.store.transaction() as session:  # its delivery failed: it waits an hour
        session.execute(update(Outbox).values(next_attempt_at=utcnow() + dt.timedelta(hours=1), attempts=5))
    [behind] = hub.pipeline.process([NativeMessage(agency="court", body=judgment(21), message_id="hnd-j21",
                                                   content_type="application/json")])
    [other] = hub.pipeline.process([receipt(22)])  # a matter of its own
    relay = Relay(hub.store, hub.registry, Publisher(settings), settings)
    relay.batch_size = 1  # as a round whose batch a matter's long queue fills
    try:
        assert relay.run_once() == 1
    finally:
        relay.publisher.close()
    [got] = agency.receive("hrss", 1, timeout=20)
    assert got.headers["x-wagehub-record-id"] == other.records[0]
    with hub.store.sessions() as session:
        pending = set(session.execute(select(Outbox.record_id).where(Outbox.status == "pending")).scalars())
    assert pending == {first.records[0], behind.records[0]}  # the matter keeps its order
