"""Early warning on construction projects (hub.casework.risks): each rule raises once per project and
month, never again for a resend, and clears when the fact that cures it arrives.

The rules apply 保障农民工工资支付条例 (2020): Art. 24 (labour cost paid into the account at
least monthly), Art. 26 (the wage special account), Art. 27 (the bank tells of labour cost
not paid in as agreed, for the early-warning system), Art. 28 (real-name registration and
labour contracts), Art. 29 (the builder puts the labour cost into the account in time),
Art. 30 (the subcontractor answers for real-name management and pay), Art. 31 (wages paid
through the special account into each worker's own account), Art. 32 (the wage deposit,
a bank guarantee in its place), Arts. 12 and 14 (the pay date).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from hub import NativeMessage
from hub.casework import risks
from hub.ids import BEIJING
from hub.store.models import Outbox, ProjectRisk, Record
from schemas.validators import id_check_char

BANK = "102451000018"
ACC = "1602002419200123456"
P = "37010320237001"
BUILDER = "91370103P0G7QEYF7X"
CONTRACTOR = "91370103QEFLCR639M"


def wid(i: int) -> str:
    first17 = f"370103{1970 + i}0101{i:03d}"
    return first17 + id_check_char(first17)


class Site:
    """One project's feeds, sent through a hub's pipeline as the agencies send them."""

    def __init__(self, hub):
        self.hub = hub
        self.n = 0

    def send(self, agency: str, body: bytes, kind: str, message_id: str | None = None):
        self.n += 1
        (outcome,) = self.hub.pipeline.process([NativeMessage(
            agency=agency, body=body, message_id=message_id or f"m{self.n}",
            content_type="text/plain" if agency == "bank" else "text/csv",
            content_encoding="gb18030" if agency == "bank" else "utf-8-sig", kind=kind)])
        assert outcome.status == "accepted" and not outcome.failures, [f.reason for f in outcome.failures]
        return outcome

    def csv(self, kind: str, header: str, rows: list[str], message_id: str | None = None):
        return self.send("housing", ("\ufeff" + header + "\r\n" + "".join(r + "\r\n" for r in rows)).encode(), kind,
                         message_id)

    def project(self, special_account="是", deposit="100000", real_name="是", status="在建"):
        return self.csv("PROJECT", "项目编号,项目名称,所属区划,建设单位统一社会信用代码,总包单位统一社会信用代码,总包单位名称,"
                        "开工日期,专用账户,工资保证金(元),实名制,状态",
                        [f"{P},预警测试工程,370103,{BUILDER},{CONTRACTOR},山东鲁建建工集团有限公司,2023-01-05,"
                         f"{special_account},{deposit},{real_name},{status}"])

    def roster(self, *workers: int, entered="2023-03-01", left=""):
        return self.csv("ROSTER", "项目编号,工人姓名,身份证号,班组,工种,进场日期,退场日期,劳务企业统一社会信用代码",
                        [f"{P},工人{i},{wid(i)},钢筋班,钢筋工,{entered},{left}," for i in workers])

    def contract(self, worker: int, basis="日", rate="300"):
        return self.csv("CONTRACT", "合同编号,项目编号,身份证号,工人姓名,用工单位统一社会信用代码,签订日期,计薪方式,工资标准(元),终止日期",
                        [f"HT{worker:04d},{P},{wid(worker)},工人{worker},{CONTRACTOR},2023-02-27,{basis},{rate},"])

    def payroll(self, month: str, rows: list[tuple], message_id: str | None = None):
        """rows: (worker, days, due, paid, paid_on, method)"""
        return self.csv("PAYROLL", "项目编号,工人姓名,身份证号,所属月份,出勤天数,应发工资(元),实发工资(元),发放日期,发放方式",
                        [f"{P},工人{w},{wid(w)},{month},{d},{due},{paid},{on},{how}" for w, d, due, paid, on, how in rows],
                        message_id)

    def bank(self, kind: str, details: list[str], batch: str, message_id: str | None = None):
        at = {"PAYOUT": 5, "DEPOSIT": 4, "GUARANTEE": 4, "MISSED": 4}[kind]
        total = sum(int(d.split("|")[at]) for d in details)
        body = "\r\n".join([f"H|{BANK}|{kind}|{batch}|20230510|{len(details)}", *details,
                            f"T|{len(details)}|{total}"]) + "\r\n"
        return self.send("bank", body.encode("gb18030"), kind, message_id)

    def deposit(self, month: str, fen: int, batch: str):
        ym = month.replace("-", "")
        return self.bank("DEPOSIT", [f"D|{P}|{ACC}|{ym}28|{fen}|{BUILDER}|{ym}"], batch)

    def missed(self, month: str, due: int, credited: int, batch: str):
        return self.bank("MISSED", [f"D|{P}|{ACC}|{month.replace('-', '')}|{due}|{credited}|{BUILDER}"], batch)

    def payout(self, worker: int, fen: int, on: str, batch: str, ok=True):
        result = "0|" if ok else "1|账户冻结"
        return self.bank("PAYOUT", [f"D|{P}|{ACC}|{wid(worker)}|工人{worker}|{fen}|{on}|{result}"], batch)

    def guarantee(self, kind: int, fen: int, on: str, batch: str, number=""):
        return self.bank("GUARANTEE", [f"D|{P}|{CONTRACTOR}|{kind}|{fen}|{on}|{number}"], batch)

    def notices(self, to: str = "hrss") -> list[tuple]:
        """(rule, status, month) of the risk records sent to ``to``, in order."""
        with self.hub.store.sessions() as session:
            rows = session.scalars(select(Outbox).where(Outbox.record_type == "risk", Outbox.recipient == to)
                                   .order_by(Outbox.id)).all()
            return [(r.payload["record"]["rule"], r.payload["record"].get("status"), r.payload["record"].get("month"))
                    for r in rows]

    def kinds(self) -> list[str]:
        with self.hub.store.sessions() as session:
            return [r.payload["params"]["notice_kind"] for r in session.scalars(
                select(Outbox).where(Outbox.record_type == "risk", Outbox.recipient == "hrss").order_by(Outbox.id))]

    def state(self, rule: str, month: str | None = None) -> str | None:
        with self.hub.store.sessions() as session:
            row = session.get(ProjectRisk, f"{rule}|{P}|{month or '-'}")
            return row.status if row else None


@pytest.fixture
def site(hub):
    return Site(hub)


def raised(rule, month=None):
    return (rule, "raised", month)


def cleared(rule, month=None):
    return (rule, "cleared", month)


# -- the bank's rules -----------------------------------------------------------------------------

def test_missed_labour_cost_raises_and_a_deposit_for_the_month_clears_it(site):
    """Arts. 27, 29: the bank's MISSED notice is a risk until the month's labour cost is in."""
    site.project()
    site.missed("2023-04", 4315500, 2517900, "Q1")
    assert site.notices() == [raised("missed-labour-cost", "2023-04")]
    assert site.kinds() == ["BANK_RISK"]
    site.deposit("2023-03", 1797600, "R0")  # another month's money cures nothing
    assert site.state("missed-labour-cost", "2023-04") == "raised"
    site.deposit("2023-04", 1797600, "R1")
    assert site.notices() == [raised("missed-labour-cost", "2023-04"), cleared("missed-labour-cost", "2023-04")]
    assert site.notices("housing") == [("missed-labour-cost", None, "2023-04")]  # housing: the warning only


def test_no_deposit_for_a_month_with_workers_on_site_is_missed_labour_cost(site):
    """Art. 24: labour cost at least monthly; the roster shows who was on site (Art. 28)."""
    site.project()
    site.roster(1, 2)
    site.deposit("2023-03", 1200000, "R1")
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-10", "银行代发"),
                             (2, 22, "6000", "6000", "2023-05-10", "银行代发")])
    assert raised("missed-labour-cost", "2023-04") in site.notices()
    assert site.state("missed-labour-cost", "2023-03") is None
    site.deposit("2023-04", 1200000, "R2")
    assert site.notices()[-1] == cleared("missed-labour-cost", "2023-04")


def test_a_failed_payout_not_paid_again_raises_and_the_successful_payout_clears(site):
    """Art. 31: wages reach each worker's own account; a failed payout must be paid again."""
    site.payout(1, 600000, "20230510", "D1", ok=False)
    assert site.notices() == [raised("payout-failed", "2023-05")]
    site.payout(1, 600000, "20230512", "D2")
    assert site.notices()[-1] == cleared("payout-failed", "2023-05")


