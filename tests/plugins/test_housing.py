"""The housing plugin: CSV batches in (PROJECT, PAYROLL -> payroll_shortfall), ASSIGNMENT out."""

from __future__ import annotations

import codecs
import csv
import dataclasses
import decimal
import io
import json
from pathlib import Path

import marshmallow as ma
import pluggy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hub
import hub.contract.hookspecs
import plugins.housing as housing
import schemas
from hub.testing import unknown_fields
from schemas.validators import id_check_char
from tests.plugins import leaf_paths

SAMPLES = Path(__file__).parent.parent / "fixtures" / "samples"
FACTS = json.loads((SAMPLES / "facts.json").read_text(encoding="utf-8"))
RECEIVED = "2023-06-20T09:00:00+08:00"
PROJECT_CSV = (SAMPLES / "housing-project.csv").read_bytes()
PAYROLL_CSV = (SAMPLES / "housing-payroll.csv").read_bytes()
PAYROLL_HEADER = ["项目编号", "工人姓名", "身份证号", "所属月份", "出勤天数", "应发工资(元)", "实发工资(元)", "发放日期", "发放方式"]


def message(body: bytes, encoding: str | None = None, kind: str | None = None) -> hub.NativeMessage:
    return hub.NativeMessage(agency="housing", body=body, message_id="housing-1", content_type="text/csv",
                             content_encoding=encoding, kind=kind)


def parse(body: bytes, encoding: str | None = None, kind: str | None = None, entries: bool = False) -> list:
    """The items parsed; a payroll's ``payroll_month`` records only with ``entries`` (most
    tests here are about the shortfall derived from the rows)."""
    items = housing.parse_message(message=message(body, encoding, kind), settings={})
    return [i for i in items if entries or not (isinstance(i, hub.Parsed) and i.type == "payroll_month")]


def canonical(parsed: hub.Parsed) -> dict:
    return schemas.normalise_record({"type": parsed.type, "source_agency": "housing", "source_ref": parsed.source_ref,
                                     "received_at": RECEIVED, **parsed.record})


def id_number(seq: int) -> str:
    first17 = f"37010319900101{seq:03d}"
    return first17 + id_check_char(first17)


def batch(rows: list[list[str]], encoding: str = "gb18030", header: list[str] = PAYROLL_HEADER) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def payroll_row(seq: int, due: str = "6000", paid: str = "6000", **cells: str) -> list[str]:
    row = dict(zip(PAYROLL_HEADER, ["37010320236387", "王春生", id_number(seq), "2023-04", "22", due, paid,
                                    "2023-05-10", "专户代发"]))
    row.update(cells)
    return [row[c] for c in PAYROLL_HEADER]


# -- the plugin as the hub loads it --------------------------------------------------------------

def test_registers_with_the_hub_specs():
    pm = pluggy.PluginManager("wagehub")
    pm.add_hookspecs(hub.contract.hookspecs)
    pm.register(housing)
    pm.check_pending()
    (info,) = pm.hook.register_agency()
    assert info.code == "housing"
    assert set(info.kinds_in) == {"PROJECT", "PAYROLL", "ANSWER", "ROSTER", "CONTRACT"} and \
        info.kinds_out == ("ASSIGNMENT", "REMINDER", "RISK", "CREDIT")
    assert info.schema_version == "1" and "key" in info.secret_settings
    assert info.settings_schema.load({}) == {"key": None}
    with pytest.raises(ma.ValidationError, match="Unknown field"):
        info.settings_schema.load({"kye": "x"})



def test_samples_are_shipped_and_dated_by_their_business_time():
    samples = {s.name: s for s in housing.register_samples()}
    assert samples["housing-project.csv"].body == PROJECT_CSV
    assert samples["housing-payroll.csv"].body == PAYROLL_CSV
    project, payroll = samples["housing-project.csv"], samples["housing-payroll.csv"]
    assert (project.kind, project.content_encoding) == ("PROJECT", "utf-8-sig")
    assert (payroll.kind, payroll.content_encoding) == ("PAYROLL", "gb18030")
    # at = earliest 开工日期 of the projects, latest 发放日期 of the payroll
    started = min(canonical(p)["started_on"] for p in parse(project.body, project.content_encoding, project.kind))
    assert project.at == f"{started}T00:00:00+08:00"
    rows = list(csv.DictReader(io.StringIO(PAYROLL_CSV.decode("gb18030"))))
    assert payroll.at == f"{max(r['发放日期'] for r in rows)}T00:00:00+08:00"
    assert all(s.content_type == "text/csv" for s in samples.values())
    assert {name for name, s in samples.items() if s.bad} == {"housing-answer-bad-result.csv", "housing-bad-deposit.csv",
                                                              "housing-roster-bad-id.csv",
                                                              "housing-contract-bad-basis.csv"}
    answer = samples["housing-answer.csv"]
    [parsed] = parse(answer.body, answer.content_encoding, answer.kind)
    assert answer.at == f"{canonical(parsed)['answered_on']}T00:00:00+08:00"


