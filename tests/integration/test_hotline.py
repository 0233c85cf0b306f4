"""The 12345 hotline's loop, through the queues on real components: a work order becomes a
clue at labour inspection, each stage reaches the hotline, the result goes back before the
work order's reply-by time, and a call back saying "not paid" reopens the matter and tells
labour inspection. Bad input is refused whole."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from hub.messaging import scheduler
from hub.store.models import DeadLetter, Escalation, Record
from tests.helpers import count_rows, wait_for

ORDER = "GD3701002023052000415"
CASE = "AJ370103202300415"


def work_order(number: str = ORDER, *, reply_by: str | None = "20230731180000", accepted: str = "20230520101500",
               **extra) -> bytes:
    data = {"orderNo": number, "acceptedAt": accepted, "caller": {"name": "王春生", "mobile": "13923720696"},
            "areaCode": "370103", "employerName": "海岱建筑劳务有限公司", "employerCreditCode": "91370103JURQ283F5B",
            "projectName": "泉城花园二期", "workers": 3, "amount": "36000.00", "content": "拖欠3名工人4月工资",
            **extra}
    if reply_by:
        data["replyBy"] = reply_by
    return json.dumps({"msgType": "WORK_ORDER", "msgId": f"wo-{number}", "sendTime": accepted, "data": data},
                      ensure_ascii=False).encode()


def satisfaction(number: str = ORDER, *, paid: str = "0", resolved: str = "1", reached: str = "1") -> bytes:
    return json.dumps({"msgType": "SATISFACTION", "msgId": f"sat-{number}-{paid}", "sendTime": "20230802150500",
                       "data": {"orderNo": number, "calledAt": "20230802150000", "reached": reached,
                                "resolved": resolved, "paid": paid, "satisfied": "0",
                                "remark": "仍有工人工资未发"}}, ensure_ascii=False).encode()


def hrss(kind: str, msg_id: str, data: dict) -> bytes:
    return json.dumps({"msgType": kind, "msgId": msg_id, "sendTime": "20230522170000", "data": data},
                      ensure_ascii=False).encode()


def case(status: str, at: str) -> bytes:
    return hrss("CASE_STATUS", f"case-{status}", {"caseNo": CASE, "clueNos": [ORDER], "status": status,
                                                   "statusTime": at, "handler": "370103劳动保障监察大队"})


def data_of(message) -> dict:
    return json.loads(message.raw)["data"]


def matter_view(client, token) -> dict:
    with_record = client.get("/api/v1/records?type=work_order", headers=token("admin")).json["items"]
    return client.get(f"/api/v1/matters/{with_record[0]['matter_id']}", headers=token("linkage")).json


def steps(view: dict) -> dict[str, str]:
    return {d["key"]: d["status"] for d in view["steps"]}


def test_a_work_order_is_answered_before_its_reply_by_and_reopened_by_a_call_back(hub, workers, agency, client,
                                                                                   token):
    agency.publish("hotline", work_order(), message_id="wo-1")
    [clue] = agency.receive("hrss", 1)
    message = json.loads(clue.raw)
    assert message["msgType"] == "CLUE" and clue.headers["x-wagehub-kind"] == "CLUE"
    assert message["data"]["clueNo"] == ORDER and message["data"]["channel"] == "02"
    assert message["data"]["amountFen"] == 3600000 and message["data"]["complainant"]["mobile"] == "13923720696"
    assert message["data"]["receivedTime"] == "20230520101500"

    # labour inspection takes it on: each stage reaches the hotline
    agency.publish("hrss", case("10", "20230522150000"), message_id="c10")
    agency.publish("hrss", case("20", "20230522160000"), message_id="c20")
    agency.publish("hrss", hrss("PAY_ORDER", "order", {
        "orderNo": "ZLZF37010320230415", "caseNo": CASE, "creditCode": "91370103JURQ283F5B", "amountFen": 3600000,
        "issueDate": "20230601", "dueDate": "20230615", "serveDate": "20230602", "complied": "0"}),
        message_id="order")
    stages = [data_of(m) for m in agency.receive("hotline", 3)]
    assert [s["stage"] for s in stages] == ["ACCEPTED", "CASE_OPENED", "ORDER_ISSUED"]
    assert {s["orderNo"] for s in stages} == {ORDER}
    assert stages[1]["at"] == "20230522160000" and CASE in stages[1]["text"]

    agency.publish("hrss", hrss("PAYMENT", "paid", {"caseNo": CASE, "paidFen": 3600000, "paidDate": "20230610",
                                                     "paidWorkers": 3, "full": "1"}), message_id="paid")
    got = agency.receive("hotline", 2)
    by_kind = {m.headers["x-wagehub-kind"]: data_of(m) for m in got}
    assert by_kind["PROGRESS"]["stage"] == "PAID" and "36000.00" in by_kind["PROGRESS"]["text"]
    result = by_kind["RESULT"]
    assert result["orderNo"] == ORDER and result["resolved"] == "1" and result["paidAmount"] == "36000.00"
    assert result["handler"] == "370103劳动保障监察大队" and result["at"] == "20230610000000"
    # the answer was owed by replyBy (2023-07-31 18:00) and came before it
    view = matter_view(client, token)
    assert steps(view)[f"work_order_reply:{ORDER}"] == "met"

    # the call back: reached, "resolved" but not paid -> the matter reopens, labour inspection is told
    agency.publish("hotline", satisfaction(paid="0"), message_id="sat-1")
    [notice] = agency.receive("hrss", 1)
    notice = json.loads(notice.raw)["data"]
    assert notice["kind"] == "REOPENED" and notice["refs"]["caseNo"] == CASE
    assert notice["record"]["work_order_no"] == ORDER and notice["record"]["paid"] is False
    view = wait_for(lambda: (v := matter_view(client, token)) and
                    f"work_order_reply:{ORDER}#2" in steps(v) and v)
    assert steps(view)[f"work_order_reply:{ORDER}"] == "met"
    assert steps(view)[f"work_order_reply:{ORDER}#2"] in ("open", "overdue")

    # paid again in full: a second result, for the second round
    agency.publish("hrss", hrss("PAYMENT", "paid-2", {"caseNo": CASE, "paidFen": 100000, "paidDate": "20230810",
                                                       "full": "1"}), message_id="paid-2")
    second = [data_of(m) for m in agency.receive("hotline", 2) if m.headers["x-wagehub-kind"] == "RESULT"]
    assert second and second[0]["orderNo"] == ORDER and second[0]["at"] == "20230810000000"
    assert steps(matter_view(client, token))[f"work_order_reply:{ORDER}#2"] == "met"


def test_a_work_order_without_reply_by_is_refused_whole(hub, workers, agency):
    agency.publish("hotline", work_order("GD3701002023052100502", reply_by=None), message_id="no-reply-by")
    dead = wait_for(lambda: _dead(hub, "no-reply-by"))
    assert dead.field == "data.replyBy" and dead.rule == "required" and "replyBy" in dead.reason
    assert json.loads(dead.body)["data"]["orderNo"] == "GD3701002023052100502"  # the original bytes
    assert count_rows(hub, Record) == 0  # not the clue without its work order either


def test_a_satisfaction_for_an_unknown_order_is_refused_whole(hub, workers, agency):
    agency.publish("hotline", satisfaction("GD0000000000000000001"), message_id="unknown")
    dead = wait_for(lambda: _dead(hub, "unknown"))
    assert dead.field == "data.orderNo" and dead.rule == "unknown-work-order"
    assert count_rows(hub, Record) == 0
    assert agency.drain("hrss", wait=0.5) == []  # nobody was told of a reopening


def test_an_unanswered_work_order_is_escalated_to_labour_inspection(hub, workers, agency):
    agency.publish("hotline", work_order(), message_id="wo-late")
    agency.receive("hrss", 1)  # the clue
    after = dt.datetime(2023, 8, 1, tzinfo=dt.UTC)  # replyBy 2023-07-31 18:00 passed, no result
    assert scheduler.escalate(hub, after) == 3  # with the clue's first contact and acceptance
    with hub.store.sessions() as session:
        escalation = session.scalars(select(Escalation).where(Escalation.deadline_key.like("work_order_reply:%"))).one()
    assert escalation.deadline_key == f"work_order_reply:{ORDER}" and escalation.owner == "hrss"
    notices = [json.loads(m.raw)["data"] for m in agency.receive("hrss", 3)]
    [data] = [n for n in notices if n["record"]["rule"] == "work_order_reply"]
    assert data["kind"] == "ESCALATION" and data["record"]["work_order_no"] == ORDER
    assert data["record"]["due_at"] == "2023-07-31T18:00:00+08:00"


def _dead(hub, message_id: str):
    with hub.store.sessions() as session:
        return session.scalars(select(DeadLetter).where(DeadLetter.message_id == message_id)).first()


def test_a_result_is_sent_once_even_when_its_matter_is_merged_away(hub):
    """A work order answered on its own matter, then joined to an older one by a case naming
    both clues: the answer stays given; no second RESULT goes out."""
    from hub.contract.types import NativeMessage
    from hub.store.models import Outbox

    def process(agency: str, body: bytes, message_id: str) -> None:
        [outcome] = hub.pipeline.process([NativeMessage(agency, body, message_id, "application/json", "utf-8")])
        assert outcome.status == "accepted", outcome.to_dict()

    older = {"clueNo": "XS3701032023050001", "channel": "01", "receivedTime": "20230501090000", "areaCode": "370103",
             "complainant": {"name": "李四", "mobile": "13805310427"}, "employer": {"name": "某劳务公司"},
             "workerCount": 2, "amountFen": 2000000}
    process("hrss", hrss("CLUE", "older", older), "older")
    process("hotline", work_order(), "wo")
    process("hrss", case("20", "20230522160000"), "c20")
    process("hrss", hrss("PAYMENT", "paid", {"caseNo": CASE, "paidFen": 3600000, "paidDate": "20230610",
                                             "full": "1"}), "paid")
    joined = hrss("CASE_STATUS", "joined", {"caseNo": CASE, "clueNos": [ORDER, older["clueNo"]], "status": "20",
                                            "statusTime": "20230612100000"})
    process("hrss", joined, "joined")
    with hub.store.sessions() as session:
        results = session.scalars(select(Outbox).where(Outbox.kind == "RESULT")).all()
        matters = {r.matter_id for r in session.scalars(select(Record))}
    assert len(matters) == 1 and len(results) == 1
