"""The facts of a construction project the rules read: which record types count, and the
payroll, roster, contract and wage-deposit figures derived from them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from hub.casework.identity import hashed
from hub.casework.risks.months import CENT, _day, _money, add_months, month_end, month_of, month_start

FACT_TYPES = ("project", "account_deposit", "worker_payout", "deposit_event", "missed_funding", "roster_entry",
              "labour_contract", "payroll_month")


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