# -- PROJECT --------------------------------------------------------------------------------------

def test_project_sample_gives_canonical_projects():
    items = parse(PROJECT_CSV, "utf-8-sig", "PROJECT")
    assert [type(i) for i in items] == [hub.Parsed, hub.Parsed]
    first, second = (canonical(p) for p in items)
    assert first["project_code"] == FACTS["project_code"] == items[0].source_ref
    assert first["region_code"] == FACTS["area"]
    assert first["contractor"] == {"name": "山东鲁建建工集团有限公司", "uscc": FACTS["contractor_uscc"]}
    assert first["builder_uscc"] == "91370103P0G7QEYF7X"
    assert first["started_on"] == "2023-01-05"
    assert (first["special_account"], first["wage_deposit"], first["real_name"]) == (False, "0.00", True)
    assert first["status"] == "under_construction"
    assert first["risks"] == ["no_special_account", "no_wage_deposit"]
    assert second["started_on"] == "2023-02-09"  # written 2023/2/9 in the sample
    assert second["wage_deposit"] == "500000.00" and second["risks"] == []
    assert [p.row for p in items] == [1, 2]
    assert all(p.kind == "PROJECT" for p in items)
    for key in ("record_id", "matter_id", "type", "source_agency", "schema_version", "received_at", "risks"):
        assert key not in items[0].record


def test_project_row_raw_replays_alone():
    items = parse(PROJECT_CSV, "utf-8-sig", "PROJECT")
    raw = items[1].raw
    assert raw.startswith(codecs.BOM_UTF8)
    assert raw.decode("utf-8-sig").count("\r\n") == 2
    (again,) = parse(raw)
    assert again.record == items[1].record and again.row == 1


@pytest.mark.parametrize("column, value, rule", [
    ("专用账户", "有", "enum"),
    ("状态", "在建中", "enum"),
    ("开工日期", "2023-02-30", "date"),
    ("开工日期", "05/01/2023", "date"),
    ("工资保证金(元)", "-1", "money-non-negative"),
    ("工资保证金(元)", "1,000", "money-format"),
    ("项目名称", " ", "required"),
])
def test_project_bad_cell_is_rejected_by_column_and_rule(column, value, rule):
    text = PROJECT_CSV.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    rows[2][rows[0].index(column)] = value
    items = parse(batch(rows[1:], "utf-8-sig", rows[0]))
    assert isinstance(items[0], hub.Parsed)
    rejected = items[1]
    assert isinstance(rejected, hub.Rejected)
    assert (rejected.field, rejected.rule, rejected.row, rejected.kind) == (column, rule, 2, "PROJECT")
    assert column in rejected.reason and f"rule: {rule}" in rejected.reason


def test_project_that_breaks_the_schema_is_left_to_the_hub_with_its_raw_row():
    text = PROJECT_CSV.decode("utf-8-sig").replace("91370103P0G7QEYF7X", "91370103P0G7QEYF7Y")
    first = parse(text.encode("utf-8-sig"))[0]
    with pytest.raises(schemas.RecordInvalid) as err:
        canonical(first)
    assert err.value.field == "builder_uscc" and err.value.rule == "uscc-gb32100"
    assert first.fields[err.value.field] == "建设单位统一社会信用代码"  # as the hub will name it
    assert parse(first.raw)[0].record == first.record


@pytest.mark.parametrize("kind, record_type", [("PROJECT", "project"), ("PAYROLL", "payroll_shortfall")])
def test_native_field_names_are_schema_paths_and_columns_as_the_row_refusals_spell_them(kind, record_type):
    names = housing.inbound.FIELDS[kind]
    assert names and unknown_fields(record_type, names) == []
    assert set(names.values()) <= set(housing.inbound.COLUMNS[kind])


