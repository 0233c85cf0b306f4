"""Canonical records: ``normalise_record`` for every record type, valid and invalid."""

from __future__ import annotations

import copy
import pickle

import pytest

import schemas
from schemas import PERSONAL_FIELDS, RECORD_SCHEMAS, RecordInvalid, RuleMessage, link_keys, normalise_record, ruled

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
            "schema_version": "1.2",
            "clue_no": "XS3701032023050880", "channel": "qr_code", "region_code": "370103",
            "complainant": {"name": "张三", "id_number": ID, "mobile": MOBILE},
            "employer": {"name": "济南某建筑劳务有限公司", "uscc": USCC, "id_number": None},
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
            "schema_version": "1.2",
            "case_no": "AJ370103202300880", "clue_nos": ["XS3701032023050880"], "status": "opened",
            "status_at": "2023-05-10T14:00:00+08:00", "first_contact_at": "2023-05-09T10:00:00+08:00",
            "handler": "李四", "amount_recovered": "0.00", "workers_paid": 0, "workers": None,
        },
    ),
    "payment_order": (
        {
            "order_no": "ZLZF37010320230880", "case_no": "AJ370103202300880", "employer_uscc": "91370103jurq283f5b",
            "amount": "382848.5", "issued_on": "2023-05-12", "due_on": "2023-05-22", "complied": False,
        },
        {
            "schema_version": "1.2",
            "order_no": "ZLZF37010320230880", "case_no": "AJ370103202300880", "employer_uscc": USCC,
            "employer_id_number": None, "amount": "382848.50", "issued_on": "2023-05-12", "due_on": "2023-05-22", "served_on": None,
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
            "schema_version": "1.2",
            "transfer_no": "YS37010320230880", "case_no": "AJ370103202300880", "order_no": "ZLZF37010320230880",
            "employer": {"name": "济南某建筑劳务有限公司", "uscc": USCC, "id_number": None},
            "suspects": [{"name": "王五", "id_number": ID2, "role": "法定代表人"}],
            "worker_count": 24, "amount_owed": "382848.00", "evidence": ["E01", "E02", "E05"],
            "transferred_on": "2023-06-01", "police_unit": "370103000000", "summary": None, "workers": None,
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
            "schema_version": "1.2",
            "case_number": "（2023）鲁0103刑初880号", "court_code": "370103", "procedure": "criminal",
            "transfer_no": "YS37010320230880", "hrss_case_no": "AJ370103202300880", "employer_uscc": USCC,
            "employer_id_number": None, "defendants": [{"name": "王五", "id_number": ID2}], "verdict": "guilty", "sentence_months": 18,
            "amount_ordered": "382848.00", "decided_on": "2023-11-15",
        },
    ),
    "court_enforcement": (
        {
            "case_number": "(2023)鲁0103执881号", "judgment_case_number": "（2023）鲁0103刑初880号",
            "status": "partially_paid", "amount_paid": "100000", "updated_on": "2024-01-05",
        },
        {
            "schema_version": "1.2",
            "case_number": "（2023）鲁0103执881号", "judgment_case_number": "（2023）鲁0103刑初880号",
            "status": "partially_paid", "amount_paid": "100000.00", "updated_on": "2024-01-05",
            "employer_uscc": None, "employer_id_number": None,
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
    # -- 1.2: the criminal-linkage steps
    "reconsideration_request": (
        {"transfer_no": "YS37010320230880", "requested_on": "2023-06-26", "reason": "欠薪数额较大，经责令支付仍不支付"},
        {"schema_version": "1.2", "transfer_no": "YS37010320230880", "requested_on": "2023-06-26",
         "reason": "欠薪数额较大，经责令支付仍不支付"},
    ),
    "supervision_request": (
        {"transfer_no": "YS37010320230880", "requested_on": "2023-07-03", "reason": "复议维持不予立案"},
        {"schema_version": "1.2", "transfer_no": "YS37010320230880", "requested_on": "2023-07-03",
         "reason": "复议维持不予立案"},
    ),
    "case_extension": (
        {"case_no": "AJ370103202300880", "approved_on": "2023-08-01", "working_days": 30},
        {"schema_version": "1.2", "case_no": "AJ370103202300880", "approved_on": "2023-08-01", "working_days": 30,
         "reason": None},
    ),
    "wage_payment": (
        {"case_no": "AJ370103202300880", "transfer_no": "YS37010320230880", "amount_paid": "100000",
         "paid_on": "2023-07-05", "workers_paid": 6, "full": False},
        {"schema_version": "1.2", "case_no": "AJ370103202300880", "transfer_no": "YS37010320230880",
         "amount_paid": "100000.00", "paid_on": "2023-07-05", "workers_paid": 6, "full": False},
    ),
    "reconsideration_decision": (
        {"transfer_no": "YS37010320230880", "decision": "opened", "police_case_no": "A3701030000002023070001",
         "decided_at": "2023-06-28T10:00:00+08:00"},
        {"schema_version": "1.2", "transfer_no": "YS37010320230880", "decision": "opened",
         "police_case_no": "A3701030000002023070001", "decided_at": "2023-06-28T10:00:00+08:00", "reason": None},
    ),
    "materials_request": (
        {"transfer_no": "YS37010320230880", "missing": "工资台账", "requested_at": "2023-06-21T09:00:00+08:00"},
        {"schema_version": "1.2", "transfer_no": "YS37010320230880", "missing": "工资台账",
         "requested_at": "2023-06-21T09:00:00+08:00"},
    ),
    "assignment_answer": (
        {"assignment_no": "out_01HZX", "answered_on": "2023-05-30", "result": "resolved", "amount_paid": "800"},
        {"schema_version": "1.2", "assignment_no": "out_01HZX", "answered_on": "2023-05-30", "result": "resolved",
         "amount_paid": "800.00", "note": None, "answered_by": None},
    ),
    # the 12345 hotline (1.2)
    "work_order": (
        {"work_order_no": "GD3701002023052000415", "clue_no": "GD3701002023052000415",
         "taken_at": "2023-05-20T10:15:00+08:00", "reply_by": "2023-07-31T18:00:00+08:00"},
        {"schema_version": "1.2", "work_order_no": "GD3701002023052000415", "clue_no": "GD3701002023052000415",
         "taken_at": "2023-05-20T10:15:00+08:00", "reply_by": "2023-07-31T18:00:00+08:00"},
    ),
    "satisfaction": (
        {"work_order_no": "GD3701002023052000415", "called_at": "2023-08-02T15:00:00+08:00", "reached": True,
         "paid": False},
        {"schema_version": "1.2", "work_order_no": "GD3701002023052000415",
         "called_at": "2023-08-02T15:00:00+08:00", "reached": True, "resolved": None, "paid": False,
         "satisfied": None, "remark": None},
    ),
    # early warning on construction projects (1.2)
    "account_deposit": (
        {"project_code": "37010320236387", "account_no": "1602002419200123456", "credited_on": "2023-03-31",
         "amount": "42152", "payer_uscc": "91370103P0G7QEYF7X", "month": "2023-03"},
        {"schema_version": "1.2", "project_code": "37010320236387", "account_no": "1602002419200123456",
         "credited_on": "2023-03-31", "amount": "42152.00", "payer_uscc": "91370103P0G7QEYF7X", "month": "2023-03"},
    ),
    "worker_payout": (
        {"project_code": "37010320236387", "account_no": "1602002419200123456", "worker": {"name": "高秀英", "id_number": "370103197611248807"},
         "amount": "6704", "paid_on": "2023-05-10", "result": "failed", "failure_reason": "收款账户户名不符"},
        {"schema_version": "1.2", "project_code": "37010320236387", "account_no": "1602002419200123456",
         "worker": {"name": "高秀英", "id_number": "370103197611248807"}, "amount": "6704.00", "paid_on": "2023-05-10", "result": "failed",
         "failure_reason": "收款账户户名不符"},
    ),
    "deposit_event": (
        {"project_code": "37010320236387", "contractor_uscc": "91370103QEFLCR639M", "event": "guarantee",
         "amount": "500000", "event_on": "2023-01-20", "guarantee_no": "LG3701032023000118"},
        {"schema_version": "1.2", "project_code": "37010320236387", "contractor_uscc": "91370103QEFLCR639M",
         "event": "guarantee", "amount": "500000.00", "event_on": "2023-01-20", "guarantee_no": "LG3701032023000118"},
    ),
    "missed_funding": (
        {"project_code": "37010320236387", "account_no": "1602002419200123456", "month": "2023-04",
         "amount_due": "43155", "amount_credited": "25179", "builder_uscc": "91370103P0G7QEYF7X"},
        {"schema_version": "1.2", "project_code": "37010320236387", "account_no": "1602002419200123456",
         "month": "2023-04", "amount_due": "43155.00", "amount_credited": "25179.00",
         "builder_uscc": "91370103P0G7QEYF7X"},
    ),
    "roster_entry": (
        {"project_code": "37010320236387", "worker": {"name": "高秀英", "id_number": "370103197611248807"}, "team": "钢筋班", "entered_on": "2023-03-01"},
        {"schema_version": "1.2", "project_code": "37010320236387", "worker": {"name": "高秀英", "id_number": "370103197611248807"}, "team": "钢筋班", "trade": None,
         "entered_on": "2023-03-01", "left_on": None, "subcontractor_uscc": None},
    ),
    "labour_contract": (
        {"contract_no": "HT202303001", "project_code": "37010320236387", "worker": {"name": "高秀英", "id_number": "370103197611248807"},
         "employer_uscc": "91370103QEFLCR639M", "signed_on": "2023-02-27", "pay_basis": "daily", "wage_rate": "300"},
        {"schema_version": "1.2", "contract_no": "HT202303001", "project_code": "37010320236387", "worker": {"name": "高秀英", "id_number": "370103197611248807"},
         "employer_uscc": "91370103QEFLCR639M", "signed_on": "2023-02-27", "pay_basis": "daily",
         "wage_rate": "300.00", "ends_on": None},
    ),
    "payroll_month": (
        {"project_code": "37010320236387", "month": "2023-04",
         "rows": [{"worker": "5d3b8f0e1c2a4b6d8e0f1a2b3c4d5e6f7a8b9c0d", "days": 22, "amount_due": "6704",
                   "amount_paid": "0", "method": "special_account"}]},
        {"schema_version": "1.2", "project_code": "37010320236387", "month": "2023-04",
         "rows": [{"worker": "5d3b8f0e1c2a4b6d8e0f1a2b3c4d5e6f7a8b9c0d", "days": 22, "amount_due": "6704.00",
                   "amount_paid": "0.00", "paid_on": None, "method": "special_account"}]},
    ),
    "risk": (
        {"project_code": "37010320236387", "risk_no": "rsk_1", "rule": "missed-labour-cost", "category": "bank",
         "status": "raised", "month": "2023-04", "amount": "17976", "detail": "应拨付 43155.00, 实际 25179.00",
         "source": "保障农民工工资支付条例 Art. 27, 29", "raised_on": "2023-05-06"},
        {"schema_version": "1.2", "project_code": "37010320236387", "risk_no": "rsk_1", "rule": "missed-labour-cost",
         "category": "bank", "status": "raised", "month": "2023-04", "amount": "17976.00", "worker_count": None,
         "amount_due": None, "amount_paid": None, "amount_short": None, "detail": "应拨付 43155.00, 实际 25179.00",
         "source": "保障农民工工资支付条例 Art. 27, 29", "raised_on": "2023-05-06", "cleared_on": None,
         "raised_by": None, "cleared_by": None, "region_code": None},
    ),
    "credit_listing": (
        {"list_no": "SX3701032023001", "action": "list", "credit_code": "91370103JURQ283F5B",
         "name": "济南某建筑劳务有限公司", "persons": [{"name": "赵德明", "id_number": "370103196601215548",
                                                 "role": "法定代表人"}],
         "basis": "第五条第一项", "decision_date": "2023-09-20", "start_date": "2023-09-21",
         "end_date": "2026-09-20", "case_no": "AJ370103202300880", "region_code": "370103"},
        {"schema_version": "1.2", "list_no": "SX3701032023001", "action": "list", "credit_code": "91370103JURQ283F5B",
         "id_number": None, "name": "济南某建筑劳务有限公司",
         "persons": [{"name": "赵德明", "id_number": "370103196601215548", "role": "法定代表人"}],
         "basis": "第五条第一项", "decision_date": "2023-09-20", "start_date": "2023-09-21",
         "end_date": "2026-09-20", "case_no": "AJ370103202300880", "region_code": "370103"},
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
    ("case", {"workers": [{"name": "甲", "id_number": ID, "amount": "10", "period_from": "2023-01",
                           "period_to": "2023-1"}]}, "workers.0.period_to", "month-format"),
    ("case", {"workers": [{"name": "甲", "id_number": ID, "amount": "10", "period_from": "2023-01",
                           "period_to": "2023-01"},
                          {"name": "甲", "id_number": ID.lower(), "amount": "20", "period_from": "2023-02",
                           "period_to": "2023-02"}]}, "workers.1.id_number", "duplicate-worker"),
    # payment order
    ("payment_order", {"due_on": "2023-05-12"}, "due_on", "due-after-issue"),
    ("payment_order", {"due_on": "2023-05-01"}, "due_on", "due-after-issue"),
    ("payment_order", {"amount": "0.00"}, "amount", "range"),
    ("payment_order", {"employer_uscc": "91370103JURQ283F5I"}, "employer_uscc", "uscc-gb32100"),
    ("payment_order", {"complied": _DROP}, "complied", "required"),
    ("payment_order", {"employer_uscc": _DROP}, "employer_uscc", "exactly-one"),
    ("payment_order", {"employer_id_number": ID2}, "employer_uscc", "exactly-one"),
    # criminal transfer
    ("criminal_transfer", {"suspects": []}, "suspects", "min-items"),
    ("criminal_transfer", {"suspects": [{"name": "王五", "id_number": "370103196601215549"}]},
     "suspects.0.id_number", "id-number-gb11643"),
    ("criminal_transfer", {"suspects": [{"name": "王五"}]}, "suspects.0.id_number", "required"),
    ("criminal_transfer", {"employer": {"name": "某公司"}}, "employer.uscc", "exactly-one"),
    ("criminal_transfer", {"employer": {"name": "王某", "uscc": USCC, "id_number": ID2}}, "employer.uscc",
     "exactly-one"),
    ("criminal_transfer", {"employer": {"name": "王某", "id_number": "370103196601215549"}}, "employer.id_number",
     "id-number-gb11643"),
    ("criminal_transfer", {"workers": [{"name": "甲", "id_number": ID, "amount": "0", "period_from": "2023-01",
                                        "period_to": "2023-04"}]}, "workers.0.amount", "range"),
    ("criminal_transfer", {"workers": [{"name": "甲", "id_number": ID, "amount": "10", "period_from": "2023-05",
                                        "period_to": "2023-04"}]}, "workers.0.period_to", "period-order"),
    ("criminal_transfer", {"workers": [{"name": "甲", "amount": "10", "period_from": "2023-01",
                                        "period_to": "2023-04"}]}, "workers.0.id_number", "required"),
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
    ("court_judgment", {"employer_uscc": None}, "employer_uscc", "exactly-one"),
    ("court_judgment", {"employer_id_number": ID2}, "employer_uscc", "exactly-one"),
    # court enforcement
    ("court_enforcement", {"status": "closed"}, "status", "enum"),
    ("court_enforcement", {"amount_paid": True}, "amount_paid", "money-format"),
    ("court_enforcement", {"judgment_case_number": _DROP}, "judgment_case_number", "required"),
    ("court_enforcement", {"employer_uscc": USCC, "employer_id_number": ID2}, "employer_uscc", "exactly-one"),
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
    # 1.2 steps
    ("reconsideration_request", {"reason": " "}, "reason", "required"),
    ("reconsideration_request", {"requested_on": "2023-06-31"}, "requested_on", "type"),
    ("supervision_request", {"transfer_no": _DROP}, "transfer_no", "required"),
    ("case_extension", {"working_days": 31}, "working_days", "range"),
    ("case_extension", {"working_days": 0}, "working_days", "range"),
    ("case_extension", {"working_days": "30"}, "working_days", "type"),
    ("wage_payment", {"amount_paid": "0"}, "amount_paid", "range"),
    ("wage_payment", {"full": _DROP}, "full", "required"),
    ("wage_payment", {"workers_paid": -1}, "workers_paid", "range"),
    ("reconsideration_decision", {"police_case_no": _DROP}, "police_case_no", "required-if"),
    ("reconsideration_decision", {"decision": "upheld", "police_case_no": None}, "reason", "required-if"),
    ("reconsideration_decision", {"decision": "declined"}, "decision", "enum"),
    ("materials_request", {"missing": ""}, "missing", "length"),
    ("materials_request", {"requested_at": "2023-06-21T09:00:00"}, "requested_at", "time-with-offset"),
    ("assignment_answer", {"result": "done"}, "result", "enum"),
    ("assignment_answer", {"amount_paid": "-1"}, "amount_paid", "money-non-negative"),
    ("work_order", {"reply_by": _DROP}, "reply_by", "required"),
    ("work_order", {"reply_by": "2023-05-20T10:00:00+08:00"}, "reply_by", "after-taken"),
    ("satisfaction", {"reached": _DROP}, "reached", "required"),
    ("satisfaction", {"work_order_no": ""}, "work_order_no", "length"),
    ("account_deposit", {"month": "2023-13"}, "month", "month-format"),
    ("worker_payout", {"failure_reason": None}, "failure_reason", "required-if"),
    ("worker_payout", {"worker": {"name": "高秀英", "id_number": "370103197611248806"}}, "worker.id_number",
     "id-number-gb11643"),
    ("deposit_event", {"guarantee_no": None}, "guarantee_no", "required-if"),
    ("missed_funding", {"builder_uscc": "91370103P0G7QEYF7Y"}, "builder_uscc", "uscc-gb32100"),
    ("roster_entry", {"left_on": "2023-02-01"}, "left_on", "date-order"),
    ("labour_contract", {"pay_basis": "weekly"}, "pay_basis", "enum"),
    ("payroll_month", {"rows": []}, "rows", "length"),
    ("payroll_month", {"rows": [{"worker": "370103197611248807", "days": 1, "amount_due": "1", "amount_paid": "1"}]},
     "rows.0.worker", "id-hash"),
    ("risk", {"rule": "unknown-rule"}, "rule", "enum"),
    ("credit_listing", {"end_date": _DROP}, "end_date", "required-if"),
    ("credit_listing", {"basis": None}, "basis", "required-if"),
    ("credit_listing", {"id_number": "370103196601215548"}, "credit_code", "exactly-one"),
    ("credit_listing", {"credit_code": None}, "credit_code", "exactly-one"),
    ("credit_listing", {"action": "delist"}, "action", "enum"),
    ("credit_listing", {"end_date": "2023-09-20"}, "end_date", "period-order"),
    ("credit_listing", {"persons": [{"name": "赵德明", "id_number": "370103196601215548"}] * 2},
     "persons.1.id_number", "duplicate-person"),
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
    assert out["employer"] == {"name": "某公司", "uscc": None, "id_number": None}
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


def test_rule_carried_by_the_message_not_read_from_its_words():
    assert RecordInvalid([("type", RuleMessage("unknown record type (rule: enum); known: a, b", "enum"))]).rule == "enum"
    assert RecordInvalid([("x", "looks like (rule: enum) but is plain text")]).rule == "type"
    assert RecordInvalid([("x", "Missing data for required field.")]).rule == "required"
    assert RecordInvalid([("x", "Unknown field.")]).rule == "unknown-field"
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
    ("criminal_transfer", {"employer": {"name": "王某", "id_number": "370103196601215549"}}, "370103196601215549"),
    ("criminal_transfer", {"workers": [{"name": "甲", "id_number": "37010319821226234", "amount": "10",
                                        "period_from": "2023-01", "period_to": "2023-01"}]}, "37010319821226234"),
    ("payment_order", {"employer_uscc": None, "employer_id_number": "370103196601215540"}, "370103196601215540"),
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
    for path in ("employer.id_number", "employer_id_number", "workers.id_number"):
        assert path in schemas.PERSONAL_FIELDS


# -- 1.2: individual employers, workers one by one ------------------------------------------

WORKERS = [
    {"name": "甲", "id_number": ID, "amount": "20000", "period_from": "2023-01", "period_to": "2023-04"},
    {"name": "乙", "id_number": ID2, "amount": "2000.5", "period_from": "2023-03", "period_to": "2023-04"},
]


def test_an_individual_employer_is_named_by_id_number():
    """2013 interpretation Art. 7: an individual without the standing to employ (包工头)."""
    out = normalise_record(record("criminal_transfer", employer={"name": "王某", "id_number": ID2.lower()}))
    assert out["employer"] == {"name": "王某", "uscc": None, "id_number": ID2}
    order = normalise_record(record("payment_order", employer_uscc=None, employer_id_number=ID2))
    assert (order["employer_uscc"], order["employer_id_number"]) == (None, ID2)
    judgment = normalise_record(record("court_judgment", employer_uscc=_DROP, employer_id_number=ID2))
    assert judgment["employer_id_number"] == ID2
    clue = normalise_record(record("clue", employer={"name": "王某", "id_number": ID2}))
    assert clue["employer"] == {"name": "王某", "uscc": None, "id_number": ID2}


def test_a_clue_may_name_neither_or_both():
    assert normalise_record(record("clue", employer={"name": "某公司"}))["employer"]["uscc"] is None
    both = normalise_record(record("clue", employer={"name": "某公司", "uscc": USCC, "id_number": ID2}))
    assert both["employer"]["id_number"] == ID2


def test_workers_listed_one_by_one_match_count_and_sum():
    out = normalise_record(record("criminal_transfer", worker_count=2, amount_owed="22000.50", workers=WORKERS))
    assert out["workers"] == [
        {"name": "甲", "id_number": ID, "amount": "20000.00", "period_from": "2023-01", "period_to": "2023-04"},
        {"name": "乙", "id_number": ID2, "amount": "2000.50", "period_from": "2023-03", "period_to": "2023-04"},
    ]
    assert normalise_record(out) == out


@pytest.mark.parametrize("changes,field,rule", [
    ({"worker_count": 3, "amount_owed": "22000.50"}, "worker_count", "worker-count"),
    ({"worker_count": 2, "amount_owed": "22000.49"}, "amount_owed", "sum"),
    ({"worker_count": 2, "amount_owed": "22000.51"}, "amount_owed", "sum"),
])
def test_workers_disagreeing_with_the_totals_are_refused(changes, field, rule):
    exc = invalid(record("criminal_transfer", workers=WORKERS, **changes))
    assert exc.errors == [(field, exc.errors[0][1])] and exc.rule == rule


def test_an_empty_workers_list_disagrees_with_any_count():
    exc = invalid(record("criminal_transfer", workers=[]))
    assert (exc.field, exc.rule) == ("worker_count", "worker-count")


def test_a_case_lists_workers_without_totals():
    out = normalise_record(record("case", workers=WORKERS))
    assert [w["amount"] for w in out["workers"]] == ["20000.00", "2000.50"]


def test_a_1_1_record_still_loads_and_keeps_its_version():
    """A record written by a 1.1 hub or plugin (no new fields) reads as before."""
    old = {"type": "criminal_transfer", **ENVELOPE_IN, **EXAMPLES["criminal_transfer"][0], "schema_version": "1.1"}
    out = normalise_record(old)
    assert out["schema_version"] == "1.1" and out["employer"]["uscc"] == USCC
    assert out["workers"] is None and out["employer"]["id_number"] is None


def test_extension_of_exactly_30_working_days():
    """劳动保障监察条例 Art. 17: extendable by up to 30 working days."""
    assert normalise_record(record("case_extension", working_days=30))["working_days"] == 30
    assert normalise_record(record("case_extension", working_days=1))["working_days"] == 1


def test_upheld_reconsideration_with_reason():
    out = normalise_record(record("reconsideration_decision", decision="upheld", police_case_no=None,
                                  reason="不构成犯罪"))
    assert (out["decision"], out["reason"]) == ("upheld", "不构成犯罪")


def test_new_links():
    assert link_keys(normalise_record(record("wage_payment"))) == ["case:AJ370103202300880",
                                                                   "transfer:YS37010320230880"]
    assert link_keys(normalise_record(record("assignment_answer"))) == ["assignment:out_01HZX"]
    assert link_keys(normalise_record(record("reconsideration_decision"))) == [
        "transfer:YS37010320230880", "police_case:A3701030000002023070001"]
    assert link_keys(normalise_record(record("credit_listing"))) == ["listing:SX3701032023001",
                                                                     "case:AJ370103202300880"]


def test_a_listing_of_an_individual_and_its_early_removal():
    """人社部令第45号: an individual employer is listed by identity number; a removal needs no
    basis nor term (it ends the term) and joins the listing by its number."""
    person = normalise_record(record("credit_listing", credit_code=None, id_number="37010319821226234x",
                                     name="王某某"))
    assert (person["credit_code"], person["id_number"]) == (None, "37010319821226234X")
    removed = normalise_record(record("credit_listing", action="remove", basis=None, end_date=_DROP, case_no=None,
                                      persons=None, decision_date="2024-09-20"))
    assert removed["end_date"] is None and link_keys(removed) == ["listing:SX3701032023001"]
    assert "id_number" in PERSONAL_FIELDS and "persons.id_number" in PERSONAL_FIELDS


def test_a_rule_message_keeps_its_rule_when_filled_in_and_copied():
    template = ruled("must be 1 to {max} characters", "length")
    filled = template.format(max=3)
    assert (filled, filled.rule) == ("must be 1 to 3 characters (rule: length)", "length")
    assert copy.deepcopy(filled).rule == "length" and pickle.loads(pickle.dumps(filled)).rule == "length"
