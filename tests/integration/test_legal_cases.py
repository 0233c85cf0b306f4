"""Legal cases, table-driven: each a sequence of native messages through the hub, with the
dossier result, the steps and the escalations a careful prosecutor would expect.

Each case names the text it tests. The texts:

- Criminal Law Art. 276-1 (拒不支付劳动报酬罪), Art. 99 ("以上" includes the figure);
- 2013 interpretation (最高人民法院关于审理拒不支付劳动报酬刑事案件适用法律若干问题的解释):
  Art. 3 (relatively large: one worker, 3 months, 5,000-20,000 yuan; ten workers,
  30,000-100,000 yuan), Art. 7 (individuals without the standing to employ);
- 行政执法机关移送涉嫌犯罪案件的规定 ("移送规定"): Art. 5 (approval in 3 days, hand-over in
  24 hours), Art. 8 (the police decide in 3 days), Art. 9 (reconsideration asked in 3
  days and answered in 3; then the procuratorate's supervision), Art. 12;
- 公安机关办理刑事案件程序规定 Art. 180 (materials asked for);
- 劳动保障监察条例 Art. 17 (60 working days, extended by 30 with approval).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from hub.casework.transfers import transfer_view
from hub.contract.types import NativeMessage
from hub.ids import BEIJING
from hub.messaging import scheduler
from hub.store.models import DeadLetter, Deadline, Escalation, Outbox, Record

TRANSFER = "YS3701032023L001"
CASE = "AJ3701032023L001"
ORDER = "ZLZF3701032023L01"
CLUE = "XS3701032023L0001"
PROJECT = "37010320236387"
USCC = "91370103JURQ283F5B"
CONTRACTOR = "91370103QEFLCR639M"
# Long after every case (and after the hub's own clock, which times the linkage office's
# decisions): open steps are overdue.
NOW = dt.datetime.now(BEIJING) + dt.timedelta(days=30)


def id_number(n: int, born: str = "19800101") -> str:
    """A valid resident identity number (GB 11643 check character)."""
    body = f"370103{born}{n:03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights)) % 11]


BOSS = id_number(901, "19700305")  # an individual employer (包工头)


# -- native messages -------------------------------------------------------------------------

_seq = iter(range(1, 10**6))


def hrss(msg_type: str, **data) -> NativeMessage:
    n = next(_seq)
    doc = {"msgType": msg_type, "msgId": f"HRSS-L-{n}", "sendTime": "20230601090000", "data": data}
    return NativeMessage("hrss", json.dumps(doc, ensure_ascii=False).encode(), f"hrss-{n}", "application/json")


def police(packet: str, **body) -> NativeMessage:
    n = next(_seq)
    tags = "".join(f"<{k}>{v}</{k}>" for k, v in body.items())
    xml = (f'<?xml version="1.0" encoding="UTF-8"?><PACKET TYPE="{packet}" VERSION="1.0"><HEAD><XXBH>GA-L-{n}</XXBH>'
           f"<FSDW>370103000000</FSDW><FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY>{tags}</BODY></PACKET>")
    return NativeMessage("police", xml.encode(), f"police-{n}", "application/xml")


def court(doc_type: str, **body) -> NativeMessage:
    n = next(_seq)
    doc = {"doc_type": doc_type, "doc_id": f"FY-L-{n}", "issued_at": "2023-10-10T10:00:00+08:00", "body": body}
    return NativeMessage("court", json.dumps(doc, ensure_ascii=False).encode(), f"court-{n}", "application/json")


def housing(kind: str, header: str, *rows: str) -> NativeMessage:
    n = next(_seq)
    body = ("\ufeff" + "\n".join([header, *rows]) + "\n").encode()
    return NativeMessage("housing", body, f"housing-{n}", "text/csv", kind=kind)


def union(**row) -> NativeMessage:
    import openpyxl

    n = next(_seq)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(row))
    sheet.append(list(row.values()))
    out = io.BytesIO()
    book.save(out)
    return NativeMessage("union", out.getvalue(), f"union-{n}",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def clue(clue_no: str = CLUE, *, workers: int = 24, fen: int = 38284800, project: str | None = PROJECT,
         employer: dict | None = None, received: str = "20230522091000", complainant: int = 1,
         period: tuple[str, str] = ("202301", "202304")) -> NativeMessage:
    data = {"clueNo": clue_no, "channel": "01", "receivedTime": received, "areaCode": "370103",
            "complainant": {"name": "王春生", "idNo": id_number(complainant), "mobile": "13923720696"},
            "employer": employer or {"name": "海岱建筑劳务有限公司", "creditCode": USCC},
            "workerCount": workers, "amountFen": fen, "periodFrom": period[0], "periodTo": period[1]}
    if project:
        data["projectCode"] = project
    return hrss("CLUE", **data)


def case(status: str = "20", at: str = "20230522160000", **extra) -> NativeMessage:
    return hrss("CASE_STATUS", caseNo=CASE, clueNos=[CLUE], status=status, statusTime=at,
                firstContactTime="20230522110000", handler="370103劳动保障监察大队", **extra)


def order(*, issued: str = "20230601", due: str = "20230615", complied: str = "0", boss: bool = False,
          fen: int = 38284800) -> NativeMessage:
    who = {"employerIdNo": BOSS} if boss else {"creditCode": USCC}
    return hrss("PAY_ORDER", orderNo=ORDER, caseNo=CASE, amountFen=fen, issueDate=issued, dueDate=due,
                serveDate="20230602", complied=complied, **who)


def worker(i: int, yuan: int, months: tuple[str, str] = ("202301", "202304")) -> dict:
    return {"name": f"工人{i}", "idNo": id_number(100 + i), "amountFen": yuan * 100,
            "periodFrom": months[0], "periodTo": months[1]}


def transfer(*, on: str = "20230620", workers: list[dict] | None = None, count: int = 24, fen: int = 38284800,
             evidence: tuple[str, ...] = ("E01", "E02", "E03", "E04"), boss: bool = False,
             both: bool = False) -> NativeMessage:
    data: dict[str, Any] = {"transferNo": TRANSFER, "caseNo": CASE, "orderNo": ORDER,
                            "employerName": "张某某" if boss else "海岱建筑劳务有限公司",
                            "suspects": [{"name": "徐建国", "idNo": BOSS if boss else id_number(900, "19660121"),
                                          "role": "包工头" if boss else "法定代表人"}],
                            "workerCount": count, "amountFen": fen, "evidence": list(evidence),
                            "transferDate": on, "policeUnit": "370103000000", "summary": "经责令支付逾期仍不支付"}
    if boss or both:
        data["employerIdNo"] = BOSS
    if not boss or both:
        data["creditCode"] = USCC
    if workers is not None:
        data["workers"] = workers
    return hrss("TRANSFER", **data)


def receipt(at: str = "2023-06-21 09:30:00") -> NativeMessage:
    return police("AJJS", YSBH=TRANSFER, JSSJ=at, JSR="王德华")


def decision(kind: str, at: str, reason: str = "证据不足") -> NativeMessage:
    code = {"opened": "1", "declined": "2", "returned": "3"}[kind]
    body = {"YSBH": TRANSFER, "JDLX": code}
    if kind == "opened":
        body["LAAJBH"] = "A3701032023L001"
    body["JDSJ"] = at
    if kind != "opened":
        body["LY"] = reason
    return police("LAJD", **body)


def materials(at: str) -> NativeMessage:
    return police("BCCL", YSBH=TRANSFER, QSCL="缺少工资表原件", TZSJ=at)


def reconsider(on: str) -> NativeMessage:
    return hrss("RECONSIDER", transferNo=TRANSFER, requestDate=on, reason="有证据证明有能力支付而不支付")


def reconsidered(kind: str, at: str) -> NativeMessage:
    body = {"YSBH": TRANSFER, "JDLX": "1" if kind == "opened" else "2"}
    if kind == "opened":
        body["LAAJBH"] = "A3701032023L001"
    body["JDSJ"] = at
    if kind != "opened":
        body["LY"] = "维持原决定"
    return police("FYJD", **body)


def supervise(on: str) -> NativeMessage:
    return hrss("SUPERVISE", transferNo=TRANSFER, requestDate=on, reason="复议维持不予立案，建议立案监督")


def extension(days: int, on: str = "20230801") -> NativeMessage:
    return hrss("EXTENSION", caseNo=CASE, approvedDate=on, workingDays=days, reason="案情复杂")


def payment(fen: int, on: str, full: bool, with_transfer: bool = True) -> NativeMessage:
    data = {"caseNo": CASE, "paidFen": fen, "paidDate": on, "paidWorkers": 24 if full else 3,
            "full": "1" if full else "0"}
    if with_transfer:
        data["transferNo"] = TRANSFER
    return hrss("PAYMENT", **data)


def enforcement(status: str, on: str = "2023-10-10") -> list[NativeMessage]:
    judgment = court("judgment", case_number="（2023）鲁0103刑初901号", court_code="FY370103", procedure="criminal", transfer_no=TRANSFER,
                     hrss_case_no=CASE, employer_credit_code=USCC, defendants=[{"name": "徐建国"}], verdict="guilty",
                     sentence_months=10, amount_ordered="382848.00", decided_on="2023-09-20")
    return [judgment, court("enforcement", case_number="(2023)鲁0103执901号",
                            judgment_case_number="（2023）鲁0103刑初901号", status=status,
                            amount_paid="382848.00" if status == "paid" else "0.00", updated_on=on)]


def project_row(code: str = PROJECT, contractor: str = CONTRACTOR) -> NativeMessage:
    return housing("PROJECT", "项目编号,项目名称,所属区划,建设单位统一社会信用代码,总包单位统一社会信用代码,总包单位名称,开工日期,"
                              "专用账户,工资保证金(元),实名制,状态",
                   f"{code},370103安置房二期工程,370103,91370103P0G7QEYF7X,{contractor},山东鲁建建工集团有限公司,"
                   "2023-01-05,否,0,是,在建")


def mediation(paid: str, pay_by: str = "2023-07-10", no: str = "TJ3701032023L01") -> NativeMessage:
    return union(**{"调解编号": no, "线索编号": CLUE, "案件编号": CASE, "调解日期": "2023-06-25",
                    "单位名称": "海岱建筑劳务有限公司", "统一社会信用代码": USCC, "涉及人数": 24,
                    "争议金额(元)": 382848, "调解结果": "成功", "约定支付金额(元)": 382848,
                    "已支付金额(元)": paid, "约定支付期限": pay_by, "调解员": "李调解"})


def base(*, boss: bool = False) -> list[NativeMessage]:
    """Complaint, case opened, order to pay served and past due: the ground of every transfer."""
    employer = {"name": "张某某", "idNo": BOSS} if boss else None
    return [clue(employer=employer), case(), order(boss=boss)]


FIVE = [worker(1, 20000), worker(2, 500, ("202303", "202304")), worker(3, 500, ("202303", "202304")),
        worker(4, 500, ("202304", "202304")), worker(5, 500, ("202304", "202304"))]
TEN_AT_FLOOR = [worker(i, 3000) for i in range(1, 11)]


def ten_one_fen_below() -> list[dict]:
    workers = [worker(i, 3000) for i in range(1, 11)]
    workers[-1]["amountFen"] -= 1
    return workers


# -- the table ---------------------------------------------------------------------------------

@dataclass
class Legal:
    name: str
    article: str
    messages: Callable[[], list[NativeMessage]]
    dossier: str | None = None              # hold status of the latest transfer record
    missing: list[str] | None = None        # its missing items
    steps: dict[str, str] = field(default_factory=dict)  # deadline key -> status at NOW
    no_overdue: bool = False                # no step of the matter overdue at NOW
    status: str | None = None               # the transfer's status
    escalated: set[tuple[str, str, str]] | None = None  # (rule, recipient, kind) sent at NOW (agency level)
    refused: tuple[str, str] | None = None  # (field, rule) of the last message, dead-lettered
    sent: list[tuple[str, str]] = field(default_factory=list)  # (recipient, kind) the hub must have written
    settings: dict[str, Any] = field(default_factory=dict)
    check: Callable[[Any, dict], None] | None = None  # anything else, given the hub and the result


def _amount(article_detail: str) -> Callable[[Any, dict], None]:
    def check(hub, result):
        detail = next(m["detail"] for m in result["view"]["dossier"]["missing"] if m["item"] == "amount")
        assert article_detail in detail
    return check


def _round_two(hub, result):
    rows = [o for o in result["outbox"] if o.recipient == "police" and o.record_type == "criminal_transfer"]
    assert [o.payload["params"]["round"] for o in rows] == [1, 2]
    second = result["rendered"][rows[1].message_id].body.decode("gb18030")
    assert 'TYPE="BCYS"' in second and "<BCCS>2</BCCS>" in second
    second = {d["key"]: d for d in result["view"]["steps"]}[f"police_decide:{TRANSFER}#2"]
    assert second["done_at"] >= second["start_at"]  # the bug: a second review "met" before it began


def _same_matter(*types: str):
    def check(hub, result):
        with hub.store.sessions() as session:
            matters = {t: set(session.scalars(select(Record.matter_id).where(Record.type == t))) for t in types}
        everything = set().union(*matters.values())
        assert len(everything) == 1, matters
    return check


def _moot_reason(text: str):
    def check(hub, result):
        moot = [s for s in result["steps"].values() if s["status"] == "moot"]
        assert moot and all(text in s["moot_reason"] for s in moot)
    return check


def _reopened(hub, result):
    steps = result["steps"]
    assert steps[f"first_contact:{CLUE}"]["status"] == "met"
    assert steps["first_contact:XS3701032023L0002"]["status"] == "overdue"  # the new complaint is live
    assert steps[f"order_due:{ORDER}"]["status"] == "moot"  # the first life stays closed


def _close_due(hub, result):
    step = result["steps"][f"close_case:{CASE}"]
    from hub.casework.deadlines import add_working_days
    assert step["due_at"].startswith(add_working_days(dt.date(2023, 5, 22), 80).isoformat())


def _individual_matters(hub, result):
    with hub.store.sessions() as session:
        clues = set(session.scalars(select(Record.matter_id).where(Record.type == "clue")))
    assert len(clues) == 1  # two complaints about one 包工头 and project, joined by his hashed identity number
    assert result["view"]["dossier"]["complete"] and result["view"]["employer"]["id_number"] == BOSS


def _linkage_only(hub, result):
    scheduler.escalate(hub, NOW)
    with hub.store.sessions() as session:
        escalations = list(session.scalars(select(Escalation)))
        sent = list(session.scalars(select(Outbox).where(Outbox.record_type == "escalation")))
    # the linkage office's own step: listed for it (GET /api/v1/escalations), no agency owes it
    assert any(e.deadline_key.startswith("linkage_decide:") and e.owner == "linkage" for e in escalations)
    assert not [o for o in sent if o.payload["record"]["rule"] == "linkage_decide"]


def _answered(hub, result):
    assert result["steps"][f"housing_answer:{CLUE}"]["status"] == "met"
    assert result["outcomes"][-1].status == "accepted"


def answer(result: str = "已解决") -> Callable[[Any], NativeMessage]:
    """The construction department's answer, quoting the number the hub gave its assignment."""
    def build(hub) -> NativeMessage:
        with hub.store.sessions() as session:
            sent = session.scalars(select(Outbox.message_id).where(Outbox.recipient == "housing",
                                                                   Outbox.record_type == "clue")).first()
        return housing("ANSWER", "交办编号,答复日期,处理结果,已支付金额(元),备注",
                       f"{sent or 'out_unknown'},2023-05-30,{result},0,已督促总包清偿")
    return build


