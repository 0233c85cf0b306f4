"""The hub's store: SQLAlchemy engine and sessions, and Alembic migrations.

SQLite (the embedded default) runs in WAL mode with a busy timeout, so the API, the
workers and CLI commands in other processes can share one file. PostgreSQL by URL.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Table, TypeDecorator, any_, bindparam, create_engine, event, insert, inspect
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from hub.store.models import Base

try:
    import fcntl
except ImportError:  # not on Windows: SQLite's busy handler queues the processes there
    fcntl = None

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
READ_ONLY = "wagehub_read_only"  # execution option of the read sessions
MIGRATION_LOCK = 7_215_002  # PostgreSQL advisory lock held while one process migrates
_WRITERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # SQLite engine -> its _WriterLock


def make_engine(url: str, **kwargs) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from hub.keys import private_file

            private_file(parsed.database)  # 0600 in a 0700 folder; its WAL and SHM files take its mode
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # noqa: ANN001
            # Let SQLAlchemy issue BEGIN itself (pysqlite's own handling breaks savepoints).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        writer = _WriterLock(parsed.database if parsed.database and parsed.database != ":memory:" else None)
        holding: set[int] = set()  # pooled connections whose transaction holds ``writer``

        @event.listens_for(engine, "begin")
        def _begin(conn):  # noqa: ANN001
            if conn.get_execution_options().get(READ_ONLY):
                conn.exec_driver_sql("BEGIN")  # a read snapshot: never waits for a writer (WAL)
                return
            # IMMEDIATE: take the write lock at BEGIN, so concurrent writers queue on
            # busy_timeout instead of failing with "database is locked" mid-transaction.
            pooled = conn.connection  # what the dialect's do_commit / do_rollback are given
            writer.acquire()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                writer.release()
                raise
            holding.add(id(pooled))

        def _ending(end):
            def wrapped(pooled):  # noqa: ANN001
                try:
                    end(pooled)
                finally:
                    if id(pooled) in holding:
                        holding.discard(id(pooled))
                        writer.release()
            return wrapped

        engine.dialect.do_commit = _ending(engine.dialect.do_commit)
        engine.dialect.do_rollback = _ending(engine.dialect.do_rollback)
        _WRITERS[engine] = writer
        return engine
    # No pre-ping (a round trip per checkout): a connection that died with the server fails
    # its statement, the caller holds its batch and retries (hub.contract.errors.Unavailable), and
    # SQLAlchemy replaces the pool's connections on a disconnect error.
    kwargs.setdefault("pool_recycle", 1800)
    return create_engine(url, **kwargs)


class _WriterLock:
    """SQLite's one writer at a time, queued fairly: threads of this process on an RLock,
    processes on ``flock(2)`` of a file beside the database. Both hand over the moment a
    transaction ends; SQLite's own busy handler (still there, for anything else writing the
    file) sleeps up to 100 ms between tries, which would leave the hub's workers idle."""

    def __init__(self, database: str | None):
        self._path = database + ".lock" if database and fcntl is not None else None
        self._fd: int | None = None
        self._reset()
        if self._path:
            ref = weakref.ref(self)  # the fork hook must not keep a disposed store's lock alive

            def after_fork() -> None:
                if (lock := ref()) is not None:
                    lock._reset(inherited=True)

            os.register_at_fork(after_in_child=after_fork)

    def _reset(self, inherited: bool = False) -> None:
        """A new process starts unlocked, and opens the file anew on first use: a descriptor
        inherited across fork shares the parent's lock instead of competing for it."""
        self._depth = 0
        self._thread = threading.RLock()
        if inherited and self._fd is not None:
            os.close(self._fd)  # the parent's lock stays: it holds its own descriptor
        self._fd = None

    def acquire(self) -> None:
        self._thread.acquire()
        if self._depth == 0 and self._path is not None:
            try:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except BaseException:
                self._thread.release()
                raise
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass


