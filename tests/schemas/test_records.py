"""Canonical records: ``normalise_record`` for every record type, valid and invalid."""

from __future__ import annotations

import copy

import pytest

import schemas
from schemas import RECORD_SCHEMAS, RecordInvalid, link_keys, normalise_record

ID = "37010319821226234X"
ID2 = "370103196601215548"
MOBILE = "13923720696"
USCC = "91370103JURQ283F5B"
USCC2 = "91370103QEFLCR639M"

ENVELOPE_IN = {
    "source_agency": "hrss",
    "source_ref": "REF-880",
    "received_at": "2023-05-08T09:10:00+08:00",
}
ENVELOPE_OUT = {
    "record_id": None,
    "schema_version": "1.0",
    "source_agency": "hrss",
    "source_ref": "REF-880",
    "matter_id": None,
    "received_at": "2023-05-08T09:10:00+08:00",
    "accepted_at": None,
}

# type -> (native-ish input, exact canonical output); the envelope is added to both.
EXAMPLES: dict[str, tuple[dict, dict]] = {
    "clue": (
        {
            "clue_no": "XS3701032023050880", "channel": "qr_code", "region_code": "370103",
            "complainant": {"name": "张三", "id_number": "37010319821226234x", "mobile": MOBILE},
            "employer": {"name": "济南某建筑劳务有限公司", "uscc": USCC},
            "project_code": "37010320236387", "worker_count": 24, "amount_owed": "382848",
            "period_from": "2023-01", "period_to": "2023-04", "content": "拖欠工资",
        },
        {
            "clue_no": "XS3701032023050880", "channel": "qr_code", "region_code": "370103",
            "complainant": {"name": "张三", "id_number": ID, "mobile": MOBILE},
            "employer": {"name": "济南某建筑劳务有限公司", "uscc": USCC},
            "project_code": "37010320236387", "worker_count": 24, "amount_owed": "382848.00",
            "period_from": "2023-01", "period_to": "2023-04", "content": "拖欠工资",
        },
    ),
    "case": (
        {
            "case_no": "AJ370103202300880", "clue_nos": ["XS3701032023050880"], "status": "opened",
            "status_at": "2023-05-10T14:00:00+08:00", "first_contact_at": "2023-05-09T10:00:00+08:00",
            "handler": "李四", "amount_recovered": 0, "workers_paid": 0,
        },
        {
            "case_no": "AJ370103202300880", "clue_nos": ["XS3701032023050880"], "status": "opened",
            "status_at": "2023-05-10T14:00:00+08:00", "first_contact_at": "2023-05-09T10:00:00+08:00",
            "handler": "李四", "amount_recovered": "0.00", "workers_paid": 0,
        },
    ),
    "payment_order": (
        {
            "order_no": "ZLZF37010320230880", "case_no": "AJ370103202300880", "employer_uscc": "91370103jurq283f5b",
            "amount": "382848.5", "issued_on": "2023-05-12", "due_on": "2023-05-22", "complied": False,
        },
        {
            "order_no": "ZLZF37010320230880", "case_no": "AJ370103202300880", "employer_uscc": USCC,
            "amount": "382848.50", "issued_on": "2023-05-12", "due_on": "2023-05-22", "served_on": None,
            "complied": False,
        },
    ),
    "criminal_transfer": (
        {
            "transfer_no": "YS37010320230880", "case_no": "AJ370103202300880", "order_no": "ZLZF37010320230880",
            "employer": {"name": "济南某建筑劳务有限公司", "uscc": USCC},
            "suspects": [{"name": "王五", "id_number": ID2, "role": "法定代表人"}],
            "worker_count": 24, "amount_owed": "382848.00", "evidence": ["E01", "E02", "E05"],
            "transferred_on": "2023-06-01", "police_unit": "370103000000",
        },
        {
            "transfer_no": "YS37010320230880", "case_no": "AJ370103202300880", "order_no": "ZLZF37010320230880",
            "employer": {"name": "济南某建筑劳务有限公司", "uscc": USCC},
            "suspects": [{"name": "王五", "id_number": ID2, "role": "法定代表人"}],
            "worker_count": 24, "amount_owed": "382848.00", "evidence": ["E01", "E02", "E05"],
            "transferred_on": "2023-06-01", "police_unit": "370103000000", "summary": None,
        },
    ),
    "police_receipt": (
        {"transfer_no": "YS37010320230880", "officer": "赵六"},
        {"transfer_no": "YS37010320230880", "officer": "赵六"},
    ),
    "police_decision": (
        {
            "transfer_no": "YS37010320230880", "decision": "opened", "police_case_no": "A3701030000002023060001",
            "decided_at": "2023-06-20T16:30:00+08:00",
        },
        {
            "transfer_no": "YS37010320230880", "decision": "opened", "police_case_no": "A3701030000002023060001",
            "decided_at": "2023-06-20T16:30:00+08:00", "reason": None,
        },
    ),
    "court_judgment": (
        {
            "case_number": "(2023)鲁0103刑初880号", "court_code": "370103", "procedure": "criminal",
            "transfer_no": "YS37010320230880", "hrss_case_no": "AJ370103202300880", "employer_uscc": USCC,
            "defendants": [{"name": "王五", "id_number": ID2}], "verdict": "guilty", "sentence_months": 18,
            "amount_ordered": 382848, "decided_on": "2023-11-15",
        },
        {
            "case_number": "（2023）鲁0103刑初880号", "court_code": "370103", "procedure": "criminal",
            "transfer_no": "YS37010320230880", "hrss_case_no": "AJ370103202300880", "employer_uscc": USCC,
            "defendants": [{"name": "王五", "id_number": ID2}], "verdict": "guilty", "sentence_months": 18,
            "amount_ordered": "382848.00", "decided_on": "2023-11-15",
        },
    ),
    "court_enforcement": (
        {
            "case_number": "(2023)鲁0103执881号", "judgment_case_number": "（2023）鲁0103刑初880号",
            "status": "partially_paid", "amount_paid": "100000", "updated_on": "2024-01-05",
        },
        {
            "case_number": "（2023）鲁0103执881号", "judgment_case_number": "（2023）鲁0103刑初880号",
            "status": "partially_paid", "amount_paid": "100000.00", "updated_on": "2024-01-05",
        },
    ),
    "mediation_result": (
        {
            "mediation_no": "TJ2023050880", "clue_no": "XS3701032023050880", "mediated_on": "2023-05-15",
            "employer": {"name": "济南某建筑劳务有限公司"}, "worker_count": 24, "amount_disputed": "382848",
            "outcome": "partial", "amount_agreed": "200000", "amount_paid": "50000.5", "pay_by": "2023-06-15",
        },
        {
            "mediation_no": "TJ2023050880", "clue_no": "XS3701032023050880", "case_no": None,
            "mediated_on": "2023-05-15", "employer": {"name": "济南某建筑劳务有限公司", "uscc": None},
            "worker_count": 24, "amount_disputed": "382848.00", "outcome": "partial",
            "amount_agreed": "200000.00", "amount_paid": "50000.50", "pay_by": "2023-06-15", "mediator": None,
        },
    ),
    "project": (
        {
            "project_code": "37010320236387", "name": "某小区二期", "region_code": "370103",
            "builder_uscc": USCC, "contractor": {"name": "某建工集团", "uscc": USCC2},
            "started_on": "2023-03-01", "special_account": True, "wage_deposit": "500000",
            "real_name": True, "status": "under_construction",
        },
        {
            "project_code": "37010320236387", "name": "某小区二期", "region_code": "370103",
            "builder_uscc": USCC, "contractor": {"name": "某建工集团", "uscc": USCC2},
            "started_on": "2023-03-01", "special_account": True, "wage_deposit": "500000.00",
            "real_name": True, "status": "under_construction", "risks": [],
        },
    ),
    "payroll_shortfall": (
        {
            "project_code": "37010320236387", "month": "2023-04", "worker_count": 3,
            "amount_due": "24000", "amount_paid": "12345.6", "amount_short": "11654.4",
        },
        {
            "project_code": "37010320236387", "month": "2023-04", "worker_count": 3,
            "amount_due": "24000.00", "amount_paid": "12345.60", "amount_short": "11654.40",
        },
    ),
    "contractor_reply": (
        {
            "reply_no": "HQ-1", "contractor": {"name": "某建工集团", "uscc": USCC2}, "clue_no": "XS1",
            "outcome": "settled", "amount_paid": "1200", "workers_paid": 3, "replied_at": "2023-05-26T17:00:00+08:00",
        },
        {
            "reply_no": "HQ-1", "contractor": {"name": "某建工集团", "uscc": USCC2}, "notice_id": None,
            "clue_no": "XS1", "case_no": None, "project_code": None, "outcome": "settled", "amount_paid": "1200.00",
            "workers_paid": 3, "replied_at": "2023-05-26T17:00:00+08:00", "note": None,
        },
    ),
    "supervision_opinion": (
        {
            "opinion_no": "济历检立监〔2023〕5号", "transfer_no": "YS37010320230912", "opinion": "explain_not_opening",
            "reason": "欠薪数额较大且经责令支付仍不支付", "reply_due_on": "2023-07-17",
            "procuratorate": "济南市历下区人民检察院", "issued_at": "2023-07-10T09:00:00+08:00",
        },
        {
            # Added in 1.1: a record carries the version its type last changed in.
            "schema_version": "1.1",
            "opinion_no": "济历检立监〔2023〕5号", "transfer_no": "YS37010320230912", "case_no": None,
            "police_case_no": None, "opinion": "explain_not_opening", "reason": "欠薪数额较大且经责令支付仍不支付",
            "reply_due_on": "2023-07-17", "procuratorate": "济南市历下区人民检察院", "prosecutor": None,
            "issued_at": "2023-07-10T09:00:00+08:00",
        },
    ),
}


