"""Early warning on construction projects (源头治理): rules over a project's facts that warn
of arrears weeks before a worker complains.

The facts are the records the construction platform and the banks send about a project,
joined to the project's matter by its code (the same matter as complaints about it): the
project itself, the special account's deposits (``account_deposit``), payouts
(``worker_payout``), wage-deposit events (``deposit_event``), missed funding
(``missed_funding``), the real-name roster (``roster_entry``), labour contracts
(``labour_contract``) and payroll rows (``payroll_month``: a month's rows, workers hashed).

Like the deadline engine, a project's risks are derived state: :func:`compute` is a pure
function of its records, the settings and the clock, giving one :class:`Condition` per
rule, project and month whose condition holds, with the time it is to be raised (a payroll
shortfall not before payday, 保障农民工工资支付条例 Arts. 12 and 14). :func:`refresh`
compares them with the ``project_risks`` rows in the pipeline's transaction: a condition
whose time has come is raised once (a ``risk`` record, routed like any record: to labour
inspection as a NOTICE, to housing as RISK); one whose condition no longer holds is
cleared (a ``risk`` record of status ``cleared``, naming the fact that cured it). A
resend changes no fact, so it raises nothing again. :func:`sweep`, run by the scheduler,
raises what was pending once its time comes. The rules and how each reads the formats:
docs/risks.md.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, cast, func, select, update

from hub.casework.identity import hashed
from hub.casework.matters import occurred_at
from hub.ids import BEIJING, iso, new_id, now_beijing
from hub.store import any_of
from hub.store.models import ProjectRisk, Record, utcnow
from schemas import normalise_record

log = logging.getLogger(__name__)

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

FACT_TYPES = ("project", "account_deposit", "worker_payout", "deposit_event", "missed_funding", "roster_entry",
              "labour_contract", "payroll_month")
CENT = Decimal("0.01")


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


# -- months and paydays -------------------------------------------------------------------------

def month_of(day: str) -> str:
    return day[:7]


def add_months(month: str, n: int) -> str:
    y, m = int(month[:4]), int(month[5:7]) - 1 + n
    return f"{y + m // 12:04d}-{m % 12 + 1:02d}"


def month_start(month: str) -> dt.date:
    return dt.date(int(month[:4]), int(month[5:7]), 1)


def month_end(month: str) -> dt.date:
    y, m = int(month[:4]), int(month[5:7])
    return dt.date(y, m, calendar.monthrange(y, m)[1])


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=BEIJING)


def pay_day(month: str, region_code: str | None, cfg: Mapping[str, Any]) -> dt.date:
    """The day wages for ``month`` are due: ``[risks] pay_day`` of the following month, or
    the province's own (``[risks.pay_days]``, keyed by its 6-digit code); the month's last
    day when it has fewer days."""
    day = cfg["pay_day"]
    if region_code:
        day = cfg["pay_days"].get(f"{region_code[:2]}0000", day)
    following = add_months(month, 1)
    return month_start(following).replace(day=min(day, month_end(following).day))


def _day(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _yuan(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount.quantize(CENT), "f")


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


def payroll_rows(months: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(worker hash, month) -> the latest payroll row for it (with its ``month`` and the
    ``record_id`` of the record that brought it), from ``payroll_month`` records in store order."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in months:
        for row in rec["rows"]:
            out[(row["worker"], rec["month"])] = {**row, "month": rec["month"], "record_id": rec.get("record_id")}
    return out


def _on_site(roster: list[Mapping[str, Any]], horizon: str | None) -> dict[str, list[tuple[str, Mapping]]]:
    """Month -> the workers on site ((hashed id, their roster record)), up to ``horizon``."""
    out: dict[str, list[tuple[str, Mapping]]] = {}
    if horizon is None or not roster:
        return out
    seen: dict[str, set[str]] = {}
    for r in roster:
        month = month_of(r["entered_on"])
        last = min(month_of(r["left_on"]), horizon) if r.get("left_on") else horizon
        worker = hashed(r["worker"]["id_number"])
        while month <= last:
            if worker not in seen.setdefault(month, set()):
                seen[month].add(worker)
                out.setdefault(month, []).append((worker, r))
            month = add_months(month, 1)
    return dict(sorted(out.items()))


def _below_contract(entries, contracts, month: str, cfg) -> list[tuple[Mapping, Decimal]]:
    """Rows due less than ``below_contract_share`` of the contracted wage for the days worked."""
    start, end = month_start(month), month_end(month)
    by_worker: dict[str, Mapping[str, Any]] = {}
    for c in contracts:  # the latest contract in force in the month
        if _day(c["signed_on"]) <= end and (not c.get("ends_on") or _day(c["ends_on"]) >= start):
            by_worker[hashed(c["worker"]["id_number"])] = c
    share = Decimal(str(cfg["below_contract_share"]))
    out = []
    for e in entries:
        c = by_worker.get(e["worker"])
        if c is None or not e.get("days"):
            continue
        rate = _money(c["wage_rate"])
        if c["pay_basis"] == "daily":
            expected = rate * e["days"]
        elif c["pay_basis"] == "monthly":
            expected = rate * min(Decimal(1), Decimal(e["days"]) / Decimal(str(cfg["monthly_pay_days"])))
        else:  # piece rates: the row says no quantity to judge by
            continue
        due = _money(e["amount_due"])
        if due < share * expected:
            out.append((e, (expected - due).quantize(CENT)))
    return out


def _cash_balance(events) -> Decimal:
    sign = {"lodged": 1, "drawn": -1, "returned": -1, "reduced": -1}
    return sum((sign[e["event"]] * _money(e["amount"]) for e in events if e["event"] in sign), Decimal(0))


def _guarantee_valid(events) -> bool:
    numbers = [e.get("guarantee_no") for e in events if e["event"] == "guarantee"]
    returned = {e.get("guarantee_no") for e in events if e["event"] == "returned" and e.get("guarantee_no")}
    return any(n not in returned for n in numbers)


def _not_topped_up(events) -> dict[str, tuple[Mapping, Decimal]]:
    """Month of the draw -> (the first draw not made up, what is still missing that month)."""
    owed: list[list] = []  # [event, amount still to top up]
    for e in events:
        if e["event"] == "drawn":
            owed.append([e, _money(e["amount"])])
        elif e["event"] in ("lodged", "guarantee"):
            amount = _money(e["amount"])
            for item in owed:
                if amount <= 0:
                    break
                if _day(e["event_on"]) < _day(item[0]["event_on"]) or item[1] <= 0:
                    continue
                took = min(amount, item[1])
                item[1] -= took
                amount -= took
    out: dict[str, tuple[Mapping, Decimal]] = {}
    for event, left in owed:
        if left > 0:
            month = month_of(event["event_on"])
            first, total = out.get(month, (event, Decimal(0)))
            out[month] = (first, total + left)
    return out


# -- state: raise once, clear when cured ---------------------------------------------------------

def risk_record(row: ProjectRisk, cond: Condition | None, status: str, now: dt.datetime,
                cleared_by: str | None = None) -> dict[str, Any]:
    """The ``risk`` record the hub sends when a risk is raised or cleared."""
    rule = RULES[row.rule]
    today = now.astimezone(BEIJING).date().isoformat()
    record = {
        "type": "risk", "source_agency": "hub", "source_ref": row.risk_no, "received_at": iso(now_beijing()),
        "risk_no": row.risk_no, "project_code": row.project_code, "rule": row.rule, "category": rule.category,
        "status": status, "month": row.month, "amount": row.amount, "worker_count": row.worker_count,
        "detail": row.detail or rule.title, "source": rule.source,
        "raised_on": (row.raised_at or now).astimezone(BEIJING).date().isoformat(),
        "cleared_on": today if status == "cleared" else None, "raised_by": row.raised_by, "cleared_by": cleared_by,
        "region_code": row.region_code,
    }
    if cond is not None:
        record.update(cond.extra)
    return normalise_record({k: v for k, v in record.items() if v is not None})


FACTS_AT_ONCE = 1_000_000  # bytes of fact records (as JSON) read from the store at once: a
# project's payouts or payroll months can be many, and each month holds a row per worker


def _facts_by_matter(session, ids: list[str], known: Mapping[str, list[dict[str, Any]]]):
    """``(matter, its facts)`` for each of ``ids`` that has any, in order: the records the
    caller holds, the others read from the store a few matters at a time, about
    ``FACTS_AT_ONCE`` bytes of them at once (a matter with more is read alone)."""
    unknown = [m for m in ids if m not in known]
    sizes: dict[str, int] = {}
    if len(unknown) == 1:  # (a matter is read alone whatever its size: no need to weigh it)
        sizes[unknown[0]] = 1
    else:
        for i in range(0, len(unknown), 500):
            sizes.update(session.execute(select(Record.matter_id, func.sum(func.length(cast(Record.data, Text))))
                                         .where(any_of(session, Record.matter_id, unknown[i:i + 500]),
                                                Record.type.in_(FACT_TYPES))
                                         .group_by(Record.matter_id)).all())

    def read(group: list[str]) -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for mid, data in session.execute(select(Record.matter_id, Record.data)
                                         .where(any_of(session, Record.matter_id, group),
                                                Record.type.in_(FACT_TYPES))
                                         .order_by(Record.matter_id, Record.seq)):
            found.setdefault(mid, []).append(data)
        return found

    pending = [m for m in ids if m in known or sizes.get(m)]
    while pending:
        group, size = [], 0
        for m in pending:
            n = 0 if m in known else sizes[m]
            if group and (size + n > FACTS_AT_ONCE or len(group) == 500):
                break
            group.append(m)
            size += n
        pending = pending[len(group):]
        loaded = read([m for m in group if m not in known])
        for m in group:
            facts = [r for r in known[m] if r["type"] in FACT_TYPES] if m in known else loaded.get(m, [])
            if facts:
                yield m, facts


def refresh(session, matters: Mapping[str, Iterable[str]], cfg: Mapping[str, Any], now: dt.datetime,
            emit, known: Mapping[str, list[dict[str, Any]]] | None = None) -> int:
    """Bring the risk rows of ``matters`` (each with the matters merged into it) in line with
    their records; ``emit(record, matter_id)`` stores and routes each risk record made.
    Returns how many were made."""
    if not cfg["enabled"] or not matters:
        return 0
    known = known or {}
    ids = sorted(matters)
    merged = {m: into for into, ms in matters.items() for m in ms}
    if merged:  # the rows of matters merged away follow them
        for m, into in merged.items():
            session.execute(update(ProjectRisk).where(ProjectRisk.matter_id == m).values(matter_id=into))
    made = 0
    for mid, facts in _facts_by_matter(session, ids, known):
        conds = {c.key: c for c in compute(facts, cfg, now)}
        rows = {r.key: r for r in session.scalars(select(ProjectRisk).where(ProjectRisk.matter_id == mid))}
        missing_rows = [k for k in conds if k not in rows]
        for i in range(0, len(missing_rows), 500):  # a key another matter held (before a merge)
            for r in session.scalars(select(ProjectRisk).where(any_of(session, ProjectRisk.key,
                                                                      missing_rows[i:i + 500]))):
                r.matter_id = mid
                rows[r.key] = r
        region = next((f.get("region_code") for f in reversed(facts) if f["type"] == "project"), None)
        for key, cond in sorted(conds.items(), key=lambda kv: (kv[1].raise_at, list(RULES).index(kv[1].rule))):
            row = rows.get(key)
            if row is None:
                row = ProjectRisk(key=key, matter_id=mid, project_code=cond.project_code, rule=cond.rule,
                                  category=RULES[cond.rule].category, month=cond.month, status="pending",
                                  raise_at=cond.raise_at, detail=cond.detail, updated_at=utcnow())
                session.add(row)
            elif row.status == "cleared":  # the condition is back: a new warning
                row.status, row.cleared_at, row.cleared_by, row.risk_no = "pending", None, None, None
            if row.status == "pending":
                row.raise_at = cond.raise_at
            row.raised_by = row.raised_by if row.status == "raised" else cond.raised_by
            row.amount, row.worker_count, row.detail = _yuan(cond.amount), cond.worker_count, cond.detail
            row.region_code, row.updated_at = region, utcnow()
            if row.status == "pending" and row.raise_at <= now:
                made += _raise(row, cond, now, emit)
        for key, row in sorted(rows.items(), key=lambda kv: (kv[1].raised_at or now, list(RULES).index(kv[1].rule),
                                                           kv[0])):
            if key in conds or row.status == "cleared":
                continue
            if row.status == "pending":
                session.delete(row)
                continue
            cure = _cure(facts, RULES[row.rule].cures)
            row.status, row.cleared_at, row.cleared_by, row.updated_at = "cleared", now, cure, utcnow()
            emit(risk_record(row, None, "cleared", now, cure), mid)
            made += 1
            log.info("risk %s on project %s (%s) cleared", row.rule, row.project_code, row.month or "-")
    session.flush()
    return made


def _raise(row: ProjectRisk, cond: Condition, now: dt.datetime, emit) -> int:
    row.status, row.raised_at, row.risk_no = "raised", now, new_id("rsk")
    emit(risk_record(row, cond, "raised", now), row.matter_id)
    log.info("risk %s raised on project %s (%s)", row.rule, row.project_code, row.month or "-")
    return 1


def _cure(facts: list[Mapping[str, Any]], types: tuple[str, ...]) -> str | None:
    return next((f.get("record_id") for f in reversed(facts) if f["type"] in types), None)


def due_matters(session, now: dt.datetime, limit: int = 1000) -> list[str]:
    """Matters with a risk pending whose time has come."""
    return list(dict.fromkeys(session.scalars(
        select(ProjectRisk.matter_id).where(ProjectRisk.status == "pending", ProjectRisk.raise_at <= now)
        .order_by(ProjectRisk.raise_at).limit(limit))))


def fingerprint(record: Mapping[str, Any]) -> str:
    return hashlib.sha256(f"{record['risk_no']}|{record['status']}".encode()).hexdigest()


def stored_row(record: dict[str, Any], matter_id: str, message_id: str, now: dt.datetime) -> dict[str, Any]:
    """The ``records`` row of a risk record the hub made."""
    record.update(record_id=new_id("rec"), matter_id=matter_id, accepted_at=iso(now_beijing()))
    return {"record_id": record["record_id"], "type": "risk", "schema_version": record["schema_version"],
            "source_agency": "hub", "source_ref": record["source_ref"], "matter_id": matter_id,
            "message_id": message_id, "fingerprint": fingerprint(record), "occurred_at": occurred_at(record),
            "accepted_at": now, "data": record}


def sweep(pipeline, now: dt.datetime | None = None) -> int:
    """Raise the risks whose time has come (a shortfall on payday, a failed payout not paid
    again in time); returns how many risk records were made."""
    now = now or utcnow()
    with pipeline.store.session() as session:
        matter_ids = due_matters(session, now)
        if not matter_ids:
            return 0
        # (the relays are told of the rows written once this commits)
        return pipeline.refresh_risks(session, {m: [] for m in matter_ids}, now)


# -- what the console shows of a project ----------------------------------------------------------

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