def test_every_parsed_item_names_its_fields_natively():
    project = parse(PROJECT_CSV)[0]
    assert project.fields == housing.inbound.PROJECT_FIELDS
    assert leaf_paths(project.record) | {"source_ref"} == set(project.fields)  # every field read from a column
    [shortfall] = parse(PAYROLL_CSV)
    assert shortfall.fields == housing.inbound.PAYROLL_FIELDS
    derived = {"worker_count", "amount_due", "amount_paid", "amount_short"}  # no one column
    assert leaf_paths(shortfall.record) - derived == set(shortfall.fields)


@pytest.mark.parametrize("column, value, path, rule", [
    ("所属区划", "379999", "region_code", "division-gb2260"),  # 6 digits, but no Shandong division
    ("总包单位统一社会信用代码", "91370103QEFLCR639N", "contractor.uscc", "uscc-gb32100"),  # check character
    ("建设单位统一社会信用代码", "91370103P0G7QEYF7Y", "builder_uscc", "uscc-gb32100"),
])
def test_a_row_the_schema_refuses_is_dead_lettered_by_its_column(running_hub, column, value, path, rule):
    header, good, _ = csv.reader(io.StringIO(PROJECT_CSV.decode("utf-8-sig")))
    rows = [[f"3701032023{n:04d}" if c == "项目编号" else v for c, v in zip(header, good)] for n in (1, 2, 3)]
    rows[1][header.index(column)] = value
    body = batch(rows, "utf-8-sig", header)
    assert all(isinstance(item, hub.Parsed) for item in parse(body))  # the plugin takes every row
    [outcome] = running_hub.pipeline.process([hub.NativeMessage(
        agency="housing", body=body, message_id="project-schema", content_type="text/csv",
        content_encoding="utf-8-sig", kind="PROJECT")])
    assert outcome.status == "accepted" and len(outcome.records) == 2  # rows 1 and 3 go on
    [failure] = list(outcome.failures)
    assert (failure.field, failure.rule, failure.row, failure.kind) == (column, rule, 2, "PROJECT")
    assert failure.reason.startswith(f"row 2: {column} ({path}): ") and f"(rule: {rule})" in failure.reason
    assert value not in failure.reason
    assert len(outcome.dead_letters) == 1


# -- PAYROLL --------------------------------------------------------------------------------------

def expected_shortfall(body: bytes, encoding: str) -> dict:
    """The sample's shortfall, summed here independently of the plugin."""
    short = [r for r in csv.DictReader(io.StringIO(body.decode(encoding)))
             if decimal.Decimal(r["实发工资(元)"]) < decimal.Decimal(r["应发工资(元)"])]
    due = sum(decimal.Decimal(r["应发工资(元)"]) for r in short)
    paid = sum(decimal.Decimal(r["实发工资(元)"]) for r in short)
    return {"workers": len(short), "due": f"{due:.2f}", "paid": f"{paid:.2f}", "short": f"{due - paid:.2f}"}


def test_payroll_sample_gives_one_shortfall():
    items = parse(PAYROLL_CSV, "gb18030", "PAYROLL")
    assert len(items) == 1
    (shortfall,) = items
    record = canonical(shortfall)
    want = expected_shortfall(PAYROLL_CSV, "gb18030")
    assert want == {"workers": 3, "due": "17976.00", "paid": "0.00", "short": "17976.00"}
    assert record["type"] == "payroll_shortfall"
    assert record["project_code"] == FACTS["project_code"]
    assert record["month"] == "2023-04"
    assert record["worker_count"] == FACTS["payroll_short_workers"] == want["workers"]
    assert (record["amount_due"], record["amount_paid"], record["amount_short"]) == (
        want["due"], want["paid"], want["short"])
    assert shortfall.source_ref == f"{FACTS['project_code']}/2023-04"
    assert shortfall.kind == "PAYROLL" and shortfall.row is None
    assert shortfall.raw == PAYROLL_CSV  # derived from the whole batch: the batch is what replays it


def test_parse_streams_and_refuses_a_bad_header_before_the_first_item():
    result = housing.parse_message(message=message(PAYROLL_CSV, "gb18030", "PAYROLL"), settings={})
    assert iter(result) is result  # a generator, not a list
    with pytest.raises(hub.InvalidMessage) as err:
        housing.parse_message(message=message(PAYROLL_CSV, "gb18030", "PROJECT"), settings={})
    assert (err.value.field, err.value.rule) == ("项目名称", "required-column")


