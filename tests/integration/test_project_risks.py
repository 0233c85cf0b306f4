"""A whole construction project through the hub's queues: it starts well, misses a month's
labour cost, fails two payouts, pays one worker in cash, and is cured. Labour inspection and
the construction department receive exactly the expected warnings, in order, each in its
own format (hrss NOTICE BANK_RISK, housing RISK), raised once and cleared by the curing
fact. 保障农民工工资支付条例 Arts. 27, 29 (labour cost into the special account, the bank
tells of what was missed), Art. 31 (wages through the special account into each worker's
own account, not cash).
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from schemas.validators import id_check_char
from tests.helpers import wait_for

BANK = "102451000018"
ACC = "1602002419200123456"
P = "37010320237777"
BUILDER = "91370103P0G7QEYF7X"
CONTRACTOR = "91370103QEFLCR639M"


def wid(i: int) -> str:
    first17 = f"370103{1980 + i}0202{i:03d}"
    return first17 + id_check_char(first17)


def housing(header: str, rows: list[str]) -> bytes:
    return ("\ufeff" + header + "\r\n" + "".join(r + "\r\n" for r in rows)).encode("utf-8")


def bank(kind: str, batch: str, details: list[str]) -> bytes:
    at = {"PAYOUT": 5, "DEPOSIT": 4, "MISSED": 4}[kind]
    total = sum(int(d.split("|")[at]) for d in details)
    return ("\r\n".join([f"H|{BANK}|{kind}|{batch}|20230601|{len(details)}", *details,
                         f"T|{len(details)}|{total}"]) + "\r\n").encode("gb18030")


PROJECT = housing("项目编号,项目名称,所属区划,建设单位统一社会信用代码,总包单位统一社会信用代码,总包单位名称,开工日期,专用账户,"
                  "工资保证金(元),实名制,状态",
                  [f"{P},示范工程,370103,{BUILDER},{CONTRACTOR},山东鲁建建工集团有限公司,2023-02-20,是,200000,是,在建"])
ROSTER = housing("项目编号,工人姓名,身份证号,班组,工种,进场日期,退场日期,劳务企业统一社会信用代码",
                 [f"{P},工人{i},{wid(i)},钢筋班,钢筋工,2023-03-01,," for i in (1, 2, 3)])
PAYROLL_HEADER = "项目编号,工人姓名,身份证号,所属月份,出勤天数,应发工资(元),实发工资(元),发放日期,发放方式"


def payroll(month: str, rows: list[tuple[int, str, str]]) -> bytes:
    return housing(PAYROLL_HEADER, [f"{P},工人{w},{wid(w)},{month},22,6000,6000,{on},{how}" for w, on, how in rows])


def payouts(batch: str, day: str, rows: list[tuple[int, bool]]) -> bytes:
    return bank("PAYOUT", batch, [f"D|{P}|{ACC}|{wid(w)}|工人{w}|600000|{day}|{'0|' if ok else '1|户名不符'}"
                                  for w, ok in rows])


def deposit(batch: str, month: str, fen: int) -> bytes:
    return bank("DEPOSIT", batch, [f"D|{P}|{ACC}|{month}25|{fen}|{BUILDER}|{month}"])


STORY = [
    # it starts well: March funded, paid through the account, on the payroll
    ("housing", "PROJECT", PROJECT),
    ("housing", "ROSTER", ROSTER),
    ("bank", "DEPOSIT", deposit("RG03", "202303", 1800000)),
    ("bank", "PAYOUT", payouts("DF03", "20230410", [(1, True), (2, True), (3, True)])),
    ("housing", "PAYROLL", payroll("2023-03", [(1, "2023-04-10", "专户代发"), (2, "2023-04-10", "专户代发"),
                                               (3, "2023-04-10", "专户代发")])),
    # April's labour cost is missed; two payouts fail; one worker is paid in cash
    ("bank", "MISSED", bank("MISSED", "QB04", [f"D|{P}|{ACC}|202304|1800000|600000|{BUILDER}"])),
    ("bank", "PAYOUT", payouts("DF04", "20230510", [(1, False), (2, False)])),
    ("housing", "PAYROLL", payroll("2023-04", [(1, "2023-05-10", "专户代发"), (2, "2023-05-10", "专户代发"),
                                               (3, "2023-05-10", "现金")])),
    # the same failed payouts sent again: nothing new
    ("bank", "PAYOUT", payouts("DF04", "20230510", [(1, False), (2, False)])),
    # cured: the labour cost comes in, the workers are paid again through the account, the
    # cash row is corrected once the bank has paid that worker too
    ("bank", "DEPOSIT", deposit("RG04", "202304", 1200000)),
    ("bank", "PAYOUT", payouts("DF05", "20230512", [(1, True), (2, True), (3, True)])),
    ("housing", "PAYROLL", payroll("2023-04", [(3, "2023-05-12", "专户代发")])),
]

RAISED = [("missed-labour-cost", "2023-04"), ("payout-failed", "2023-05"), ("payout-missing", "2023-04"),
          ("cash-payment", "2023-04")]


@pytest.fixture
def running(settings):
    from hub.runtime import Hub, Workers

    hub = Hub(settings)
    hub.declare_topology()
    with Workers(hub):
        yield hub
    hub.shutdown()


def test_a_project_that_misses_a_month_fails_payouts_pays_cash_and_is_cured(running, agency):
    from sqlalchemy import select

    from hub.store.models import Inbox

    for i, (to, kind, body) in enumerate(STORY):
        encoding = "gb18030" if to == "bank" else "utf-8-sig"
        agency.publish(to, body, message_id=f"story-{i}", content_type="text/plain" if to == "bank" else "text/csv",
                       content_encoding=encoding, headers={"x-wagehub-kind": kind})

        def taken(i=i):
            with running.store.sessions() as session:
                return session.scalars(select(Inbox).where(Inbox.message_id == f"story-{i}")).first() is not None

        wait_for(taken)  # one after the other, as the facts happened

    hrss = agency.receive("hrss", 8)
    notices = [json.loads(m.raw)["data"] for m in hrss]
    assert [(n["kind"], n["record"]["rule"], n["record"]["status"], n["record"].get("month")) for n in notices] == [
        *[("BANK_RISK", rule, "raised", month) for rule, month in RAISED],
        *[("BANK_RISK", rule, "cleared", month) for rule, month in RAISED],
    ]
    missed = notices[0]["record"]
    assert missed["amountFen" if "amountFen" in missed else "amount"] == 1200000  # money back in fen
    assert missed["project_name"] == "示范工程" and missed["source"].endswith("Arts. 24, 27, 29")
    assert notices[1]["record"]["worker_count"] == 2 and notices[2]["record"]["worker_count"] == 2
    # each clearing names its warning's number and the fact that cured it
    assert [n["record"]["risk_no"] for n in notices[4:]] == [n["record"]["risk_no"] for n in notices[:4]]
    assert all(n["record"]["cleared_by"] for n in notices[4:])
    assert all(not any(wid(w) in json.dumps(n, ensure_ascii=False) for w in (1, 2, 3)) for n in notices)

    rows = []
    for m in agency.receive("housing", 4):
        assert m.raw.startswith(b"\xef\xbb\xbf")
        header, row = list(csv.reader(io.StringIO(m.raw.decode("utf-8-sig"))))
        assert header == ["预警编号", "项目编号", "规则", "所属月份", "金额(元)", "说明", "预警日期"]
        rows.append(row)
    assert [(r[1], r[2], r[3]) for r in rows] == [(P, rule, month) for rule, month in RAISED]
    assert [r[0] for r in rows] == [n["record"]["risk_no"] for n in notices[:4]]
    assert rows[0][4] == "12000.00"
    # exactly those: nothing more on either queue
    assert agency.drain("hrss", wait=1.5) == [] and agency.drain("housing", wait=0.5) == []