def record(rtype: str, **changes) -> dict:
    data = {"type": rtype, **ENVELOPE_IN, **copy.deepcopy(EXAMPLES[rtype][0])}
    for key, value in changes.items():
        if value is _DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


_DROP = object()


def invalid(data: dict) -> RecordInvalid:
    with pytest.raises(RecordInvalid) as info:
        normalise_record(data)
    exc = info.value
    assert exc.errors, "RecordInvalid without errors"
    for path, msg in exc.errors:
        assert isinstance(path, str) and path
        assert isinstance(msg, str) and msg
    return exc


def assert_rule(exc: RecordInvalid, field: str, rule: str) -> None:
    assert (field, rule) in [(p, _rule_of(m)) for p, m in exc.errors], exc.errors
    assert f"(rule: {rule})" in dict(exc.errors)[field]


def _rule_of(msg: str) -> str | None:
    return RecordInvalid([("x", msg)]).rule


# -- every type has an example ---------------------------------------------------------

def test_examples_cover_every_record_type():
    assert set(EXAMPLES) == set(RECORD_SCHEMAS) == set(schemas.SCHEMAS)


@pytest.mark.parametrize("rtype", sorted(EXAMPLES))
def test_valid_example_normalises_exactly(rtype):
    out = normalise_record(record(rtype))
    assert out == {"type": rtype, **ENVELOPE_OUT, **EXAMPLES[rtype][1]}


