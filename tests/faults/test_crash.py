"""Crash safety: kill -9 the worker again and again while 5,000 messages flow.

Every accepted message is stored exactly once, every delivery is made, and no recipient
gets one record under two message ids (a redelivery keeps its id, so it can be dropped).
Runs on the embedded broker and, in CI, on RabbitMQ + PostgreSQL.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from hub.messaging.client import publish_native
from hub.store.models import Inbox, Outbox, Record

N = int(os.environ.get("WAGEHUB_CRASH_MESSAGES", "5000"))
# The test fails once neither a stored message nor a delivery was added for this long
# (a restarted worker takes about a second, a killed worker's claims relay.claim_seconds).
STALL_SECONDS = float(os.environ.get("WAGEHUB_CRASH_STALL_SECONDS", "30"))
RECEIPT = ('<?xml version="1.0" encoding="UTF-8"?><PACKET TYPE="AJJS" VERSION="1.0"><HEAD><XXBH>{id}</XXBH>'
           '<FSDW>370103000000</FSDW><FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY><YSBH>YSCRASH{i:06d}</YSBH>'
           '<JSSJ>2023-06-21 09:30:00</JSSJ><JSR>值班民警</JSR></BODY></PACKET>')
ENFORCEMENT = ('{{"doc_type": "enforcement", "doc_id": "{id}", "issued_at": "2023-10-10T10:00:00+08:00", "body": '
               '{{"case_number": "(2023)鲁0103执{i}号", "judgment_case_number": "(2023)鲁0103刑初{i}号", '
               '"status": "paid", "amount_paid": "{i}.00", "updated_on": "2023-10-10"}}}}')


def _env(settings) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGEHUB_")}
    env.update(WAGEHUB_VAR_DIR=settings["hub"]["var_dir"], WAGEHUB_BROKER_URL=settings["hub"]["broker_url"],
               WAGEHUB_DATABASE_URL=settings["hub"]["database_url"], WAGEHUB_LINKAGE__CHECK_EVERY="3600",
               # Rows a killed worker had claimed wait this long for the next one (default 60 s).
               WAGEHUB_RELAY__CLAIM_SECONDS="10")
    return env


def stop_worker(proc: subprocess.Popen) -> None:
    """Stop a ``wagehub worker`` process as its supervisor would: SIGTERM, then SIGKILL."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def count(hub, model, *where):
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


@pytest.mark.slow
def test_kill_9_during_the_flow_loses_nothing_and_applies_nothing_twice(hub, settings, agency):
    os.makedirs(settings["hub"]["var_dir"], exist_ok=True)
    with hub.connection() as conn:
        for i in range(N):
            if i % 2:
                publish_native(conn, "police", RECEIPT.format(id=f"GA-{i}", i=i).encode(),
                               content_type="application/xml", message_id=f"crash-{i}")
            else:
                publish_native(conn, "court", ENFORCEMENT.format(id=f"FY-{i}", i=i).encode(),
                               content_type="application/json", message_id=f"crash-{i}")
    env = _env(settings)
    log = open(os.path.join(settings["hub"]["var_dir"], "worker.log"), "ab")
    rng = random.Random(20231010)
    kills = 0

    def start():
        return subprocess.Popen([sys.executable, "-m", "hub.cli.main", "worker"], env=env, stdout=log, stderr=log)

    worker = start()
    progress, since = None, time.monotonic()
    try:
        while True:
            if kills < 3 or (kills < 6 and count(hub, Record) < N * kills // 6):
                time.sleep(rng.uniform(1.5, 3.0))  # start-up takes about 1 s of it
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait()
                kills += 1
                worker = start()
                continue
            stored, sent = count(hub, Inbox), count(hub, Outbox, Outbox.status == "sent")
            if stored == N and count(hub, Outbox, Outbox.status == "pending") == 0:
                break
            if (stored, sent) != progress:
                progress, since = (stored, sent), time.monotonic()
            elif time.monotonic() - since > STALL_SECONDS:
                log.flush()
                with open(log.name, "rb") as fh:
                    tail = fh.read()[-3000:].decode(errors="replace")
                pytest.fail(f"no progress for {STALL_SECONDS:.0f}s after {kills} kills: {stored} of {N} "
                            f"messages stored, {sent} delivered, worker {'alive' if worker.poll() is None else 'exited'}"
                            f"; the worker's log ends:\n{tail}")
            time.sleep(0.5)
    finally:
        stop_worker(worker)
        log.close()
    assert kills >= 3
    assert count(hub, Inbox) == N
    assert count(hub, Record) == N  # every accepted message stored exactly once
    with hub.store.sessions() as session:
        assert session.execute(select(func.count(func.distinct(Record.message_id)))).scalar() == N
    assert count(hub, Outbox, Outbox.status == "sent") == N == count(hub, Outbox)

    received = agency.drain("hrss", wait=2.0)
    ids_by_record = defaultdict(set)
    for m in received:
        ids_by_record[m.headers["x-wagehub-record-id"]].add(m.properties["message_id"])
    assert len(ids_by_record) == N  # every delivery made
    assert all(len(ids) == 1 for ids in ids_by_record.values())  # never one record under two ids
    duplicates = len(received) - N
    print(f"\ncrash test: {N} messages, {kills} kill -9s, lost 0, applied twice 0, "
          f"redelivered copies at the recipient (same message_id) {duplicates}")
