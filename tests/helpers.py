"""What the tests share besides fixtures: the sample files, an agency's AMQP client,
polling, row counts, the test database's reset and the personal data the samples hold.
(Fixtures live in ``tests/conftest.py``; pytest finds them there.)"""

from __future__ import annotations

import functools
import logging
import os
import time
import uuid
from pathlib import Path

from kombu import Connection

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "samples"
TEST_BROKER_URL = os.environ.get("WAGEHUB_TEST_BROKER_URL")
TEST_DATABASE_URL = os.environ.get("WAGEHUB_TEST_DATABASE_URL")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def reset_database(url: str, *, empty: bool = False) -> None:
    """Empty the test database. A schema already at the newest migration keeps its tables
    and loses their rows (TRUNCATE: milliseconds, where running every migration again
    costs a second per test); any other schema, or ``empty``, is dropped for the hub to
    migrate from nothing."""
    from sqlalchemy import text

    from hub.store import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        # A connection an earlier test left open (a failed test's, a killed process's) would
        # hold its locks and stall every test after it: end them, this database's only.
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
        at_head = "alembic_version" in tables and conn.execute(
            text("SELECT version_num FROM alembic_version")).scalar() == schema_head()
        if at_head and not empty:
            data = ", ".join(f'"{name}"' for name in tables if name != "alembic_version")
            conn.execute(text(f"TRUNCATE {data} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@functools.cache
def schema_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hub.store import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def purge_queues(settings) -> None:
    from hub.contract.plugins import Registry, build_plugin_manager
    from hub.messaging.broker import connect, declare_topology, in_queue, out_queue

    codes = Registry(build_plugin_manager(), {}).codes() + ["fixture"]
    with connect(settings) as conn:
        declare_topology(conn, codes, settings)
        channel = conn.channel()
        for code in codes:
            in_queue(conn, code, settings).bind(channel).purge()
            out_queue(conn, code, settings).bind(channel).purge()
        channel.close()


def count_rows(hub, model, *where) -> int:
    """Rows of ``model`` in the hub's store (matching ``where``)."""
    from sqlalchemy import func, select

    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


class AgencyClient:
    """What an agency system does with any AMQP client: publish natives, read its queue."""

    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, conn: Connection, settings):
        self.conn = conn
        self.settings = settings

    def publish(self, agency: str, body: bytes, *, message_id: str | None = None, content_type="application/json",
                content_encoding: str | None = "utf-8", headers: dict | None = None) -> str:
        from kombu import Exchange, Producer

        message_id = message_id or str(uuid.uuid4())
        producer = Producer(self.conn.default_channel)
        producer.publish(body, exchange=Exchange("wagehub.in", "direct", durable=True), routing_key=agency,
                         content_type=content_type, content_encoding=content_encoding or "binary",
                         message_id=message_id, headers=headers or {}, delivery_mode=2, declare=[])
        return message_id

    def receive(self, agency: str, count: int, timeout: float = 20.0) -> list:
        """Take ``count`` messages from ``wagehub.out.<agency>`` (fails after ``timeout``)."""

        from kombu import Consumer, Queue

        got = []

        def on_message(message):
            message.raw = raw(message)
            got.append(message)
            message.ack()

        queue = Queue(f"wagehub.out.{agency}", no_declare=True)
        deadline = time.monotonic() + timeout
        with Consumer(self.conn, queues=[queue], on_message=on_message, accept=None):
            while len(got) < count and time.monotonic() < deadline:
                try:
                    self.conn.drain_events(timeout=0.5)
                except TimeoutError:
                    pass
        return got

    def drain(self, agency: str, wait: float = 1.0) -> list:
        """Everything on ``wagehub.out.<agency>`` until ``wait`` seconds pass with nothing new."""

        from kombu import Consumer, Queue

        got = []
        queue = Queue(f"wagehub.out.{agency}", no_declare=True)
        def on_message(message):
            message.raw = raw(message)
            got.append(message)
            message.ack()

        with Consumer(self.conn, queues=[queue], on_message=on_message, accept=None):
            while True:
                try:
                    self.conn.drain_events(timeout=wait)
                except TimeoutError:
                    break
        return got


def raw(message) -> bytes:
    """The published bytes (py-amqp hands a str to clients that keep its auto_decode on)."""
    body = message.body
    return body.encode(message.content_encoding or "utf-8") if isinstance(body, str) else bytes(body)


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns a truthy value; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


# -- fuzz figures: how many cases ran, in tests/artifacts/fuzz-counts.json ----------------------

FUZZ_COUNTS = Path(__file__).resolve().parent / "artifacts" / "fuzz-counts.json"


def record_fuzz_counts(section: str, values: dict) -> None:
    """Merge ``values`` into ``section`` of the fuzz-counts file (other sections and keys stay)."""
    import json

    try:
        data = json.loads(FUZZ_COUNTS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    data.setdefault(section, {}).update(values)
    FUZZ_COUNTS.parent.mkdir(parents=True, exist_ok=True)
    FUZZ_COUNTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# -- personal data the samples hold ------------------------------------------------------------

_PII: list[str] | None = None


def sample_personal_data() -> list[str]:
    """Every identity number and mobile in the shipped samples (test data included)."""
    import re

    from schemas.validators import check_id_number

    global _PII
    if _PII is None:
        found: set[str] = set()
        roots = [SAMPLES, Path(__file__).resolve().parent.parent / "plugins"]
        for root in roots:
            for path in root.rglob("*"):
                if path.suffix not in (".json", ".xml", ".csv", ".txt"):
                    continue
                raw = path.read_bytes()
                text = raw.decode("utf-8", "ignore") + raw.decode("gb18030", "ignore")
                for candidate in re.findall(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])", text):
                    try:
                        found.add(check_id_number(candidate))
                    except ValueError:
                        pass
                found.update(re.findall(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])", text))
        _PII = sorted(found)
    return _PII


class LogLines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(record.getMessage())
        except Exception:  # noqa: BLE001  (a malformed record is not this check's business)
            self.lines.append(str(record.msg))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))