@pytest.mark.parametrize("rtype", sorted(EXAMPLES))
def test_canonical_output_is_a_fixed_point(rtype):
    once = normalise_record(record(rtype))
    assert normalise_record(once) == once


@pytest.mark.parametrize("rtype", sorted(EXAMPLES))
def test_envelope_fields_kept(rtype):
    data = record(rtype, record_id="r-1", matter_id="m-1", schema_version="1.0",
                  accepted_at="2023-05-08T01:10:05Z")
    out = normalise_record(data)
    assert out["record_id"] == "r-1"
    assert out["matter_id"] == "m-1"
    assert out["accepted_at"] == "2023-05-08T01:10:05+00:00"


@pytest.mark.parametrize("rtype", sorted(EXAMPLES))
def test_envelope_required(rtype):
    for field in ("source_agency", "source_ref", "received_at"):
        exc = invalid(record(rtype, **{field: _DROP}))
        assert exc.field == field
        assert exc.rule == "required"


@pytest.mark.parametrize("rtype", sorted(EXAMPLES))
def test_naive_received_at_refused(rtype):
    exc = invalid(record(rtype, received_at="2023-05-08T09:10:00"))
    assert exc.field == "received_at"
    assert exc.rule == "time-with-offset"


@pytest.mark.parametrize("rtype", sorted(EXAMPLES))
def test_unknown_field_refused(rtype):
    exc = invalid(record(rtype, surprise="x"))
    assert exc.errors == [("surprise", "Unknown field.")]
    assert exc.rule == "unknown-field"


# -- one or more invalid examples per type, naming the dotted path and the rule --------