def test_a_failed_payout_waits_its_retry_days_before_it_is_raised(site):
    today = dt.datetime.now(BEIJING).date()
    site.payout(1, 600000, today.strftime("%Y%m%d"), "D1", ok=False)
    assert site.notices() == [] and site.state("payout-failed", today.isoformat()[:7]) == "pending"
    retry = site.hub.settings["risks"]["payout_retry_days"]
    when = dt.datetime.combine(today + dt.timedelta(days=retry + 1), dt.time(0, 0), tzinfo=BEIJING)
    assert risks.sweep(site.hub.pipeline, when) == 1
    assert site.notices() == [raised("payout-failed", today.isoformat()[:7])]
    assert risks.sweep(site.hub.pipeline, when) == 0  # once


def test_a_special_account_payroll_row_without_a_payout_is_a_risk_until_the_bank_pays(site):
    """Art. 31: 专户代发 means the bank paid the worker from the special account."""
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-10", "专户代发")])
    assert site.notices() == [raised("payout-missing", "2023-04")]
    site.payout(1, 600000, "20230510", "D1")
    assert site.notices()[-1] == cleared("payout-missing", "2023-04")


def test_cash_is_a_risk_and_a_corrected_row_clears_it(site):
    """Art. 31: on a construction project wages go through the special account, not cash."""
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-10", "现金")])
    assert site.notices() == [raised("cash-payment", "2023-04")]
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-10", "银行代发")])
    assert site.notices()[-1] == cleared("cash-payment", "2023-04")


