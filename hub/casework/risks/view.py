"""What the console shows of a construction project: its facts summed up and every risk."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from hub.casework.identity import hashed
from hub.casework.risks.facts import FACT_TYPES, _cash_balance, _guarantee_valid
from hub.casework.risks.months import _day, _money, _yuan, month_of
from hub.casework.risks.rules import RULES
from hub.ids import BEIJING
from hub.store.models import ProjectRisk, Record, utcnow


def project_view(session, project_code: str) -> dict[str, Any] | None:
    """A project as the console's project page shows it: the platform's record, the special
    account, the wage deposit and guarantees, the roster's size, payouts by month, and every
    risk with its rule and the record that raised it. None when the hub knows no fact of it."""
    from hub.casework.matters import resolve
    from hub.store.models import MatterKey

    key = session.get(MatterKey, f"project:{project_code}")
    if key is None:
        return None
    matter_id = resolve(session, key.matter_id) or key.matter_id
    facts = [d for (d,) in session.execute(select(Record.data).where(Record.matter_id == matter_id,
                                                                     Record.type.in_(FACT_TYPES))
                                           .order_by(Record.seq))
             if d.get("project_code") == project_code]
    of = {t: [r for r in facts if r["type"] == t] for t in FACT_TYPES}
    project = of["project"][-1] if of["project"] else None
    deposits: dict[str, Decimal] = {}
    for d in of["account_deposit"]:
        deposits[d["month"]] = deposits.get(d["month"], Decimal(0)) + _money(d["amount"])
    payouts: dict[str, dict[str, Any]] = {}
    for p in of["worker_payout"]:
        m = payouts.setdefault(month_of(p["paid_on"]), {"paid": 0, "paid_amount": Decimal(0), "failed": 0,
                                                        "failed_amount": Decimal(0)})
        m[p["result"]] += 1
        m[f"{p['result']}_amount"] += _money(p["amount"])
    today = utcnow().astimezone(BEIJING).date()
    on_site = {hashed(r["worker"]["id_number"]) for r in of["roster_entry"]
               if _day(r["entered_on"]) <= today and (not r.get("left_on") or _day(r["left_on"]) >= today)}
    events = of["deposit_event"]
    risks = session.scalars(select(ProjectRisk).where(ProjectRisk.project_code == project_code)
                            .order_by(ProjectRisk.raise_at, ProjectRisk.key)).all()
    return {
        "project_code": project_code, "matter_id": matter_id, "project": project,
        "accounts": sorted({r["account_no"] for r in of["account_deposit"] + of["worker_payout"]
                            + of["missed_funding"]}),
        "deposits_by_month": {m: _yuan(v) for m, v in sorted(deposits.items())},
        "missed": [{"month": m["month"], "amount_due": m["amount_due"], "amount_credited": m["amount_credited"]}
                   for m in of["missed_funding"]],
        "wage_deposit": project.get("wage_deposit") if project else None,
        "cash_at_bank": _yuan(_cash_balance(events)) if events else None,
        "guarantees": [{"guarantee_no": e.get("guarantee_no"), "amount": e["amount"], "event_on": e["event_on"]}
                       for e in events if e["event"] == "guarantee"],
        "guarantee_valid": _guarantee_valid(events),
        "deposit_events": [{"event": e["event"], "amount": e["amount"], "event_on": e["event_on"]} for e in events],
        "roster_size": len({hashed(r["worker"]["id_number"]) for r in of["roster_entry"]}),
        "on_site": len(on_site),
        "contracts": len(of["labour_contract"]),
        "payouts_by_month": {m: {k: (_yuan(v) if isinstance(v, Decimal) else v) for k, v in row.items()}
                             for m, row in sorted(payouts.items())},
        "risks": [{"rule": r.rule, "title": RULES[r.rule].title, "source": RULES[r.rule].source,
                   "category": r.category, "month": r.month, "status": r.status, "amount": r.amount,
                   "worker_count": r.worker_count, "detail": r.detail, "raised_by": r.raised_by,
                   "cleared_by": r.cleared_by, "risk_no": r.risk_no,
                   "raise_at": r.raise_at.astimezone(BEIJING).isoformat(),
                   "raised_at": r.raised_at.astimezone(BEIJING).isoformat() if r.raised_at else None,
                   "cleared_at": r.cleared_at.astimezone(BEIJING).isoformat() if r.cleared_at else None}
                  for r in risks],
    }
