"""``wagehub backup``: an online copy of the hub's store into one folder.

- The embedded broker's file first, then the database: a message taken between the two
  copies is then in both (its effects in the database, itself still queued), and on a
  restore the inbox drops it as a duplicate; the other order could lose it.
- SQLite files are copied with SQLite's online backup API: a consistent snapshot while
  the hub keeps writing (a plain ``cp`` of a WAL database may not be).
- PostgreSQL is dumped with ``pg_dump --format=custom`` (one consistent snapshot; restore
  with ``pg_restore``). The password goes to pg_dump in its environment, never on its
  command line.
- ``manifest.json`` names the files, the schema's revision and the audit chain's length and
  head as the copy holds them (read from the SQLite copy, or in pg_dump's own snapshot), so
  ``wagehub audit verify`` on a restore gives exactly that head.

RabbitMQ holds messages in flight only; its definitions are the hub's to declare again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from hub.contract.errors import HubError

DATABASE_FILE = "wagehub.sqlite3"
BROKER_FILE = "broker.sqlite3"
DUMP_FILE = "wagehub.pgdump"


def sqlite_copy(source: Path, target: Path) -> None:
    """Copy an SQLite database with the online backup API (all pages in one step, so the
    copy is one snapshot even while other processes write)."""
    if not source.exists():
        raise HubError(f"{source}: no such database file")
    target.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def libpq_target(url: str) -> tuple[str, dict[str, str]]:
    """A libpq URI for an SQLAlchemy PostgreSQL URL, and the environment carrying its password."""
    parsed = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise HubError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


def pg_dump(url: str, target: Path, snapshot: str | None = None) -> None:
    """``pg_dump --format=custom`` of the database ``url`` names (of ``snapshot``, an
    exported snapshot, when given)."""
    uri, env = libpq_target(url)
    args = [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target)]
    if snapshot:
        args.append(f"--snapshot={snapshot}")
    proc = subprocess.run([*args, uri], env={**os.environ, **env}, capture_output=True, text=True)
    if proc.returncode:
        raise HubError(f"pg_dump failed: {proc.stderr.strip()}")


def pg_restore(dump: Path, url: str) -> None:
    """Restore a dump into the empty database ``url`` names."""
    uri, env = libpq_target(url)
    proc = subprocess.run([_tool("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", uri, str(dump)],
                          env={**os.environ, **env}, capture_output=True, text=True)
    if proc.returncode:
        raise HubError(f"pg_restore failed: {proc.stderr.strip()}")


def _chain_state(conn) -> dict[str, Any]:
    """The schema's revision and the audit chain's length and head, as ``conn`` sees them."""
    from alembic.runtime.migration import MigrationContext

    from hub.store.models import AuditEntry

    head = conn.execute(select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).first()
    return {"schema_revision": MigrationContext.configure(conn).get_current_revision(),
            "audit_entries": conn.execute(select(func.count()).select_from(AuditEntry)).scalar(),
            "audit_head": {"id": head[0], "hash": head[1]} if head else None}


def _copy_sqlite(source: Path, target: Path) -> dict[str, Any]:
    """Copy, then read the chain's state from the copy itself."""
    from hub.store import make_engine

    sqlite_copy(source, target)
    engine = make_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return _chain_state(conn)
    finally:
        engine.dispose()


def _dump_postgresql(url: str, target: Path) -> dict[str, Any]:
    """Dump one snapshot, and read the chain's state in that same snapshot: a transaction
    exports it (``pg_export_snapshot``) and stays open while pg_dump reads it."""
    from hub.store import make_engine

    engine = make_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            state = _chain_state(conn)
            pg_dump(url, target, snapshot)
        return state
    finally:
        engine.dispose()