@pytest.mark.parametrize("body, encoding, kind", [
    (PAYROLL_CSV, None, None),  # GB18030 without content_encoding, kind from the header row
    (PAYROLL_CSV, "GB18030", "payroll"),
    (PAYROLL_CSV.decode("gb18030").encode("utf-8"), None, None),  # plain UTF-8
    (codecs.BOM_UTF8 + PAYROLL_CSV.decode("gb18030").encode("utf-8"), None, None),  # BOM
    (codecs.BOM_UTF8 + PAYROLL_CSV.decode("gb18030").encode("utf-8"), "utf-8", None),  # BOM wins
])
def test_payroll_encoding_and_kind_are_detected(body, encoding, kind):
    (shortfall,) = parse(body, encoding, kind)
    assert canonical(shortfall)["amount_short"] == "17976.00"


@pytest.mark.parametrize("body", [PROJECT_CSV, PROJECT_CSV[3:], PROJECT_CSV.decode("utf-8-sig").encode("gb18030")])
def test_project_encoding_and_kind_are_detected(body):
    items = parse(body)
    assert [p.source_ref for p in items] == [FACTS["project_code"], "37010320236388"]
    assert items[0].record["contractor"]["name"] == "山东鲁建建工集团有限公司"


@pytest.mark.parametrize("body, encoding, kind, field, rule", [
    (PAYROLL_CSV, "utf-8", None, "body", "encoding"),
    (PAYROLL_CSV, "latin-1", None, "content_encoding", "encoding"),
    (PAYROLL_CSV, "gb18030", "WAGES", "x-wagehub-kind", "enum"),
    (b"\xff\xfe\x00\x81", None, None, "body", "encoding"),
    (b"", None, None, "header", "header"),
    (b"a,b,c\r\n1,2,3\r\n", None, None, "header", "kind"),
    ("项目编号,工人姓名,项目编号\r\n".encode(), None, None, "项目编号", "duplicate-column"),
])
def test_whole_message_problems_raise_invalid_message(body, encoding, kind, field, rule):
    with pytest.raises(hub.InvalidMessage) as err:
        parse(body, encoding, kind)
    assert (err.value.field, err.value.rule) == (field, rule)
    assert f"rule: {rule}" in err.value.reason


def test_one_bad_row_is_rejected_and_the_batch_goes_on():
    good = [payroll_row(1, "6000", "0"), payroll_row(2, "5000", "1000")]
    bad = payroll_row(3, "7000", "0")
    bad[2] = bad[2][:-1] + ("0" if bad[2][-1] != "0" else "1")  # wrong check character
    rows = good[:1] + [bad] + good[1:] + [payroll_row(4)]
    body = batch(rows)
    items = parse(body, "gb18030", "PAYROLL")
    rejected = [i for i in items if isinstance(i, hub.Rejected)]
    parsed = [i for i in items if isinstance(i, hub.Parsed)]
    assert len(rejected) == 1 and len(parsed) == 1
    (r,) = rejected
    assert (r.row, r.field, r.rule, r.kind) == (2, "身份证号", "id-number-gb11643", "PAYROLL")
    assert "身份证号" in r.reason and "row 2" in r.reason
    assert bad[2] not in r.reason and "王春生" not in r.reason  # no personal data in reasons
    record = canonical(parsed[0])
    assert (record["worker_count"], record["amount_due"], record["amount_paid"], record["amount_short"]) == (
        2, "11000.00", "1000.00", "10000.00")

    # The rejected row's raw bytes are a batch of their own, in the batch's encoding.
    text = r.raw.decode("gb18030")
    assert list(csv.reader(io.StringIO(text))) == [PAYROLL_HEADER, bad]
    (again,) = parse(r.raw)
    assert isinstance(again, hub.Rejected)
    assert (again.row, again.field, again.rule) == (1, "身份证号", "id-number-gb11643")


def test_rejected_raw_of_a_bom_batch_keeps_the_bom():
    body = batch([payroll_row(1, paid="-3")], "utf-8-sig")
    (r,) = parse(body, "utf-8-sig", "PAYROLL")
    assert r.raw.startswith(codecs.BOM_UTF8) and (r.field, r.rule) == ("实发工资(元)", "money-non-negative")
    assert parse(r.raw)[0].rule == "money-non-negative"


