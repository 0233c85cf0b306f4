"""The court plugin: judgment and enforcement documents in, referral out."""

from __future__ import annotations

import json
import re
from pathlib import Path

import marshmallow as ma
import pluggy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hub
import hub.contract.hookspecs
import plugins.court as court
import schemas
from hub.testing import unknown_fields
from plugins.court import inbound
from tests.plugins import refused_whole

SAMPLES = Path(__file__).parent.parent / "fixtures" / "samples"
FACTS = json.loads((SAMPLES / "facts.json").read_text(encoding="utf-8"))
RECEIVED = "2023-06-20T09:00:00+08:00"
JUDGMENT = (SAMPLES / "court-judgment.json").read_bytes()
ENFORCEMENT = (SAMPLES / "court-enforcement.json").read_bytes()
FLOAT_AMOUNT = (SAMPLES / "bad" / "court-float-amount.json").read_bytes()


def message(body: bytes) -> hub.NativeMessage:
    return hub.NativeMessage(agency="court", body=body, message_id="court-1", content_type="application/json",
                             content_encoding="utf-8")


def parse(body: bytes) -> list:
    return list(court.parse_message(message=message(body), settings={}))


def canonical(parsed: hub.Parsed) -> dict:
    return schemas.normalise_record({"type": parsed.type, "source_agency": "court", "source_ref": parsed.source_ref,
                                     "received_at": RECEIVED, **parsed.record})


def judgment(**body) -> bytes:
    doc = json.loads(JUDGMENT)
    doc["body"].update(body)
    doc["body"] = {k: v for k, v in doc["body"].items() if v is not ...}
    return json.dumps(doc, ensure_ascii=False).encode()


def refused(body: bytes) -> hub.InvalidMessage:
    with pytest.raises(hub.InvalidMessage) as err:
        parse(body)
    return err.value


def hub_refusal(running_hub, body: bytes):
    """The one failure of a document the hub refuses whole."""
    return refused_whole(running_hub, "court", body, "application/json", "utf-8")


def test_registers_with_the_hub_specs():
    pm = pluggy.PluginManager("wagehub")
    pm.add_hookspecs(hub.contract.hookspecs)
    pm.register(court)
    pm.check_pending()
    (info,) = pm.hook.register_agency()
    assert info.code == "court" and info.kinds_out == ("referral", "credit_listing")
    assert set(info.kinds_in) == {"judgment", "enforcement"}
    assert info.settings_schema.load({"key": "k"}) == {"key": "k"}
    with pytest.raises(ma.ValidationError, match="Unknown field"):
        info.settings_schema.load({"max_bytes": 1})



def test_samples_are_shipped_and_dated_by_issued_at():
    samples = {s.name: s for s in court.register_samples()}
    assert set(samples) == {"court-judgment.json", "court-enforcement.json", "court-float-amount.json",
                            "court-judgment-individual.json", "court-both-employers.json"}
    for name, body in (("court-judgment.json", JUDGMENT), ("court-enforcement.json", ENFORCEMENT)):
        sample = samples[name]
        assert sample.body == body and not sample.bad
        assert sample.at == json.loads(body)["issued_at"]
        assert sample.kind == json.loads(body)["doc_type"]
    bad = samples["court-float-amount.json"]
    assert bad.bad and bad.body == FLOAT_AMOUNT
    with pytest.raises(hub.InvalidMessage) as err:
        parse(bad.body)
    assert bad.reason in err.value.reason


def test_judgment_sample():
    (parsed,) = parse(JUDGMENT)
    assert parsed.type == "court_judgment" and parsed.kind == "judgment"
    record = canonical(parsed)
    assert parsed.source_ref == record["case_number"] == FACTS["court_case_number"]
    assert record["court_code"] == "FY370103"
    assert record["procedure"] == "criminal"
    assert record["transfer_no"] == FACTS["transfer_no"]
    assert record["hrss_case_no"] == FACTS["case_no"]
    assert record["employer_uscc"] == FACTS["employer_uscc"]
    assert record["defendants"] == [{"name": "徐建国", "id_number": "370103196601215548"}]
    assert record["verdict"] == "guilty" and record["sentence_months"] == 27
    assert record["amount_ordered"] == FACTS["amount_yuan"]
    assert record["decided_on"] == "2023-09-01"
    for key in ("record_id", "matter_id", "type", "source_agency", "schema_version", "received_at"):
        assert key not in parsed.record