def test_a_drawn_deposit_not_topped_up_raises_and_the_top_up_clears(site):
    """Art. 32: the wage deposit drawn to pay arrears is to be made up."""
    site.guarantee(1, 10000000, "20230110", "G1")
    site.guarantee(3, 3000000, "20230301", "G2")
    assert site.notices() == [raised("deposit-not-topped-up", "2023-03")]
    site.guarantee(1, 1000000, "20230310", "G3")  # not enough
    assert site.state("deposit-not-topped-up", "2023-03") == "raised"
    site.guarantee(1, 2000000, "20230315", "G4")
    assert site.notices()[-1] == cleared("deposit-not-topped-up", "2023-03")


# -- the project's rules --------------------------------------------------------------------------

def test_no_wage_deposit_is_cleared_by_a_bank_guarantee(site):
    """Art. 32: a bank guarantee may stand in for the cash deposit."""
    site.project(deposit="0")
    assert site.notices() == [raised("no-wage-deposit")]
    assert site.kinds() == ["PROJECT_RISK"]
    site.guarantee(2, 50000000, "20230120", "G1", number="LG1")
    assert site.notices()[-1] == cleared("no-wage-deposit")


def test_a_returned_guarantee_is_no_deposit_again(site):
    site.project(deposit="0")
    site.guarantee(2, 50000000, "20230120", "G1", number="LG1")
    site.guarantee(4, 50000000, "20230601", "G2", number="LG1")
    assert site.notices() == [raised("no-wage-deposit"), cleared("no-wage-deposit"), raised("no-wage-deposit")]


def test_no_special_account_clears_when_the_bank_reports_a_deposit(site):
    """Art. 26: the general contractor opens a wage special account; the bank's deposit shows it."""
    site.project(special_account="否")
    assert site.notices() == [raised("no-special-account")]
    site.deposit("2023-03", 100, "R1")
    assert site.notices()[-1] == cleared("no-special-account")


def test_no_real_name_clears_with_a_roster_or_the_platform_saying_so(site):
    """Art. 28: real-name registration."""
    site.project(real_name="否")
    assert site.notices() == [raised("no-real-name")]
    site.project(real_name="是")
    assert site.notices()[-1] == cleared("no-real-name")


def test_a_completed_project_raises_no_project_risk(site):
    site.project(special_account="否", deposit="0", real_name="否", status="竣工")
    assert site.notices() == []


# -- the payroll's rules and the pay date ----------------------------------------------------------

def test_a_shortfall_waits_for_payday_and_is_raised_on_it(site):
    """Arts. 12, 14: wages are due by the pay date; a batch sent before it raises nothing."""
    month = dt.datetime.now(BEIJING).date().isoformat()[:7]
    site.project()
    site.payroll(month, [(1, 20, "6000", "0", "", "银行代发")])
    assert site.notices() == [] and site.state("payroll-shortfall", month) == "pending"
    payday = risks.pay_day(month, "370103", site.hub.settings["risks"])
    assert payday.day == 15 and payday.month != int(month[5:])
    just_before = dt.datetime.combine(payday, dt.time(23, 0), tzinfo=BEIJING)
    assert risks.sweep(site.hub.pipeline, just_before) == 0
    after = dt.datetime.combine(payday + dt.timedelta(days=1), dt.time(0, 0, 1), tzinfo=BEIJING)
    assert risks.sweep(site.hub.pipeline, after) == 1
    assert site.notices() == [raised("payroll-shortfall", month)] and site.kinds() == ["PAYROLL_SHORTFALL"]


def test_a_shortfall_paid_before_payday_is_never_raised(site):
    month = dt.datetime.now(BEIJING).date().isoformat()[:7]
    site.payroll(month, [(1, 20, "6000", "0", "", "银行代发")])
    site.payroll(month, [(1, 20, "6000", "6000", dt.datetime.now(BEIJING).date().isoformat(), "银行代发")])
    assert site.state("payroll-shortfall", month) is None
    assert risks.sweep(site.hub.pipeline, dt.datetime.now(BEIJING) + dt.timedelta(days=80)) == 0
    assert site.notices() == []


