"""The early-warning rules: what each is, its source in the law, and :func:`compute`, a pure
function of a matter's facts, the settings and the clock giving the conditions that hold."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hub.casework.identity import hashed
from hub.casework.risks.facts import (
    FACT_TYPES,
    _below_contract,
    _cash_balance,
    _guarantee_valid,
    _not_topped_up,
    _on_site,
    payroll_rows,
)
from hub.casework.risks.months import _day, _money, _yuan, end_of_day, month_of, month_start, pay_day

REGULATION = "保障农民工工资支付条例"


@dataclass(frozen=True)
class RiskRule:
    name: str
    category: str
    """Which notice labour inspection gets: ``bank`` (BANK_RISK), ``project`` (PROJECT_RISK),
    ``payroll`` (PAYROLL_SHORTFALL), as the routes say."""
    title: str
    source: str
    cures: tuple[str, ...]
    """Record types whose arrival may cure it (the latest of them is named as the cure)."""


RULES = {r.name: r for r in (
    RiskRule("missed-labour-cost", "bank", "人工费用未按月足额拨付 labour cost not put into the special account",
             f"{REGULATION} Arts. 24, 27, 29", ("account_deposit",)),
    RiskRule("payout-failed", "bank", "代发失败未补发 a failed payout not followed by a successful one",
             f"{REGULATION} Art. 31", ("worker_payout",)),
    RiskRule("payout-missing", "bank", "专户代发无代发记录 paid through the account, but the bank paid nothing",
             f"{REGULATION} Art. 31", ("worker_payout", "payroll_month")),
    RiskRule("cash-payment", "bank", "现金发放 wages paid in cash, not through the special account",
             f"{REGULATION} Art. 31", ("payroll_month",)),
    RiskRule("deposit-not-topped-up", "bank", "工资保证金动用后未补足 the wage deposit drawn and not topped up",
             f"{REGULATION} Art. 32", ("deposit_event",)),
    RiskRule("no-wage-deposit", "project", "未存储工资保证金 neither a cash deposit nor a bank guarantee",
             f"{REGULATION} Art. 32", ("deposit_event", "project")),
    RiskRule("no-special-account", "project", "未开设农民工工资专用账户 no wage special account",
             f"{REGULATION} Art. 26", ("project", "account_deposit", "worker_payout")),
    RiskRule("no-real-name", "project", "未实行实名制管理 no real-name registration",
             f"{REGULATION} Art. 28", ("project", "roster_entry")),
    RiskRule("payroll-shortfall", "payroll", "工资未足额发放 paid less than due, past payday",
             f"{REGULATION} Arts. 3, 12, 14", ("payroll_month",)),
    RiskRule("late-payment", "payroll", "工资逾期发放 paid after payday",
             f"{REGULATION} Arts. 12, 14", ()),
    RiskRule("unpaid-rostered-worker", "payroll", "在场工人无工资记录 a worker on site with no payroll row",
             f"{REGULATION} Arts. 28, 30", ("payroll_month", "roster_entry")),
    RiskRule("below-contract", "payroll", "低于合同工资 paid below the contracted wage for the days worked",
             f"{REGULATION} Art. 12 and the labour contract", ("payroll_month", "labour_contract")),
)}


@dataclass
class Condition:
    """A rule's condition holding on a project (and month): what :func:`refresh` raises."""

    rule: str
    project_code: str
    month: str | None
    raise_at: dt.datetime
    raised_by: str | None
    detail: str
    amount: Decimal | None = None
    worker_count: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.rule}|{self.project_code}|{self.month or '-'}"


# -- the rules ----------------------------------------------------------------------------------

def compute(records: Iterable[Mapping[str, Any]], cfg: Mapping[str, Any], now: dt.datetime) -> list[Condition]:
    """The conditions that hold on the projects of one matter's records, in the order the
    records came (``records`` in store order)."""
    by_project: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        if r.get("type") in FACT_TYPES and r.get("project_code"):
            by_project.setdefault(r["project_code"], []).append(r)
    out: list[Condition] = []
    for code, facts in by_project.items():
        out.extend(c for c in _project(code, facts, cfg, now) if cfg["rules"].get(c.rule, True))
    return out