def test_enforcement_sample_half_width_parentheses():
    (parsed,) = parse(ENFORCEMENT)
    record = canonical(parsed)
    assert parsed.type == "court_enforcement"
    assert parsed.source_ref == record["case_number"] == "（2023）鲁0103执881号"  # sample writes (2023)
    assert record["judgment_case_number"] == FACTS["court_case_number"]
    assert (record["status"], record["amount_paid"], record["updated_on"]) == ("paid", FACTS["amount_yuan"],
                                                                                "2023-10-10")


def test_half_and_full_width_case_numbers_are_the_same_case():
    (full,) = parse(JUDGMENT)
    (half,) = parse(judgment(case_number="(2023)鲁0103刑初880号"))
    assert half.source_ref == full.source_ref
    assert canonical(half)["case_number"] == canonical(full)["case_number"]


def test_civil_judgment_without_optional_fields():
    body = judgment(procedure="civil", verdict="plaintiff_wins", defendants=..., transfer_no=...,
                    hrss_case_no=None, sentence_months=..., amount_ordered="800")
    record = canonical(parse(body)[0])
    assert record["defendants"] == [] and record["transfer_no"] is None
    assert record["amount_ordered"] == "800.00"


@pytest.mark.parametrize("amount", [1.1e300, 382848, 382848.0, True, ["1"]])
def test_money_must_be_a_decimal_string(amount):
    err = refused(judgment(amount_ordered=amount))
    assert (err.field, err.rule) == ("body.amount_ordered", "decimal-string")


def test_float_amount_sample_is_refused_without_reading_infinity():
    err = refused(FLOAT_AMOUNT)
    assert (err.field, err.rule, err.kind) == ("body.amount_ordered", "decimal-string", "judgment")
    assert "amount_ordered" in err.reason and "370103196601215548" not in err.reason


@pytest.mark.parametrize("amount, rule", [("382848.005", "money-format"), ("1e5", "money-format"),
                                          ("-1.00", "money-non-negative"), ("", "required"),
                                          ("３８２８４８.00", "money-format"), ("1.00\n1", "money-format")])
def test_money_format(amount, rule):
    err = refused(judgment(amount_ordered=amount))
    assert (err.field, err.rule) == ("body.amount_ordered", rule)


@pytest.mark.parametrize("body, field, rule", [
    (b'{"doc_type": "ruling", "body": {}}', "doc_type", "enum"),
    (b'{"doc_type": "referral", "body": {}}', "doc_type", "enum"),
    (b'{"doc_type": ["judgment"], "body": {}}', "doc_type", "enum"),
    (b'{"body": {}}', "doc_type", "required"),
    (b'{"doc_type": "judgment"}', "body", "required"),
    (b'{"doc_type": "judgment", "body": []}', "body", "type"),
    (b'[]', None, "type"),
    (b'{"doc_type": "judgment", "body": {', "body", "json"),
    (b'{"doc_type": "judgment", "body": {"amount_ordered": NaN}}', "body", "json"),
    (b'\xff{}', "body", "json"),
    (b"[" * 100000 + b"]" * 100000, "body", "json"),
    (b'{"n": 1' + b"0" * 5000 + b"}", "body", "json"),
])
def test_whole_document_problems(body, field, rule):
    err = refused(body)
    assert (err.field, err.rule) == (field, rule)
    assert f"rule: {rule}" in err.reason