@pytest.mark.parametrize("cells, field, rule", [
    ({"出勤天数": "32"}, "出勤天数", "range"),
    ({"出勤天数": "2.5"}, "出勤天数", "integer"),
    ({"出勤天数": "２２"}, "出勤天数", "integer"),  # full-width digits are not ASCII digits
    ({"应发工资(元)": "６０００"}, "应发工资(元)", "money-format"),
    ({"应发工资(元)": "12.345"}, "应发工资(元)", "money-format"),
    ({"应发工资(元)": "1e3"}, "应发工资(元)", "money-format"),
    ({"实发工资(元)": ""}, "实发工资(元)", "required"),
    ({"所属月份": "2023-13"}, "所属月份", "month-format"),
    ({"所属月份": "2023-04-01"}, "所属月份", "month-format"),
    ({"发放日期": "2023-04-31"}, "发放日期", "date"),
    ({"发放方式": "支付宝"}, "发放方式", "enum"),
    ({"工人姓名": ""}, "工人姓名", "required"),
    ({"身份证号": "37010319900101001"}, "身份证号", "id-number-gb11643"),
    ({"项目编号": "P" * 65}, "项目编号", "length"),
])
def test_payroll_row_rules(cells, field, rule):
    row = payroll_row(1, **cells)
    (r,) = parse(batch([row]), "gb18030", "PAYROLL")
    assert isinstance(r, hub.Rejected)
    assert (r.field, r.rule, r.row) == (field, rule, 1)


@pytest.mark.parametrize("cells", [
    {"发放日期": "2023/5/9"}, {"发放日期": "2023/05/09"}, {"发放日期": ""}, {"发放方式": ""},
    {"所属月份": "2023/4"}, {"所属月份": "2023-4"}, {"出勤天数": "0"}, {"应发工资(元)": "6000.5"},
])
def test_payroll_accepted_spellings(cells):
    (shortfall,) = parse(batch([payroll_row(1, due="6000.5", paid="100", **cells)]), "gb18030", "PAYROLL")
    record = canonical(shortfall)
    assert record["month"] == "2023-04"
    assert record["amount_short"] == "5900.50"


def test_shortfalls_per_project_and_month_and_none_when_all_paid():
    rows = [
        payroll_row(1, "100", "0"),
        payroll_row(2, "100", "50", 所属月份="2023-05"),
        payroll_row(3, "100", "100", 项目编号="P2"),
        payroll_row(4, "200", "0", 所属月份="2023-05"),
        payroll_row(5, "100", "150", 项目编号="P2"),  # overpaid: not short
    ]
    items = parse(batch(rows), "gb18030", "PAYROLL")
    got = {p.source_ref: canonical(p) for p in items}
    assert set(got) == {"37010320236387/2023-04", "37010320236387/2023-05"}
    may = got["37010320236387/2023-05"]
    assert (may["worker_count"], may["amount_due"], may["amount_paid"], may["amount_short"]) == (
        2, "300.00", "50.00", "250.00")
    assert parse(batch([payroll_row(1), payroll_row(2)]), "gb18030", "PAYROLL") == []


def test_csv_quoting_blank_lines_and_ragged_rows():
    header = ",".join(PAYROLL_HEADER)
    row1 = ",".join(payroll_row(1, "100", "0"))
    row3 = ",".join(payroll_row(2, "100", "0")[:7])  # trailing optional cells left out
    row4 = ",".join(payroll_row(3, "100", "0") + ["", ""])  # empty extra cells
    row5 = ",".join(payroll_row(4, "100", "0") + ["x"])  # a non-empty extra cell
    row6 = ",".join(payroll_row(5, "100", "0", 工人姓名='"王\r\n春生"'))  # quoted line break
    text = "\r\n".join([header, row1, "", row3, row4, row5, row6]) + "\r\n"
    items = parse(text.encode("gb18030"), "gb18030", "PAYROLL")
    (rejected,) = [i for i in items if isinstance(i, hub.Rejected)]
    assert (rejected.row, rejected.rule, rejected.field) == (5, "column-count", None)
    (shortfall,) = [i for i in items if isinstance(i, hub.Parsed)]
    assert shortfall.record["worker_count"] == 4


