"""How the inbound worker batches: a batch takes what the broker has already sent and is
applied as soon as nothing more is ready, so under a backlog batches are full and each
commit is shared by ``pipeline.batch_size`` messages, and a lone message is applied at once.
Runs on the embedded defaults and, in CI, on RabbitMQ and PostgreSQL."""

from __future__ import annotations

import copy
import logging
import re

from sqlalchemy import func, select

from hub.store.models import Inbox
from tests.helpers import wait_for

RECEIPT = ('<?xml version="1.0" encoding="UTF-8"?><PACKET TYPE="AJJS" VERSION="1.0"><HEAD><XXBH>G{i}</XXBH>'
           '<FSDW>370103000000</FSDW><FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY><YSBH>YSBAT{i:05d}</YSBH>'
           '<JSSJ>2023-06-21 09:30:00</JSSJ></BODY></PACKET>')
BATCH = 25


def stored(hub) -> int:
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(Inbox)).scalar()


def batches(caplog) -> list[int]:
    return [int(m.group(1)) for r in caplog.records
            if r.name == "hub.messaging.pipeline" and (m := re.match(r"batch of (\d+) message", r.getMessage()))]


def test_a_backlog_is_applied_in_full_batches_and_a_lone_message_at_once(settings, agency, caplog):
    from hub.runtime import Hub, Workers

    caplog.set_level(logging.INFO, logger="hub.messaging.pipeline")
    settings = copy.deepcopy(settings)
    settings["pipeline"].update(batch_size=BATCH, batch_wait_ms=0)
    settings["broker"]["prefetch"] = 2 * BATCH
    hub = Hub(settings)
    hub.declare_topology()
    for i in range(6 * BATCH):  # queued before the worker starts: a backlog
        agency.publish("police", RECEIPT.format(i=i).encode(), message_id=f"bat-{i}", content_type="application/xml")
    workers = Workers(hub)
    workers.start()
    try:
        wait_for(lambda: stored(hub) == 6 * BATCH, timeout=60)
        wait_for(lambda: sum(batches(caplog)) == 6 * BATCH)  # a batch's line is logged after its commit
        sizes = batches(caplog)
        assert sum(sizes) == 6 * BATCH and max(sizes) == BATCH
        # Each batch takes what has arrived: full ones, but for the first few while the
        # broker's first deliveries trickle in (a lone message per commit would be 150).
        assert sizes.count(BATCH) >= 4, sizes

        caplog.clear()
        agency.publish("police", RECEIPT.format(i=99999).encode(), message_id="bat-lone",
                       content_type="application/xml")
        wait_for(lambda: stored(hub) == 6 * BATCH + 1, timeout=20)
        wait_for(lambda: batches(caplog))
        assert batches(caplog) == [1]  # applied alone, without waiting for company
    finally:
        workers.stop()
        hub.shutdown()


def test_batch_wait_ms_lingers_for_company_as_long_as_it_says(settings, agency, caplog):
    """``pipeline.batch_wait_ms`` (off by default) keeps a batch open for more messages when
    nothing more is ready, even beyond the 250 ms a batch otherwise goes on filling."""
    import time

    from hub.runtime import Hub, Workers

    caplog.set_level(logging.INFO, logger="hub.messaging.pipeline")
    settings = copy.deepcopy(settings)
    settings["pipeline"].update(batch_size=BATCH, batch_wait_ms=1500)
    hub = Hub(settings)
    hub.declare_topology()
    workers = Workers(hub)
    workers.start()
    try:
        wait_for(lambda: "police" in workers.consuming, timeout=20)
        for i in range(4):  # one every 150 ms: all within the linger, past 250 ms in all
            agency.publish("police", RECEIPT.format(i=i).encode(), message_id=f"linger-{i}",
                           content_type="application/xml")
            time.sleep(0.15)
        wait_for(lambda: stored(hub) == 4, timeout=20)
        wait_for(lambda: batches(caplog))
        assert batches(caplog) == [4]
    finally:
        workers.stop()
        hub.shutdown()
