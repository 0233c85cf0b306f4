"""contractor plugin: reply mapping, per-contractor keys, notices, webhook delivery."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import plugins.contractor as contractor
from hub import Delivery, InvalidMessage, NativeMessage, Undeliverable
from schemas import RecordInvalid, normalise_record
from tests.helpers import SAMPLES
from tests.webhook import WebhookServer

USCC = "91370103QEFLCR639M"
REPLY = (contractor.SAMPLES / "contractor-reply.json").read_bytes()
FACTS = json.loads((SAMPLES / "facts.json").read_text(encoding="utf-8"))


def settings(url: str | None = None, **extra) -> dict:
    contractors = {USCC.lower(): {"name": "鲁建", "url": url, "key": "contractor-key-1"}}
    return contractor.ContractorSettingsSchema().load({"contractors": contractors, **extra})


def message(body: bytes = REPLY, uscc: str | None = USCC) -> NativeMessage:
    headers = {contractor.CONTRACTOR_HEADER: uscc} if uscc else {}
    return NativeMessage("contractor", body, "r-1", "application/json", headers=headers)


def canonical(body: bytes = REPLY) -> dict:
    [p] = contractor.parse_message(message=message(body), settings=settings())
    return normalise_record({"type": p.type, "source_agency": "contractor", "source_ref": p.source_ref,
                             "received_at": "2023-05-26T17:00:00+08:00", **p.record})


def test_reply_maps_to_a_contractor_reply_record():
    record = canonical()
    assert record["reply_no"] == "LJ-HQ-2023-0526-01"
    assert record["contractor"] == {"name": "山东鲁建建工集团有限公司", "uscc": USCC}
    assert record["clue_no"] == FACTS["clue_no"] and record["project_code"] == FACTS["project_code"]
    assert record["outcome"] == "disputed" and record["amount_paid"] == "0.00"
    assert record["replied_at"] == "2023-05-26T17:00:00+08:00"


def test_bad_replies_are_refused_naming_the_field():
    with pytest.raises(RecordInvalid) as err:
        canonical((contractor.SAMPLES / "bad" / "contractor-bad-outcome.json").read_bytes())
    assert err.value.field == "outcome" and err.value.rule == "enum"
    doc = json.loads(REPLY)
    for change, field, rule in (({"amount_paid": 12.5}, "amount_paid", "decimal-string"),
                                ({"type": "NOTICE"}, "type", "enum"),
                                ({"reply_id": None}, "reply_id", "required"),
                                ({"contractor_uscc": "91370103JURQ283F5B"}, "contractor_uscc", "contractor-mismatch")):
        with pytest.raises(InvalidMessage) as err:
            contractor.parse_message(message=message(json.dumps({**doc, **change}).encode()), settings=settings())
        assert (err.value.field, err.value.rule) == (field, rule)
    with pytest.raises(InvalidMessage) as err:
        contractor.parse_message(message=message(b"{not json"), settings=settings())
    assert err.value.rule == "json"


def test_each_contractor_signs_with_its_own_key():
    assert contractor.key_from_message(message=message(), settings=settings()) == "contractor-key-1"
    with pytest.raises(InvalidMessage) as err:
        contractor.key_from_message(message=message(uscc=None), settings=settings())
    assert err.value.rule == "required"
    with pytest.raises(InvalidMessage) as err:
        contractor.key_from_message(message=message(uscc="91370103JURQ283F5B"), settings=settings())
    assert err.value.rule == "unknown-contractor"


def delivery(**record) -> Delivery:
    base = {"type": "clue", "clue_no": FACTS["clue_no"], "project_code": FACTS["project_code"],
            "employer": {"name": "海岱建筑劳务有限公司", "uscc": FACTS["employer_uscc"]}, "worker_count": 24,
            "amount_owed": "382848.00", "received_at": "2023-05-22T09:10:00+08:00", "contractor_uscc": USCC}
    return Delivery(recipient="contractor", kind=contractor.NOTICE, route="clue-to-contractor", record_type="clue",
                    record={**base, **record}, refs={"case_no": ["AJ1"]}, message_id="out_1",
                    created_at="2023-05-22T09:31:00+08:00")


def test_notice_names_the_arrears_not_the_complainant():
    rendered = contractor.render_record(delivery=delivery(), settings=settings())
    body = json.loads(rendered.body)
    assert body["type"] == "ARREARS_NOTICE" and body["notice_id"] == "out_1"
    assert body["contractor_uscc"] == USCC and body["case_no"] == "AJ1" and body["amount_owed"] == "382848.00"
    assert "complainant" not in rendered.body.decode()
    assert rendered.body == contractor.render_record(delivery=delivery(), settings=settings()).body


def test_webhook_delivery_is_signed_and_failures_are_told_apart():
    server = WebhookServer()
    try:
        d = delivery()
        rendered = contractor.render_record(delivery=d, settings=settings())
        headers = {"message_id": "out_1", "x-wagehub-record-type": "clue", "x-wagehub-matter": "mat_1"}
        assert contractor.deliver_rendered(delivery=d, rendered=rendered, headers=headers,
                                           settings=settings(server.url)) is True
        [(path, got, body)] = server.received
        assert body == rendered.body and got["X-Wagehub-Message-Id"] == "out_1"
        expected = "sha256=" + hmac.new(b"contractor-key-1", body, hashlib.sha256).hexdigest()
        assert got["X-Wagehub-Signature"] == expected
        server.status = 503
        with pytest.raises(requests.HTTPError):
            contractor.deliver_rendered(delivery=d, rendered=rendered, headers=headers, settings=settings(server.url))
        with pytest.raises(Undeliverable):
            contractor.deliver_rendered(delivery=d, rendered=rendered, headers=headers, settings=settings(None))
        with pytest.raises(Undeliverable):
            contractor.deliver_rendered(delivery=delivery(contractor_uscc=None), rendered=rendered, headers=headers,
                                        settings=settings(server.url))
    finally:
        server.close()


# --- robustness: whatever the bytes, InvalidMessage or a record the schema can judge ----------

FUZZ = hsettings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _parse_any(body: bytes, uscc: str | None = USCC) -> None:
    try:
        items = contractor.parse_message(message=message(body, uscc), settings=settings())
    except InvalidMessage as exc:
        assert exc.reason and exc.rule
        return
    for p in items:
        try:
            normalise_record({"type": p.type, "source_agency": "contractor", "source_ref": p.source_ref,
                              "received_at": "2023-05-26T17:00:00+08:00", **p.record})
        except RecordInvalid as exc:
            assert exc.rule


@FUZZ
@given(body=st.binary(max_size=300), uscc=st.sampled_from([USCC, None, "91370103JURQ283F5B"]))
def test_random_bytes_never_crash(body, uscc):
    _parse_any(body, uscc)


@FUZZ
@given(data=st.data())
def test_mutated_replies_never_crash(data):
    body = bytearray(REPLY)
    for _ in range(data.draw(st.integers(1, 4))):
        if not body:
            break
        i = data.draw(st.integers(0, len(body) - 1))
        op = data.draw(st.sampled_from(["set", "delete", "insert", "truncate"]))
        if op == "set":
            body[i] = data.draw(st.integers(0, 255))
        elif op == "delete":
            del body[i]
        elif op == "insert":
            body[i:i] = data.draw(st.binary(min_size=1, max_size=4))
        else:
            del body[i:]
    _parse_any(bytes(body))


@FUZZ
@given(data=st.data())
def test_any_json_value_in_any_field_never_crashes(data):
    doc = json.loads(REPLY)
    doc[data.draw(st.sampled_from(sorted(doc) + ["extra"]))] = data.draw(_JSON)
    _parse_any(json.dumps(doc, ensure_ascii=False).encode("utf-8"))