def test_a_cell_over_csvs_own_limit_is_one_bad_row_not_a_bad_batch():
    long_name = payroll_row(2)
    long_name[1] = "王" * (140 * 1024)  # csv's default limit is 131,072 characters
    body = batch([payroll_row(1, paid="1000"), long_name, ["x" * (200 * 1024)], payroll_row(4, paid="1000")])
    items = parse(body, "gb18030", "PAYROLL")
    [bad] = [i for i in items if isinstance(i, hub.Rejected)]
    assert (bad.row, bad.field, bad.rule) == (3, "项目编号", "length")  # one cell of 200 KB
    [shortfall] = [i for i in items if isinstance(i, hub.Parsed)]
    assert shortfall.record["worker_count"] == 2  # rows 1 and 4 (row 2 was paid in full)


# -- ASSIGNMENT -----------------------------------------------------------------------------------

def delivery(record: dict | None = None, **kw) -> hub.Delivery:
    base = {"clue_no": FACTS["clue_no"], "project_code": FACTS["project_code"],
            "contractor_uscc": FACTS["contractor_uscc"], "worker_count": FACTS["workers"],
            "amount_owed": FACTS["amount_yuan"], "received_at": "2023-05-22T09:10:00+08:00"}
    args = {"recipient": "housing", "kind": "ASSIGNMENT", "route": "clue-to-housing", "record_type": "clue",
            "record": {**base, **(record or {})}, "refs": {"clue_no": [FACTS["clue_no"]]},
            "message_id": "out-0001", "created_at": "2023-05-22T09:30:00+08:00"}
    args.update(kw)
    return hub.Delivery(**args)


def read_assignment(rendered: hub.Rendered) -> list[dict]:
    assert rendered.body.startswith(codecs.BOM_UTF8)
    return list(csv.DictReader(io.StringIO(rendered.body.decode("utf-8-sig"), newline="")))


def test_assignment_csv():
    rendered = housing.render_record(delivery=delivery(), settings={})
    assert (rendered.content_type, rendered.content_encoding) == ("text/csv", "utf-8-sig")
    text = rendered.body.decode("utf-8-sig")
    assert text.splitlines()[0] == "交办编号,线索编号,项目编号,总包单位统一社会信用代码,欠薪人数,欠薪金额(元),交办日期,办结期限"
    assert text.endswith("\r\n")
    (row,) = read_assignment(rendered)
    assert row == {
        "交办编号": "out-0001", "线索编号": FACTS["clue_no"], "项目编号": FACTS["project_code"],
        "总包单位统一社会信用代码": FACTS["contractor_uscc"], "欠薪人数": "24", "欠薪金额(元)": "382848.00",
        "交办日期": "2023-05-22", "办结期限": "2023-06-01",
    }
    assert housing.render_record(delivery=delivery(), settings={}).body == rendered.body  # deterministic


@pytest.mark.parametrize("kw, assigned, due", [
    ({"params": {"deadline_days": 15}}, "2023-05-22", "2023-06-06"),
    ({"params": {"deadline_days": "3"}}, "2023-05-22", "2023-05-25"),
    ({"params": {"due_on": "2023-06-30", "deadline_days": 15}}, "2023-05-22", "2023-06-30"),
    ({"created_at": "2023-05-22T17:00:00+00:00"}, "2023-05-23", "2023-06-02"),  # Beijing date
    ({"created_at": "2023-05-22T17:00:00"}, "2023-05-23", "2023-06-02"),  # no offset: hub clock, UTC
])
def test_assignment_dates(kw, assigned, due):
    (row,) = read_assignment(housing.render_record(delivery=delivery(**kw), settings={}))
    assert (row["交办日期"], row["办结期限"]) == (assigned, due)


def test_assignment_without_project_details_and_from_refs():
    record = {"contractor_uscc": None, "clue_no": None, "project_code": None}
    d = delivery(record, refs={"clue_no": ["XS-1", "XS-2"], "project_code": ["P-1"]})
    (row,) = read_assignment(housing.render_record(delivery=d, settings={}))
    assert (row["线索编号"], row["项目编号"], row["总包单位统一社会信用代码"]) == ("XS-1", "P-1", "")


@pytest.mark.parametrize("value", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-1+cmd|' /C calc'!A0",
                                   "@SUM(A1)", "\t=1", "\r=1"])
