"""Signing in and out, and the home page."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, select

from hub.casework import audit
from hub.services import accounts
from hub.services.tokens import token_principal
from hub.store.models import DeadLetter
from hub.web.console.access import NAV, actor, allow, csrf_token, end_session, hub, safe_next, start_session
from hub.web.console.blueprint import bp
from hub.web.limits import client_address, limiter


@bp.route("/signin", methods=("GET", "POST"))
def signin():
    csrf_token()  # the sign-in form is CSRF-protected too
    next_url = safe_next(request.values.get("next"))
    error = None
    status = 200
    if request.method == "POST":
        failures, address = limiter(), client_address()
        failures.check(address)
        if "token" in request.form:
            kind = "token"
            token = request.form.get("token", "").strip()
            principal, error = token_principal(hub().store, token) if token else (None, "enter a token")
        else:
            kind = "password"
            username, password = request.form.get("username", ""), request.form.get("password", "")
            principal, error = accounts.sign_in(hub().store, username, password) if username and password \
                else (None, "enter your username and password")
        if principal is not None:
            start_session(principal)
            with hub().store.transaction() as s:
                audit.append(s, f"{principal.actor}@console", "console.signed_in",
                             principal.username or str(principal.token_id), {"with": kind})
            return redirect(next_url or url_for("console.index"))
        if not error.startswith("enter"):
            failures.failed(address, "signin", f"{kind}: {error}")
        error = SIGNIN_ERRORS.get(error, error)
        status = 401
    elif request.args.get("expired"):
        error = "会话已结束，请重新登录 your session ended: sign in again"
    hours = hub().settings["auth"]["session_hours"]
    return render_template("console/signin.html", error=error, next_url=next_url,
                           config_hours=f"{hours:g}"), status


SIGNIN_ERRORS = {
    "enter a token": "请输入令牌 enter a token",
    "enter your username and password": "请输入用户名和密码 enter your username and password",
    "wrong username or password": "用户名或密码错误 wrong username or password",
    "account disabled": "账号已停用 account disabled",
    "unknown token": "令牌无效 unknown token",
    "token revoked": "令牌已吊销 token revoked",
    "token expired": "令牌已过期 token expired",
}


@bp.post("/signout")
def signout():
    with hub().store.transaction() as s:
        audit.append(s, actor(), "console.signed_out", g.principal.username or str(g.principal.token_id))
    end_session()
    flash("已退出 signed out", "ok")
    return redirect(url_for("console.signin"))


@bp.get("/")
@allow("admin", "linkage", "viewer", "agency")
def index():
    principal = g.principal
    open_dead = None
    if principal.may(("admin", "agency")):
        query = select(func.count()).select_from(DeadLetter).where(DeadLetter.status == "open")
        if principal.agency:
            query = query.where(DeadLetter.agency == principal.agency)
        with hub().store.sessions() as s:
            open_dead = s.execute(query).scalar()
    pages = [p for p in NAV[1:] if principal.may(p.roles) and (p.scoped or not principal.scope)]
    return render_template("console/index.html", pages=pages, open_dead=open_dead)