def backup(settings: Mapping[str, Any], dest: Path) -> Iterator[str]:
    """Copy the store into ``dest`` (created; must be empty); yields a line per step."""
    from hub import __version__
    from hub.messaging.embedded import parse_url

    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise HubError(f"{dest}: not empty; back up into a new folder")
    hub = settings["hub"]
    manifest: dict[str, Any] = {"created_at": dt.datetime.now(dt.UTC).isoformat(), "hub_version": __version__,
                                "files": {}}
    broker_url = hub["broker_url"]
    if broker_url.startswith("embedded:"):
        path, _ = parse_url(broker_url)
        sqlite_copy(Path(path), dest / BROKER_FILE)
        manifest["files"]["broker"] = BROKER_FILE
        yield f"embedded broker {path} -> {dest / BROKER_FILE}"
    else:
        yield "broker: not embedded (RabbitMQ holds messages in flight only; nothing to copy)"
    database_url = hub["database_url"]
    parsed = make_url(database_url)
    if parsed.get_backend_name() == "sqlite":
        manifest.update(_copy_sqlite(Path(parsed.database), dest / DATABASE_FILE))
        manifest["files"]["database"] = DATABASE_FILE
        yield f"database {parsed.database} -> {dest / DATABASE_FILE}"
    elif parsed.get_backend_name() == "postgresql":
        manifest.update(_dump_postgresql(database_url, dest / DUMP_FILE))
        manifest["files"]["database"] = DUMP_FILE
        yield f"database {parsed.render_as_string(hide_password=True)} -> {dest / DUMP_FILE} (pg_dump, custom format)"
    else:
        raise HubError(f"database {parsed.get_backend_name()}: back it up with its own tools")
    (dest / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    head = manifest["audit_head"]
    yield (f"manifest {dest / 'manifest.json'}: schema {manifest['schema_revision']}, "
           f"{manifest['audit_entries']} audit entries" + (f", head #{head['id']} {head['hash'][:16]}…" if head else ""))


def restore(settings: Mapping[str, Any], source: Path) -> Iterator[str]:
    """Restore a backup made by :func:`backup` into the store ``settings`` name, which must
    be empty (no database file, or a PostgreSQL database with no tables): stop the hub
    first. Yields a line per step; check it with ``wagehub audit verify`` after."""
    from hub.messaging.embedded import parse_url
    from hub.store import make_engine

    try:
        manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HubError(f"{source}: not a backup of wagehub backup ({exc})") from exc
    hub = settings["hub"]
    files = manifest["files"]
    parsed = make_url(hub["database_url"])
    kind = parsed.get_backend_name()
    if files["database"] == DATABASE_FILE and kind == "sqlite":
        target = Path(parsed.database)
        if target.exists():
            raise HubError(f"{target}: exists; restore into a new place (or move it away with the hub stopped)")
        target.parent.mkdir(parents=True, exist_ok=True)
        sqlite_copy(source / DATABASE_FILE, target)
        yield f"database {source / DATABASE_FILE} -> {target}"
    elif files["database"] == DUMP_FILE and kind == "postgresql":
        engine = make_engine(hub["database_url"])
        try:
            from sqlalchemy import inspect

            if inspect(engine).get_table_names():
                raise HubError(f"{parsed.render_as_string(hide_password=True)}: has tables; restore into an "
                               "empty database (createdb)")
        finally:
            engine.dispose()
        pg_restore(source / DUMP_FILE, hub["database_url"])
        yield f"database {source / DUMP_FILE} -> {parsed.render_as_string(hide_password=True)} (pg_restore)"
    else:
        raise HubError(f"the backup holds {files['database']}, the settings name a {kind} database")
    if files.get("broker"):
        if not hub["broker_url"].startswith("embedded:"):
            yield "broker: the backup's embedded broker file is left out (the settings name another broker)"
        else:
            path = Path(parse_url(hub["broker_url"])[0])
            if path.exists():
                raise HubError(f"{path}: exists; restore into a new place (or move it away with the hub stopped)")
            path.parent.mkdir(parents=True, exist_ok=True)
            sqlite_copy(source / BROKER_FILE, path)
            yield f"embedded broker {source / BROKER_FILE} -> {path}"
    head = manifest.get("audit_head")
    yield (f"backup of {manifest['created_at']}: schema {manifest['schema_revision']}, "
           f"{manifest['audit_entries']} audit entries" + (f", head #{head['id']} {head['hash'][:16]}…" if head else "")
           + "; next: wagehub db upgrade, then wagehub audit verify")