def _reminder(hub, result):
    scheduler.escalate(hub, NOW)
    with hub.store.sessions() as session:
        [row] = session.scalars(select(Outbox).where(Outbox.record_type == "escalation",
                                                     Outbox.recipient == "housing"))
        assigned = session.scalars(select(Outbox.message_id).where(Outbox.recipient == "housing",
                                                                   Outbox.record_type == "clue")).one()
    assert row.kind == "REMINDER" and row.payload["record"]["assignment_no"] == assigned
    assert row.payload["record"]["clue_no"] == CLUE


def _supervision_level(hub, result):
    """Unanswered after the grace hours: the police get a second reminder (level 2) and the
    supervisory recipients hear of it too."""
    scheduler.escalate(hub, NOW)
    later = NOW + dt.timedelta(hours=hub.settings["linkage"]["escalation_grace_hours"] + 1)
    scheduler.escalate(hub, later)
    with hub.store.sessions() as session:
        rows = [o for o in session.scalars(select(Outbox).where(Outbox.record_type == "escalation"))
                if o.payload["record"]["rule"] == "police_decide"]
    got = sorted((o.payload["record"]["level"], o.recipient, o.kind) for o in rows)
    # (the government of the matter's area hears of the supervisory level only)
    assert got == [("agency", "police", "CBTZ"), ("supervision", "gov", "ESCALATION"), ("supervision", "hrss", "NOTICE"),
                   ("supervision", "police", "CBTZ")]


