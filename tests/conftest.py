"""Shared fixtures: settings on a fresh embedded broker and SQLite file per test, or on
the real RabbitMQ and PostgreSQL when WAGEHUB_TEST_BROKER_URL / WAGEHUB_TEST_DATABASE_URL
are set (``.ci/run`` does both)."""

from __future__ import annotations

import functools
import logging
import os
import time
import uuid
from pathlib import Path

import pytest
from kombu import Connection

SAMPLES = Path(__file__).resolve().parent / "fixtures" / "samples"
TEST_BROKER_URL = os.environ.get("WAGEHUB_TEST_BROKER_URL")
TEST_DATABASE_URL = os.environ.get("WAGEHUB_TEST_DATABASE_URL")


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.fixture
def settings(request, tmp_path, monkeypatch):
    """Hub settings for one test: its own broker and database (on PostgreSQL, the tables
    emptied, or the schema dropped for a test marked ``empty_database``)."""
    for name in list(os.environ):
        if name.startswith("WAGEHUB_") and not name.startswith("WAGEHUB_TEST_"):
            monkeypatch.delenv(name)
    from hub.config import load_settings

    overrides = {
        "hub": {"var_dir": str(tmp_path / "var"), "broker_url": TEST_BROKER_URL or "",
                "database_url": TEST_DATABASE_URL or ""},
        "relay": {"poll_interval": 0.05, "backoff_start": 0.2},
        # Escalations and bulletins are driven by tests that call the scheduler themselves.
        "linkage": {"check_every": 3600},
        # Tests send bad tokens by the dozen on purpose, all from 127.0.0.1: the limit on
        # failures per address is tested with its own figures (tests/console/test_accounts.py).
        "auth": {"max_failures": 100_000},
        "testing": True,
    }
    settings = load_settings(overrides, environ={})
    if TEST_DATABASE_URL:
        _reset_database(TEST_DATABASE_URL, empty=request.node.get_closest_marker("empty_database") is not None)
    if TEST_BROKER_URL:
        _purge_queues(settings)
    return settings


@pytest.fixture(autouse=True)
def _logging_restored():
    """A command run in-process (click's CliRunner) sets up logging: put the test run's back."""
    from hub.logs import LIBRARIES, _Stderr

    root = logging.getLogger()
    level, factory = root.level, logging.getLogRecordFactory()
    libraries = {name: logging.getLogger(name).level for name in LIBRARIES}
    yield
    for handler in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(handler)
    root.setLevel(level)
    logging.setLogRecordFactory(factory)
    for name, lvl in libraries.items():
        logging.getLogger(name).setLevel(lvl)


@pytest.fixture
def cli_env(settings) -> dict[str, str]:
    """The environment of a ``wagehub`` process on this test's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGEHUB_")}
    env.update(WAGEHUB_VAR_DIR=settings["hub"]["var_dir"], WAGEHUB_BROKER_URL=settings["hub"]["broker_url"],
               WAGEHUB_DATABASE_URL=settings["hub"]["database_url"])
    return env


def _reset_database(url: str, *, empty: bool = False) -> None:
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
            text("SELECT version_num FROM alembic_version")).scalar() == _schema_head()
        if at_head and not empty:
            data = ", ".join(f'"{name}"' for name in tables if name != "alembic_version")
            conn.execute(text(f"TRUNCATE {data} RESTART IDENTITY CASCADE"))
        else:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@functools.cache
def _schema_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hub.store import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def _purge_queues(settings) -> None:
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


@pytest.fixture
def hub(settings):
    from hub.runtime import Hub

    h = Hub(settings)
    h.declare_topology()
    yield h
    h.shutdown()


@pytest.fixture
def app(hub):
    from hub.web.app import create_app

    app = create_app(hub=hub)
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def pm():
    """A fresh plugin manager with the installed plugins."""
    from hub.contract.plugins import build_plugin_manager

    return build_plugin_manager()


@pytest.fixture
def token(hub):
    """``token("admin")`` -> headers with a fresh bearer token of that role."""
    from hub.web.auth import create_token

    def make(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_token(hub.store, role)}"}

    return make


@pytest.fixture
def workers(hub):
    from hub.runtime import Workers

    w = Workers(hub)
    w.start()
    yield w
    w.stop()


@pytest.fixture
def agency(settings):
    """A plain kombu client playing the agencies (no hub code involved but the URL's transport)."""
    url = settings["hub"]["broker_url"]
    kwargs = {"transport": "hub.messaging.embedded:Transport"} if url.startswith("embedded:") else {}
    conn = Connection(url, **kwargs)
    yield AgencyClient(conn, settings)
    conn.release()


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


_PARSER_CASES: dict[str, int] = {}


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item):
    """Count the hypothesis cases each plugin's parser tests run (``tests/plugins/test_<plugin>.py``)."""
    path = Path(str(item.path))
    if path.parent.name != "plugins" or path.parent.parent.name != "tests" or not path.stem.startswith("test_"):
        return (yield)
    from hypothesis.statistics import collector

    outer = collector.value  # hypothesis's own pytest plugin (statistics), kept working
    plugin = path.stem.removeprefix("test_")

    def note(stats):
        ran = sum(1 for phase in stats.values() if isinstance(phase, dict)
                  for case in phase.get("test-cases", ()) if case.get("status") in ("valid", "interesting"))
        _PARSER_CASES[plugin] = _PARSER_CASES.get(plugin, 0) + ran
        if outer is not None:
            outer(stats)

    with collector.with_value(note):
        return (yield)


def pytest_sessionfinish(session):
    if _PARSER_CASES:
        record_fuzz_counts("parsers (hypothesis cases)", dict(_PARSER_CASES))


# -- no personal data in any log line, in any test -------------------------------------------

_PII: list[str] | None = None


def _sample_personal_data() -> list[str]:
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


class _Lines(logging.Handler):
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


@pytest.fixture(autouse=True)
def _no_personal_data_in_logs(request):
    """The hub's and the plugins' loggers run at DEBUG in every test; no line may carry an
    identity number or mobile from the samples (a test that means to, says so by marker)."""
    if request.node.get_closest_marker("personal_data_in_logs"):
        yield
        return
    handler = _Lines()
    loggers = [logging.getLogger(name) for name in ("hub", "plugins", "schemas")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
    leaked = sorted({value for value in _sample_personal_data() for line in handler.lines if value in line})
    assert not leaked, f"personal data in log lines: {len(leaked)} value(s)"
