"""People's accounts and sessions: user accounts made with ``wagehub users``, server-side
sessions that end on sign-out, actions audited under the person or the token's id, and
failed sign-ins and bad tokens logged, audited in aggregate and slowed (Flask test client
and real ``wagehub`` processes)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from hub.services.accounts import create_user
from hub.store.models import AuditEntry, User
from hub.web.auth import create_token
from hub.web.limits import FailureLimiter
from tests.console.conftest import csrf_of, sign_in
from tests.test_cli import env, wagehub  # noqa: F401  (env is a fixture)

PASSWORD = "correct horse battery"


def password_sign_in(client, username: str, password: str):
    page = client.get("/console/signin")
    return client.post("/console/signin", data={"username": username, "password": password,
                                                "csrf_token": csrf_of(page.text)})


def cookie_of(client) -> str:
    return client.get_cookie("wagehub_console").value


def audit_rows(hub, action: str) -> list[AuditEntry]:
    with hub.store.sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_signing_out_ends_the_session_for_every_copy_of_the_cookie(app, hub):
    client = app.test_client()
    assert sign_in(client, create_token(hub.store, "admin")).status_code == 302
    kept = cookie_of(client)
    assert client.post("/console/signout", data={"csrf_token": csrf_of(client.get("/console/").text)}).status_code == 302
    replayed = app.test_client()
    replayed.set_cookie("wagehub_console", kept)
    response = replayed.get("/console/plugins")
    assert response.status_code == 302 and response.headers["Location"].startswith("/console/signin")
    assert [e.action for e in audit_rows(hub, "console.signed_out")] == ["console.signed_out"]


def test_users_made_with_the_cli_sign_in_by_password_and_are_audited_by_name(app, hub, env):  # noqa: F811
    made = wagehub(env, "users", "create", "--username", "wang.li", "--role", "admin", "--password-stdin",
                   input=PASSWORD + "\n")
    assert made.stdout.strip() == "created wang.li (admin)"
    short = wagehub(env, "users", "create", "--username", "zhao", "--role", "viewer", "--password-stdin",
                    input="short\n", check=False)
    assert short.returncode == 2 and "password must be at least 12 characters" in short.stderr
    no_tty = wagehub(env, "users", "create", "--username", "zhao", "--role", "viewer", check=False)
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
    with hub.store.sessions() as session:
        stored = session.scalars(select(User.password_hash).where(User.username == "wang.li")).one()
    assert stored.startswith("scrypt$") and PASSWORD not in stored

    client = app.test_client()
    wrong = password_sign_in(client, "wang.li", "not the password")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    assert password_sign_in(client, "nobody", PASSWORD).text == wrong.text  # no telling who exists
    assert password_sign_in(client, "wang.li", PASSWORD).status_code == 302
    assert "wang.li" in client.get("/console/").text
    plugins = client.get("/console/plugins")
    disabled = client.post("/console/plugins/police/disable",
                           data={"csrf_token": csrf_of(plugins.text), "confirm": "police"})
    assert disabled.status_code in (200, 302)
    actors = {e.action: e.actor for e in audit_rows(hub, "plugin.disabled") + audit_rows(hub, "console.signed_in")}
    assert actors == {"plugin.disabled": "user:wang.li@console", "console.signed_in": "user:wang.li@console"}


def test_disabling_or_resetting_a_user_ends_their_sessions(app, hub, env):  # noqa: F811
    create_user(hub.store, "li.na", "linkage", PASSWORD, min_length=12)
    first, second = app.test_client(), app.test_client()
    assert password_sign_in(first, "li.na", PASSWORD).status_code == 302
    wagehub(env, "users", "reset", "--username", "li.na", "--password-stdin", input="a new long password\n")
    assert first.get("/console/transfers").status_code == 302  # the old session ended
    assert password_sign_in(second, "li.na", PASSWORD).status_code == 401
    assert password_sign_in(second, "li.na", "a new long password").status_code == 302
    assert second.get("/console/transfers").status_code == 200
    assert wagehub(env, "users", "disable", "--username", "li.na").stdout.strip() == "disabled li.na"
    assert second.get("/console/transfers").status_code == 302
    refused = password_sign_in(app.test_client(), "li.na", "a new long password")
    assert refused.status_code == 401 and "账号已停用" in refused.text
    assert "li.na\tlinkage\tdisabled" in wagehub(env, "users", "list").stdout


def test_an_agency_user_is_bound_to_its_agency(app, hub):
    create_user(hub.store, "police.desk", "agency:police", PASSWORD, min_length=12)
    client = app.test_client()
    password_sign_in(client, "police.desk", PASSWORD)
    page = client.get("/console/plugins").text
    assert "police" in page and "/console/plugins/hrss" not in page
    assert client.get("/console/transfers").status_code == 403


def test_api_actions_are_audited_under_the_token_id_never_a_bare_role(client, hub, token):
    headers = token("admin")
    assert client.post("/api/v1/plugins/police/disable", headers=headers).status_code == 200
    with hub.store.sessions() as session:
        token_id = session.execute(select(AuditEntry.subject).where(AuditEntry.action == "token.created")
                                   .order_by(AuditEntry.id.desc())).scalars().first()
    assert [e.actor for e in audit_rows(hub, "plugin.disabled")] == [f"admin#{token_id}"]


def test_failed_sign_ins_are_logged_audited_in_aggregate_and_slowed(app, hub, caplog):
    create_user(hub.store, "wang.li", "admin", PASSWORD, min_length=12)
    now = [1000.0]
    limits = {**hub.settings["auth"], "max_failures": 3, "failure_window": 60, "report_seconds": 30}
    app.extensions["wagehub.failures"] = FailureLimiter(limits, clock=lambda: now[0])
    client = app.test_client()
    caplog.set_level(logging.WARNING, logger="hub.web.limits")
    for guess in ("guess-one", "guess-two", "guess-three"):
        assert password_sign_in(client, "wang.li", guess).status_code == 401
    assert all("guess" not in r.getMessage() for r in caplog.records)
    assert [r.getMessage() for r in caplog.records].count(
        "console sign-in failed from 127.0.0.1: password: wrong username or password") == 3
    slowed = password_sign_in(client, "wang.li", PASSWORD)  # even the right password waits
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "60"
    assert audit_rows(hub, "auth.failures") == []  # not one entry per failure
    now[0] += 61
    assert password_sign_in(client, "wang.li", PASSWORD).status_code == 302
    [entry] = audit_rows(hub, "auth.failures")
    assert entry.details["total"] == 3 and entry.details["by_address"] == {"127.0.0.1": {"signin": 3}}


def test_bad_tokens_are_logged_without_the_token_and_slowed(app, hub, client, caplog):
    now = [1000.0]
    limits = {**hub.settings["auth"], "max_failures": 2, "report_seconds": 0}
    app.extensions["wagehub.failures"] = FailureLimiter(limits, clock=lambda: now[0])
    good = {"Authorization": f"Bearer {create_token(hub.store, 'admin')}"}
    caplog.set_level(logging.WARNING, logger="hub.web.limits")
    for _ in range(2):
        bad = client.get("/api/v1/plugins", headers={"Authorization": "Bearer wht_guessed-token"})
        assert bad.status_code == 401
    assert not any("wht_guessed" in r.getMessage() for r in caplog.records)
    assert any(r.getMessage() == "bearer token failed from 127.0.0.1: unknown token" for r in caplog.records)
    slowed = client.get("/api/v1/plugins", headers=good)
    assert slowed.status_code == 429 and slowed.get_json()["error"]["code"] == "too_many_failures"
    assert int(slowed.headers["Retry-After"]) > 0
    other = app.test_client()
    assert other.get("/api/v1/plugins", headers=good, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200
    now[0] += 301
    assert client.get("/api/v1/plugins", headers=good).status_code == 200
    assert sum(e.details["total"] for e in audit_rows(hub, "auth.failures")) == 2


@pytest.mark.parametrize("username", ["Wang Li", "a", "王丽", "x" * 65])
def test_usernames_are_plain_names(hub, username):
    from hub.contract.errors import BadRequest

    with pytest.raises(BadRequest, match="username must be"):
        create_user(hub.store, username, "viewer", PASSWORD, min_length=12)


@pytest.mark.empty_database
def test_the_migration_keeps_the_tokens_made_before_it(settings):
    """A store made before user accounts (revision 0002) upgrades in place: its tokens work."""
    from sqlalchemy import text

    from hub.runtime import Hub
    from hub.store import Store
    from hub.web.app import create_app
    from hub.web.auth import hash_token

    old = Store(settings["hub"]["database_url"])
    old.upgrade("0002")
    with old.transaction() as session:
        session.execute(text("INSERT INTO api_tokens (token_hash, role, created_at) VALUES (:h, 'admin', :at)"),
                        {"h": hash_token("wht_made-before"), "at": "2026-01-01 00:00:00"})
    old.dispose()
    hub = Hub(settings)  # migrates to head
    client = create_app(hub=hub).test_client()
    assert client.get("/api/v1/plugins", headers={"Authorization": "Bearer wht_made-before"}).status_code == 200
    assert password_sign_in(client, "nobody", PASSWORD).status_code == 401  # the users table is there
    hub.shutdown()


def test_a_contractor_user_sees_its_own_head_office_s_dead_letters_only(app, hub, loaded):
    from hub.store.models import DeadLetter
    from tests.console.conftest import FACTS

    with hub.store.sessions() as session:
        [(dead_id, kept_as)] = session.execute(select(DeadLetter.id, DeadLetter.message_id)
                                               .where(DeadLetter.agency == "contractor")).all()
    assert kept_as == f"{FACTS['contractor_uscc']}/whole-contractor-bad-outcome.json"  # ids are each sender's
    create_user(hub.store, "hq.lujian", "agency:contractor", PASSWORD, min_length=12, sender=FACTS["contractor_uscc"])
    create_user(hub.store, "hq.other", "agency:contractor", PASSWORD, min_length=12, sender="91370102MA3C4X2B78")
    own, other = app.test_client(), app.test_client()
    password_sign_in(own, "hq.lujian", PASSWORD)
    password_sign_in(other, "hq.other", PASSWORD)
    assert f"/console/dead-letters/{dead_id}" in own.get("/console/dead-letters").text
    assert own.get(f"/console/dead-letters/{dead_id}").status_code == 200
    assert f"/console/dead-letters/{dead_id}" not in other.get("/console/dead-letters").text
    assert other.get(f"/console/dead-letters/{dead_id}").status_code == 404
    unbound = app.test_client()
    sign_in(unbound, create_token(hub.store, "agency:contractor"))
    assert unbound.get("/console/dead-letters").status_code == 403
