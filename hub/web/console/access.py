"""Who may see what: the session, the CSRF check, role rules per page, error pages and
the security headers of every console response."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import delete, update
from werkzeug.exceptions import HTTPException

from hub.contract.errors import BadRequest, Forbidden, HubError
from hub.services.accounts import user_principal
from hub.services.principals import Principal
from hub.services.tokens import token_problem
from hub.store.models import ApiToken, ConsoleSession, User, utcnow
from hub.web.auth import refuse_unbound
from hub.web.console import display
from hub.web.console.blueprint import bp

log = logging.getLogger(__name__)

PUBLIC = {"console.signin", "console.static"}
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def hub():
    return current_app.extensions["wagehub"]


# -- pages and their roles --------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    endpoint: str
    title: str
    roles: tuple[str, ...]
    scoped: bool = True
    """Open to a district-scoped role too (the audit log spans every district: not)."""


# The navigation, in order; ``allow`` on each view is what enforces the roles.
NAV = (
    Page("console.index", "首页 Home", ("admin", "linkage", "viewer", "agency")),
    Page("console.plugins", "单位与插件 Agencies & plugins", ("admin", "agency")),
    Page("console.dead_letters", "死信 Dead letters", ("admin", "agency")),
    Page("console.matter_search", "案件时间线 Matters", ("admin", "linkage", "viewer", "agency")),
    Page("console.transfers", "移送看板 Transfers", ("admin", "linkage")),
    Page("console.escalations", "催办与督导 Escalations", ("admin", "linkage")),
    Page("console.leaders", "包案领导 Leaders", ("admin", "linkage", "viewer")),
    Page("console.bulletin", "日通报 Daily bulletin", ("admin", "linkage", "viewer")),
    Page("console.listings", "失信名单 Dishonest employers", ("admin", "linkage", "viewer")),
    Page("console.followups", "回头看 Follow-ups", ("admin", "linkage", "viewer")),
    Page("console.audit_log", "审计 Audit", ("admin", "linkage"), scoped=False),
)


def allow(*roles: str) -> Callable:
    """Let only these roles (``agency`` for any ``agency:<code>``) see the view: else 403."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(**kwargs):
            if not g.principal.may(roles):
                raise Forbidden(f"此页面不对 {g.principal.role} 开放 this page is not open to role {g.principal.role}")
            return view(**kwargs)

        wrapped.console_roles = roles
        return wrapped

    return decorator


def actor() -> str:
    """Who did it, for the audit log and plugin state: the person (or the token's id), via the console."""
    return f"{g.principal.actor}@console"


# -- the session ------------------------------------------------------------------------------

def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def start_session(principal: Principal) -> None:
    """A fresh server-side session for the signed-in principal: the cookie holds only its
    random id and a new CSRF token (no fixation). Sessions past their end are cleared away."""
    sid = secrets.token_urlsafe(32)
    now = utcnow()
    hours = hub().settings["auth"]["session_hours"]
    with hub().store.transaction() as s:
        s.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now - dt.timedelta(days=1)))
        s.add(ConsoleSession(id_hash=_sid_hash(sid), user_id=principal.user_id, token_id=principal.token_id,
                             role=principal.stored_role, created_at=now, expires_at=now + dt.timedelta(hours=hours)))
    session.clear()
    session["sid"] = sid
    session["csrf"] = secrets.token_urlsafe(32)


def end_session() -> None:
    """Sign out: the server forgets the session, so a copy of the cookie opens nothing."""
    sid = session.get("sid")
    if isinstance(sid, str):
        with hub().store.transaction() as s:
            s.execute(update(ConsoleSession).where(ConsoleSession.id_hash == _sid_hash(sid),
                                                   ConsoleSession.ended_at.is_(None)).values(ended_at=utcnow()))
    session.clear()


def session_principal() -> Principal | None:
    """The signed-in principal, checked on every request against the server's session and
    its user or token: signed out, expired, disabled, password reset, revoked or changed ends it."""
    sid = session.get("sid")
    if not isinstance(sid, str):
        return None
    now = utcnow()
    with hub().store.sessions() as s:
        row = s.get(ConsoleSession, _sid_hash(sid))
        if row is None or row.ended_at is not None or row.expires_at <= now:
            return None
        if row.user_id is not None:
            user = s.get(User, row.user_id)
            if user is None or user.disabled_at is not None or user.role != row.role \
                    or user.password_set_at > row.created_at:
                return None
            return user_principal(user)
        token = s.get(ApiToken, row.token_id) if row.token_id is not None else None
        if token_problem(token) or token.role != row.role:
            return None
        return Principal.of(token.role, token_id=token.id, sender=token.sender)


def safe_next(target: str | None) -> str | None:
    """Only a path inside the console may follow sign-in (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(url_for("console.index")) or "\\" in target \
            or ".." in parts.path:
        return None
    return target


@bp.before_request
def guard():
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
            raise BadRequest("表单已过期或来源不明，请刷新页面重试 the form's CSRF token is missing or wrong: "
                             "reload the page and try again")
    if request.endpoint in PUBLIC:
        return None
    principal = session_principal()
    if principal is None:
        had_session = "sid" in session
        session.pop("sid", None)
        target = request.script_root + request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("console.signin", next=target, expired="1" if had_session else None))
    g.principal = principal
    refuse_unbound(principal, hub().registry)
    return None


@bp.after_request
def headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "console.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def _context():
    principal = g.get("principal")
    nav = [p for p in NAV if principal is not None and principal.may(p.roles) and (p.scoped or not principal.scope)]
    registry = hub().registry
    return {
        "csrf_token": csrf_token,
        "principal": principal,
        "nav": nav,
        "role_name": (lambda role: display.role_name(role, registry)),
        "agency_name": (lambda code: display.agency_name(code, registry)),
        "record_type": (lambda t: display.RECORD_TYPES.get(t, t)),
        "status_name": (lambda s: display.STATUS_NAMES.get(s, s)),
        "region": display.region_label,
        "ref_name": (lambda name: display.REF_NAMES.get(name, name)),
        "listing_status": (lambda s: display.LISTING_STATUSES.get(s, s)),
        "listing_action": (lambda a: display.LISTING_ACTIONS.get(a, a)),
    }


bp.add_app_template_filter(display.show_time, "bjtime")
bp.add_app_template_filter(display.show_money, "money")


# -- error pages ------------------------------------------------------------------------------

def error_page(status: int, title: str, message: str):
    return render_template("console/error.html", status=status, title=title, message=message), status


TITLES = {400: "请求有误 Bad request", 403: "无权访问 Forbidden", 404: "未找到 Not found", 409: "冲突 Conflict",
          413: "内容过大 Too large", 429: "尝试过多 Too many attempts"}


@bp.errorhandler(HubError)
def _hub_error(exc: HubError):
    body, status = error_page(exc.status, TITLES.get(exc.status, "出错了 Error"), exc.message)
    return body, status, getattr(exc, "headers", None) or {}


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    status = exc.code or 500
    return error_page(status, TITLES.get(status, exc.name), exc.description or exc.name)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    log.error("unhandled %s in console request", type(exc).__name__, exc_info=exc)
    return error_page(500, "系统错误 Internal error", "请查看枢纽日志 see the hub's log")