class Store:
    """Engine, session factory and migrations for one database URL."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        #: Sessions that only read (on SQLite a plain ``BEGIN``: a snapshot that takes no
        #: write lock, so reads never queue behind a writer). Write in :meth:`transaction`.
        self.sessions = sessionmaker(self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
        self._writes = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that writes, in one transaction: committed on success, rolled back on
        error. (``sessions()`` opens a session that only reads.)"""
        with self._writes() as session, session.begin():
            yield session

    def alembic_config(self):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["engine"] = self.engine
        return cfg

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision`` (``wagehub db upgrade``)."""
        from alembic import command

        command.upgrade(self.alembic_config(), revision)

    def ensure_schema(self) -> None:
        """Migrate an empty or outdated database; a no-op when it is current.

        Processes that start together (gunicorn's workers, several ``wagehub worker``)
        migrate one at a time: the first takes the migration lock (a PostgreSQL advisory
        lock, or on SQLite the writer lock held across Alembic's several commits), the
        others wait for it and then find the schema current.
        """
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self.alembic_config()).get_current_head()
        if self._revision() == head:
            return
        with self._migration_lock():
            current = self._revision()
            if current != head:
                log.info("migrating database from %s to %s", current, head)
                self.upgrade()

    def _revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        if self.dialect != "postgresql":
            with self.exclusive():
                yield
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
            conn.commit()
            try:
                yield
            finally:
                conn.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
                conn.commit()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the SQLite writer lock across several transactions of this store (the
        other processes' writers wait); a no-op elsewhere. Re-entrant: the transactions
        inside take it again without waiting."""
        writer = _WRITERS.get(self.engine)
        if writer is None:
            yield
            return
        writer.acquire()
        try:
            yield
        finally:
            writer.release()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def table_names(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    def dispose(self) -> None:
        self.engine.dispose()
        if (writer := _WRITERS.get(self.engine)) is not None:
            writer.close()  # opened again if the store is used after all


def any_of(session: Session | Connection, column, values) -> ColumnElement[bool]:
    """``column IN values``. On PostgreSQL as ``column = ANY(:values)``: one parameter, so
    the statement's text is the same whatever the number of values, and psycopg and the
    server parse and plan it once instead of once per distinct count."""
    dialect = session.dialect if isinstance(session, Connection) else session.get_bind().dialect
    values = list(values)
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(column.type)))
    return column.in_(values)


def insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows (dicts with the same keys) in the connection's transaction.

    On PostgreSQL with COPY: per row it costs the client and the server a third less
    CPU than an executemany of INSERTs (``bench/bulk_insert.py``, ``docs/deployment.md``).
    Elsewhere, an executemany. Either way the columns' Python-side defaults and bind
    conversions apply, and a constraint broken raises SQLAlchemy's ``IntegrityError``.
    """
    if not rows:
        return
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), rows)
        return
    names = list(rows[0])
    defaults = {}  # columns the rows leave out but that have a Python-side default
    for column in table.columns:
        if column.name not in rows[0] and column.default is not None and not column.default.is_sequence:
            arg = column.default.arg
            defaults[column.name] = arg(None) if column.default.is_callable else arg
    dialect = conn.dialect
    columns = names + list(defaults)
    converters = []
    for name in columns:
        ctype = table.c[name].type
        if isinstance(ctype, JSON):
            converters.append(json.dumps)  # as SQLAlchemy's JSON type binds it (None as JSON null)
        elif isinstance(ctype, TypeDecorator):
            converters.append(lambda value, t=ctype: t.process_bind_param(value, dialect))
        else:
            converters.append(None)
    tail = list(defaults.values())
    sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    driver = conn.connection.driver_connection  # psycopg, in the transaction SQLAlchemy began
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                values = [row[name] for name in names] + tail
                copy.write_row([v if f is None else f(v) for v, f in zip(values, converters)])
    except driver.Error as exc:  # psycopg's: as SQLAlchemy would raise it (IntegrityError, ...)
        raise DBAPIError.instance(sql, None, exc, type(driver).Error) from exc


__all__ = ["Store", "Base", "make_engine", "insert_rows", "any_of"]
