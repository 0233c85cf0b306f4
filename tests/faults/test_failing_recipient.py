"""A recipient plugin that raises delays only its own deliveries.

Every police receipt is routed to labour inspection (``hrss``) and to two test recipients
whose plugins fail: ``failq`` (a queue; ``render_record`` raises) and ``faild`` (no queue,
like a contractor's webhook; ``deliver_rendered`` raises). Labour inspection must get all
its notices while the two keep failing — also for rows of the same matters, queued behind
theirs in the outbox — and once the plugins are fixed their rows go out too, each once.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from hub.config import DEFAULTS
from hub.messaging.broker import out_queue
from hub.store.models import Outbox
from tests.fixture_plugins import failing_direct, failing_queue
from tests.helpers import TEST_BROKER_URL, wait_for

MATTERS, PER_MATTER = 4, 10
RECEIPT = ('<?xml version="1.0" encoding="UTF-8"?><PACKET TYPE="AJJS" VERSION="1.0"><HEAD><XXBH>FR{m}-{i}</XXBH>'
           '<FSDW>370103000000</FSDW><FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY><YSBH>YSFAIL{m:04d}</YSBH>'
           '<JSSJ>2023-06-21 09:{i:02d}:00</JSSJ></BODY></PACKET>')
EXTRA_ROUTES = """
[[routes]]
name = "receipt-to-failq"
type = "police_receipt"
to = "failq"
kind = "NOTE"
fields = ["transfer_no"]

[[routes]]
name = "receipt-to-faild"
type = "police_receipt"
to = "faild"
kind = "NOTE"
fields = ["transfer_no"]
"""


def outbox(hub, recipient: str, status: str | None = None) -> int:
    where = [Outbox.recipient == recipient] + ([Outbox.status == status] if status else [])
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(Outbox).where(*where)).scalar()


@pytest.fixture
def failing_hub(settings, tmp_path):
    from hub.runtime import Hub

    routes = tmp_path / "routes.toml"
    routes.write_text((DEFAULTS / "routes.toml").read_text(encoding="utf-8") + EXTRA_ROUTES, encoding="utf-8")
    settings["hub"]["routes_file"] = str(routes)
    failing_queue.FAILING["on"] = failing_direct.FAILING["on"] = True
    failing_queue.CALLS["render"] = failing_direct.CALLS["deliver"] = 0
    failing_direct.DELIVERED.clear()
    hub = Hub(settings, extra_plugins=[failing_queue, failing_direct])
    hub.declare_topology()
    with hub.connection() as conn:
        channel = conn.channel()
        out_queue(conn, "failq", settings).bind(channel).purge()
        channel.close()
    yield hub
    if (TEST_BROKER_URL or "").startswith("amqp"):  # leave the shared vhost as it was
        with hub.connection() as conn:
            channel = conn.channel()
            for name in ("wagehub.in.failq", "wagehub.out.failq", "wagehub.in.faild", "wagehub.out.faild"):
                channel.queue_delete(name)
            channel.close()
    hub.shutdown()


@pytest.mark.slow
def test_a_recipient_plugin_that_raises_delays_only_its_own_deliveries(failing_hub, agency):
    from hub.runtime import Workers

    hub = failing_hub
    n = MATTERS * PER_MATTER
    with Workers(hub) as workers:
        started = time.monotonic()
        for i in range(PER_MATTER):  # interleaved: each matter's rows for all three recipients, in turn
            for m in range(MATTERS):
                agency.publish("police", RECEIPT.format(m=m, i=i).encode(), message_id=f"fail-{m}-{i}",
                               content_type="application/xml")
        notices = agency.receive("hrss", n, timeout=30)
        took = time.monotonic() - started
        assert len({msg.headers["x-wagehub-record-id"] for msg in notices}) == n  # all of hrss's, meanwhile
        wait_for(lambda: outbox(hub, "hrss", "sent") == n, timeout=15)  # marked once the confirms are in
        # The failing recipients' rows wait, retried with backoff, with the error noted (only
        # the first row of each matter is tried: the others keep their order behind it).
        wait_for(lambda: min(failing_queue.CALLS["render"], failing_direct.CALLS["deliver"]) >= 2 * MATTERS,
                 timeout=30)
        assert outbox(hub, "failq", "pending") == outbox(hub, "faild", "pending") == n
        with hub.store.sessions() as session:
            errors = set(session.execute(select(Outbox.recipient, Outbox.last_error)
                                         .where(Outbox.recipient.in_(["failq", "faild"]),
                                                Outbox.last_error.is_not(None))).all())
        assert {r for r, _ in errors} == {"failq", "faild"}
        for recipient, error in errors:
            assert (error == "recipient did not take it" if recipient == "faild"
                    else error.startswith("render failed: RuntimeError at failing_queue.py:"))
        assert all(t.is_alive() for t in workers.threads)

        # Fixed: their rows go out now, each once.
        failing_queue.FAILING["on"] = failing_direct.FAILING["on"] = False
        wait_for(lambda: outbox(hub, "failq", "sent") == n and outbox(hub, "faild", "sent") == n, timeout=60)
    notes = agency.drain("failq", wait=1.0)
    assert len(notes) == n and len({msg.properties["message_id"] for msg in notes}) == n
    assert len(failing_direct.DELIVERED) == len(set(failing_direct.DELIVERED)) == n
    assert agency.drain("hrss", wait=0.5) == []  # and hrss got nothing twice
    print(f"\nfailing recipients: hrss got its {n} notices in {took:.1f}s while failq and faild failed "
          f"{failing_queue.CALLS['render']} and {failing_direct.CALLS['deliver']} times")