def _extended_not_escalated(hub, result):
    """Between 60 and 60 + 20 working days the extended case is not overdue."""
    at = dt.datetime(2023, 9, 1, 12, 0, tzinfo=BEIJING)
    scheduler.escalate(hub, at)
    with hub.store.sessions() as session:
        rules = {o.payload["record"]["rule"] for o in session.scalars(
            select(Outbox).where(Outbox.record_type == "escalation"))}
    assert "order_due" in rules and "close_case" not in rules


def payroll(month: str = "2023-04") -> NativeMessage:
    return housing("PAYROLL", "项目编号,工人姓名,身份证号,所属月份,出勤天数,应发工资(元),实发工资(元),发放日期,发放方式",
                   f"{PROJECT},高秀英,{id_number(300)},{month},22,6704,0,,专户代发")


def _apart(hub, result):
    with hub.store.sessions() as session:
        assert len(set(session.scalars(select(Record.matter_id).where(Record.type == "project")))) == 2


def _recheck_current(hub, result):
    assert [m["item"] for m in result["view"]["dossier"]["missing"]] == ["evidence.E03"]


CASES = [
    # 1. the amount: 2013 interpretation Art. 3, per worker, never averaged
    Legal("one_worker_among_five_is_relatively_large", "2013 interpretation Art. 3 (1)",
          lambda: [*base(), transfer(workers=FIVE, count=5, fen=2200000)], dossier="passed"),
    Legal("no_worker_reaches_three_months_is_held_whatever_the_average", "2013 interpretation Art. 3 (1)",
          lambda: [*base(), transfer(workers=[worker(i, 6000, ("202303", "202304")) for i in range(1, 5)],
                                     count=4, fen=2400000)],
          dossier="held", missing=["amount"]),
    Legal("one_worker_below_the_floor_for_four_months_is_held", "2013 interpretation Art. 3 (1)",
          lambda: [*base(), transfer(workers=[worker(1, 4999), worker(2, 1000)], count=2, fen=599900)],
          dossier="held", missing=["amount"]),
    Legal("ten_workers_at_the_collective_floor_pass", "2013 interpretation Art. 3 (2); Criminal Law Art. 99",
          lambda: [*base(), transfer(workers=TEN_AT_FLOOR, count=10, fen=3000000)], dossier="passed"),
    Legal("ten_workers_one_fen_below_the_collective_floor_are_held", "2013 interpretation Art. 3 (2)",
          lambda: [*base(), transfer(workers=ten_one_fen_below(), count=10, fen=2999999)],
          dossier="held", missing=["amount"], check=_amount("29999.99 yuan for 10 worker(s)")),
    Legal("nine_workers_over_the_sum_are_not_collective", "2013 interpretation Art. 3 (2)",
          lambda: [*base(), transfer(workers=[worker(i, 4000) for i in range(1, 10)], count=9, fen=3600000)],
          dossier="held", missing=["amount"]),
    Legal("without_workers_the_one_worker_branch_is_not_judged", "2013 interpretation Art. 3 (1)",
          lambda: [*base(), transfer(count=8, fen=6000000)], dossier="held", missing=["amount"],
          check=_amount("could not be judged")),
    Legal("without_workers_the_collective_branch_still_passes", "2013 interpretation Art. 3 (2)",
          lambda: [*base(), transfer()], dossier="passed"),
    Legal("workers_on_the_case_serve_a_transfer_without_them", "2013 interpretation Art. 3 (1)",
          lambda: [clue(), case(workers=FIVE), order(), transfer(count=5, fen=2200000)], dossier="passed"),
    # individual employers: 2013 interpretation Art. 7
    Legal("an_individual_boss_is_transferred_without_business_registration", "2013 interpretation Art. 7",
          lambda: [clue(employer={"name": "张某某", "idNo": BOSS}),
                   clue("XS3701032023L0009", employer={"name": "张某某", "idNo": BOSS}, complainant=2),
                   case(), order(boss=True), transfer(boss=True, evidence=("E01", "E02", "E04"))],
          dossier="passed", sent=[("police", "AJYS")], check=_individual_matters),
    Legal("a_transfer_naming_both_a_company_and_a_person_is_refused", "2013 interpretation Art. 7",
          lambda: [*base(), transfer(both=True)], refused=("creditCode", "exactly-one")),
    Legal("workers_that_disagree_with_the_count_are_refused", "2013 interpretation Art. 3",
          lambda: [*base(), transfer(workers=FIVE, count=6, fen=2200000)], refused=("workerCount", "worker-count")),
    Legal("workers_that_disagree_with_the_amount_are_refused", "2013 interpretation Art. 3",
          lambda: [*base(), transfer(workers=FIVE, count=5, fen=2200001)], refused=("amountFen", "sum")),
    # 2. every statutory step, per round
    Legal("approval_runs_three_days_from_the_unpaid_order", "移送规定 Art. 5 ¶1",
          lambda: base(), steps={f"transfer_approve:{ORDER}": "overdue"},
          escalated={("transfer_approve", "hrss", "NOTICE"), ("order_due", "hrss", "NOTICE"),
                     ("close_case", "hrss", "NOTICE"), ("housing_answer", "housing", "REMINDER")}),
    Legal("approval_and_hand_over_done_by_the_transfer", "移送规定 Art. 5",
          lambda: [*base(), transfer(on="20230617"), receipt("2023-06-17 15:00:00"),
                   decision("opened", "2023-06-19 10:00:00")],
          steps={f"transfer_approve:{ORDER}": "met", f"transfer_handover:{TRANSFER}#1": "met",
                 f"police_decide:{TRANSFER}#1": "met", f"handover_after_opening:{TRANSFER}#1": "overdue"},
          status="opened"),
    Legal("a_police_decision_after_three_days_is_late", "移送规定 Art. 8",
          lambda: [*base(), transfer(), receipt(), decision("opened", "2023-06-28 15:00:00")],
          steps={f"police_decide:{TRANSFER}#1": "late"}),
    Legal("an_undecided_transfer_is_escalated_to_the_police_in_their_format", "移送规定 Art. 8",
          lambda: [*base(), transfer(), receipt()], steps={f"police_decide:{TRANSFER}#1": "overdue"},
          escalated={("police_decide", "police", "CBTZ"), ("order_due", "hrss", "NOTICE"), ("close_case", "hrss", "NOTICE"),
                     ("housing_answer", "housing", "REMINDER")}),
    Legal("an_unanswered_transfer_goes_on_to_supervision", "移送规定 Art. 8; city practice (督导)",
          lambda: [*base(), transfer(), receipt()], check=_supervision_level),
    Legal("a_resubmission_restarts_the_review_in_a_round_of_its_own", "公安机关办理刑事案件程序规定 Art. 180; 移送规定 Art. 8",
          lambda: [*base(), transfer(), receipt(), materials("2023-06-21 15:00:00"), transfer(on="20230623"),
                   receipt("2023-06-24 09:00:00"), decision("opened", "2023-06-25 10:00:00")],
          steps={f"police_decide:{TRANSFER}#1": "met", f"police_request_materials:{TRANSFER}#1": "met",
                 f"complete_materials:{TRANSFER}#1": "met", f"police_decide:{TRANSFER}#2": "met"},
          status="opened", check=_round_two),
    Legal("a_resubmission_after_a_returned_decision_1_1", "公安机关办理刑事案件程序规定 Art. 180",
          lambda: [*base(), transfer(), receipt(), decision("returned", "2023-06-23 10:00:00"),
                   transfer(on="20230630"), receipt("2023-06-30 15:00:00")],
          steps={f"police_request_materials:{TRANSFER}#1": "late", f"complete_materials:{TRANSFER}#1": "late",
                 f"police_decide:{TRANSFER}#2": "overdue"}, status="received"),
    Legal("a_reconsideration_that_opens_the_case", "移送规定 Art. 9",
          lambda: [*base(), transfer(), receipt(), decision("declined", "2023-06-23 10:00:00"),
                   reconsider("20230625"), reconsidered("opened", "2023-06-27 16:00:00")],
          steps={f"reconsideration_request:{TRANSFER}#1": "met", f"reconsideration_answer:{TRANSFER}#1": "met",
                 f"handover_after_opening:{TRANSFER}#1": "overdue"},
          status="opened", sent=[("police", "FYSQ")]),
    Legal("a_reconsideration_asked_too_late", "移送规定 Art. 9",
          lambda: [*base(), transfer(), receipt(), decision("declined", "2023-06-23 10:00:00"),
                   reconsider("20230628")],
          steps={f"reconsideration_request:{TRANSFER}#1": "late", f"reconsideration_answer:{TRANSFER}#1": "overdue"},
          status="reconsidering"),
    Legal("an_unused_window_for_reconsideration_is_moot_not_overdue", "移送规定 Art. 9",
          lambda: [*base(), transfer(), receipt(), decision("declined", "2023-06-23 10:00:00")],
          steps={f"reconsideration_request:{TRANSFER}#1": "moot"}, status="declined"),
    Legal("an_upheld_decline_then_supervision", "移送规定 Art. 9",
          lambda: [*base(), transfer(), receipt(), decision("declined", "2023-06-23 10:00:00"),
                   reconsider("20230624"), reconsidered("upheld", "2023-06-26 10:00:00"), supervise("20230627")],
          steps={f"reconsideration_answer:{TRANSFER}#1": "met", f"supervision_request:{TRANSFER}#1": "met"},
          status="supervised"),
    Legal("a_reconsideration_for_a_transfer_never_declined_is_refused", "移送规定 Art. 9",
          lambda: [*base(), transfer(), receipt(), decision("opened", "2023-06-22 10:00:00"), reconsider("20230623")],
          refused=("transferNo", "declined-first")),
    Legal("supervision_without_an_upheld_reconsideration_is_refused", "移送规定 Art. 9",
          lambda: [*base(), transfer(), receipt(), decision("declined", "2023-06-23 10:00:00"), supervise("20230624")],
          refused=("transferNo", "upheld-first")),
    Legal("a_reconsideration_decision_nobody_asked_for_is_refused", "移送规定 Art. 9",
          lambda: [*base(), transfer(), receipt(), decision("declined", "2023-06-23 10:00:00"),
                   reconsidered("opened", "2023-06-24 10:00:00")],
          refused=("YSBH", "requested-first")),
    Legal("an_extension_moves_the_closing_deadline", "劳动保障监察条例 Art. 17",
          lambda: [*base(), extension(20)], check=_close_due),
    Legal("an_extended_case_is_not_escalated_before_its_extended_limit", "劳动保障监察条例 Art. 17",
          lambda: [*base(), extension(20)], check=_extended_not_escalated),
    Legal("extensions_over_thirty_working_days_are_refused", "劳动保障监察条例 Art. 17",
          lambda: [*base(), extension(20), extension(15, "20230810")], refused=("workingDays", "range")),
    Legal("the_linkage_office_decision_on_a_held_dossier_is_a_step", "city practice; 移送规定 Art. 5 ¶2",
          lambda: [*base(), transfer(evidence=("E01", "E02", "E04"))], dossier="held", missing=["evidence.E03"],
          steps={f"linkage_decide:{TRANSFER}#1": "overdue", f"transfer_handover:{TRANSFER}#1": "overdue"},
          check=_linkage_only),
    Legal("a_held_dossier_is_released_once_its_order_arrives", "移送规定 Art. 5 ¶2",
          lambda: [clue(), case(), transfer(), order()], dossier="released", sent=[("police", "AJYS")],
          steps={f"linkage_decide:{TRANSFER}#1": "met", f"transfer_handover:{TRANSFER}#1": "late"}),
    Legal("a_held_dossier_stays_held_when_release_is_the_office_s", "移送规定 Art. 5 ¶2 (setting)",
          lambda: [clue(), case(), transfer(), order()], dossier="held", missing=[],
          settings={"linkage": {"release_when_complete": False}}),
    Legal("a_held_dossier_s_missing_list_is_current", "2013 interpretation; 移送规定 Art. 5",
          lambda: [clue(), case(), transfer(evidence=("E01", "E02", "E04")), order()], dossier="held",
          check=_recheck_current),
    # 3. the end of a matter
    Legal("a_matter_paid_by_court_enforcement_has_no_overdue_step", "Criminal Law Art. 276-1 ¶3",
          lambda: [*base(), transfer(), receipt(), decision("opened", "2023-06-22 10:00:00"),
                   *enforcement("paid")],
          no_overdue=True, escalated=set(), status="closed", check=_moot_reason("court enforcement paid")),
    Legal("a_payment_in_full_moots_every_open_step", "Criminal Law Art. 276-1 ¶3",
          lambda: [*base(), transfer(), receipt(), payment(38284800, "20230622", full=True)],
          no_overdue=True, escalated=set(), sent=[("police", "ZFQK")],
          steps={f"police_decide:{TRANSFER}#1": "moot", f"order_due:{ORDER}": "moot"}),
    Legal("a_part_payment_reaches_the_police_and_moots_nothing", "Criminal Law Art. 276-1 ¶3",
          lambda: [*base(), transfer(), receipt(), payment(1000000, "20230622", full=False)],
          sent=[("police", "ZFQK")], steps={f"police_decide:{TRANSFER}#1": "overdue"}),
    Legal("a_closed_case_moots_its_steps", "劳动保障监察条例 Art. 17",
          lambda: [*base(), case("40", "20230616100000")],
          no_overdue=True, steps={f"close_case:{CASE}": "met", f"order_due:{ORDER}": "moot"}),
    Legal("a_later_unpaid_report_reopens_a_paid_matter", "Criminal Law Art. 276-1",
          lambda: [*base(), payment(38284800, "20230620", full=True, with_transfer=False),
                   clue("XS3701032023L0002", received="20230801091000", complainant=1)],
          check=_reopened),
    Legal("a_mediation_agreement_opens_a_pay_by_step", "劳动争议调解仲裁法 Art. 15",
          lambda: [clue(), mediation("0")], steps={"mediation_pay:TJ3701032023L01": "overdue"}),
    Legal("a_paid_mediation_agreement_ends_the_matter", "劳动争议调解仲裁法 Art. 15",
          lambda: [clue(), case(), mediation("0"), mediation("382848")], no_overdue=True,
          steps={"mediation_pay:TJ3701032023L01": "met"}),
    # the construction department's answer (三交办)
    Legal("the_housing_answer_closes_the_assignment", "city practice (三交办)",
          lambda: [clue(), answer()], check=_answered),
    Legal("an_answer_in_progress_leaves_the_assignment_open", "city practice (三交办)",
          lambda: [clue(), answer("处理中")], steps={f"housing_answer:{CLUE}": "overdue"}),
    Legal("an_answer_to_an_assignment_never_sent_is_refused", "city practice (三交办)",
          lambda: [clue(project=None), answer()], refused=("交办编号", "unknown-assignment")),
    Legal("an_overdue_assignment_is_reminded_in_housing_s_format", "city practice (三交办)",
          lambda: [clue()], check=_reminder),
    # 6. early warnings join the complaint
    Legal("a_project_warning_first_is_found_by_the_later_complaint", "city practice (early warning)",
          lambda: [project_row(), clue()], check=_same_matter("project", "clue")),
    Legal("a_payroll_shortfall_joins_the_complaint_about_its_project", "city practice (early warning)",
          lambda: [clue(), payroll()], check=_same_matter("payroll_shortfall", "clue")),
    Legal("two_projects_of_one_contractor_keep_their_own_matters", "city practice (early warning)",
          lambda: [project_row(), project_row("37010320236388")], check=_apart),
    Legal("a_complaint_first_is_found_by_the_later_warning", "city practice (early warning)",
          lambda: [clue(), project_row()], check=_same_matter("project", "clue")),
    Legal("a_warning_joins_a_complaint_by_the_employer_without_a_project", "city practice (early warning)",
          lambda: [clue(project=None, employer={"name": "山东鲁建建工集团有限公司", "creditCode": CONTRACTOR}),
                   project_row()],
          check=_same_matter("project", "clue")),
]