def _project(code: str, facts: list[Mapping[str, Any]], cfg: Mapping[str, Any], now: dt.datetime) -> list[Condition]:
    of = {t: [r for r in facts if r["type"] == t] for t in FACT_TYPES}
    project = of["project"][-1] if of["project"] else None
    region = project.get("region_code") if project else None
    out: list[Condition] = []

    def payday(month: str) -> dt.date:
        return pay_day(month, region, cfg)

    # The latest payroll row of each worker and month is what the platform says now.
    payroll = payroll_rows(of["payroll_month"])
    paid_out: dict[str, list[dt.date]] = {}
    for p in of["worker_payout"]:
        if p["result"] == "paid":
            paid_out.setdefault(hashed(p["worker"]["id_number"]), []).append(_day(p["paid_on"]))
    deposits: dict[str, Decimal] = {}
    for d in of["account_deposit"]:
        deposits[d["month"]] = deposits.get(d["month"], Decimal(0)) + _money(d["amount"])

    # missed-labour-cost: the bank's MISSED for a month, until that month's deposits make it up;
    # or no deposit at all for a month the roster shows workers on site, once payday passes.
    missed_months = set()
    position = {id(r): i for i, r in enumerate(facts) if r["type"] in ("account_deposit", "missed_funding")}
    for m in of["missed_funding"]:
        month = m["month"]
        missed_months.add(month)
        short = _money(m["amount_due"]) - _money(m["amount_credited"])
        after = sum((_money(d["amount"]) for d in of["account_deposit"]
                     if d["month"] == month and position[id(d)] > position[id(m)]), Decimal(0))
        if deposits.get(month, Decimal(0)) >= _money(m["amount_due"]) or after >= short:
            continue
        out.append(Condition("missed-labour-cost", code, month, now, m.get("record_id"),
                             f"应拨付 {_yuan(_money(m['amount_due']))}, 实际拨付 {_yuan(_money(m['amount_credited']))}",
                             amount=short - after))
    horizon = max([e["month"] for e in of["payroll_month"] if e["rows"]] + [d["month"] for d in of["account_deposit"]]
                  + [m["month"] for m in of["missed_funding"]], default=None)
    on_site = _on_site(of["roster_entry"], horizon)
    for month, workers in on_site.items():
        if month in missed_months or deposits.get(month):
            continue
        first = workers[0][1]
        out.append(Condition("missed-labour-cost", code, month, end_of_day(payday(month)), first.get("record_id"),
                             f"no labour cost credited for a month with {len(workers)} worker(s) on site",
                             worker_count=len(workers)))

    # payout-failed: a failed payout with no successful one to the same worker on or after it
    failed: dict[str, list[Mapping[str, Any]]] = {}
    for p in of["worker_payout"]:
        if p["result"] != "failed":
            continue
        day = _day(p["paid_on"])
        if any(d >= day for d in paid_out.get(hashed(p["worker"]["id_number"]), ())):
            continue
        failed.setdefault(month_of(p["paid_on"]), []).append(p)
    for month, ps in failed.items():
        due = min(end_of_day(_day(p["paid_on"]) + dt.timedelta(days=cfg["payout_retry_days"])) for p in ps)
        out.append(Condition("payout-failed", code, month, due, ps[0].get("record_id"),
                             f"{len(ps)} payout(s) failed and not paid again within {cfg['payout_retry_days']} days",
                             amount=sum((_money(p["amount"]) for p in ps), Decimal(0)), worker_count=len(ps)))

    # payroll rows, per month
    months: dict[str, list[Mapping[str, Any]]] = {}
    for (_w, month), e in payroll.items():
        months.setdefault(month, []).append(e)
    unused = {w: sorted(days) for w, days in paid_out.items()}  # each payout pays one month's row
    for month, entries in sorted(months.items()):
        due_day = payday(month)
        missing = []
        for e in entries:
            if e.get("method") != "special_account" or _money(e["amount_paid"]) <= 0:
                continue
            days = unused.get(e["worker"], [])
            match = next((d for d in days if d >= month_start(month)), None)
            if match is None:
                missing.append(e)
            else:
                days.remove(match)
        if missing:
            out.append(Condition("payout-missing", code, month, end_of_day(due_day), missing[0].get("record_id"),
                                 f"{len(missing)} payroll row(s) say 专户代发 with no successful payout to the worker",
                                 amount=sum((_money(e["amount_paid"]) for e in missing), Decimal(0)),
                                 worker_count=len(missing)))
        cash = [e for e in entries if e.get("method") == "cash" and _money(e["amount_paid"]) > 0]
        if cash:
            out.append(Condition("cash-payment", code, month, now, cash[0].get("record_id"),
                                 f"{len(cash)} worker(s) paid in cash", worker_count=len(cash),
                                 amount=sum((_money(e["amount_paid"]) for e in cash), Decimal(0))))
        short = [e for e in entries if _money(e["amount_paid"]) < _money(e["amount_due"])]
        if short:
            due = sum((_money(e["amount_due"]) for e in short), Decimal(0))
            paid = sum((_money(e["amount_paid"]) for e in short), Decimal(0))
            out.append(Condition("payroll-shortfall", code, month, end_of_day(due_day), short[0].get("record_id"),
                                 f"{len(short)} worker(s) paid less than due; payday {due_day.isoformat()}",
                                 amount=due - paid, worker_count=len(short),
                                 extra={"amount_due": _yuan(due), "amount_paid": _yuan(paid),
                                        "amount_short": _yuan(due - paid)}))
        late = [e for e in entries if e.get("paid_on") and _money(e["amount_paid"]) > 0
                and _day(e["paid_on"]) > due_day]
        if late:
            out.append(Condition("late-payment", code, month, now, late[0].get("record_id"),
                                 f"{len(late)} worker(s) paid after payday {due_day.isoformat()}",
                                 amount=sum((_money(e["amount_paid"]) for e in late), Decimal(0)),
                                 worker_count=len(late)))
        below = _below_contract(entries, of["labour_contract"], month, cfg)
        if below:
            out.append(Condition("below-contract", code, month, now, below[0][0].get("record_id"),
                                 f"{len(below)} worker(s) due less than {cfg['below_contract_share']:.0%} of the "
                                 "contracted wage for the days worked", worker_count=len(below),
                                 amount=sum((gap for _e, gap in below), Decimal(0))))

    # unpaid-rostered-worker: on site in a month the platform reported payroll for, no row
    for month, workers in on_site.items():
        unpaid = [r for w, r in workers if (w, month) not in payroll]
        if unpaid and any(m == month for _w, m in payroll):
            out.append(Condition("unpaid-rostered-worker", code, month, end_of_day(payday(month)),
                                 unpaid[0].get("record_id"),
                                 f"{len(unpaid)} worker(s) on the roster with no payroll row for the month",
                                 worker_count=len(unpaid)))

    # the wage deposit: cash or a bank guarantee; drawn, it is to be topped up
    events = of["deposit_event"]
    drawn_left = _not_topped_up(events)
    for month, (event, amount) in drawn_left.items():
        out.append(Condition("deposit-not-topped-up", code, month,
                             end_of_day(_day(event["event_on"]) + dt.timedelta(days=cfg["deposit_topup_days"])),
                             event.get("record_id"), f"drawn {_yuan(amount)} and not topped up within "
                             f"{cfg['deposit_topup_days']} days", amount=amount))
    if project is not None and project.get("status") == "under_construction":
        cash = _money(project.get("wage_deposit")) > 0 or _cash_balance(events) > 0
        if not cash and not _guarantee_valid(events):
            out.append(Condition("no-wage-deposit", code, None, now, project.get("record_id"),
                                 "neither a cash deposit nor a valid bank guarantee"))
        if not project.get("special_account") and not of["account_deposit"] and not of["worker_payout"]:
            out.append(Condition("no-special-account", code, None, now, project.get("record_id"),
                                 "the platform says no special account, and no bank reports one"))
        if not project.get("real_name") and not of["roster_entry"]:
            out.append(Condition("no-real-name", code, None, now, project.get("record_id"),
                                 "the platform says no real-name registration, and no roster was sent"))
    return out