INVALID = [
    # clue
    ("clue", {"complainant": {"name": "张三", "id_number": "370103198212262340", "mobile": MOBILE}},
     "complainant.id_number", "id-number-gb11643"),
    ("clue", {"complainant": {"name": "张三", "mobile": "23923720696"}}, "complainant.mobile", "mobile-11-digits"),
    ("clue", {"complainant": {"name": "张三"}}, "complainant.mobile", "required"),
    ("clue", {"employer": {"name": "某公司", "uscc": "91370103JURQ283F5C"}}, "employer.uscc", "uscc-gb32100"),
    ("clue", {"region_code": "379999"}, "region_code", "division-gb2260"),
    ("clue", {"channel": "fax"}, "channel", "enum"),
    ("clue", {"amount_owed": 1.5}, "amount_owed", "money-no-float"),
    ("clue", {"amount_owed": "-5"}, "amount_owed", "money-non-negative"),
    ("clue", {"amount_owed": "0"}, "amount_owed", "range"),
    ("clue", {"worker_count": 0}, "worker_count", "range"),
    ("clue", {"period_from": "2023-05", "period_to": "2023-04"}, "period_to", "period-order"),
    ("clue", {"period_to": "2023-4"}, "period_to", "month-format"),
    ("clue", {"clue_no": ""}, "clue_no", "length"),
    # case
    ("case", {"status": "lost"}, "status", "enum"),
    ("case", {"status_at": "2023-05-10T14:00:00"}, "status_at", "time-with-offset"),
    ("case", {"amount_recovered": "1.234"}, "amount_recovered", "money-format"),
    ("case", {"workers_paid": -1}, "workers_paid", "range"),
    ("case", {"clue_nos": ["x" * 65]}, "clue_nos.0", "length"),
    # payment order
    ("payment_order", {"due_on": "2023-05-12"}, "due_on", "due-after-issue"),
    ("payment_order", {"due_on": "2023-05-01"}, "due_on", "due-after-issue"),
    ("payment_order", {"amount": "0.00"}, "amount", "range"),
    ("payment_order", {"employer_uscc": "91370103JURQ283F5I"}, "employer_uscc", "uscc-gb32100"),
    ("payment_order", {"complied": _DROP}, "complied", "required"),
    # criminal transfer
    ("criminal_transfer", {"suspects": []}, "suspects", "min-items"),
    ("criminal_transfer", {"suspects": [{"name": "王五", "id_number": "370103196601215549"}]},
     "suspects.0.id_number", "id-number-gb11643"),
    ("criminal_transfer", {"suspects": [{"name": "王五"}]}, "suspects.0.id_number", "required"),
    ("criminal_transfer", {"employer": {"name": "某公司"}}, "employer.uscc", "required"),
    ("criminal_transfer", {"evidence": ["E01", "E09"]}, "evidence.1", "enum"),
    ("criminal_transfer", {"amount_owed": "0"}, "amount_owed", "range"),
    # police receipt
    ("police_receipt", {"transfer_no": _DROP}, "transfer_no", "required"),
    ("police_receipt", {"transfer_no": "Y" * 65}, "transfer_no", "length"),
    # police decision
    ("police_decision", {"police_case_no": _DROP}, "police_case_no", "required-if"),
    ("police_decision", {"decision": "declined", "police_case_no": None}, "reason", "required-if"),
    ("police_decision", {"decision": "returned", "reason": ""}, "reason", "required-if"),
    ("police_decision", {"decision": "maybe"}, "decision", "enum"),
    ("police_decision", {"decided_at": "2023-06-20"}, "decided_at", "time-with-offset"),
    # court judgment
    ("court_judgment", {"defendants": []}, "defendants", "required-if"),
    ("court_judgment", {"defendants": _DROP}, "defendants", "required-if"),
    ("court_judgment", {"defendants": [{"name": "王五", "id_number": "37010319660121554"}]},
     "defendants.0.id_number", "id-number-gb11643"),
    ("court_judgment", {"verdict": "innocent"}, "verdict", "enum"),
    ("court_judgment", {"amount_ordered": 382848.0}, "amount_ordered", "money-no-float"),
    ("court_judgment", {"sentence_months": -1}, "sentence_months", "range"),
    # court enforcement
    ("court_enforcement", {"status": "closed"}, "status", "enum"),
    ("court_enforcement", {"amount_paid": True}, "amount_paid", "money-format"),
    ("court_enforcement", {"judgment_case_number": _DROP}, "judgment_case_number", "required"),
    # mediation result
    ("mediation_result", {"outcome": "agreed", "amount_agreed": None}, "amount_agreed", "required-if"),
    ("mediation_result", {"amount_agreed": _DROP}, "amount_agreed", "required-if"),
    ("mediation_result", {"outcome": "won"}, "outcome", "enum"),
    ("mediation_result", {"employer": {"name": ""}}, "employer.name", "length"),
    ("mediation_result", {"amount_disputed": "12,000"}, "amount_disputed", "money-format"),
    # project
    ("project", {"region_code": "371299"}, "region_code", "division-gb2260"),
    ("project", {"region_code": "990000"}, "region_code", "division-gb2260"),
    ("project", {"contractor": {"name": "某建工集团", "uscc": "91370103QEFLCR639N"}},
     "contractor.uscc", "uscc-gb32100"),
    ("project", {"status": "abandoned"}, "status", "enum"),
    ("project", {"wage_deposit": "-1"}, "wage_deposit", "money-non-negative"),
    ("project", {"risks": ["no_helmets"]}, "risks.0", "enum"),
    # payroll shortfall
    ("payroll_shortfall", {"amount_short": "11654.41"}, "amount_short", "sum"),
    ("payroll_shortfall", {"amount_paid": "30000", "amount_short": "0"}, "amount_short", "sum"),
    ("payroll_shortfall", {"month": "2023-13"}, "month", "month-format"),
    ("payroll_shortfall", {"worker_count": "3"}, "worker_count", "type"),
    # contractor reply
    ("contractor_reply", {"outcome": "maybe"}, "outcome", "enum"),
    ("contractor_reply", {"clue_no": _DROP}, "clue_no", "required-if"),
    ("contractor_reply", {"amount_paid": 1.5}, "amount_paid", "money-no-float"),
    # supervision opinion
    ("supervision_opinion", {"opinion": "maybe"}, "opinion", "enum"),
    ("supervision_opinion", {"transfer_no": _DROP}, "transfer_no", "required-if"),
    ("supervision_opinion", {"reason": None}, "reason", "required-if"),
    ("supervision_opinion", {"issued_at": "2023-07-10T09:00:00"}, "issued_at", "time-with-offset"),
]


