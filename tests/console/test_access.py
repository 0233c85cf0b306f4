"""Signing in to the console, the session cookie, CSRF, and which role reaches which page
(with the Flask test client; the browser tests drive the same pages in Chromium)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from hub.store.models import ApiToken, AuditEntry
from hub.web.auth import create_token, revoke_token
from tests.console.conftest import FACTS, SECOND, csrf_of, sign_in

ROLES = ("admin", "linkage", "viewer", "agency:police")


def test_signed_out_visitors_are_sent_to_sign_in_and_back(client, hub):
    response = client.get("/console/transfers?overdue=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/signin?next=/console/transfers?overdue%3D1"
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and 'lang="zh-CN"' in page.text and "访问令牌" in page.text
    back = client.post("/console/signin", data={"token": create_token(hub.store, "linkage"),
                                                "csrf_token": csrf_of(page.text), "next": "/console/transfers?overdue=1"})
    assert back.status_code == 302 and back.headers["Location"] == "/console/transfers?overdue=1"


@pytest.mark.parametrize("target", ["https://evil.example/console/", "//evil.example/x", "/api/v1/plugins",
                                    "/console\\..\\x", "javascript:alert(1)"])
def test_sign_in_never_redirects_outside_the_console(client, hub, target):
    page = client.get("/console/signin")
    response = client.post("/console/signin", data={"token": create_token(hub.store, "admin"),
                                                    "csrf_token": csrf_of(page.text), "next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/console/"


def test_the_session_cookie_is_httponly_samesite_and_signed(client, hub):
    response = sign_in(client, create_token(hub.store, "admin"))
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("wagehub_console=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert "wht_" not in value  # the token itself is never in the cookie
    forged = client.__class__(client.application)
    forged.set_cookie("wagehub_console", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert forged.get("/console/").status_code == 302


@pytest.mark.parametrize("token, message", [("", "请输入令牌"), ("wht_nope", "令牌无效")])
def test_a_wrong_token_is_refused_with_the_reason(client, token, message):
    page = client.get("/console/signin")
    response = client.post("/console/signin", data={"token": token, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 401 and message in response.text
    assert client.get("/console/").status_code == 302


def test_revoked_and_expired_tokens_cannot_sign_in(client, hub):
    revoked = create_token(hub.store, "admin")
    revoke_token(hub.store, revoked)
    assert "令牌已吊销" in sign_in(client, revoked).text
    expired = create_token(hub.store, "admin", expires_in_days=1)
    with hub.store.transaction() as session:
        session.execute(update(ApiToken).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
                        .where(ApiToken.expires_at.is_not(None)))
    assert "令牌已过期" in sign_in(client, expired).text


def test_revoking_the_token_ends_the_console_session(client, hub):
    token = create_token(hub.store, "admin")
    sign_in(client, token)
    assert client.get("/console/").status_code == 200
    revoke_token(hub.store, token)
    response = client.get("/console/plugins")
    assert response.status_code == 302 and "expired=1" in response.headers["Location"]
    assert "会话已结束" in client.get(response.headers["Location"]).text


def test_the_console_session_does_not_open_the_api(console):
    admin = console("admin")
    assert admin.get("/api/v1/plugins").status_code == 401  # the API takes bearer tokens only


def test_signing_in_and_out_is_csrf_protected_and_audited(client, hub):
    assert client.post("/console/signin", data={"token": create_token(hub.store, "admin")}).status_code == 400
    sign_in(client, create_token(hub.store, "admin"))
    assert client.post("/console/signout").status_code == 400  # no CSRF token: refused, still signed in
    assert client.get("/console/").status_code == 200
    response = client.post("/console/signout", data={"csrf_token": csrf_of(client.get("/console/").text)})
    assert response.status_code == 302 and client.get("/console/").status_code == 302
    with hub.store.sessions() as session:
        actions = [a for (a,) in session.execute(select(AuditEntry.action))]
    assert actions.count("console.signed_in") == 1


@pytest.mark.parametrize("path", ["/console/plugins/hrss/disable", "/console/dead-letters/1/replay",
                                  "/console/dead-letters/replay", f"/console/transfers/{SECOND['transfer_no']}/release",
                                  "/console/followups/mat_any/result"])
def test_every_form_post_needs_the_session_csrf_token(console, loaded, hub, path):
    admin = console("admin")
    assert admin.post(path).status_code == 400
    response = admin.post(path, data={"csrf_token": "forged", "ids": ["1"]})
    assert response.status_code == 400 and "CSRF" in response.text
    assert hub.registry.is_enabled("hrss")


def test_every_page_answers_each_role_as_documented(console, loaded):
    dl = loaded.dead_letters
    allowed = {  # path -> the roles that get 200; police gets 404 where marked, the rest 403
        "/console/": set(ROLES),
        "/console/plugins": {"admin", "agency:police"},
        "/console/plugins/hrss/disable": {"admin"},
        "/console/dead-letters": {"admin", "agency:police"},
        "/console/dead-letters?status=all&agency=hrss": {"admin", "agency:police"},
        f"/console/dead-letters/{dl['police-missing-ysbh.xml']}": {"admin", "agency:police"},
        f"/console/dead-letters/{dl['hrss-bad-idcheck.json']}": {"admin"},
        f"/console/matters?q={FACTS['clue_no']}": set(ROLES),
        f"/console/matters/{loaded.matter_id}": set(ROLES),
        f"/console/matters/{loaded.second_matter_id}": {"admin", "linkage", "viewer"},
        "/console/transfers": {"admin", "linkage"},
        f"/console/transfers/{FACTS['transfer_no']}": {"admin", "linkage"},
        "/console/transfers.xlsx": {"admin", "linkage"},
        "/console/bulletin?date=2023-05-22": {"admin", "linkage", "viewer"},
        "/console/bulletin/download?date=2023-05-22": {"admin", "linkage", "viewer"},
        "/console/followups?date=2023-05-22": {"admin", "linkage", "viewer"},
        "/console/audit": {"admin", "linkage"},
        "/console/audit?verify=1": {"admin", "linkage"},
    }
    not_found_for_police = {f"/console/dead-letters/{dl['hrss-bad-idcheck.json']}",
                            f"/console/matters/{loaded.second_matter_id}"}
    clients = {role: console(role) for role in ROLES}
    wrong = []
    for path, roles in allowed.items():
        for role, client in clients.items():
            if role in roles:
                want = 200
            elif role == "agency:police" and path in not_found_for_police:
                want = 404  # another agency's record: not found, so not even its existence leaks
            else:
                want = 403
            got = client.get(path).status_code
            if got != want:
                wrong.append((path, role, got, want))
    assert wrong == []


def test_forbidden_and_missing_pages_are_html_in_chinese_and_english(console):
    viewer = console("viewer")
    response = viewer.get("/console/plugins")
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "无权访问 Forbidden" in response.text and "viewer" in response.text
    missing = viewer.get("/console/matters/mat_nope")
    assert missing.status_code == 404 and "未找到 Not found" in missing.text


def test_pages_carry_security_headers(console):
    response = console("admin").get("/console/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "http" not in response.text.split("<body>")[0].replace("http-equiv", "")  # no CDN: only local assets


def test_navigation_shows_only_the_pages_of_the_role(console):
    nav = {role: console(role).get("/console/").text.split("<main")[0] for role in ROLES}
    assert all(title in nav["admin"] for title in ("单位与插件", "死信", "案件时间线", "移送看板", "日通报", "审计"))
    assert "移送看板" in nav["linkage"] and "死信" not in nav["linkage"] and "单位与插件" not in nav["linkage"]
    assert "日通报" in nav["viewer"] and "移送看板" not in nav["viewer"] and "审计" not in nav["viewer"]
    police = nav["agency:police"]
    assert "死信" in police and "单位与插件" in police and "移送看板" not in police and "日通报" not in police


def test_static_assets_are_served_locally(client):
    css = client.get("/console/static/console.css")
    js = client.get("/console/static/console.js")
    assert css.status_code == 200 and "@media print" in css.text
    assert js.status_code == 200 and "window.print" in js.text
    css.close()
    js.close()


def test_each_role_sees_its_name_on_the_page(console):
    assert "两法衔接办公室" in console("linkage").get("/console/").text
    assert "公安 public security" in console("agency:police").get("/console/").text
