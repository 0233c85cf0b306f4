"""The hrss plugin: native JSON in, canonical records out, NOTICE back; hooks called directly."""

from __future__ import annotations

import copy
import decimal
import json
import pathlib
import re

import marshmallow as ma
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hub
import schemas
from hub.testing import unknown_fields
from plugins import hrss
from plugins.hrss import inbound, outbound
from schemas.fields import Money
from tests.plugins import leaf_paths, refused_whole

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "samples"
FACTS = json.loads((FIXTURES / "facts.json").read_text(encoding="utf-8"))
SAMPLES = {s.name: s for s in hrss.register_samples()}
GOOD = {name: s for name, s in SAMPLES.items() if not s.bad}
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def parse(body: bytes | str | dict, **kwargs) -> list[hub.Parsed]:
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False)
    if isinstance(body, str):
        body = body.encode("utf-8")
    message = hub.NativeMessage(agency="hrss", body=body, message_id="m-1", content_type="application/json", **kwargs)
    return list(hrss.parse_message(message=message, settings={}))


def canonical(parsed: hub.Parsed) -> dict:
    """The record as the hub would validate it: envelope added, shared schema applied."""
    return schemas.normalise_record({
        "type": parsed.type, "source_agency": "hrss", "source_ref": parsed.source_ref,
        "received_at": parsed.record.get("received_at", "2023-06-20T09:00:00+08:00"), **parsed.record,
    })


def sample_doc(name: str) -> dict:
    return json.loads(SAMPLES[name].body)


def one(name: str) -> dict:
    [parsed] = parse(SAMPLES[name].body)
    return canonical(parsed)


def refusal(running_hub, body: bytes | str | dict):
    """The one failure of a message the hub refuses whole."""
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False)
    if isinstance(body, str):
        body = body.encode("utf-8")
    return refused_whole(running_hub, "hrss", body, "application/json")


# --- register_agency ---------------------------------------------------------------


def test_register_agency():
    info = hrss.register_agency()
    assert info.code == "hrss"
    assert set(info.kinds_in) == {"CLUE", "CASE_STATUS", "PAY_ORDER", "TRANSFER",
                                  "RECONSIDER", "SUPERVISE", "EXTENSION", "PAYMENT", "LISTING"}
    assert info.kinds_out == ("NOTICE", "CLUE")  # CLUE: a 12345 work order, as its own clue
    assert info.schema_version == "1"
    assert "key" in info.secret_settings
    schema = info.settings_schema
    assert isinstance(schema, ma.Schema) and schema.Meta.unknown == ma.RAISE
    assert schema.load({"key": "s3cret"}) == {"key": "s3cret"}
    assert schema.load({}) == {"key": None}
    with pytest.raises(ma.ValidationError):
        schema.load({"kye": "typo"})


# --- parse_message: the samples ----------------------------------------------------


def test_clue_sample():
    rec = one("hrss-clue.json")
    assert rec["type"] == "clue"
    assert rec["source_ref"] == rec["clue_no"] == FACTS["clue_no"]
    assert rec["channel"] == "qr_code"
    assert rec["received_at"] == "2023-05-22T09:10:00+08:00"
    assert rec["region_code"] == FACTS["area"]
    assert rec["complainant"] == {"name": "王春生", "id_number": FACTS["complainant_id"],
                                  "mobile": FACTS["complainant_mobile"]}
    assert rec["employer"] == {"name": "海岱建筑劳务有限公司", "uscc": FACTS["employer_uscc"], "id_number": None}
    assert rec["project_code"] == FACTS["project_code"]
    assert rec["worker_count"] == FACTS["workers"]
    assert rec["amount_owed"] == FACTS["amount_yuan"] == "382848.00"
    assert (rec["period_from"], rec["period_to"]) == ("2023-01", "2023-04")
    assert rec["content"] == "工程完工后劳务公司拖欠工资"


def test_clue_record_has_no_envelope_fields():
    [parsed] = parse(SAMPLES["hrss-clue.json"].body)
    assert parsed.kind == "CLUE"
    for key in ("record_id", "matter_id", "source_agency", "schema_version", "type", "accepted_at"):
        assert key not in parsed.record
    assert parsed.record["received_at"] == "2023-05-22T09:10:00+08:00"


def test_case_sample():
    [parsed] = parse(SAMPLES["hrss-case.json"].body)
    assert "received_at" not in parsed.record  # not a key field of a case: the hub stamps it
    rec = canonical(parsed)
    assert rec["type"] == "case"
    assert rec["source_ref"] == rec["case_no"] == FACTS["case_no"]
    assert rec["clue_nos"] == [FACTS["clue_no"]]
    assert rec["status"] == "opened"
    assert rec["status_at"] == "2023-05-22T16:00:00+08:00"
    assert rec["first_contact_at"] == "2023-05-22T11:00:00+08:00"
    assert rec["handler"] == "370103劳动保障监察大队"
    assert rec["amount_recovered"] == "0.00"
    assert rec["workers_paid"] == 0


def test_order_sample():
    rec = one("hrss-order.json")
    assert rec["type"] == "payment_order"
    assert rec["source_ref"] == rec["order_no"] == FACTS["order_no"]
    assert rec["case_no"] == FACTS["case_no"]
    assert rec["employer_uscc"] == FACTS["employer_uscc"]
    assert rec["amount"] == FACTS["amount_yuan"]
    assert (rec["issued_on"], rec["due_on"], rec["served_on"]) == ("2023-06-01", "2023-06-15", "2023-06-02")
    assert rec["complied"] is False


def test_transfer_sample():
    rec = one("hrss-transfer.json")
    assert rec["type"] == "criminal_transfer"
    assert rec["source_ref"] == rec["transfer_no"] == FACTS["transfer_no"]
    assert (rec["case_no"], rec["order_no"]) == (FACTS["case_no"], FACTS["order_no"])
    assert rec["employer"] == {"name": "海岱建筑劳务有限公司", "uscc": FACTS["employer_uscc"], "id_number": None}
    assert rec["suspects"] == [{"name": "徐建国", "id_number": "370103196601215548", "role": "法定代表人"}]
    assert rec["worker_count"] == FACTS["workers"]
    assert rec["amount_owed"] == FACTS["amount_yuan"]
    assert rec["evidence"] == ["E01", "E02", "E03", "E04"]
    assert rec["transferred_on"] == "2023-06-20"
    assert rec["police_unit"] == "370103000000"
    assert rec["summary"] == "经责令支付逾期仍不支付"


