"""Dead letters: filter, open one (its reason and its original message, decoded and, for
all but admins, masked), fix and replay one, or replay several at once (admins).
An agency user sees its own agency's dead letters only, read-only."""

from __future__ import annotations

import datetime as dt

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select

from hub.contract.errors import BadRequest, HubError, NotFound
from hub.services.dead_letters import dead_letter_view, replay
from hub.services.records import sent_by_me
from hub.store.models import DeadLetter
from hub.web.console.access import actor, allow, hub
from hub.web.console.blueprint import bp
from hub.web.console.display import decode_body, encode_fixed

PAGE = 50
MAX_BULK = 200


def _day(name: str) -> dt.date | None:
    raw = request.args.get(name) or ""
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} 须为日期 must be a date YYYY-MM-DD") from None


def _filters() -> tuple[list, dict[str, str]]:
    """The list's filters from the query string, as SQL conditions and as form values."""
    from hub.casework.bulletin import day_window

    settings = hub().settings
    args = {k: (request.args.get(k) or "").strip() for k in ("agency", "kind", "reason", "status", "from", "to")}
    if g.principal.agency:
        args["agency"] = g.principal.agency  # an agency sees its own, whatever the URL says
    where = []
    if args["agency"]:
        where.append(DeadLetter.agency == args["agency"])
    if g.principal.sender:  # one of an agency's several senders sees its own (kept as <sender>/<id>)
        where.append(DeadLetter.message_id.startswith(f"{g.principal.sender}/", autoescape=True))
    if args["kind"]:
        where.append(DeadLetter.kind == args["kind"])
    if args["reason"]:
        text = args["reason"]
        where.append(or_(*(column.icontains(text, autoescape=True)
                           for column in (DeadLetter.reason, DeadLetter.rule, DeadLetter.field))))
    status = args["status"] or "open"
    args["status"] = status
    if status != "all":
        where.append(DeadLetter.status == status)
    since, until = _day("from"), _day("to")
    if since:
        where.append(DeadLetter.created_at >= day_window(since, settings)[0])
    if until:
        where.append(DeadLetter.created_at < day_window(until, settings)[1])
    return where, args


def _visible(dl: DeadLetter | None) -> DeadLetter:
    """The dead letter if this principal may see it; another agency's is not found."""
    if dl is None or (g.principal.agency and dl.agency != g.principal.agency) or not sent_by_me(g.principal, dl.message_id):
        raise NotFound("没有这封死信，或不属于你的单位 no such dead letter for you")
    return dl


@bp.get("/dead-letters")
@allow("admin", "agency")
def dead_letters():
    where, args = _filters()
    before = request.args.get("before", type=int)
    query = select(DeadLetter).where(*where).order_by(DeadLetter.id.desc()).limit(PAGE + 1)
    if before:
        query = query.where(DeadLetter.id < before)
    with hub().store.sessions() as s:
        rows = list(s.scalars(query))
        total = s.execute(select(func.count()).select_from(DeadLetter).where(*where)).scalar()
        base = select(DeadLetter.agency).distinct()
        kinds_q = select(DeadLetter.kind).distinct().where(DeadLetter.kind.is_not(None))
        if g.principal.agency:
            base = base.where(DeadLetter.agency == g.principal.agency)
            kinds_q = kinds_q.where(DeadLetter.agency == g.principal.agency)
        agencies = sorted(a for (a,) in s.execute(base))
        kinds = sorted(k for (k,) in s.execute(kinds_q))
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    next_args = {**{k: v for k, v in args.items() if v}, "before": rows[-1].id} if more else None
    return render_template("console/dead_letters.html", rows=[dead_letter_view(r) for r in rows], args=args,
                           total=total, agencies=agencies, kinds=kinds, next_args=next_args)


@bp.get("/dead-letters/<int(max=9223372036854775807):dead_letter_id>")  # beyond: no such row
@allow("admin", "agency")
def dead_letter(dead_letter_id: int):
    with hub().store.sessions() as s:
        dl = _visible(s.get(DeadLetter, dead_letter_id))
        view = dead_letter_view(dl)
        headers = dict(dl.headers or {})
        body = decode_body(dl.body, dl.content_type, dl.content_encoding, masked=g.principal.role != "admin")
    view.pop("body_base64")
    if g.principal.role != "admin":
        headers = {k: v for k, v in headers.items() if k != "x-wagehub-signature"}
    return render_template("console/dead_letter.html", dl=view, headers=headers, body=body)


@bp.post("/dead-letters/<int(max=9223372036854775807):dead_letter_id>/replay")
@allow("admin")
def dead_letter_replay(dead_letter_id: int):
    with hub().store.sessions() as s:
        dl = _visible(s.get(DeadLetter, dead_letter_id))
        original, encoding = dl.body, dl.content_encoding
    fixed = None
    upload = request.files.get("file")
    if request.form.get("mode") == "file":
        if upload is None or not upload.filename:
            raise BadRequest("请选择文件 choose the fixed file")
        fixed = upload.read()
    elif request.form.get("mode") == "text":
        fixed = encode_fixed(request.form.get("body", ""), original, encoding)
    result = replay(hub(), dead_letter_id, fixed, actor=actor())
    outcome = result["outcome"] or {}
    if outcome.get("status") in ("accepted", "duplicate") and not outcome.get("errors"):
        flash(f"重放成功 replayed: {outcome.get('status')}，记录 {len(outcome.get('records') or [])} 条 records", "ok")
    else:
        reason = (outcome.get("errors") or [{}])[0].get("reason") or outcome.get("status")
        flash(f"重放未成功 replay failed: {reason}", "error")
    return redirect(url_for("console.dead_letter", dead_letter_id=dead_letter_id))


@bp.post("/dead-letters/replay")
@allow("admin")
def dead_letters_replay():
    ids = []
    for raw in request.form.getlist("ids"):
        if not raw.isdigit():
            raise BadRequest("ids 须为数字 dead letter ids are numbers")
        ids.append(int(raw))
    if not ids:
        flash("未选择死信 no dead letter chosen", "error")
        return redirect(url_for("console.dead_letters"))
    if len(ids) > MAX_BULK:
        raise BadRequest(f"一次最多重放 {MAX_BULK} 封 at most {MAX_BULK} at once")
    results = []
    for dead_letter_id in dict.fromkeys(ids):
        try:
            result = replay(hub(), dead_letter_id, None, actor=actor())
            results.append({"id": dead_letter_id, "dead_letter": result["dead_letter"],
                            "outcome": result["outcome"] or {}})
        except HubError as exc:
            results.append({"id": dead_letter_id, "dead_letter": None, "outcome": {"status": "error",
                            "errors": [{"reason": exc.message}]}})
    return render_template("console/dead_letters_replayed.html", results=results)
