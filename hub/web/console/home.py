"""Signing in and out, and the home page."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for
from sqlalchemy import func, select

from hub import audit
from hub.store.models import DeadLetter
from hub.web.console import bp
from hub.web.console.access import NAV, allow, csrf_token, hub, principal_for_token, safe_next, start_session


@bp.route("/signin", methods=("GET", "POST"))
def signin():
    csrf_token()  # the sign-in form is CSRF-protected too
    next_url = safe_next(request.values.get("next"))
    error = None
    if request.method == "POST":
        principal, error = principal_for_token(request.form.get("token", ""))
        if principal is not None:
            start_session(principal)
            with hub().store.session() as s:
                audit.append(s, f"{principal.role}#{principal.token_id}@console", "console.signed_in",
                             str(principal.token_id))
            return redirect(next_url or url_for("console.index"))
    elif request.args.get("expired"):
        error = "会话已结束，请重新登录 your session ended: sign in again"
    status = 401 if request.method == "POST" else 200
    return render_template("console/signin.html", error=error, next_url=next_url), status


@bp.post("/signout")
def signout():
    session.clear()
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
    pages = [p for p in NAV[1:] if principal.may(p.roles)]
    return render_template("console/index.html", pages=pages, open_dead=open_dead)