@pytest.mark.parametrize(("code", "channel"), list(inbound.CHANNELS.items()))
def test_channel_codes(code, channel):
    doc = sample_doc("hrss-clue.json")
    doc["data"]["channel"] = code
    assert canonical(parse(doc)[0])["channel"] == channel


@pytest.mark.parametrize(("code", "status"), [("10", "accepted"), ("20", "opened"), ("30", "mediating"),
                                               ("40", "closed"), ("50", "transferred"), ("60", "rejected")])
def test_case_status_codes(code, status):
    doc = sample_doc("hrss-case.json")
    doc["data"]["status"] = code
    assert canonical(parse(doc)[0])["status"] == status


def test_complied_one_is_true():
    doc = sample_doc("hrss-order.json")
    doc["data"]["complied"] = "1"
    assert canonical(parse(doc)[0])["complied"] is True


def test_optional_fields_may_be_absent():
    doc = sample_doc("hrss-clue.json")
    for key in ("projectCode", "periodFrom", "periodTo", "content"):
        del doc["data"][key]
    del doc["data"]["complainant"]["idNo"]
    doc["data"]["employer"]["creditCode"] = None
    rec = canonical(parse(doc)[0])
    assert rec["complainant"]["id_number"] is None and rec["employer"]["uscc"] is None
    assert rec["project_code"] is None and rec["period_from"] is None


def test_utf8_bom_and_lower_case_x_accepted():
    doc = sample_doc("hrss-clue.json")
    doc["data"]["complainant"]["idNo"] = FACTS["complainant_id"].lower()
    body = b"\xef\xbb\xbf" + json.dumps(doc, ensure_ascii=False).encode("utf-8")
    assert canonical(parse(body)[0])["complainant"]["id_number"] == FACTS["complainant_id"]


@pytest.mark.parametrize(("fen", "yuan"), [
    (0, "0.00"), (1, "0.01"), (10, "0.10"), (99, "0.99"), (100, "1.00"), (3600000, "36000.00"),
    (38284800, "382848.00"), (-5, "-0.05"), (999999999999999999, "9999999999999999.99"),
    (12345678901234567890123456789012, "123456789012345678901234567890.12"),
])
def test_fen_to_yuan_is_exact(fen, yuan):
    assert inbound.fen_to_yuan(fen) == yuan
    assert outbound.yuan_to_fen(yuan) == fen


# --- parse_message: refusals ---------------------------------------------------------


def test_bad_idcheck_is_refused_naming_the_field(running_hub):
    [parsed] = parse(SAMPLES["hrss-bad-idcheck.json"].body)
    with pytest.raises(schemas.RecordInvalid) as exc:
        canonical(parsed)
    assert (exc.value.field, exc.value.rule) == ("complainant.id_number", "id-number-gb11643")  # the schema's path
    failure = refusal(running_hub, SAMPLES["hrss-bad-idcheck.json"].body)  # the hub names it as hrss does
    assert (failure.field, failure.rule, failure.kind) == ("data.complainant.idNo", "id-number-gb11643", "CLUE")
    assert failure.reason.startswith("data.complainant.idNo (complainant.id_number): ")
    assert "370103198212262340" not in failure.reason


def test_bad_amount_is_refused_naming_the_field(running_hub):
    [parsed] = parse(SAMPLES["hrss-bad-amount.json"].body)
    assert parsed.record["amount"] == "-0.05"  # mapped faithfully; the shared schema refuses it
    failure = refusal(running_hub, SAMPLES["hrss-bad-amount.json"].body)
    assert (failure.field, failure.rule) == ("data.amountFen", "money-non-negative")
    assert failure.reason.startswith("data.amountFen (amount): ") and "(rule: money-non-negative)" in failure.reason


def test_bad_json_is_refused():
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(SAMPLES["hrss-bad-json.json"].body)
    assert exc.value.rule == "json"
    assert "JSON" in exc.value.reason


def test_truncated_ascii_json_is_refused():
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(b'{"msgType": "CLUE", "data": {"clueNo": "X"')
    assert exc.value.rule == "json" and "JSON" in exc.value.reason


def test_unknown_msg_type_is_refused():
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(SAMPLES["hrss-unknown-type.json"].body)
    assert (exc.value.field, exc.value.rule) == ("msgType", "enum")
    assert "msgType" in exc.value.reason
    assert "REFUND" not in exc.value.reason


def test_notice_is_not_read_inbound():
    with pytest.raises(hub.InvalidMessage) as exc:
        parse({"msgType": "NOTICE", "msgId": "x", "sendTime": "20230601090000", "data": {}})
    assert exc.value.rule == "enum"


