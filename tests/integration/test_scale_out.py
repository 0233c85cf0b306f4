"""Scaling out: 1, 2 and 4 ``wagehub worker`` processes compete on the same queues and the
same outbox, and every message is handled exactly once, with each matter's deliveries to
a recipient in the order the hub accepted them.

With ``WAGEHUB_TEST_BROKER_URL`` / ``WAGEHUB_TEST_DATABASE_URL`` (as in CI) this runs on
RabbitMQ quorum queues and PostgreSQL (``FOR UPDATE SKIP LOCKED`` in the relay); without,
on the embedded broker and SQLite.

Each matter gets a public security receipt, a decision on the same transfer (opened: it
goes to labour inspection and to the court) and a court judgment naming the transfer, all
published at once, so the workers take a matter's messages in parallel and commit them in
any order. The guarantee checked is the relay's: per matter and recipient, deliveries leave
in the order of their outbox rows (commit order), whichever worker claimed them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from hub.messaging.client import publish_native
from hub.store.models import Inbox, Outbox, Record
from tests.helpers import wait_for

MATTERS = 120
RECEIPT = ('<?xml version="1.0" encoding="UTF-8"?><PACKET TYPE="AJJS" VERSION="1.0"><HEAD><XXBH>GA-R{i}</XXBH>'
           '<FSDW>370103000000</FSDW><FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY><YSBH>YS3701032{i:07d}</YSBH>'
           '<JSSJ>2023-06-21 09:30:00</JSSJ></BODY></PACKET>')
DECISION = ('<?xml version="1.0" encoding="UTF-8"?><PACKET TYPE="LAJD" VERSION="1.0"><HEAD><XXBH>GA-D{i}</XXBH>'
            '<FSDW>370103000000</FSDW><FSSJ>2023-06-28 16:00:00</FSSJ></HEAD><BODY><YSBH>YS3701032{i:07d}</YSBH>'
            '<JDLX>1</JDLX><LAAJBH>A3701032{i:07d}</LAAJBH><JDSJ>2023-06-28 15:00:00</JDSJ></BODY></PACKET>')


def judgment(i: int) -> bytes:
    return json.dumps({
        "doc_type": "judgment", "doc_id": f"FY-S{i}", "issued_at": "2023-09-01T15:20:00+08:00",
        "body": {"case_number": f"（2023）鲁0103刑初{i + 1}号", "court_code": "FY370103", "procedure": "criminal",
                 "transfer_no": f"YS3701032{i:07d}", "employer_credit_code": "91370103JURQ283F5B",
                 "defendants": [{"name": "徐建国", "id_number": "370103196601215548"}], "verdict": "guilty", "sentence_months": 27, "amount_ordered": "382848.00",
                 "decided_on": "2023-09-01"}}, ensure_ascii=False).encode()


def count(hub, model, *where):
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_competing_workers_handle_every_message_once_and_keep_each_matters_order(hub, settings, agency, workers):
    from tests.faults.test_crash import _env

    os.makedirs(settings["hub"]["var_dir"], exist_ok=True)
    env = {**_env(settings), "WAGEHUB_RELAY__BATCH_SIZE": "25", "WAGEHUB_PIPELINE__BATCH_SIZE": "20"}
    log = open(os.path.join(settings["hub"]["var_dir"], "workers.log"), "ab")
    procs = [subprocess.Popen([sys.executable, "-m", "hub.cli.main", "worker"], env=env, stdout=log, stderr=log)
             for _ in range(workers)]
    total = 3 * MATTERS
    try:
        with hub.connection() as conn:
            for i in range(MATTERS):
                publish_native(conn, "police", RECEIPT.format(i=i).encode(), content_type="application/xml",
                               message_id=f"r-{i}")
                publish_native(conn, "police", DECISION.format(i=i).encode(), content_type="application/xml",
                               message_id=f"d-{i}")
                publish_native(conn, "court", judgment(i), content_type="application/json", message_id=f"j-{i}")
        wait_for(lambda: count(hub, Inbox) == total and count(hub, Outbox, Outbox.status != "sent") == 0,
                 timeout=180)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()
    for p in procs:
        assert p.returncode in (0, -signal.SIGTERM), f"a worker failed (exit {p.returncode})"

    assert count(hub, Record) == total  # every message stored once
    with hub.store.sessions() as session:
        assert session.execute(select(func.count(func.distinct(Record.message_id)))).scalar() == total
        rows = session.execute(select(Outbox.id, Outbox.message_id, Outbox.matter_id, Outbox.recipient)
                               .order_by(Outbox.id)).all()
    assert rows and all(r.recipient in ("hrss", "court", "procuratorate") for r in rows)

    expected: dict[tuple[str, str], list[str]] = defaultdict(list)  # (matter, recipient) -> ids, commit order
    for row in rows:
        expected[(row.matter_id, row.recipient)].append(row.message_id)
    for recipient in {r.recipient for r in rows}:
        received = agency.drain(recipient, wait=2.0)
        ids = [m.properties["message_id"] for m in received]
        assert len(ids) == len(set(ids)), f"{recipient} received a delivery twice"
        mine = {k: v for k, v in expected.items() if k[1] == recipient}
        assert sorted(ids) == sorted(i for v in mine.values() for i in v), f"{recipient}: a delivery is missing"
        got: dict[str, list[str]] = defaultdict(list)
        for m in received:
            got[m.headers["x-wagehub-matter"]].append(m.properties["message_id"])
        for (matter, _), want in mine.items():
            assert got[matter] == want, f"{recipient}: matter {matter} delivered out of order"
    assert len({r.matter_id for r in rows}) == MATTERS  # each transfer's three records make one matter
