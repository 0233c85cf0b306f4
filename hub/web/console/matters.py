"""Matter timeline: find a matter by its clue, case, transfer or project number, or by the
employer's USCC; show its records from every agency in time order, with the open
deadlines and who owes the next step.

Admins and the linkage office see the matter as the API's ``matter_view``
(``hub.services.matters``) gives it, viewers see it with personal data masked. An
agency user finds only matters it took part in, and sees only what it sent and what was
routed to it (as routed), masked, and only the steps it owes (``agency_view``): never
another agency's share of the matter.
"""

from __future__ import annotations

import re

from flask import g, redirect, render_template, request, url_for
from sqlalchemy import String, cast, select

from hub.casework import matters
from hub.contract.errors import NotFound
from hub.services.matters import agency_view, matter_view
from hub.services.records import masked_for, visible_records
from hub.services.scope import matter_in_scope
from hub.store.models import MatterKey, Outbox, Record
from hub.web.console.access import allow, hub
from hub.web.console.blueprint import bp
from hub.web.console.display import flatten, summary

USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
NUMBER_FIELDS = ("project_code", "clue_no", "case_no", "order_no", "transfer_no", "case_number", "mediation_no")
EMPLOYER_FIELDS = (("employer", "uscc"), ("employer_uscc",), ("builder_uscc",), ("contractor", "uscc"),
                   ("contractor_uscc",))
MAX_RESULTS = 50


def _names_uscc(data: dict, uscc: str) -> bool:
    for path in EMPLOYER_FIELDS:
        value = data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
        if value == uscc:
            return True
    return False


def _containing(session, text: str):
    """Records whose JSON holds ``text`` (checked field by field by the caller), newest first."""
    return session.execute(select(Record.matter_id, Record.data).where(cast(Record.data, String).contains(
        text, autoescape=True)).order_by(Record.seq.desc()).limit(2000))


def find_matters(session, query: str) -> list[str]:
    """Live matter ids for a matter id, any number of a matter, or an employer's USCC."""
    query = query.strip()
    if not query:
        return []
    found: list[str] = []
    if query.startswith("mat_"):
        found.append(query)
    keys = [f"{ns}:{query}" for ns in matters.REF_NAMES]
    found += [m for (m,) in session.execute(select(MatterKey.matter_id).where(MatterKey.key.in_(keys))
                                            .order_by(MatterKey.seq))]
    if USCC_RE.match(query.upper()):
        uscc = query.upper()
        found += [m for m, data in _containing(session, uscc) if _names_uscc(data, uscc)]
    elif len(query) >= 6:
        # matters that name the number without owning it: the clues of a project, say
        found += [m for m, data in _containing(session, query)
                  if any(data.get(f) == query for f in NUMBER_FIELDS) or query in (data.get("clue_nos") or [])]
    live = []
    for matter_id in dict.fromkeys(found):
        resolved = matters.resolve(session, matter_id)
        if resolved and resolved not in live:
            live.append(resolved)
    return live


def _agency_takes_part(session, matter_id: str, agency: str) -> bool:
    sent = session.execute(select(Record.seq).where(Record.matter_id == matter_id, Record.source_agency == agency)
                           .limit(1)).first()
    got = session.execute(select(Outbox.id).where(Outbox.matter_id == matter_id, Outbox.recipient == agency)
                          .limit(1)).first()
    return bool(sent or got)


def _matter_summary(matter_id: str, rows: list[Record]) -> dict:
    # visible_records opens its own session: called with none open (SQLite takes its write
    # lock at BEGIN, so a nested session would wait on the outer one)
    data = visible_records(hub(), g.principal, rows) if g.principal.agency else [r.data for r in rows]
    first = next((d for d in data if d.get("type") == "clue"), data[0] if data else {})
    employer = next((d.get("employer") for d in data if isinstance(d.get("employer"), dict)), None) or {}
    return {"matter_id": matter_id, "records": len(data), "first_type": first.get("type"),
            "region_code": next((d.get("region_code") for d in data if d.get("region_code")), None),
            "employer": employer.get("name"), "amount_owed": first.get("amount_owed"),
            "numbers": sorted({d.get("source_ref") for d in data if d.get("source_ref")})[:6]}


def _rows(session, matter_id: str) -> list[Record]:
    return list(session.scalars(select(Record).where(Record.matter_id == matter_id)
                                .order_by(Record.occurred_at, Record.seq)))


@bp.get("/matters")
@allow("admin", "linkage", "viewer", "agency")
def matter_search():
    query = (request.args.get("q") or "").strip()[:200]
    found = []
    if query:
        with hub().store.sessions() as s:
            ids = [m for m in find_matters(s, query) if matter_in_scope(s, g.principal, m)]
            if g.principal.agency:
                ids = [m for m in ids if _agency_takes_part(s, m, g.principal.agency)]
            found = [(m, _rows(s, m)) for m in ids[:MAX_RESULTS]]
    results = [_matter_summary(m, rows) for m, rows in found]
    return render_template("console/matter_search.html", query=query, results=results)


@bp.get("/matters/<matter_id>")
@allow("admin", "linkage", "viewer", "agency")
def matter(matter_id: str):
    with hub().store.sessions() as s:
        live = matters.resolve(s, matter_id)
        if live is not None and live != matter_id:
            return redirect(url_for("console.matter", matter_id=live))
        view = None if g.principal.agency else matter_view(s, hub().settings, g.principal, matter_id)
    if g.principal.agency:
        view = agency_view(hub(), g.principal, matter_id)
    if view is None:
        raise NotFound(f"没有案件 {matter_id}，或你无权查看 no matter {matter_id} for you")
    view = masked_for(g.principal, view)
    transfers = sorted({r.get("transfer_no") for r in view["records"]
                        if r.get("type") == "criminal_transfer" and r.get("transfer_no")})
    # a project's facts about single workers (a payout file is thousands) stay on its project page
    timeline = [{"record": r, "summary": summary(r),
                 "fields": [(k, v) for k, v in flatten(r) if k not in ("record_id", "matter_id", "type")]}
                for r in view["records"] if r.get("type") not in matters.WORKER_FACTS]
    worker_facts = sum(r.get("type") in matters.WORKER_FACTS for r in view["records"])
    overdue_first = sorted(view["next_steps"], key=lambda s: (not s["overdue"], s["due_at"]))
    projects = sorted({r["project_code"] for r in view["records"] if r.get("project_code")}) \
        if not g.principal.agency else []
    return render_template("console/matter.html", view=view, timeline=timeline, next_steps=overdue_first,
                           transfers=transfers, worker_facts=worker_facts, projects=projects)
