"""Outages of the real RabbitMQ and PostgreSQL while messages flow: the hub reports them
on /readyz, reconnects by itself, and loses and doubles nothing.

These stop and start the machine's own services (``rabbitmqctl stop_app``, ``pg_ctlcluster``),
so they run only against them (``WAGEHUB_TEST_BROKER_URL`` / ``WAGEHUB_TEST_DATABASE_URL``)
and need root, as CI has.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
from sqlalchemy import func, select

from hub.store.models import Inbox, Outbox, Record
from tests.helpers import TEST_BROKER_URL, TEST_DATABASE_URL, wait_for

RECEIPT = ('<?xml version="1.0" encoding="UTF-8"?><PACKET TYPE="AJJS" VERSION="1.0"><HEAD><XXBH>G{i}</XXBH>'
           '<FSDW>370103000000</FSDW><FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY><YSBH>YSOUT{i:05d}</YSBH>'
           '<JSSJ>2023-06-21 09:30:00</JSSJ></BODY></PACKET>')


def count(hub, model, *where):
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def publish(agency, start: int, n: int) -> None:
    for i in range(start, start + n):
        agency.publish("police", RECEIPT.format(i=i).encode(), message_id=f"out-{i}", content_type="application/xml")


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


@pytest.fixture
def worker(settings):
    """``wagehub worker`` in its own process, as in production."""
    import sys

    from tests.faults.test_crash import _env, stop_worker

    os.makedirs(settings["hub"]["var_dir"], exist_ok=True)
    log = open(os.path.join(settings["hub"]["var_dir"], "worker.log"), "ab")
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "worker"], env=_env(settings), stdout=log, stderr=log)
    yield proc
    stop_worker(proc)
    log.close()


@pytest.mark.slow
@pytest.mark.skipif(not (TEST_BROKER_URL or "").startswith("amqp") or not shutil.which("rabbitmqctl")
                    or os.geteuid() != 0, reason="needs the machine's RabbitMQ (WAGEHUB_TEST_BROKER_URL) and root")
def test_rabbitmq_outage_mid_stream(hub, worker, agency, client):
    publish(agency, 0, 150)
    wait_for(lambda: count(hub, Record) >= 20, timeout=30)
    agency.conn.release()
    try:
        run("rabbitmqctl", "stop_app")
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json["checks"]["broker"].startswith("down")
        assert ready.json["checks"]["database"] == "ok"
        time.sleep(3)
    finally:
        run("rabbitmqctl", "start_app")
    wait_for(lambda: client.get("/readyz").status_code == 200, timeout=60)
    agency.conn.ensure_connection(max_retries=10)
    publish(agency, 150, 50)
    wait_for(lambda: count(hub, Inbox) == 200 and count(hub, Outbox, Outbox.status == "pending") == 0, timeout=120)
    assert count(hub, Record) == 200
    assert worker.poll() is None  # the worker rode it out
    notices = agency.drain("hrss", wait=2.0)
    assert len({m.headers["x-wagehub-record-id"] for m in notices}) == 200


@pytest.mark.slow
@pytest.mark.skipif(not (TEST_DATABASE_URL or "").startswith("postgresql") or not shutil.which("pg_ctlcluster")
                    or os.geteuid() != 0, reason="needs the machine's PostgreSQL (WAGEHUB_TEST_DATABASE_URL) and root")
def test_postgresql_outage_mid_stream(hub, worker, agency, client):
    cluster = sorted(os.listdir("/etc/postgresql"))[0]
    publish(agency, 0, 150)
    wait_for(lambda: count(hub, Record) >= 20, timeout=30)
    try:
        run("pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "stop", "-m", "fast")
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json["checks"]["database"].startswith("down")
        publish(agency, 150, 50)  # accepted by the broker while the database is down
        time.sleep(3)
    finally:
        run("pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "start")
    wait_for(lambda: client.get("/readyz").status_code == 200, timeout=60)
    wait_for(lambda: count(hub, Inbox) == 200 and count(hub, Outbox, Outbox.status == "pending") == 0, timeout=120)
    assert count(hub, Record) == 200
    notices = agency.drain("hrss", wait=2.0)
    assert len({m.headers["x-wagehub-record-id"] for m in notices}) == 200
