"""The store: the embedded store's writer lock across processes (SQLite writers queue on
``flock(2)`` of a file beside the database, a forked child competes for it instead of
sharing its parent's, and a disposed store leaves no descriptor behind), and the bulk
insert the pipeline writes with."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import time

import pytest
from sqlalchemy import text

from hub.store import Store

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="fork(2) only")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@needs_fork
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_a_disposed_store_leaves_no_descriptor_and_a_fork_after_its_folder_went_is_clean(tmp_path, capfd):
    before = open_fds()
    for i in range(5):
        folder = tmp_path / f"s{i}"
        store = Store(f"sqlite:///{folder}/hub.sqlite3")
        store.ensure_schema()
        store.dispose()
        shutil.rmtree(folder)
    assert open_fds() == before
    pid = os.fork()  # the stores' lock files are gone: the child must not try to open them
    if pid == 0:
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert "lock" not in capfd.readouterr().err


def _write_while_parent_holds(store: Store, started, done) -> None:
    store.engine.dispose(close=False)  # the parent's pooled connections are the parent's
    started.set()
    with store.transaction() as session:  # the parent's store object, as gunicorn's preloaded app
        session.execute(text("CREATE TABLE child_was_here (x INTEGER)"))
    done.set()


@needs_fork
def test_a_forked_child_competes_for_the_write_lock_instead_of_sharing_its_parents(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/hub.sqlite3")
    store.ensure_schema()
    ctx = multiprocessing.get_context("fork")
    started, done = ctx.Event(), ctx.Event()
    with store.exclusive():  # the writer lock held (no SQLite transaction open across the fork)
        child = ctx.Process(target=_write_while_parent_holds, args=(store, started, done))
        child.start()
        assert started.wait(10)
        time.sleep(0.3)
        assert not done.is_set()  # an inherited descriptor would have let it through
    child.join(20)
    assert child.exitcode == 0 and done.is_set()
    store.dispose()


def test_insert_rows_applies_defaults_and_conversions_and_refuses_a_duplicate(hub):
    """``insert_rows`` (COPY on PostgreSQL, executemany elsewhere) stores what an ORM insert
    would: Python-side defaults for the columns left out, JSON as JSON, naive datetimes as
    UTC; a broken unique constraint raises SQLAlchemy's IntegrityError, as the pipeline's
    retry of a batch that met a concurrent writer expects."""
    import datetime as dt

    from sqlalchemy import select
    from sqlalchemy.exc import IntegrityError

    from hub.store import insert_rows
    from hub.store.models import Outbox

    when = dt.datetime(2026, 11, 28, 10, 30)  # naive: taken as UTC
    row = {"message_id": "out-x1", "record_id": "rec-x1", "record_type": "clue", "source_agency": "hrss",
           "matter_id": "mat-x1", "recipient": "housing", "kind": "notice", "route": "r",
           "payload": {"record": {"name": "张三\t\\n", "amount": "1.00"}, "refs": {}, "empty": None},
           "next_attempt_at": when, "claimed_until": None}
    with hub.store.transaction() as session:
        insert_rows(session.connection(), Outbox.__table__, [row, {**row, "message_id": "out-x2"}])
    with hub.store.sessions() as session:
        stored = session.scalars(select(Outbox).order_by(Outbox.id)).all()
    assert [o.message_id for o in stored] == ["out-x1", "out-x2"]
    first = stored[0]
    assert first.payload == row["payload"]
    assert first.status == "pending" and first.attempts == 0 and first.created_at is not None  # defaults
    assert first.next_attempt_at == when.replace(tzinfo=dt.UTC) and first.claimed_until is None
    with pytest.raises(IntegrityError), hub.store.transaction() as session:
        insert_rows(session.connection(), Outbox.__table__, [{**row, "message_id": "out-x3"}, row])
    with hub.store.sessions() as session:
        assert len(session.scalars(select(Outbox)).all()) == 2  # nothing of the failed batch