def _set(doc: dict, path: str, value) -> dict:
    *parents, last = path.split(".")
    node = doc
    for key in parents:
        node = node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(("sample", "path", "value", "field", "rule"), [
    ("hrss-clue.json", "data.amountFen", "3600000", "data.amountFen", "integer-fen"),
    ("hrss-clue.json", "data.amountFen", 36000.5, "data.amountFen", "integer-fen"),
    ("hrss-clue.json", "data.amountFen", 3600000.0, "data.amountFen", "integer-fen"),
    ("hrss-clue.json", "data.amountFen", True, "data.amountFen", "integer-fen"),
    ("hrss-clue.json", "data.amountFen", _DELETE, "data.amountFen", "required"),
    ("hrss-clue.json", "data.clueNo", _DELETE, "data.clueNo", "required"),
    ("hrss-clue.json", "data.clueNo", 880, "data.clueNo", "type"),
    ("hrss-clue.json", "data.channel", "07", "data.channel", "enum"),
    ("hrss-clue.json", "data.channel", 1, "data.channel", "enum"),
    ("hrss-clue.json", "data.receivedTime", "2023-05-22 09:10:00", "data.receivedTime", "time-format"),
    ("hrss-clue.json", "data.receivedTime", "20230230091000", "data.receivedTime", "time-format"),
    ("hrss-clue.json", "data.periodFrom", "202313", "data.periodFrom", "month-format"),
    ("hrss-clue.json", "data.periodTo", "2023-04", "data.periodTo", "month-format"),
    ("hrss-clue.json", "data.workerCount", "24", "data.workerCount", "type"),
    ("hrss-clue.json", "data.complainant", "王春生", "data.complainant", "type"),
    ("hrss-clue.json", "data.complainant.mobile", _DELETE, "data.complainant.mobile", "required"),
    ("hrss-clue.json", "data.complainant.idNo", 37010319821226234, "data.complainant.idNo", "type"),
    ("hrss-clue.json", "data.complainant.mobile", 13923720696, "data.complainant.mobile", "type"),
    ("hrss-clue.json", "data", _DELETE, "data", "required"),
    ("hrss-clue.json", "data", [], "data", "type"),
    ("hrss-clue.json", "msgType", _DELETE, "msgType", "required"),
    ("hrss-clue.json", "sendTime", "yesterday", "sendTime", "time-format"),
    ("hrss-case.json", "data.status", "70", "data.status", "enum"),
    ("hrss-case.json", "data.clueNos", "XS3701032023050880", "data.clueNos", "type"),
    ("hrss-case.json", "data.clueNos", [880], "data.clueNos[0]", "type"),
    ("hrss-case.json", "data.recoveredFen", "0", "data.recoveredFen", "integer-fen"),
    ("hrss-order.json", "data.complied", "2", "data.complied", "enum"),
    ("hrss-order.json", "data.complied", 0, "data.complied", "enum"),
    ("hrss-order.json", "data.complied", False, "data.complied", "enum"),
    ("hrss-order.json", "data.dueDate", "2023-06-15", "data.dueDate", "date-format"),
    ("hrss-order.json", "data.creditCode", _DELETE, "data.creditCode", "exactly-one"),
    ("hrss-transfer.json", "data.suspects", {"name": "x"}, "data.suspects", "type"),
    ("hrss-transfer.json", "data.suspects", ["徐建国"], "data.suspects[0]", "type"),
    ("hrss-transfer.json", "data.evidence", "E01,E02", "data.evidence", "type"),
    ("hrss-transfer.json", "data.transferDate", "20231320", "data.transferDate", "date-format"),
    ("hrss-transfer.json", "data.employerName", _DELETE, "data.employerName", "required"),
])
def test_native_errors_name_field_and_rule(sample, path, value, field, rule):
    doc = _set(sample_doc(sample), path, value)
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(doc)
    assert (exc.value.field, exc.value.rule) == (field, rule)
    assert field in exc.value.reason and rule in exc.value.reason
    assert exc.value.details == {"field": field, "rule": rule, "kind": exc.value.kind}
    if path != "msgType":
        assert exc.value.kind == doc["msgType"]


def test_suspect_id_number_is_required():
    doc = sample_doc("hrss-transfer.json")
    del doc["data"]["suspects"][0]["idNo"]
    with pytest.raises(hub.InvalidMessage) as exc:
        parse(doc)
    assert (exc.value.field, exc.value.rule) == ("data.suspects[0].idNo", "required")


@pytest.mark.parametrize(("sample", "path", "value", "field", "native"), [
    ("hrss-clue.json", "data.areaCode", "999999", "region_code", "data.areaCode"),
    ("hrss-clue.json", "data.employer.creditCode", "91370103JURQ283F5C", "employer.uscc", "data.employer.creditCode"),
    ("hrss-clue.json", "data.complainant.mobile", "2392372069", "complainant.mobile", "data.complainant.mobile"),
    ("hrss-clue.json", "data.amountFen", 0, "amount_owed", "data.amountFen"),
    ("hrss-clue.json", "data.workerCount", 0, "worker_count", "data.workerCount"),
    ("hrss-clue.json", "data.periodFrom", "202305", "period_to", "data.periodTo"),
    ("hrss-order.json", "data.dueDate", "20230530", "due_on", "data.dueDate"),
    ("hrss-transfer.json", "data.suspects", [], "suspects", "data.suspects"),
    ("hrss-transfer.json", "data.evidence", ["E09"], "evidence.0", "data.evidence.0"),
])
def test_semantic_errors_left_to_the_shared_schema(running_hub, sample, path, value, field, native):
    doc = _set(sample_doc(sample), path, value)
    [parsed] = parse(doc)
    with pytest.raises(schemas.RecordInvalid) as exc:
        canonical(parsed)
    assert exc.value.field == field  # the schema names its own path; the hub, the native one
    failure = refusal(running_hub, doc)
    assert failure.field == native
    assert failure.reason.startswith(f"{native} ({field}): ")


def test_a_credit_code_the_schema_refuses_is_dead_lettered_by_its_native_name(running_hub):
    """The plugin takes any string as a credit code; the shared schema checks its check character."""
    doc = _set(sample_doc("hrss-order.json"), "data.creditCode", "91370103JURQ283F5C")
    [parsed] = parse(doc)
    assert parsed.record["employer_uscc"] == "91370103JURQ283F5C"  # the plugin accepts it
    [outcome] = running_hub.pipeline.process([hub.NativeMessage(
        agency="hrss", body=json.dumps(doc).encode(), message_id="hrss-order-bad-uscc",
        content_type="application/json")])
    assert outcome.status == "rejected" and not outcome.records and len(outcome.dead_letters) == 1
    [failure] = list(outcome.failures)
    assert (failure.field, failure.rule, failure.kind) == ("data.creditCode", "uscc-gb32100", "PAY_ORDER")
    assert failure.reason.startswith("data.creditCode (employer_uscc): ")
    assert failure.reason.endswith("(rule: uscc-gb32100)")
    assert "91370103JURQ283F5C" not in failure.reason


def test_a_list_items_field_is_named_as_hrss_names_it_with_its_index(running_hub):
    doc = _set(sample_doc("hrss-transfer.json"), "data.suspects", [{"name": "徐建国", "idNo": "370103196601215548"},
                                                                     {"name": "李四", "idNo": "370103196601215549"}])
    failure = refusal(running_hub, doc)
    assert (failure.field, failure.rule) == ("data.suspects[1].idNo", "id-number-gb11643")
    assert failure.reason.startswith("data.suspects[1].idNo (suspects.1.id_number): ")
    assert "370103196601215549" not in failure.reason


@pytest.mark.parametrize("kind", ["CLUE", "CASE_STATUS", "PAY_ORDER", "TRANSFER"])
def test_native_field_names_are_schema_paths_named_as_the_plugins_refusals(kind):
    record_type, _ = inbound.KINDS_IN[kind]
    names = inbound.FIELDS[kind]
    assert unknown_fields(record_type, names) == []
    # hrss's own refusals name data.<camelCase path> (data.amountFen, data.employer.creditCode)
    assert all(re.fullmatch(r"data(\.[a-z][A-Za-z]*(\[\])?)+", native) for native in names.values()), names