def test_every_type_has_an_invalid_example():
    assert {rtype for rtype, *_ in INVALID} == set(RECORD_SCHEMAS)


@pytest.mark.parametrize("rtype,changes,field,rule", INVALID,
                         ids=[f"{t}-{f}-{r}" for t, _c, f, r in INVALID])
def test_invalid_example_names_field_and_rule(rtype, changes, field, rule):
    exc = invalid(record(rtype, **changes))
    if rule in ("required", "type"):
        assert field in dict(exc.errors), exc.errors
        assert _rule_of(dict(exc.errors)[field]) == rule
    else:
        assert_rule(exc, field, rule)
    if len(exc.errors) == 1:
        assert exc.field == field
        assert exc.rule == rule
    assert field in str(exc)


# -- cross-field rules on the valid side -------------------------------------------------

def test_clue_period_same_month_ok():
    out = normalise_record(record("clue", period_from="2023-04", period_to="2023-04"))
    assert out["period_from"] == out["period_to"] == "2023-04"


def test_clue_period_across_years_ok():
    out = normalise_record(record("clue", period_from="2022-11", period_to="2023-02"))
    assert (out["period_from"], out["period_to"]) == ("2022-11", "2023-02")


def test_clue_optional_parts():
    out = normalise_record(record("clue", complainant={"name": "张三", "mobile": MOBILE},
                                  employer={"name": "某公司"}, project_code=_DROP, period_from=_DROP,
                                  period_to=_DROP, content=_DROP))
    assert out["complainant"] == {"name": "张三", "id_number": None, "mobile": MOBILE}
    assert out["employer"] == {"name": "某公司", "uscc": None}
    assert out["project_code"] is None and out["period_from"] is None


@pytest.mark.parametrize("decision,extra", [
    ("declined", {"police_case_no": None, "reason": "不构成犯罪"}),
    ("returned", {"police_case_no": None, "reason": "证据不足，补充材料"}),
])
def test_police_decision_declined_or_returned_with_reason(decision, extra):
    out = normalise_record(record("police_decision", decision=decision, **extra))
    assert out["decision"] == decision
    assert out["reason"] == extra["reason"]
    assert out["police_case_no"] is None


def test_mediation_failed_needs_no_amount_agreed():
    out = normalise_record(record("mediation_result", outcome="failed", amount_agreed=_DROP,
                                  amount_paid=_DROP, pay_by=_DROP))
    assert out["outcome"] == "failed"
    assert out["amount_agreed"] is None and out["amount_paid"] is None