def test_assignment_neutralises_formula_injection(value):
    d = delivery({"contractor_uscc": value, "clue_no": value}, message_id=value)
    (row,) = read_assignment(housing.render_record(delivery=d, settings={}))
    for column in ("交办编号", "线索编号", "总包单位统一社会信用代码"):
        assert row[column] == "'" + value


def test_assignment_leaves_numbers_alone():
    d = delivery({"amount_owed": "-12.50", "worker_count": 3})
    (row,) = read_assignment(housing.render_record(delivery=d, settings={}))
    assert (row["欠薪人数"], row["欠薪金额(元)"]) == ("3", "-12.50")


def test_assignment_only():
    with pytest.raises(ValueError, match="ASSIGNMENT"):
        housing.render_record(delivery=delivery(kind="NOTICE"), settings={})


# -- robustness -----------------------------------------------------------------------------------

def consume(body: bytes, encoding: str | None, kind: str | None) -> None:
    """Items or InvalidMessage: any other exception is a plugin bug."""
    try:
        for item in housing.parse_message(message=message(body, encoding, kind), settings={}):
            assert isinstance(item, (hub.Parsed, hub.Rejected))
            if isinstance(item, hub.Parsed):
                json.dumps(item.record)
    except hub.InvalidMessage as exc:
        assert exc.rule and exc.reason


@st.composite
def mutated(draw, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "delete", "insert"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "delete":
            del data[at]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=4)) if draw(st.booleans()) else draw(
                st.sampled_from([b",", b'"', b"\r\n", b"\n", b"\xef\xbb\xbf", b"\x00", b"-", b"="]))
    return bytes(data[:draw(st.integers(0, len(data)))] if draw(st.booleans()) else data)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_batches_give_items_or_invalid_message(data):
    body, encoding, kind = data.draw(st.sampled_from([
        (PAYROLL_CSV, "gb18030", "PAYROLL"), (PROJECT_CSV, "utf-8-sig", "PROJECT"),
        (PAYROLL_CSV, None, None), (PROJECT_CSV, None, None),
    ]))
    consume(data.draw(mutated(body)), encoding, kind)


def test_an_empty_identity_number_is_missing_not_a_bad_check_character():
    [bad] = [i for i in parse(batch([payroll_row(1, 身份证号="")]), "gb18030", "PAYROLL")
             if isinstance(i, hub.Rejected)]
    assert (bad.field, bad.rule) == ("身份证号", "required")
    assert bad.reason == "row 1: column 身份证号 is required but empty (rule: required)"


def test_a_gb18030_byte_order_mark_before_a_quoted_header():
    quoted = ",".join(f'"{c}"' for c in PAYROLL_HEADER).encode("gb18030")
    body = "\ufeff".encode("gb18030") + quoted + b"\r\n" + batch([payroll_row(1, paid="1000")]).split(b"\r\n", 1)[1]
    [shortfall] = parse(body, "gb18030", "PAYROLL")
    assert shortfall.record["worker_count"] == 1


def test_a_second_row_for_the_same_worker_and_month_is_refused_not_counted_twice():
    rows = [payroll_row(1, paid="3000"), payroll_row(1, paid="3000"), payroll_row(1, paid="3000", 所属月份="2023-05")]
    items = parse(batch(rows), "gb18030", "PAYROLL")
    [bad] = [i for i in items if isinstance(i, hub.Rejected)]
    assert (bad.row, bad.field, bad.rule) == (2, "身份证号", "duplicate-worker-month")
    assert id_number(1) not in bad.reason
    shortfalls = {i.record["month"]: i.record for i in items if isinstance(i, hub.Parsed)}
    assert shortfalls["2023-04"]["worker_count"] == 1 and shortfalls["2023-04"]["amount_due"] == "6000.00"
    assert shortfalls["2023-05"]["worker_count"] == 1  # another month is another row


# -- format 1.2: ANSWER in, REMINDER out -----------------------------------------------------------

ANSWER_HEADER = ["交办编号", "答复日期", "处理结果", "已支付金额(元)", "备注"]