def test_every_field_hrss_sends_is_named_natively():
    """Every record field a sample fills has a mapped path (itself or the object holding it)."""
    for sample in GOOD.values():
        [parsed] = parse(sample.body)
        assert parsed.fields is inbound.FIELDS[parsed.kind]
        unnamed = {path for path in leaf_paths(parsed.record) | {"source_ref"}
                   if not any(".".join(path.split(".")[:i]) in parsed.fields for i in range(1, path.count(".") + 2))}
        assert unnamed == set(), sample.name
        doc = json.loads(sample.body)
        present = leaf_paths(parsed.record) | {"source_ref"}
        for path, native in parsed.fields.items():  # each native name of a field read is a field of the sample
            if not any(p == path.replace("[]", "") or p.startswith(path.split("[]")[0] + ".") for p in present):
                continue  # (first item of a list)
            node = doc
            for key in native.split("."):
                node = node[key.removesuffix("[]")]
                node = node[0] if key.endswith("[]") else node


def test_personal_data_never_in_a_reason():
    """Wrong-typed identity number and mobile: the refusal names them, never shows them."""
    for key, value in (("idNo", 37010319821226234), ("mobile", 13923720696), ("name", ["王春生"])):
        doc = sample_doc("hrss-clue.json")
        doc["data"]["complainant"][key] = value
        with pytest.raises(hub.InvalidMessage) as exc:
            parse(doc)
        text = f"{exc.value.reason} {exc.value.details}"
        assert str(value).strip("[]'") not in text
        assert "王春生" not in text and "13923720696" not in text


def test_extra_native_fields_are_ignored():
    doc = sample_doc("hrss-order.json")
    doc["data"]["newField"] = {"anything": 1}
    doc["extra"] = True
    assert canonical(parse(doc)[0])["order_no"] == FACTS["order_no"]


# --- register_samples ----------------------------------------------------------------


def test_samples_are_shipped_in_the_package():
    assert set(GOOD) == {"hrss-clue.json", "hrss-case.json", "hrss-order.json", "hrss-transfer.json",
                         "hrss-transfer-resubmitted.json", "hrss-payment.json", "hrss-extension.json",
                         "hrss-order-individual.json", "hrss-transfer-individual.json", "hrss-reconsider.json",
                         "hrss-supervise.json", "hrss-listing.json"}
    assert {name for name, s in SAMPLES.items() if s.bad} == {
        "hrss-bad-idcheck.json", "hrss-bad-json.json", "hrss-bad-amount.json", "hrss-unknown-type.json",
        "hrss-bad-worker-count.json", "hrss-bad-worker-sum.json", "hrss-bad-both-employers.json",
        "hrss-bad-no-employer.json", "hrss-bad-extension.json", "hrss-bad-payment.json", "hrss-bad-reconsider.json",
        "hrss-bad-supervise.json", "hrss-bad-listing.json"}
    for sample in SAMPLES.values():
        assert sample.content_type == "application/json"
        assert (pathlib.Path(hrss.__file__).parent / "samples").is_dir()


def test_good_samples_at_is_their_business_time_in_order():
    times = {"CLUE": "received_at", "CASE_STATUS": "status_at", "PAY_ORDER": "issued_on",
             "TRANSFER": "transferred_on", "RECONSIDER": "requested_on", "SUPERVISE": "requested_on",
             "EXTENSION": "approved_on", "PAYMENT": "paid_on", "LISTING": "decision_date"}
    for sample in GOOD.values():
        rec = one(sample.name)
        assert sample.kind == parse(sample.body)[0].kind
        value = rec[times[sample.kind]]
        assert sample.at == (value if "T" in value else f"{value}T00:00:00+08:00")
    ordered = [s.kind for s in sorted(GOOD.values(), key=lambda s: s.at)]
    assert ordered == ["CLUE", "CASE_STATUS", "PAY_ORDER", "TRANSFER", "TRANSFER", "PAY_ORDER", "PAYMENT",
                       "TRANSFER", "RECONSIDER", "SUPERVISE", "EXTENSION", "LISTING"]


@pytest.mark.parametrize("name", sorted(name for name, s in SAMPLES.items() if s.bad))
def test_bad_samples_are_refused_with_their_reason(running_hub, name):
    """Each bad sample is dead-lettered whole, the reason naming hrss's field and the rule."""
    sample = SAMPLES[name]
    assert sample.bad and sample.reason
    failure = refusal(running_hub, sample.body)
    said = f"{failure.reason} {failure.field} {failure.rule}"
    assert sample.reason.lower() in said.lower()
    assert "(rule: " in failure.reason


# --- render_record: NOTICE -------------------------------------------------------------

CREATED = "2023-06-21T10:05:00+08:00"
REFS = {"case_no": [FACTS["case_no"]], "clue_no": [FACTS["clue_no"], "XS-LATER"],
        "transfer_no": [FACTS["transfer_no"]], "order_no": [FACTS["order_no"]]}


def notice(record_type: str, record: dict, *, notice_kind: str | None = None, refs=REFS, **kwargs) -> dict:
    delivery = hub.Delivery(
        recipient="hrss", kind="NOTICE", route=f"{record_type}-to-hrss", record_type=record_type,
        record=record, refs=refs, message_id="out-1", matter_id="mat-1",
        params={"notice_kind": notice_kind} if notice_kind else {}, created_at=kwargs.pop("created_at", CREATED),
        **kwargs,
    )
    rendered = hrss.render_record(delivery=delivery, settings={})
    assert (rendered.content_type, rendered.content_encoding) == ("application/json", "utf-8")
    again = hrss.render_record(delivery=delivery, settings={})
    assert again.body == rendered.body  # deterministic: a retried delivery gives the same bytes
    return json.loads(rendered.body.decode("utf-8"))


RECEIPT = {"type": "police_receipt", "record_id": "rec-5", "source_agency": "police",
           "source_ref": "YS37010320230880/AJJS/20230621093000", "matter_id": "mat-1",
           "transfer_no": FACTS["transfer_no"], "received_at": "2023-06-21T09:30:00+08:00", "officer": "王德华"}