def _run(settings, legal: Legal) -> tuple[Any, dict]:
    import copy

    from hub.config import _merge
    from hub.runtime import Hub

    settings = _merge(copy.deepcopy(settings), legal.settings)
    hub = Hub(settings)
    outcomes = []
    for message in legal.messages():
        if callable(message):  # built from what the hub sent before (an assignment's number)
            message = message(hub)
        outcomes.extend(hub.pipeline.process([message]))
    return hub, {"outcomes": outcomes}


@pytest.mark.parametrize("legal", CASES, ids=[c.name for c in CASES])
def test_legal_case(settings, legal):
    hub, result = _run(settings, legal)
    try:
        _check(hub, legal, result)
    finally:
        hub.shutdown()


def render(hub, row: Outbox):
    """What the recipient's plugin writes for an outbox row, as the relay would."""
    from hub.contract.types import Delivery

    payload = row.payload
    return hub.registry.get(row.recipient).render(Delivery(
        recipient=row.recipient, kind=row.kind, route=row.route, record_type=row.record_type,
        record=payload["record"], refs=payload.get("refs", {}), message_id=row.message_id, matter_id=row.matter_id,
        params=payload.get("params", {}), created_at=payload.get("created_at")))


def _check(hub, legal: Legal, result: dict) -> None:
    outcomes = result["outcomes"]
    if legal.refused is not None:
        last = outcomes[-1]
        assert last.status == "rejected", last.to_dict()
        failure = last.failures[0]
        native = failure.field.replace("/", ".").split(".")[-1].split("[")[0]  # the field as the agency names it
        assert (native, failure.rule) == legal.refused, failure
        assert last.dead_letters
        with hub.store.sessions() as session:
            assert session.get(DeadLetter, last.dead_letters[0]).body  # with its original bytes
        assert not last.records  # nothing of it applied
        assert all(o.status == "accepted" and not o.failures for o in outcomes[:-1]), \
            [o.to_dict() for o in outcomes[:-1]]
        return
    assert all(o.status == "accepted" and not o.failures for o in outcomes), [o.to_dict() for o in outcomes]
    with hub.store.sessions() as session:
        result["view"] = transfer_view(session, TRANSFER, hub.settings, NOW)
        from hub.casework import deadlines
        rows = list(session.scalars(select(Deadline)))
        result["steps"] = {r.key: deadlines.view(r, NOW) for r in rows}
        result["outbox"] = list(session.scalars(select(Outbox).order_by(Outbox.id)))
    steps = result["steps"]
    if legal.dossier is not None:
        assert result["view"]["dossier"]["status"] == legal.dossier, result["view"]["dossier"]
    if legal.missing is not None:
        assert [m["item"] for m in result["view"]["dossier"]["missing"]] == legal.missing
    for key, status in legal.steps.items():
        assert key in steps, sorted(steps)
        assert steps[key]["status"] == status, steps[key]
    if legal.no_overdue:
        assert not [k for k, s in steps.items() if s["status"] == "overdue"]
    if legal.status is not None:
        assert result["view"]["status"] == legal.status
    # every row the hub wrote is one its recipient's plugin can write in the agency's format
    result["rendered"] = {o.message_id: render(hub, o) for o in result["outbox"] if hub.registry.get(o.recipient)}
    sent = {(o.recipient, o.kind) for o in result["outbox"]}
    for wanted in legal.sent:
        assert wanted in sent, sorted(sent)
    if legal.escalated is not None:
        scheduler.escalate(hub, NOW)
        with hub.store.sessions() as session:
            rows = [o for o in session.scalars(select(Outbox).where(Outbox.record_type == "escalation"))]
        got = {(o.payload["record"]["rule"], o.recipient, o.kind) for o in rows}
        assert got == legal.escalated
        for o in rows:
            render(hub, o)  # a CBTZ, a REMINDER, a NOTICE
        for o in rows:
            record = o.payload["record"]
            assert record["level"] == "agency" and record["due_at"] and record["owner"] == o.recipient
            if record["rule"] == "police_decide":
                assert record["transfer_no"] == TRANSFER
    if legal.check is not None:
        legal.check(hub, result)


def test_every_case_names_its_article():
    assert len(CASES) >= 30
    assert len({c.name for c in CASES}) == len(CASES)
    assert all(c.article for c in CASES)