def test_the_province_sets_its_own_payday(hub):
    cfg = dict(hub.settings["risks"], pay_days={"370000": 10})
    assert risks.pay_day("2023-04", "370103", cfg) == dt.date(2023, 5, 10)
    assert risks.pay_day("2023-04", "440103", cfg) == dt.date(2023, 5, 15)
    assert risks.pay_day("2023-01", None, dict(cfg, pay_day=31)) == dt.date(2023, 2, 28)


def test_a_shortfall_past_payday_raises_and_full_pay_clears_it(site):
    site.payroll("2023-04", [(1, 22, "6000", "0", "", "银行代发"), (2, 22, "6000", "6000", "2023-05-10", "银行代发")])
    assert site.notices() == [raised("payroll-shortfall", "2023-04")]
    with site.hub.store.sessions() as session:
        (r,) = session.scalars(select(Outbox).where(Outbox.record_type == "risk", Outbox.recipient == "hrss")).all()
        record = r.payload["record"]
    assert (record["worker_count"], record["amount_short"], record["amount_due"]) == (1, "6000.00", "6000.00")
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-14", "银行代发")])
    assert site.notices()[-1] == cleared("payroll-shortfall", "2023-04")


def test_payment_after_payday_is_late(site):
    """Arts. 12, 14: paid, but after the date."""
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-20", "银行代发")])
    assert site.notices() == [raised("late-payment", "2023-04")]


def test_a_rostered_worker_without_a_payroll_row_raises_and_the_row_clears(site):
    """Arts. 28, 30: whoever is on the real-name roster is paid; a worker missing from the payroll is a risk."""
    site.roster(1, 2)
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-10", "银行代发")])
    assert raised("unpaid-rostered-worker", "2023-04") in site.notices()
    site.payroll("2023-04", [(2, 22, "6000", "6000", "2023-05-10", "银行代发")])
    assert site.notices()[-1] == cleared("unpaid-rostered-worker", "2023-04")


def test_a_worker_who_left_is_not_expected_on_the_payroll(site):
    site.roster(1)
    site.roster(2, left="2023-03-20")
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-10", "银行代发")])
    assert not any(rule == "unpaid-rostered-worker" for rule, *_ in site.notices())


def test_pay_below_the_contracted_wage_raises_and_a_corrected_row_clears(site):
    """The labour contract's wage (Art. 28: a contract with each worker) for the days worked."""
    site.contract(1, "日", "300")
    site.payroll("2023-04", [(1, 20, "4000", "4000", "2023-05-10", "银行代发")])  # 300 x 20 x 0.8 = 4800
    assert site.notices() == [raised("below-contract", "2023-04")]
    site.payroll("2023-04", [(1, 20, "5000", "5000", "2023-05-10", "银行代发")])
    assert site.notices()[-1] == cleared("below-contract", "2023-04")


def test_a_monthly_contract_is_judged_by_the_share_of_the_month_worked(site):
    site.contract(1, "月", "6525")
    site.payroll("2023-04", [(1, 10, "3000", "3000", "2023-05-10", "银行代发")])  # 6525 x 10/21.75 = 3000
    assert site.notices() == []


# -- once, never twice -----------------------------------------------------------------------------

def test_a_resend_raises_nothing_again(site):
    site.payout(1, 600000, "20230510", "D1", ok=False)
    site.payout(1, 600000, "20230510", "D1", ok=False)  # the same batch, another message id
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-10", "现金"), (2, 22, "6000", "6000", "2023-05-10", "现金")])
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-10", "现金")])  # one row sent again
    assert site.notices() == [raised("payout-failed", "2023-05"), raised("cash-payment", "2023-04")]


def test_a_rule_switched_off_raises_nothing(site):
    site.hub.settings["risks"]["rules"]["cash-payment"] = False
    site.payroll("2023-04", [(1, 22, "6000", "6000", "2023-05-10", "现金")])
    assert site.notices() == []


def test_a_risk_is_a_record_on_the_project_matter_with_what_raised_it(site):
    site.project(deposit="0")
    with site.hub.store.sessions() as session:
        project = session.scalars(select(Record).where(Record.type == "project")).one()
        risk = session.scalars(select(Record).where(Record.type == "risk")).one()
    assert risk.matter_id == project.matter_id
    assert risk.data["raised_by"] == project.record_id and risk.data["source"].endswith("Art. 32")
    assert risk.data["region_code"] == "370103"
