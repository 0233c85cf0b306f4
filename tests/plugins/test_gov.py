"""gov plugin: answers, per-government keys, the four outbound kinds, webhooks by area."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests

import plugins.gov as gov
from hub import Delivery, InvalidMessage, NativeMessage, Undeliverable
from schemas import RecordInvalid, normalise_record
from tests.webhook import WebhookServer

ANSWER = (gov.SAMPLES / "gov-answer.json").read_bytes()
KEYS = {"370103": "lixia-key-1", "370100": "jinan-key-1", "370104": "huaiyin-key-1"}


def settings(urls: dict[str, str | None] | None = None) -> dict:
    urls = urls or {}
    governments = {code: {"name": code, "url": urls.get(code), "key": key} for code, key in KEYS.items()}
    return gov.GovSettingsSchema().load({"governments": governments})


def message(body: bytes = ANSWER, code: str | None = "370103") -> NativeMessage:
    return NativeMessage("gov", body, "a-1", "application/json", headers={gov.GOV_HEADER: code} if code else {})


def canonical(body: bytes = ANSWER, code: str = "370103") -> dict:
    [p] = gov.parse_message(message=message(body, code), settings=settings())
    return normalise_record({"type": p.type, "source_agency": "gov", "source_ref": p.source_ref,
                             "received_at": "2023-05-31T10:00:00+08:00", **p.record})


def test_answer_maps_to_an_assignment_answer_of_its_government():
    record = canonical()
    assert record["type"] == "assignment_answer" and record["source_ref"] == "LXQ-ZF-2023-0531-01"
    assert record["assignment_no"] == "out_demo_gov_assignment_880" and record["answered_on"] == "2023-05-31"
    assert record["result"] == "in_progress" and record["amount_paid"] == "0.00"
    assert record["answered_by"] == "370103"
    # late in the evening UTC is the next day in Beijing; 已解决 is resolved; a number is yuan
    doc = {**json.loads(ANSWER), "answeredAt": "2023-05-31T17:30:00+00:00", "result": "已解决", "paidAmount": 1200}
    record = canonical(json.dumps(doc, ensure_ascii=False).encode())
    assert record["answered_on"] == "2023-06-01" and record["result"] == "resolved" and record["amount_paid"] == "1200.00"


def test_bad_answers_are_refused_naming_the_field_and_rule():
    doc = json.loads(ANSWER)
    for change, field, rule in (({"type": "REPLY"}, "type", "enum"),
                                ({"assignmentNo": None}, "assignmentNo", "required"),
                                ({"messageId": 12}, "messageId", "type"),
                                ({"result": "done"}, "result", "enum"),
                                ({"paidAmount": "lots"}, "paidAmount", "decimal-string"),
                                ({"paidAmount": True}, "paidAmount", "decimal-string"),
                                ({"answeredAt": "2023-05-31T10:00:00"}, "answeredAt", "datetime"),
                                ({"answeredAt": "yesterday"}, "answeredAt", "datetime")):
        with pytest.raises(InvalidMessage) as err:
            gov.parse_message(message=message(json.dumps({**doc, **change}).encode()), settings=settings())
        assert (err.value.field, err.value.rule) == (field, rule), change
    with pytest.raises(InvalidMessage) as err:
        gov.parse_message(message=message(b"[1]"), settings=settings())
    assert err.value.rule == "type"
    with pytest.raises(InvalidMessage) as err:
        gov.parse_message(message=message(b"{not json"), settings=settings())
    assert err.value.rule == "json"
    with pytest.raises(RecordInvalid) as err:  # a negative amount is the shared schema's to refuse
        canonical(json.dumps({**doc, "paidAmount": "-5"}).encode())
    assert err.value.field == "amount_paid"


def test_each_government_signs_with_its_own_key():
    assert gov.key_from_message(message=message(), settings=settings()) == "lixia-key-1"
    assert gov.key_from_message(message=message(code="370100"), settings=settings()) == "jinan-key-1"
    with pytest.raises(InvalidMessage) as err:
        gov.key_from_message(message=message(code=None), settings=settings())
    assert err.value.rule == "required"
    with pytest.raises(InvalidMessage) as err:
        gov.key_from_message(message=message(code="370105"), settings=settings())
    assert err.value.rule == "unknown-government"


def test_settings_refuse_a_code_that_is_no_division():
    import marshmallow as ma

    with pytest.raises(ma.ValidationError):
        gov.GovSettingsSchema().load({"governments": {"379999": {"key": "long-enough-key"}}})
    with pytest.raises(ma.ValidationError):
        gov.GovSettingsSchema().load({"governments": {"370103": {"key": "long-enough-key", "urll": "x"}}})


def delivery(kind: str = gov.ASSIGNMENT, **record) -> Delivery:
    base = {"type": "clue", "clue_no": "XS3701032023050880", "project_code": "37010320236387",
            "employer": {"name": "海岱建筑劳务有限公司"}, "worker_count": 24, "amount_owed": "382848.00",
            "region_code": "370103"}
    return Delivery(recipient="gov", kind=kind, route="clue-to-gov", record_type=record.pop("type", "clue"),
                    record={**base, **record}, refs={"case_no": ["AJ1"]}, message_id="out_1",
                    params={"due_on": "2023-06-05T23:59:59+08:00"}, created_at="2023-05-22T09:31:00+08:00")


def test_assignment_carries_the_format_fields_and_no_personal_data():
    body = json.loads(gov.render_record(delivery=delivery(), settings=settings()).body)
    assert body == {"type": "ASSIGNMENT", "messageId": "out_1", "sentAt": "2023-05-22T09:31:00+08:00",
                    "clueNo": "XS3701032023050880", "projectCode": "37010320236387",
                    "employerName": "海岱建筑劳务有限公司", "workers": 24, "amount": "382848.00",
                    "answerBy": "2023-06-05T23:59:59+08:00", "regionCode": "370103"}


def test_escalation_and_credit_bodies():
    esc = delivery(gov.ESCALATION, type="escalation", matter_id="mat_1", rule="gov_answer", owner="gov",
                   due_at="2023-06-05T23:59:59+08:00", level="supervision", matter_owner=None,
                   supervision_group="group-1")
    body = json.loads(gov.render_record(delivery=esc, settings=settings()).body)
    assert (body["type"], body["matterId"], body["step"], body["owedBy"], body["dueAt"], body["level"]) == \
        ("ESCALATION", "mat_1", "gov_answer", "gov", "2023-06-05T23:59:59+08:00", "supervision")
    assert "owner" in body and body["owner"] is None and body["group"] == "group-1"
    credit = delivery(gov.CREDIT, type="credit_listing", list_no="SX2023001", action="list",
                      credit_code="91370103JURQ283F5B", name="海岱建筑劳务有限公司", start_date="2023-08-01",
                      end_date="2026-07-31", basis="人社部令第45号 第五条")
    body = json.loads(gov.render_record(delivery=credit, settings=settings()).body)
    assert (body["listNo"], body["creditCode"], body["action"], body["startDate"], body["endDate"]) == \
        ("SX2023001", "91370103JURQ283F5B", "列入", "2023-08-01", "2026-07-31")


BULLETIN = {"type": "daily_bulletin", "date": "2023-05-22", "districts": [
    {"region_code": "370102", "region_name": "历下区", "clues_total": 2, "amount_owed": "10.00",
     "clues_by_channel": {"hotline": 2}, "overdue_by_owner": {}},
    {"region_code": "370103", "region_name": "市中区", "clues_total": 1, "amount_owed": "5.50",
     "clues_by_channel": {"hotline": 1}, "overdue_by_owner": {"hrss": 1}},
    {"region_code": "370202", "region_name": "市南区", "clues_total": 7, "amount_owed": "1.00",
     "clues_by_channel": {"hotline": 7}, "overdue_by_owner": {}}],
    "total": {"clues_total": 10, "amount_owed": "16.50", "clues_by_channel": {"hotline": 10, "petition": 0},
              "overdue_by_owner": {"hrss": 1}}, "overdue_items": [{"region_code": "370103", "rule": "close_case"}]}


def test_each_government_gets_its_own_areas_bulletin_signed_with_its_key():
    servers = {code: WebhookServer() for code in ("370103", "370100", "370104")}
    try:
        conf = settings({code: s.url for code, s in servers.items()})
        d = Delivery(recipient="gov", kind=gov.BULLETIN, route="daily-bulletin", record_type="daily_bulletin",
                     record=BULLETIN, refs={}, message_id="bulletin-2023-05-22-gov", created_at="2023-05-23T08:00:00+08:00")
        rendered = gov.render_record(delivery=d, settings=conf)
        assert gov.deliver_rendered(delivery=d, rendered=rendered, headers={"message_id": d.message_id},
                                    settings=conf) is True
        got = {}
        for code, server in servers.items():
            [(_, headers, body)] = server.received
            assert headers["X-Wagehub-Signature"] == "sha256=" + hmac.new(
                KEYS[code].encode(), body, hashlib.sha256).hexdigest()
            got[code] = json.loads(body)
        assert [r["region_code"] for r in got["370103"]["districts"]] == ["370103"]
        assert got["370103"]["total"]["clues_total"] == 1 and got["370103"]["overdue_items"]
        # the city takes in its districts, not another city's
        assert [r["region_code"] for r in got["370100"]["districts"]] == ["370102", "370103"]
        assert got["370100"]["total"]["clues_total"] == 3 and got["370100"]["total"]["amount_owed"] == "15.50"
        assert got["370100"]["total"]["clues_by_channel"] == {"hotline": 3, "petition": 0}
        assert got["370104"]["districts"] == [] and got["370104"]["total"]["region_code"] == "370104"
        assert got["370104"]["total"]["clues_total"] == 0 and got["370104"]["total"]["amount_owed"] == "0.00"
    finally:
        for s in servers.values():
            s.close()


def test_an_assignment_goes_to_its_district_and_city_only_and_failures_are_told_apart():
    servers = {code: WebhookServer() for code in ("370103", "370100", "370104")}
    try:
        conf = settings({code: s.url for code, s in servers.items()})
        d = delivery()
        rendered = gov.render_record(delivery=d, settings=conf)
        headers = {"message_id": "out_1", "x-wagehub-record-type": "clue", "x-wagehub-matter": "mat_1"}
        assert gov.deliver_rendered(delivery=d, rendered=rendered, headers=headers, settings=conf) is True
        for code in ("370103", "370100"):
            [(_, got, body)] = servers[code].received
            assert body == rendered.body and got["X-Wagehub-Message-Id"] == "out_1"
            assert got["X-Wagehub-Signature"] == "sha256=" + hmac.new(
                KEYS[code].encode(), body, hashlib.sha256).hexdigest()
        assert servers["370104"].received == []
        servers["370100"].status = 503
        with pytest.raises(requests.HTTPError):
            gov.deliver_rendered(delivery=d, rendered=rendered, headers=headers, settings=conf)
        with pytest.raises(Undeliverable):  # no government of that area
            gov.deliver_rendered(delivery=delivery(region_code="370202"), rendered=rendered, headers=headers,
                                 settings=conf)
        with pytest.raises(Undeliverable):
            gov.deliver_rendered(delivery=delivery(region_code=None), rendered=rendered, headers=headers,
                                 settings=conf)
    finally:
        for s in servers.values():
            s.close()