@pytest.mark.parametrize("kind", ["ANSWER", None])  # named by the header, or recognised from the header row
def test_answers_row_by_row(kind):
    body = batch([["out_1", "2023-05-30", "已解决", "800", "已足额支付"], ["out_2", "2023/6/1", "不属实", "", ""]],
                 encoding="utf-8-sig", header=ANSWER_HEADER)
    first, second = parse(body, "utf-8-sig", kind)
    assert (first.kind, first.source_ref, first.row) == ("ANSWER", "out_1", 1)
    want = {"type": "assignment_answer", "assignment_no": "out_1", "answered_on": "2023-05-30", "result": "resolved",
            "amount_paid": "800.00", "note": "已足额支付", "schema_version": "1.2"}
    assert {k: canonical(first)[k] for k in want} == want
    rec = canonical(second)
    assert (rec["result"], rec["answered_on"], rec["amount_paid"], rec["note"]) == (
        "unsubstantiated", "2023-06-01", None, None)


@pytest.mark.parametrize(("cells", "column", "rule"), [
    (["out_1", "2023-05-30", "已完成", "", ""], "处理结果", "enum"),
    (["out_1", "", "已解决", "", ""], "答复日期", "required"),
    (["out_1", "2023-05-30", "已解决", "-5", ""], "已支付金额(元)", "money-non-negative"),
    (["", "2023-05-30", "已解决", "", ""], "交办编号", "required"),
    (["x" * 201, "2023-05-30", "已解决", "", ""], "交办编号", "length"),
])
def test_a_bad_answer_row_is_rejected_alone(cells, column, rule):
    body = batch([cells, ["out_2", "2023-05-30", "处理中", "", ""]], encoding="utf-8-sig", header=ANSWER_HEADER)
    bad, good = parse(body, "utf-8-sig")
    assert isinstance(bad, hub.Rejected) and (bad.field, bad.rule, bad.row) == (column, rule, 1)
    assert f"column {column}" in bad.reason
    assert canonical(good)["assignment_no"] == "out_2"


def test_an_answer_header_missing_its_result_is_named():
    body = batch([["out_1", "2023-05-30"]], encoding="utf-8-sig", header=["交办编号", "答复日期"])
    with pytest.raises(hub.InvalidMessage) as info:
        parse(body, "utf-8-sig", "ANSWER")
    assert (info.value.field, info.value.rule) == ("处理结果", "required-column")


REMINDER = {"type": "escalation", "level": "agency", "rule": "housing_answer", "title": "住建部门答复交办",
            "due_at": "2023-06-05T15:59:59+00:00", "owner": "housing", "matter_id": "mat-1",
            "assignment_no": "out_01ASSIGN", "clue_no": FACTS["clue_no"]}


@pytest.mark.parametrize(("level", "code"), [("agency", "1"), ("supervision", "2")])
def test_a_reminder_for_an_overdue_answer(level, code):
    d = hub.Delivery(recipient="housing", kind="REMINDER", route="escalation-agency", record_type="escalation",
                     record={**REMINDER, "level": level}, refs={}, message_id="out-r1",
                     created_at="2023-06-07T01:00:00+00:00")
    rendered = housing.render_record(delivery=d, settings={})
    assert rendered.headers == {"x-wagehub-kind": "REMINDER"} and rendered.body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(rendered.body.decode("utf-8-sig"))))
    # 办结期限: the due time's Beijing date (23:59:59 on 5 June); 催办日期: the reminder's own date
    assert rows == [["交办编号", "线索编号", "办结期限", "催办级别", "催办日期"],
                    ["out_01ASSIGN", FACTS["clue_no"], "2023-06-05", code, "2023-06-07"]]


def test_a_reminder_takes_the_matters_numbers_and_needs_an_assignment():
    record = {k: v for k, v in REMINDER.items() if k not in ("assignment_no", "clue_no")}
    d = hub.Delivery(recipient="housing", kind="REMINDER", route="escalation-agency", record_type="escalation",
                     record=record, refs={"assignment_no": ["out_A"], "clue_no": ["XS1", "XS2"]}, message_id="m",
                     created_at="2023-06-07T09:00:00+08:00")
    rows = list(csv.reader(io.StringIO(housing.render_record(delivery=d, settings={}).body.decode("utf-8-sig"))))
    assert rows[1][:2] == ["out_A", "XS1"]
    with pytest.raises(ValueError, match="assignment number"):
        housing.render_record(delivery=dataclasses.replace(d, refs={}), settings={})
    with pytest.raises(ValueError, match="from an escalation"):
        housing.render_record(delivery=dataclasses.replace(d, record_type="clue"), settings={})