DECISION = {"type": "police_decision", "record_id": "rec-6", "source_agency": "police",
            "source_ref": "YS37010320230880/LAJD/20230628150000", "matter_id": "mat-1",
            "transfer_no": FACTS["transfer_no"], "decision": "opened", "police_case_no": "A370103202300880",
            "decided_at": "2023-06-28T15:00:00+08:00", "reason": None}


def test_notice_for_a_police_receipt():
    msg = notice("police_receipt", RECEIPT, notice_kind="POLICE_RECEIPT")
    assert msg["msgType"] == "NOTICE"
    assert msg["msgId"] == "out-1"
    assert msg["sendTime"] == "20230621100500"
    assert msg["data"]["kind"] == "POLICE_RECEIPT"
    assert msg["data"]["refs"] == {"caseNo": FACTS["case_no"], "transferNo": FACTS["transfer_no"],
                                   "clueNo": FACTS["clue_no"]}
    assert msg["data"]["record"] == RECEIPT


def test_notice_for_a_police_decision():
    msg = notice("police_decision", DECISION, notice_kind="POLICE_DECISION")
    assert msg["data"]["kind"] == "POLICE_DECISION"
    assert msg["data"]["record"] == DECISION
    assert msg["data"]["record"]["reason"] is None
    assert msg["data"]["refs"]["transferNo"] == FACTS["transfer_no"]


def test_notice_is_utf8_not_escaped():
    body = hrss.render_record(delivery=hub.Delivery(
        recipient="hrss", kind="NOTICE", route="r", record_type="police_receipt", record=RECEIPT, refs={},
        message_id="out-1", params={"notice_kind": "POLICE_RECEIPT"}, created_at=CREATED), settings={}).body
    assert "王德华".encode() in body
    assert b"\\u" not in body


def test_notice_kind_defaults_from_the_record_type():
    assert notice("police_receipt", RECEIPT)["data"]["kind"] == "POLICE_RECEIPT"
    assert notice("police_decision", DECISION)["data"]["kind"] == "POLICE_DECISION"


def test_notice_refs_prefer_the_record_then_the_first_known():
    other = dict(RECEIPT, transfer_no="YS-OTHER")
    refs = notice("police_receipt", other, notice_kind="POLICE_RECEIPT")["data"]["refs"]
    assert refs == {"caseNo": FACTS["case_no"], "transferNo": "YS-OTHER", "clueNo": FACTS["clue_no"]}
    assert notice("police_receipt", RECEIPT, refs={})["data"]["refs"] == {"transferNo": FACTS["transfer_no"]}
    judgment = {"type": "court_judgment", "case_number": "（2023）鲁0103刑初880号", "procedure": "criminal",
                "hrss_case_no": "AJ-FROM-COURT", "employer_uscc": FACTS["employer_uscc"], "defendants": [],
                "verdict": "guilty", "amount_ordered": "382848.00", "decided_on": "2023-09-01"}
    refs = notice("court_judgment", judgment, refs={"clue_no": ["XS-1"]})["data"]["refs"]
    assert refs == {"caseNo": "AJ-FROM-COURT", "clueNo": "XS-1"}


def test_notice_send_time_is_beijing_time():
    assert notice("police_receipt", RECEIPT, created_at="2023-06-21T02:05:00+00:00")["sendTime"] == "20230621100500"
    assert notice("police_receipt", RECEIPT, created_at="2023-06-21T02:05:00Z")["sendTime"] == "20230621100500"
    # A time without offset is the hub's clock, kept in UTC.
    assert notice("police_receipt", RECEIPT, created_at="2023-06-21T18:05:00")["sendTime"] == "20230622020500"


def test_notice_is_the_same_whatever_the_stored_key_order():
    backwards = dict(reversed(list(DECISION.items())))
    assert notice("police_decision", backwards) == notice("police_decision", DECISION)
    a = hrss.render_record(delivery=hub.Delivery(
        recipient="hrss", kind="NOTICE", route="r", record_type="police_decision", record=backwards, refs=REFS,
        message_id="out-1", created_at=CREATED), settings={}).body
    b = hrss.render_record(delivery=hub.Delivery(
        recipient="hrss", kind="NOTICE", route="r", record_type="police_decision", record=DECISION, refs=REFS,
        message_id="out-1", created_at=CREATED), settings={}).body
    assert a == b


def test_notice_money_back_to_fen():
    mediation = {"type": "mediation_result", "mediation_no": "TJ-1", "clue_no": FACTS["clue_no"],
                 "mediated_on": "2023-06-10", "employer": {"name": "海岱", "uscc": FACTS["employer_uscc"]},
                 "worker_count": 24, "amount_disputed": "382848.00", "outcome": "partial",
                 "amount_agreed": "200000.10", "amount_paid": None, "pay_by": "2023-07-01"}
    record = notice("mediation_result", mediation)["data"]["record"]
    assert record["amount_disputed"] == 38284800
    assert record["amount_agreed"] == 20000010
    assert record["amount_paid"] is None
    assert record["worker_count"] == 24 and record["employer"] == mediation["employer"]
    shortfall = {"type": "payroll_shortfall", "project_code": FACTS["project_code"], "month": "2023-05",
                 "worker_count": 3, "amount_due": "30000.00", "amount_paid": "21000.5", "amount_short": "8999.50"}
    record = notice("payroll_shortfall", shortfall)["data"]["record"]
    assert (record["amount_due"], record["amount_paid"], record["amount_short"]) == (3000000, 2100050, 899950)
    assert record["month"] == "2023-05"


def test_round_trip_clue_amount_back_to_the_same_fen():
    rec = one("hrss-clue.json")
    record = notice("clue", rec, notice_kind="PROJECT_RISK")["data"]["record"]
    assert record["amount_owed"] == sample_doc("hrss-clue.json")["data"]["amountFen"] == 38284800
    assert record["complainant"] == rec["complainant"]


