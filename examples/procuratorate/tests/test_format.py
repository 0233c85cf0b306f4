"""The procuratorate format's own details, beside the kit: the hooks called as the hub calls them."""

import json

import pytest
from hub import Delivery, InvalidMessage, NativeMessage

import wagehub_procuratorate as plugin

OPINION = {"docType": "JDYJ", "docNo": "济历检立监〔2023〕9号", "issuedAt": "2023-07-10 09:00:00",
           "procuratorate": "济南市历下区人民检察院", "transferNo": "YS37010320230880", "opinionType": "9"}


def parse(doc) -> list:
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8") if isinstance(doc, dict) else doc
    message = NativeMessage(agency="procuratorate", body=body, message_id="JC-1", content_type="application/json",
                            content_encoding="utf-8")
    return list(plugin.parse_message(message=message, settings={}))


def test_an_opinion_is_a_supervision_opinion():
    [parsed] = parse(OPINION)
    assert parsed.type == "supervision_opinion" and parsed.kind == "JDYJ"
    assert parsed.source_ref == "济历检立监〔2023〕9号"
    assert parsed.record == {"opinion_no": "济历检立监〔2023〕9号", "issued_at": "2023-07-10T09:00:00+08:00",
                             "procuratorate": "济南市历下区人民检察院", "transfer_no": "YS37010320230880",
                             "opinion": "no_objection"}


@pytest.mark.parametrize("change,field,rule", [
    ({"docType": "YSCB"}, "docType", "enum"),
    ({"opinionType": "7"}, "opinionType", "enum"),
    ({"opinionType": 1}, "opinionType", "type"),
    ({"issuedAt": "2023-07-10T09:00:00"}, "issuedAt", "time-format"),
    ({"replyBy": "2023-7-17"}, "replyBy", "date-format"),
    ({"docNo": None}, "docNo", "required"),
])
def test_what_cannot_be_read_is_named(change, field, rule):
    with pytest.raises(InvalidMessage) as info:
        parse({**OPINION, **change})
    assert (info.value.field, info.value.rule) == (field, rule)


def test_a_decision_is_written_with_its_code_in_beijing_time():
    delivery = Delivery(recipient="procuratorate", kind="LAQK", route="r", record_type="police_decision",
                        record={"transfer_no": "YS1", "decision": "declined", "decided_at": "2023-06-28T07:00:00Z",
                                "reason": "证据不足"},
                        refs={}, message_id="out-1", created_at="2023-06-28T08:00:00+00:00")
    doc = json.loads(plugin.render_record(delivery=delivery, settings={}).body)
    assert doc == {"docType": "LAQK", "docId": "out-1", "sentAt": "2023-06-28 16:00:00", "transferNo": "YS1",
                   "decisionCode": "2", "decidedAt": "2023-06-28 15:00:00", "reason": "证据不足"}


def test_numbers_the_route_left_out_come_from_the_matter():
    delivery = Delivery(recipient="procuratorate", kind="LAQK", route="r", record_type="police_decision",
                        record={"decision": "opened"}, refs={"transfer_no": ["YS1", "YS2"]}, message_id="out-2",
                        created_at="2023-06-28T08:00:00+08:00")
    assert json.loads(plugin.render_record(delivery=delivery, settings={}).body)["transferNo"] == "YS1"


def test_a_payment_after_a_transfer_is_written_as_zfqk():
    """Criminal Law Art. 276-1 para. 3: a payment before prosecution matters to the procuratorate."""
    delivery = Delivery(recipient="procuratorate", kind="ZFQK", route="r", record_type="wage_payment",
                        record={"case_no": "AJ1", "transfer_no": "YS1", "amount_paid": "100000.00",
                                "paid_on": "2023-07-05", "workers_paid": 6, "full": False},
                        refs={}, message_id="out-3", created_at="2023-07-05T09:00:00+08:00")
    doc = json.loads(plugin.render_record(delivery=delivery, settings={}).body)
    assert doc == {"docType": "ZFQK", "docId": "out-3", "sentAt": "2023-07-05 09:00:00", "transferNo": "YS1",
                   "caseNo": "AJ1", "amountPaid": "100000.00", "paidOn": "2023-07-05", "paidWorkers": 6, "full": "0"}


def test_a_supervision_request_is_written_as_jdjy():
    delivery = Delivery(recipient="procuratorate", kind="JDJY", route="r", record_type="supervision_request",
                        record={"transfer_no": "YS1", "requested_on": "2023-07-31", "reason": "复议维持不予立案"},
                        refs={}, message_id="out-4", created_at="2023-07-31T09:00:00+08:00")
    doc = json.loads(plugin.render_record(delivery=delivery, settings={}).body)
    assert doc == {"docType": "JDJY", "docId": "out-4", "sentAt": "2023-07-31 09:00:00", "transferNo": "YS1",
                   "requestedOn": "2023-07-31", "reason": "复议维持不予立案"}


def test_an_individual_employer_and_the_workers_go_with_a_transfer():
    delivery = Delivery(recipient="procuratorate", kind="YSCB", route="r", record_type="criminal_transfer",
                        record={"transfer_no": "YS1", "employer": {"name": "刘某", "uscc": None,
                                                                  "id_number": "370103196601215548"},
                                "workers": [{"name": "甲", "amount": "20000.00", "period_from": "2023-01",
                                             "period_to": "2023-04"}]},
                        refs={}, message_id="out-5", created_at="2023-07-20T09:00:00+08:00")
    doc = json.loads(plugin.render_record(delivery=delivery, settings={}).body)
    assert doc["employer"] == {"name": "刘某", "idNo": "370103196601215548"}
    assert doc["workers"] == [{"name": "甲", "amount": "20000.00", "periodFrom": "2023-01", "periodTo": "2023-04"}]