@pytest.mark.parametrize("change, field, rule", [
    ({"employer_credit_code": ...}, "body.employer_credit_code", "exactly-one"),
    ({"case_number": None}, "body.case_number", "required"),
    ({"case_number": 2023}, "body.case_number", "type"),
    ({"sentence_months": "27"}, "body.sentence_months", "integer"),
    ({"sentence_months": 27.0}, "body.sentence_months", "integer"),
    ({"sentence_months": True}, "body.sentence_months", "integer"),
    ({"decided_on": "2023/09/01"}, "body.decided_on", "date"),
    ({"decided_on": "2023-02-30"}, "body.decided_on", "date"),
    ({"defendants": {"name": "x"}}, "body.defendants", "type"),
    ({"defendants": ["徐建国"]}, "body.defendants[0]", "type"),
    ({"defendants": [{"id_number": "370103196601215548"}]}, "body.defendants[0].name", "required"),
    ({"court_code": ""}, "body.court_code", "required"),
    ({"court_code": "   "}, "body.court_code", "required"),
    ({"defendants": [{"name": "徐建国", "id_number": 370103196601215548}]}, "body.defendants[0].id_number",
     "type"),
])
def test_judgment_field_problems_name_the_native_path(change, field, rule):
    err = refused(judgment(**change))
    assert (err.field, err.rule, err.kind) == (field, rule, "judgment")
    assert "370103196601215548" not in err.reason and "徐建国" not in err.reason


def test_schema_rules_are_left_to_the_hub(running_hub):
    body = judgment(employer_credit_code="91370103JURQ283F5A", verdict="maybe")
    (parsed,) = parse(body)
    with pytest.raises(schemas.RecordInvalid) as err:
        canonical(parsed)
    assert {path for path, _ in err.value.errors} == {"employer_uscc", "verdict"}  # the schema's paths
    assert parsed.raw is not None
    failure = hub_refusal(running_hub, body)  # the hub names them as the court does
    assert failure.field == "body.employer_credit_code"
    assert "body.employer_credit_code (employer_uscc): " in failure.reason
    assert "body.verdict (verdict): " in failure.reason


def test_a_credit_code_the_schema_refuses_is_dead_lettered_by_its_native_name(running_hub):
    """The plugin takes any string as a credit code; the shared schema checks its check character."""
    body = judgment(employer_credit_code="91370103JURQ283F5A")
    assert parse(body)[0].record["employer_uscc"] == "91370103JURQ283F5A"  # the plugin accepts it
    failure = hub_refusal(running_hub, body)
    assert (failure.field, failure.rule, failure.kind) == ("body.employer_credit_code", "uscc-gb32100", "judgment")
    assert failure.reason.startswith("body.employer_credit_code (employer_uscc): ")
    assert failure.reason.endswith("(rule: uscc-gb32100)")
    assert "91370103JURQ283F5A" not in failure.reason


@pytest.mark.parametrize("change, field, native, rule", [
    ({"defendants": [{"name": "徐建国", "id_number": "370103196601215549"}]}, "defendants.0.id_number",
     "body.defendants[0].id_number", "id-number-gb11643"),
    ({"procedure": "criminal", "defendants": ...}, "defendants", "body.defendants", "required-if"),
    ({"procedure": "administrative"}, "procedure", "body.procedure", "enum"),
    ({"case_number": "X" * 65}, "case_number", "body.case_number", "length"),
])
def test_judgment_schema_refusals_name_the_native_path(running_hub, change, field, native, rule):
    failure = hub_refusal(running_hub, judgment(**change))
    assert (failure.field, failure.rule) == (native, rule)
    assert failure.reason.startswith(f"{native} ({field}): ") and f"(rule: {rule})" in failure.reason
    assert "370103196601215549" not in failure.reason


def test_enforcement_schema_refusal_names_the_native_path(running_hub):
    doc = json.loads(ENFORCEMENT)
    doc["body"]["status"] = "closed"
    failure = hub_refusal(running_hub, json.dumps(doc, ensure_ascii=False).encode())
    assert (failure.field, failure.rule, failure.kind) == ("body.status", "enum", "enforcement")
    assert failure.reason.startswith("body.status (status): ")


@pytest.mark.parametrize("doc_type", ["judgment", "enforcement"])
def test_native_field_names_are_schema_paths_named_as_the_plugins_refusals(doc_type):
    record_type, _ = inbound.MAPPERS[doc_type]
    names = inbound.FIELDS[doc_type]
    assert unknown_fields(record_type, names) == []
    assert all(re.fullmatch(r"body\.[a-z_]+(\[\]\.[a-z_]+)?", native) for native in names.values()), names


