"""Audit: verify the tamper-evident chain with one button (``hub.casework.audit.verify``) and browse
the entries, newest first (admin actions, linkage decisions, sign-ins, replays)."""

from __future__ import annotations

from flask import g, render_template, request
from sqlalchemy import select

from hub.contract.errors import Forbidden
from hub.store.models import AuditEntry
from hub.web.console.access import allow, hub
from hub.web.console.blueprint import bp

PAGE = 100


@bp.get("/audit")
@allow("admin", "linkage")
def audit_log():
    if g.principal.scope:  # the log spans every district
        raise Forbidden("审计日志涵盖所有区划 the audit log spans every district: not for a district-scoped role")
    action = (request.args.get("action") or "").strip()
    actor = (request.args.get("actor") or "").strip()
    before = request.args.get("before", type=int)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(PAGE + 1)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if actor:
        query = query.where(AuditEntry.actor.contains(actor, autoescape=True))
    if before:
        query = query.where(AuditEntry.id < before)
    verified = hub().verify_audit() if request.args.get("verify") else None
    with hub().store.sessions() as s:
        rows = list(s.scalars(query))
        actions = sorted(a for (a,) in s.execute(select(AuditEntry.action).distinct()))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    next_args = {"action": action or None, "actor": actor or None, "before": rows[-1].id} if more else None
    return render_template("console/audit.html", rows=rows, verified=verified, actions=actions, action=action,
                           actor=actor, next_args=next_args)
