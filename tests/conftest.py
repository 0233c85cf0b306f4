"""Shared fixtures: settings on a fresh embedded broker and SQLite file per test, or on
the real RabbitMQ and PostgreSQL when WAGEHUB_TEST_BROKER_URL / WAGEHUB_TEST_DATABASE_URL
are set (``.ci/run`` does both). The helpers tests import are in ``tests/helpers.py``."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from kombu import Connection

from tests.helpers import (
    TEST_BROKER_URL,
    TEST_DATABASE_URL,
    AgencyClient,
    LogLines,
    purge_queues,
    record_fuzz_counts,
    reset_database,
    sample_personal_data,
)


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
        reset_database(TEST_DATABASE_URL, empty=request.node.get_closest_marker("empty_database") is not None)
    if TEST_BROKER_URL:
        purge_queues(settings)
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


# -- fuzz figures: how many cases ran, in tests/artifacts/fuzz-counts.json ----------------------

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

@pytest.fixture(autouse=True)
def _no_personal_data_in_logs(request):
    """The hub's and the plugins' loggers run at DEBUG in every test; no line may carry an
    identity number or mobile from the samples (a test that means to, says so by marker)."""
    if request.node.get_closest_marker("personal_data_in_logs"):
        yield
        return
    handler = LogLines()
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
    leaked = sorted({value for value in sample_personal_data() for line in handler.lines if value in line})
    assert not leaked, f"personal data in log lines: {len(leaked)} value(s)"
