"""Backups (``wagehub backup`` / ``wagehub restore``, docs/deployment.md): a store with the
demo's whole matter in it, backed up while its workers run, restores into a fresh database
and a fresh embedded broker, where ``wagehub audit verify`` holds with the same head, the
matter, its transfer and the dead letters are all there, and a message that was still
queued at backup time is applied from the restored broker. On SQLite always; on
PostgreSQL (pg_dump / pg_restore) when WAGEHUB_TEST_DATABASE_URL is set."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tests.helpers import SAMPLES, TEST_DATABASE_URL, wait_for

TABLES = ("records", "matters", "outbox", "inbox", "dead_letters", "deadlines", "transfer_holds", "audit_log")


def wagehub(env, *args, check=True):
    proc = subprocess.run([sys.executable, "-m", "hub.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def environment(var_dir, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGEHUB_")}
    env.update(WAGEHUB_VAR_DIR=str(var_dir), WAGEHUB_BROKER_URL="", WAGEHUB_DATABASE_URL=database_url,
               WAGEHUB_LINKAGE__CHECK_EVERY="3600")
    return env


def settings_of(env):
    from hub.config import load_settings

    return load_settings(environ=env)


def feed_the_demo(settings) -> int:
    """Every installed plugin's samples, published as their agencies would (as ``wagehub
    demo`` does), through workers running until all are handled; returns how many."""
    from hub.messaging.client import publish_native
    from hub.runtime import Hub, Workers
    from hub.store.models import DeadLetter, Inbox, Outbox

    hub = Hub(settings)
    hub.declare_topology()
    samples = sorted(((s.at or "", a, s) for a in hub.registry.adapters.values() for s in a.samples()),
                     key=lambda x: (x[2].bad, x[0]))
    with Workers(hub), hub.connection() as conn:
        for _, adapter, s in samples:
            publish_native(conn, adapter.code, s.body, content_type=s.content_type,
                           content_encoding=s.content_encoding, kind=s.kind, message_id=f"demo-{adapter.code}-{s.name}",
                           headers=dict(s.headers), settings=settings)

        def handled():
            with hub.store.sessions() as session:
                done = session.execute(select(func.count()).select_from(Inbox)).scalar() + session.execute(
                    select(func.count(func.distinct(DeadLetter.message_id)))
                    .where(~DeadLetter.message_id.in_(select(Inbox.message_id)))).scalar()
                pending = session.execute(select(func.count()).select_from(Outbox)
                                          .where(Outbox.status == "pending")).scalar()
            return done >= len(samples) and pending == 0

        wait_for(handled, timeout=120, interval=0.2)
    return len(samples)


def snapshot(database_url: str) -> dict:
    """What the demo's checks look at: table sizes, the record types of the matter whose
    transfer the police decided (the demo's criminal case), the transfer's status, and the
    dead letters' kept bytes against their digests."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}  # noqa: S608
            matter = conn.execute(text("SELECT matter_id FROM records WHERE type = 'police_decision' "
                                       "ORDER BY matter_id")).first()
            types = sorted(r[0] for r in conn.execute(text("SELECT type FROM records WHERE matter_id = :m"),
                                                      {"m": matter[0]}))
            holds = sorted(tuple(r) for r in conn.execute(text("SELECT transfer_no, status FROM transfer_holds")))
            letters = [bytes(body) for body, in conn.execute(text("SELECT body FROM dead_letters ORDER BY id"))]
            digests = [d for d, in conn.execute(text("SELECT body_sha256 FROM dead_letters ORDER BY id"))]
    finally:
        engine.dispose()
    assert [hashlib.sha256(b).hexdigest() for b in letters] == digests
    return {"counts": counts, "matter_types": types, "holds": holds, "letters": digests}


@pytest.fixture(params=["sqlite", "postgresql"])
def stores(request, tmp_path):
    """A source and an empty target database URL of one kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'source' / 'wagehub.sqlite3'}", f"sqlite:///{tmp_path / 'target' / 'wagehub.sqlite3'}"
        return
    if not TEST_DATABASE_URL:
        pytest.skip("PostgreSQL: set WAGEHUB_TEST_DATABASE_URL (as .ci/run does)")
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.skip(f"PostgreSQL: {tool} is not installed (postgresql-client)")
    url = make_url(TEST_DATABASE_URL)
    target = url.set(database=f"{url.database}_restore")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    from tests.helpers import reset_database

    reset_database(TEST_DATABASE_URL)
    try:
        yield TEST_DATABASE_URL, target.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        admin.dispose()


def test_a_backup_restores_into_a_fresh_store_where_the_chain_and_the_demo_hold(stores, tmp_path):
    source_url, target_url = stores
    source = environment(tmp_path / "source", source_url)
    target = environment(tmp_path / "target", target_url)
    os.makedirs(tmp_path / "source", exist_ok=True)
    feed_the_demo(settings_of(source))
    # A worker runs through the backup (it is online); the union's plugin is off, so what
    # the union sends now waits in its queue, and the backup must keep it.
    wagehub(source, "plugins", "disable", "union")
    worker = subprocess.Popen([sys.executable, "-m", "hub.cli.main", "worker"], env=source,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wagehub(source, "send", "union", str(SAMPLES / "union-mediation.xlsx"), "--message-id", "queued-at-backup")
        made = wagehub(source, "backup", str(tmp_path / "backup"))
    finally:
        worker.terminate()
        worker.wait(60)
    # The source may append after the copy (a worker signs the chain's head as it stops):
    # the manifest names the head the copy holds, which is an entry of the source's chain.
    before = snapshot(source_url)
    assert {"criminal_transfer", "police_decision"} <= set(before["matter_types"]) and before["letters"]
    assert "manifest" in made.stdout and "embedded broker" in made.stdout
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text(encoding="utf-8"))
    assert json.loads(wagehub(source, "audit", "verify").stdout)["ok"] is True
    head = manifest["audit_head"]
    assert _hash_of(source_url, head["id"]) == head["hash"] and manifest["audit_entries"] >= 10
    again = wagehub(source, "backup", str(tmp_path / "backup"), check=False)
    assert again.returncode == 1 and "not empty" in again.stderr

    # The audit signing key is kept with the settings, apart from the data (docs/deployment.md).
    for key in (tmp_path / "source").glob("audit-signing.key"):
        os.makedirs(tmp_path / "target", exist_ok=True)
        shutil.copy2(key, tmp_path / "target" / key.name)
    restored = wagehub(target, "restore", str(tmp_path / "backup"))
    assert "audit verify" in restored.stdout
    wagehub(target, "db", "upgrade")
    check = json.loads(wagehub(target, "audit", "verify").stdout)
    assert check["ok"] is True and (check["head"], check["entries"]) == (head["hash"], manifest["audit_entries"])
    after = snapshot(target_url)
    assert after["counts"].pop("audit_log") == manifest["audit_entries"] <= before["counts"].pop("audit_log")
    assert after == before
    listing = wagehub(target, "transfers", "list").stdout
    assert all(no in listing for no, _ in before["holds"])
    refused = wagehub(target, "restore", str(tmp_path / "backup"), check=False)
    assert refused.returncode == 1 and ("exists" in refused.stderr or "has tables" in refused.stderr)

    # The restored broker still holds the message queued at backup time: a worker applies it.
    from hub.runtime import Hub, Workers
    from hub.store.models import Inbox

    wagehub(target, "plugins", "enable", "union")
    hub = Hub(settings_of(target))
    try:
        with Workers(hub):
            wait_for(lambda: _count(hub, Inbox, Inbox.message_id == "queued-at-backup"), timeout=60)
    finally:
        hub.shutdown()


def _hash_of(database_url: str, entry_id: int) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT hash FROM audit_log WHERE id = :i"), {"i": entry_id}).scalar()
    finally:
        engine.dispose()


def _count(hub, model, *where) -> int:
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()