@pytest.mark.parametrize("sample", [JUDGMENT, ENFORCEMENT])
def test_every_field_the_court_sends_is_named_natively(sample):
    (parsed,) = parse(sample)
    assert parsed.fields is inbound.FIELDS[parsed.kind]
    mapped = {path for path in parsed.fields if "[]" not in path}
    # every field read is mapped; what is not read is the employer named the other way (1.2)
    assert set(parsed.record) | {"source_ref"} <= mapped
    assert mapped - set(parsed.record) - {"source_ref"} <= {"employer_id_number", "employer_uscc"}
    body = json.loads(sample)["body"]
    assert {native.removeprefix("body.").split("[]")[0] for path, native in parsed.fields.items()
            if path.split("[]")[0] in parsed.record or path == "source_ref"} <= set(body)


def test_enforcement_problems():
    doc = json.loads(ENFORCEMENT)
    doc["body"]["amount_paid"] = 0
    err = refused(json.dumps(doc).encode())
    assert (err.field, err.rule, err.kind) == ("body.amount_paid", "decimal-string", "enforcement")
    del doc["body"]["judgment_case_number"]
    assert refused(json.dumps(doc).encode()).field == "body.judgment_case_number"


@pytest.mark.parametrize("number", ["（2023）鲁0103刑初880号", "ABC"])
def test_an_enforcement_case_number_has_zhi_in_it(number):
    doc = json.loads(ENFORCEMENT)
    doc["body"]["case_number"] = number
    err = refused(json.dumps(doc, ensure_ascii=False).encode())
    assert (err.field, err.rule, err.kind) == ("body.case_number", "enforcement-case-number", "enforcement")


def test_byte_order_mark_is_tolerated():
    assert parse(b"\xef\xbb\xbf" + JUDGMENT)[0].source_ref == FACTS["court_case_number"]


# -- referral -------------------------------------------------------------------------------------

RECORD = {
    "record_id": "rec-1", "type": "police_decision", "schema_version": "1.0", "source_agency": "police",
    "source_ref": "GA-370103-880-2", "matter_id": "m-1", "received_at": "2023-06-28T15:00:00+08:00",
    "transfer_no": FACTS["transfer_no"], "decision": "opened", "police_case_no": "A370103202300880",
    "decided_at": "2023-06-28T15:00:00+08:00", "amount_owed": FACTS["amount_yuan"], "employer": {"name": "海岱建筑劳务有限公司"},
}


def delivery(**kw) -> hub.Delivery:
    args = {"recipient": "court", "kind": "referral", "route": "decision-to-court", "record_type": "police_decision",
            "record": RECORD, "refs": {"transfer_no": [FACTS["transfer_no"]], "clue_no": [FACTS["clue_no"], "XS-2"],
                                       "order_no": []},
            "message_id": "out-court-1", "matter_id": "m-1", "created_at": "2023-06-28T15:05:00+08:00"}
    args.update(kw)
    return hub.Delivery(**args)


def test_referral_document():
    rendered = court.render_record(delivery=delivery(), settings={})
    assert (rendered.content_type, rendered.content_encoding) == ("application/json", "utf-8")
    assert "海岱建筑劳务有限公司".encode() in rendered.body  # ensure_ascii=False: UTF-8, not \\u escapes
    doc = json.loads(rendered.body.decode("utf-8"))
    assert doc == {
        "doc_type": "referral", "doc_id": "out-court-1", "issued_at": "2023-06-28T15:05:00+08:00",
        "body": {"kind": "criminal_case",
                 "refs": {"transfer_no": FACTS["transfer_no"], "clue_no": FACTS["clue_no"]},
                 "record": RECORD},
    }
    assert doc["body"]["record"]["amount_owed"] == "382848.00"


def test_referral_is_deterministic_whatever_the_key_order():
    a = court.render_record(delivery=delivery(), settings={}).body
    b = court.render_record(delivery=delivery(record=dict(reversed(list(RECORD.items())))), settings={}).body
    assert a == b


