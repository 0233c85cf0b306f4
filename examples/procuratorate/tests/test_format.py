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