def test_money_fields_found_in_nested_and_listed_schemas():
    """Any record type added later: Money anywhere in the schema, nested or in lists."""

    class Line(ma.Schema):
        amount = Money()
        note = ma.fields.String()

    class Party(ma.Schema):
        lines = ma.fields.List(ma.fields.Nested(Line))
        deposit = Money(data_key="depositYuan")

    class Future(ma.Schema):
        total = Money()
        party = ma.fields.Nested(Party)
        parties = ma.fields.Nested(Party, many=True)
        refunds = ma.fields.List(Money())
        by_month = ma.fields.Dict(keys=ma.fields.String(), values=Money())
        pair = ma.fields.Tuple((Money(), ma.fields.String()))
        label = ma.fields.String()

    record = {
        "total": "10.01", "label": "12.34",
        "party": {"lines": [{"amount": "1.10", "note": "2.00"}], "depositYuan": "0.05"},
        "parties": [{"lines": [], "depositYuan": None}],
        "refunds": ["1", "2.5", None],
        "by_month": {"2023-01": "100.00"},
        "pair": ["0.30", "0.30"],
        "unknown": "3.00",
    }
    out = outbound.money_to_fen(Future(), record)
    assert out == {
        "total": 1001, "label": "12.34",
        "party": {"lines": [{"amount": 110, "note": "2.00"}], "depositYuan": 5},
        "parties": [{"lines": [], "depositYuan": None}],
        "refunds": [100, 250, None],
        "by_month": {"2023-01": 10000},
        "pair": [30, "0.30"],
        "unknown": "3.00",
    }
    assert record["total"] == "10.01"  # the delivery's record is not changed in place


def test_every_record_type_can_be_noticed():
    for record_type in schemas.RECORD_SCHEMAS:
        msg = notice(record_type, {"type": record_type}, notice_kind="X")
        assert msg["data"]["record"] == {"type": record_type}


@pytest.mark.parametrize("value", ["1.005", "abc", "NaN", "Infinity", 1.5, True])
def test_yuan_to_fen_refuses_what_is_not_whole_fen(value):
    with pytest.raises((ValueError, TypeError)):
        outbound.yuan_to_fen(value)


def test_yuan_to_fen_accepts_decimal_and_int():
    assert outbound.yuan_to_fen(decimal.Decimal("382848.00")) == 38284800
    assert outbound.yuan_to_fen(7) == 700
    assert outbound.yuan_to_fen("1E+2") == 10000


def test_render_refuses_other_kinds():
    with pytest.raises(ValueError):
        hrss.render_record(delivery=hub.Delivery(
            recipient="hrss", kind="ASSIGNMENT", route="r", record_type="police_receipt", record=RECEIPT, refs={},
            message_id="out-1", created_at=CREATED), settings={})


def test_notices_the_hub_makes_itself_go_as_they_are():
    """Escalations, linkage decisions and bulletins have no canonical schema."""
    rendered = hrss.render_record(delivery=hub.Delivery(
        recipient="hrss", kind="NOTICE", route="r", record_type="escalation",
        record={"type": "escalation", "rule": "close_case", "due_at": "2023-08-17T23:59:59+08:00"},
        refs={"case_no": ["AJ1"]}, message_id="out-1", params={"notice_kind": "ESCALATION"}, created_at=CREATED),
        settings={})
    data = json.loads(rendered.body)["data"]
    assert data["kind"] == "ESCALATION" and data["refs"]["caseNo"] == "AJ1"
    assert data["record"]["rule"] == "close_case"


def test_the_hubs_own_notices_carry_money_in_fen_too():
    """hrss reads money as integer fen: the daily bulletin's amount_* fields, at any depth."""
    record = {"type": "daily_bulletin", "date": "2023-05-22",
              "total": {"clues_total": 2, "amount_owed": "382848.05", "amount_recovered": "0.00"},
              "districts": [{"region_code": "370103", "amount_owed": "382848.05"}]}
    rendered = hrss.render_record(delivery=hub.Delivery(
        recipient="hrss", kind="NOTICE", route="r", record_type="daily_bulletin", record=record, refs={},
        message_id="out-2", params={"notice_kind": "DAILY_BULLETIN"}, created_at=CREATED), settings={})
    got = json.loads(rendered.body)["data"]["record"]
    assert got["total"] == {"clues_total": 2, "amount_owed": 38284805, "amount_recovered": 0}
    assert got["districts"] == [{"region_code": "370103", "amount_owed": 38284805}]


# --- robustness: whatever the bytes, InvalidMessage or records -----------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _parse_any(body: bytes, encoding: str | None = None) -> None:
    """parse_message either returns records the schema can judge, or raises InvalidMessage."""
    try:
        items = parse(body, content_encoding=encoding)
    except hub.InvalidMessage as exc:
        assert exc.reason and exc.rule
        return
    for parsed in items:
        assert isinstance(parsed, hub.Parsed)
        try:
            canonical(parsed)
        except schemas.RecordInvalid:
            pass


@st.composite
def _mutated(draw, bodies: list[bytes]) -> bytes:
    body = bytearray(draw(st.sampled_from(bodies)))
    for _ in range(draw(st.integers(1, 4))):
        if not body:
            break
        i = draw(st.integers(0, len(body) - 1))
        op = draw(st.sampled_from(["set", "delete", "insert", "truncate"]))
        if op == "set":
            body[i] = draw(st.integers(0, 255))
        elif op == "delete":
            del body[i]
        elif op == "insert":
            body[i:i] = draw(st.binary(min_size=1, max_size=4))
        else:
            del body[i:]
    return bytes(body)


@FUZZ
@given(body=st.binary(max_size=300), encoding=st.sampled_from([None, "utf-8", "gb18030", "binary", "x-unknown"]))
def test_random_bytes_never_crash(body, encoding):
    _parse_any(body, encoding)


@FUZZ
@given(body=_mutated([s.body for s in SAMPLES.values()]))
def test_mutated_samples_never_crash(body):
    _parse_any(body)


@FUZZ
@given(data=st.data())
def test_any_json_value_in_any_field_never_crashes(data):
    sample = data.draw(st.sampled_from(sorted(GOOD)))
    doc = sample_doc(sample)
    targets = [("data", k) for k in doc["data"]] + [("envelope", k) for k in doc]
    nested = [k for k, v in doc["data"].items() if isinstance(v, dict)]
    where, key = data.draw(st.sampled_from(targets + [("nested", k) for k in nested]))
    value = data.draw(_JSON)
    doc = copy.deepcopy(doc)
    if where == "data":
        doc["data"][key] = value
    elif where == "envelope":
        doc[key] = value
    else:
        inner = doc["data"][key]
        inner[data.draw(st.sampled_from(sorted(inner)))] = value
    _parse_any(json.dumps(doc, ensure_ascii=False).encode("utf-8"))