def test_referral_kind_from_the_route():
    doc = json.loads(court.render_record(delivery=delivery(params={"referral_kind": "enforcement_request"}),
                                         settings={}).body)
    assert doc["body"]["kind"] == "enforcement_request"
    with pytest.raises(ValueError, match="referral_kind"):
        court.render_record(delivery=delivery(params={"referral_kind": "appeal"}), settings={})
    with pytest.raises(ValueError, match="referral"):
        court.render_record(delivery=delivery(kind="NOTICE"), settings={})


def test_referral_round_trips_through_the_parser_shape():
    """What the court receives is plain JSON: money strings stay strings."""
    doc = json.loads(court.render_record(delivery=delivery(), settings={}).body)
    assert isinstance(doc["body"]["record"]["amount_owed"], str)


# -- robustness -----------------------------------------------------------------------------------

def consume(body: bytes) -> None:
    try:
        for item in court.parse_message(message=message(body), settings={}):
            assert isinstance(item, hub.Parsed)
            json.dumps(item.record)
    except hub.InvalidMessage as exc:
        assert exc.rule and exc.reason


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_documents_give_a_record_or_invalid_message(data):
    body = bytearray(data.draw(st.sampled_from([JUDGMENT, ENFORCEMENT, FLOAT_AMOUNT])))
    for _ in range(data.draw(st.integers(0, 5))):
        at = data.draw(st.integers(0, len(body) - 1))
        if data.draw(st.booleans()):
            body[at] = data.draw(st.integers(0, 255))
        else:
            del body[at]
    consume(bytes(body[:data.draw(st.integers(0, len(body)))]) if data.draw(st.booleans()) else bytes(body))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([JUDGMENT, ENFORCEMENT]), st.data())
def test_any_json_in_any_field_gives_a_record_or_invalid_message(sample, data):
    doc = json.loads(sample)
    field = data.draw(st.sampled_from(["doc_type", "body", *(f"body.{k}" for k in doc["body"])]))
    value = data.draw(json_values)
    if field.startswith("body."):
        doc["body"][field[5:]] = value
    else:
        doc[field] = value
    consume(json.dumps(doc).encode())


# -- format 1.2: an individual employer, id_number instead of credit_code --------------------------

BOSS = "370103197503121235"


def test_a_judgment_against_an_individual_employer():
    """2013 interpretation Art. 7: the employer may be an individual (包工头), named by identity number."""
    sample = next(s for s in court.register_samples() if s.name == "court-judgment-individual.json")
    rec = canonical(parse(sample.body)[0])
    assert (rec["employer_uscc"], rec["employer_id_number"]) == (None, BOSS)
    assert (rec["procedure"], rec["hrss_case_no"], rec["amount_ordered"]) == ("civil", "AJ370103202300881",
                                                                             "126000.00")


@pytest.mark.parametrize(("body", "what"), [
    ({"employer_id_number": BOSS}, "are both given"),
    ({"employer_credit_code": ...}, "are both missing"),
])
def test_both_or_neither_employer_number_is_refused(body, what):
    err = refused(judgment(**body))
    assert (err.field, err.rule) == ("body.employer_credit_code", "exactly-one")
    assert what in err.reason and "body.employer_id_number" in err.reason and BOSS not in err.reason


def test_an_individuals_wrong_identity_number_is_named_natively(running_hub):
    failure = hub_refusal(running_hub, judgment(employer_credit_code=..., employer_id_number="370103197503121234"))
    assert (failure.field, failure.rule) == ("body.employer_id_number", "id-number-gb11643")
    assert "370103197503121234" not in failure.reason


def test_an_enforcement_may_name_the_employer_either_way_never_both():
    doc = json.loads(ENFORCEMENT)
    doc["body"]["employer_id_number"] = BOSS
    rec = canonical(parse(json.dumps(doc, ensure_ascii=False).encode())[0])
    assert (rec["employer_uscc"], rec["employer_id_number"]) == (None, BOSS)
    doc["body"]["employer_credit_code"] = FACTS["employer_uscc"]
    err = refused(json.dumps(doc, ensure_ascii=False).encode())
    assert (err.field, err.rule, err.kind) == ("body.employer_credit_code", "exactly-one", "enforcement")
    assert canonical(parse(ENFORCEMENT)[0])["employer_id_number"] is None  # a 1.1 enforcement reads as before
