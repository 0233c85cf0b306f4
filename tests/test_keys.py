"""The hub's secrets: a random session secret when none is set (so a cookie forged with a
published one opens nothing), the audit chain's own signing key, and ``var/`` 0700 with
its files 0600 (identity numbers live in the store and the broker's files)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from hub import keys
from hub.casework import audit
from hub.store.models import ApiToken
from hub.web.auth import create_token
from tests.helpers import sample


def forged_cookie(secret: str, session: dict) -> str:
    app = Flask("forger")
    app.secret_key = secret
    return SecureCookieSessionInterface().get_signing_serializer(app).dumps(session)


def test_a_cookie_forged_with_the_published_secret_opens_nothing(hub, app, client):
    """The session of a signed-in admin, signed again with the secret the project once
    shipped, is not taken; signed with the hub's own (made on first start) it is."""
    from flask import session

    from hub.web.auth import Principal
    from hub.web.console.access import start_session

    create_token(hub.store, "admin")
    with hub.store.sessions() as s:
        tid = s.scalars(select(ApiToken.id)).one()
    with app.test_request_context("/console/"):
        start_session(Principal(role="admin", token_id=tid))
        admin = dict(session)
    name = app.config["SESSION_COOKIE_NAME"]
    client.set_cookie(name, forged_cookie(keys.DEV_SECRET, admin))
    assert client.get("/console/plugins").status_code != 200
    client.set_cookie(name, forged_cookie(app.secret_key, admin))  # the check above can fail
    assert client.get("/console/plugins").status_code == 200
    assert app.secret_key == (Path(hub.settings["hub"]["var_dir"]) / "session-secret").read_text().strip()


def test_the_audit_key_is_not_derived_from_the_session_secret(settings):
    from hub.runtime import Hub

    hub = Hub(settings)
    try:
        public = keys.public_b64(hub.audit_key)
        assert public != audit.legacy_public_key(hub.settings["hub"]["secret_key"])
        assert public != audit.legacy_public_key(keys.DEV_SECRET)
    finally:
        hub.shutdown()
    other = Hub({**settings, "hub": {**settings["hub"], "secret_key": "y" * 40}})
    try:
        assert keys.public_b64(other.audit_key) == public  # another secret, the same key (its own file)
    finally:
        other.shutdown()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_var_is_0700_and_its_files_0600(settings, agency):
    """On the embedded defaults: the store, the broker and their WAL and shared-memory
    files, the secret, the key and the head file."""
    from hub.contract.types import NativeMessage
    from hub.runtime import Hub

    var = Path(settings["hub"]["var_dir"])
    old_umask = os.umask(0o022)  # a usual umask: the hub must not rely on the caller's
    try:
        hub = Hub(settings)
        hub.declare_topology()
        hub.pipeline.process([NativeMessage("hrss", sample("hrss-clue.json"), "m-1", "application/json")])
        agency.publish("hrss", sample("hrss-clue.json"), message_id="m-2")
        hub.checkpoint()
        files = sorted(p.name for p in var.iterdir() if p.is_file())
        assert mode(var) == 0o700
        assert {n: mode(var / n) for n in files} == {n: 0o600 for n in files}
        expected = {"session-secret", "audit-signing.key", "audit-heads.jsonl"}
        if not settings["hub"]["database_url"].startswith("postgresql"):
            expected |= {"wagehub.sqlite3", "wagehub.sqlite3-wal", "wagehub.sqlite3-shm"}
        if settings["hub"]["broker_url"].startswith("embedded"):
            expected |= {"broker.sqlite3", "broker.sqlite3-wal", "broker.sqlite3-shm"}
        assert expected <= set(files)
        hub.shutdown()
    finally:
        os.umask(old_umask)


def test_files_an_older_hub_left_readable_are_tightened(settings):
    from hub.runtime import Hub

    var = Path(settings["hub"]["var_dir"])
    var.mkdir(mode=0o755)
    store = var / "wagehub.sqlite3"
    store.touch(mode=0o644)
    (var / "session-secret").write_text("s" * 48)
    os.chmod(var / "session-secret", 0o644)
    hub = Hub({**settings, "hub": {**settings["hub"], "database_url": f"sqlite:///{store}"}})
    try:
        assert mode(store) == 0o600 and mode(var / "session-secret") == 0o600
        assert hub.settings["hub"]["secret_key"] == "s" * 48
    finally:
        hub.shutdown()