def test_a_utf8_body_is_read_as_utf8_whatever_the_transport_claims():
    """hrss writes UTF-8: a body that is UTF-8 is never read as the GB18030 a transport
    header claims (UTF-8 Chinese read as GB18030 is garbled, and would be stored so)."""
    doc = sample_doc("hrss-clue.json")
    doc["data"]["complainant"]["name"] = "王春"  # even length: GB18030 would read it without error
    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    [parsed] = parse(body, content_encoding="gb18030")
    assert canonical(parsed)["complainant"]["name"] == "王春"
    [parsed] = parse(json.dumps(doc, ensure_ascii=False).encode("gb18030"), content_encoding="gb18030")
    assert canonical(parsed)["complainant"]["name"] == "王春"  # a GB18030 body, so declared, is still read


@pytest.mark.parametrize("path", ["complainant.idNo", "employer.creditCode", "projectCode", "periodFrom", "content"])
@pytest.mark.parametrize("blank", ["", "  "])
def test_an_optional_field_sent_blank_is_absent(path, blank):
    """Systems often write "" for no value: an optional field so sent is left out, not refused."""
    doc = sample_doc("hrss-clue.json")
    node = doc["data"]
    *parents, name = path.split(".")
    for parent in parents:
        node = node[parent]
    node[name] = blank
    [parsed] = parse(doc)
    record = canonical(parsed)
    got = record
    for part in {"complainant.idNo": "complainant.id_number", "employer.creditCode": "employer.uscc",
                 "projectCode": "project_code", "periodFrom": "period_from", "content": "content"}[path].split("."):
        got = got.get(part) if isinstance(got, dict) else None
    assert got is None


@pytest.mark.parametrize("path", ["clueNo", "complainant.name", "employer.name"])
def test_a_required_field_sent_blank_is_missing(path):
    doc = sample_doc("hrss-clue.json")
    node = doc["data"]
    *parents, name = path.split(".")
    for parent in parents:
        node = node[parent]
    node[name] = "   "
    with pytest.raises(hub.InvalidMessage) as err:
        parse(doc)
    assert (err.value.field, err.value.rule) == (f"data.{path}", "required")


# --- format 1.2: individual employers, workers, linkage steps ------------------------------

BOSS = json.loads(SAMPLES["hrss-order-individual.json"].body)["data"]["employerIdNo"]  # the second matter's 包工头


def test_the_individual_employers_samples_name_him_by_identity_number():
    """2013 interpretation Art. 7: an individual without the standing to employ (包工头)."""
    boss = sample_doc("hrss-order-individual.json")["data"]["employerIdNo"]
    order = one("hrss-order-individual.json")
    assert (order["employer_uscc"], order["employer_id_number"]) == (None, boss)
    transfer = one("hrss-transfer-individual.json")
    assert transfer["employer"] == {"name": "刘德海", "uscc": None, "id_number": boss}
    assert "E03" not in transfer["evidence"]


def test_a_clue_may_name_an_individual_employer():
    doc = sample_doc("hrss-clue.json")
    del doc["data"]["employer"]["creditCode"]
    doc["data"]["employer"]["idNo"] = "370103196601215548"
    assert canonical(parse(doc)[0])["employer"] == {"name": "海岱建筑劳务有限公司", "uscc": None,
                                                    "id_number": "370103196601215548"}


def test_workers_one_by_one_in_fen_become_yuan():
    rec = one("hrss-transfer-resubmitted.json")
    doc = sample_doc("hrss-transfer-resubmitted.json")["data"]
    assert rec["worker_count"] == len(rec["workers"]) == 24
    first = doc["workers"][0]
    assert rec["workers"][0] == {"name": first["name"], "id_number": first["idNo"], "amount": "20000.00",
                                 "period_from": "2023-01", "period_to": "2023-04"}
    assert sum(decimal.Decimal(w["amount"]) for w in rec["workers"]) == decimal.Decimal(rec["amount_owed"])


def test_a_case_may_list_its_workers():
    doc = sample_doc("hrss-case.json")
    doc["data"]["workers"] = sample_doc("hrss-transfer-individual.json")["data"]["workers"][:2]
    rec = canonical(parse(doc)[0])
    assert [w["amount"] for w in rec["workers"]] == [fen_yuan(w["amountFen"]) for w in doc["data"]["workers"]]


def fen_yuan(fen: int) -> str:
    return inbound.fen_to_yuan(fen)


@pytest.mark.parametrize(("name", "record"), [
    ("hrss-reconsider.json", {"type": "reconsideration_request", "transfer_no": "YS37010320230881",
                              "requested_on": "2023-07-26"}),
    ("hrss-supervise.json", {"type": "supervision_request", "transfer_no": "YS37010320230881",
                             "requested_on": "2023-07-31"}),
    ("hrss-extension.json", {"type": "case_extension", "case_no": FACTS["case_no"], "approved_on": "2023-08-10",
                             "working_days": 30}),
    ("hrss-payment.json", {"type": "wage_payment", "case_no": FACTS["case_no"], "transfer_no": FACTS["transfer_no"],
                           "amount_paid": "100000.00", "paid_on": "2023-07-05", "workers_paid": 6, "full": False}),
])
def test_the_linkage_steps_are_read(name, record):
    rec = one(name)
    assert {k: rec[k] for k in record} == record
    assert rec["schema_version"] == "1.2"
    assert rec["source_ref"] == (rec.get("transfer_no") if rec["type"].endswith("_request") else rec["case_no"])


def test_a_payment_in_full_and_without_a_transfer():
    doc = sample_doc("hrss-payment.json")
    doc["data"].update(full="1", paidFen=28284800)
    del doc["data"]["transferNo"]
    rec = canonical(parse(doc)[0])
    assert (rec["full"], rec["amount_paid"], rec["transfer_no"]) == (True, "282848.00", None)