def test_civil_judgment_needs_no_defendants():
    out = normalise_record(record("court_judgment", procedure="civil", verdict="plaintiff_wins",
                                  defendants=_DROP, sentence_months=None, transfer_no=None))
    assert out["defendants"] == []
    assert out["procedure"] == "civil"


def test_payroll_shortfall_zero_short():
    out = normalise_record(record("payroll_shortfall", amount_paid="24000", amount_short="0"))
    assert out["amount_short"] == "0.00"


@pytest.mark.parametrize("changes,risks", [
    ({}, []),
    ({"special_account": False}, ["no_special_account"]),
    ({"wage_deposit": "0"}, ["no_wage_deposit"]),
    ({"real_name": False}, ["no_real_name"]),
    ({"special_account": False, "wage_deposit": 0, "real_name": False},
     ["no_special_account", "no_wage_deposit", "no_real_name"]),
    ({"status": "completed", "special_account": False, "wage_deposit": "0", "real_name": False}, []),
    ({"status": "halted", "special_account": False}, []),
    # risks given by the sender are recomputed, not trusted
    ({"risks": ["no_real_name"]}, []),
])
def test_project_risks_computed(changes, risks):
    out = normalise_record(record("project", **changes))
    assert out["risks"] == risks


# -- errors, envelope, links -------------------------------------------------------------

@pytest.mark.parametrize("data", [{"type": "invoice"}, {}, {"type": ["clue"]}, {"type": None}])
def test_unknown_type(data):
    exc = invalid(data)
    assert exc.field == "type"
    assert exc.rule == "enum"
    assert "clue" in exc.errors[0][1]


@pytest.mark.parametrize("data", [None, ["clue"], "clue"])
def test_not_an_object(data):
    exc = invalid(data)
    assert exc.field == "record"
    assert exc.rule == "type"


def test_errors_collected_per_field():
    exc = invalid(record("clue", region_code="379999", worker_count=0, channel="fax"))
    assert {p for p, _m in exc.errors} == {"region_code", "worker_count", "channel"}
    assert all("(rule: " in m for _p, m in exc.errors)


def test_rule_parsed_wherever_it_stands():
    assert RecordInvalid([("type", "unknown record type (rule: enum); known: a, b")]).rule == "enum"
    assert RecordInvalid([("x", "Missing data for required field.")]).rule == "required"
    assert RecordInvalid([("x", "Not a valid integer.")]).rule == "type"
    assert RecordInvalid([]).rule is None and RecordInvalid([]).field is None


@pytest.mark.parametrize("rtype,changes,value", [
    ("clue", {"complainant": {"name": "张三", "id_number": "370103198212262340", "mobile": MOBILE}},
     "370103198212262340"),
    ("clue", {"complainant": {"name": "张三", "mobile": "23923720696"}}, "23923720696"),
    ("clue", {"complainant": {"name": "张三", "mobile": "1392372069"}}, "1392372069"),
    ("criminal_transfer", {"suspects": [{"name": "王五", "id_number": "37010319660121554x"}]},
     "37010319660121554x"),
    ("court_judgment", {"defendants": [{"name": "王五", "id_number": "3701031966012155"}]}, "3701031966012155"),
])
def test_personal_data_never_in_messages(rtype, changes, value):
    exc = invalid(record(rtype, **changes))
    assert value not in str(exc)
    assert value.upper() not in str(exc)
    assert all(value not in m for _p, m in exc.errors)


def test_court_case_numbers_full_width():
    out = normalise_record(record("court_enforcement", judgment_case_number="(2023)鲁0103刑初880号"))
    assert out["case_number"] == "（2023）鲁0103执881号"
    assert out["judgment_case_number"] == "（2023）鲁0103刑初880号"


def test_link_keys():
    assert link_keys(normalise_record(record("case"))) == ["case:AJ370103202300880", "clue:XS3701032023050880"]
    assert link_keys(normalise_record(record("court_judgment"))) == [
        "court_case:（2023）鲁0103刑初880号", "transfer:YS37010320230880", "case:AJ370103202300880",
    ]
    assert link_keys(normalise_record(record("mediation_result"))) == [
        "mediation:TJ2023050880", "clue:XS3701032023050880",
    ]


def test_personal_fields_listed():
    assert "complainant.id_number" in schemas.PERSONAL_FIELDS
    assert "suspects.id_number" in schemas.PERSONAL_FIELDS