@pytest.mark.parametrize(("sample", "change", "field", "rule", "names"), [
    # workers disagreeing with the totals
    ("hrss-transfer-individual.json", {"workerCount": 9}, "data.workerCount", "worker-count", "worker_count"),
    ("hrss-transfer-individual.json", {"amountFen": 12599999}, "data.amountFen", "sum", "amount_owed"),
    # both or neither of creditCode and employerIdNo
    ("hrss-transfer-individual.json", {"creditCode": "91370103JURQ283F5B"}, "data.creditCode", "exactly-one",
     "data.employerIdNo"),
    ("hrss-transfer.json", {"creditCode": None}, "data.creditCode", "exactly-one", "data.employerIdNo"),
    ("hrss-order-individual.json", {"employerIdNo": None}, "data.creditCode", "exactly-one", "data.employerIdNo"),
    ("hrss-order-individual.json", {"creditCode": "91370103JURQ283F5B"}, "data.creditCode", "exactly-one",
     "are both given"),
    ("hrss-order-individual.json", {"employerIdNo": "370103197503121233"}, "data.employerIdNo",
     "id-number-gb11643", "employer_id_number"),
    # an extension over 30 working days (劳动保障监察条例 Art. 17)
    ("hrss-extension.json", {"workingDays": 31}, "data.workingDays", "range", "working_days"),
    ("hrss-extension.json", {"workingDays": 0}, "data.workingDays", "range", "working_days"),
    ("hrss-extension.json", {"workingDays": "30"}, "data.workingDays", "type", "an integer"),
    ("hrss-payment.json", {"paidFen": 0}, "data.paidFen", "range", "amount_paid"),
    ("hrss-payment.json", {"full": None}, "data.full", "required", "is required"),
    ("hrss-reconsider.json", {"requestDate": None}, "data.requestDate", "required", "is required"),
    ("hrss-supervise.json", {"reason": "  "}, "data.reason", "required", "is required"),
])
def test_linkage_refusals_name_the_native_field_and_rule(running_hub, sample, change, field, rule, names):
    doc = sample_doc(sample)
    for key, value in change.items():
        if value is None:
            doc["data"].pop(key, None)
        else:
            doc["data"][key] = value
    failure = refusal(running_hub, doc)
    assert (failure.field, failure.rule) == (field, rule)
    assert names in failure.reason and f"(rule: {rule})" in failure.reason
    assert BOSS not in failure.reason and "370103197503121233" not in failure.reason


def test_a_clue_naming_both_a_company_and_a_person_is_refused(running_hub):
    doc = sample_doc("hrss-clue.json")
    doc["data"]["employer"]["idNo"] = "370103196601215548"
    failure = refusal(running_hub, doc)
    assert (failure.field, failure.rule) == ("data.employer.creditCode", "exactly-one")
    assert "data.employer.idNo" in failure.reason


@pytest.mark.parametrize(("index", "change", "field", "rule"), [
    (1, {"idNo": "370103196601215549"}, "data.workers[1].idNo", "id-number-gb11643"),
    (2, {"amountFen": "1000"}, "data.workers[2].amountFen", "integer-fen"),
    (0, {"periodTo": "202302"}, "data.workers[0].periodTo", "period-order"),
    (3, {"periodFrom": None}, "data.workers[3].periodFrom", "required"),
])
def test_a_workers_field_is_named_with_its_index(running_hub, index, change, field, rule):
    doc = sample_doc("hrss-transfer-individual.json")
    worker = doc["data"]["workers"][index]
    for key, value in change.items():
        if value is None:
            del worker[key]
        else:
            worker[key] = value
    failure = refusal(running_hub, doc)
    assert (failure.field, failure.rule) == (field, rule)


def test_a_worker_listed_twice_is_refused(running_hub):
    doc = sample_doc("hrss-transfer-individual.json")
    workers = doc["data"]["workers"]
    workers[1]["idNo"] = workers[0]["idNo"]
    failure = refusal(running_hub, doc)
    assert (failure.field, failure.rule) == ("data.workers[1].idNo", "duplicate-worker")
    assert workers[0]["idNo"] not in failure.reason


def test_a_refused_transfer_is_dead_lettered_whole_with_its_bytes(running_hub):
    """Nothing half-applied: no record, no delivery; the original bytes kept for replay."""
    from sqlalchemy import func, select

    from hub.store.models import DeadLetter, Outbox, Record

    body = SAMPLES["hrss-bad-worker-count.json"].body
    [outcome] = running_hub.pipeline.process([hub.NativeMessage(
        agency="hrss", body=body, message_id="hrss-whole-1", content_type="application/json")])
    assert outcome.status == "rejected" and not outcome.records
    with running_hub.store.sessions() as session:
        [dead] = session.scalars(select(DeadLetter).where(DeadLetter.message_id == "hrss-whole-1")).all()
        assert bytes(dead.body) == body and dead.rule == "worker-count"
        assert session.scalar(select(func.count()).select_from(Record)) == 0
        assert session.scalar(select(func.count()).select_from(Outbox)) == 0


def test_new_kinds_map_every_field_natively():
    envelope = set(schemas.RecordSchema().fields)
    for kind in ("RECONSIDER", "SUPERVISE", "EXTENSION", "PAYMENT"):
        record_type, _ = inbound.KINDS_IN[kind]
        assert unknown_fields(record_type, inbound.FIELDS[kind]) == []
        assert set(inbound.FIELDS[kind]) - {"source_ref"} == set(schemas.SCHEMAS[record_type].fields) - envelope


@pytest.mark.parametrize(("record_type", "record", "kind"), [
    ("reconsideration_decision", {"type": "reconsideration_decision", "transfer_no": "YS37010320230881",
                                  "decision": "upheld", "decided_at": "2023-07-28T10:00:00+08:00",
                                  "reason": "维持"}, "RECONSIDER_DECISION"),
    ("materials_request", {"type": "materials_request", "transfer_no": FACTS["transfer_no"], "missing": "工资台账",
                           "requested_at": "2023-06-21T11:00:00+08:00"}, "POLICE_DECISION"),
])
def test_notices_of_the_polices_new_answers(record_type, record, kind):
    msg = notice(record_type, record)
    assert msg["data"]["kind"] == kind and msg["data"]["record"]["type"] == record_type


@pytest.mark.parametrize("kind", ["DOSSIER_HELD", "DOSSIER_RELEASED", "TRANSFER_RETURNED", "ESCALATION"])
def test_the_hubs_own_linkage_notices_go_with_their_kind(kind):
    record = {"type": "linkage_decision", "transfer_no": FACTS["transfer_no"], "missing": ["E02"],
              "amount_owed": "382848.00"}
    msg = notice("linkage_decision", record, notice_kind=kind)
    assert msg["data"]["kind"] == kind
    assert msg["data"]["record"]["amount_owed"] == 38284800
    assert msg["data"]["refs"]["transferNo"] == FACTS["transfer_no"]
