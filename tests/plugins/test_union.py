"""The union plugin: the mediation ledger workbook in, the referral workbook out."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import struct
import time
import zipfile
from pathlib import Path

import marshmallow as ma
import openpyxl
import pluggy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hub
import hub.contract.hookspecs
import plugins.union as union
import schemas
from hub.testing import unknown_fields
from plugins.union import inbound, xlsx
from tests.plugins import leaf_paths

SAMPLES = Path(__file__).parent.parent / "fixtures" / "samples"
FACTS = json.loads((SAMPLES / "facts.json").read_text(encoding="utf-8"))
RECEIVED = "2023-06-20T09:00:00+08:00"
LEDGER = (SAMPLES / "union-mediation.xlsx").read_bytes()
NOT_XLSX = (SAMPLES / "bad" / "union-not-xlsx.xlsx").read_bytes()
HEADER = list(inbound.COLUMNS)
MiB = 1 << 20


def message(body: bytes) -> hub.NativeMessage:
    return hub.NativeMessage(agency="union", body=body, message_id="union-1", content_type=xlsx.XLSX_TYPE,
                             content_encoding="binary")


def parse(body: bytes, **limits) -> list:
    return list(union.parse_message(message=message(body), settings=limits))


def canonical(parsed: hub.Parsed) -> dict:
    return schemas.normalise_record({"type": parsed.type, "source_agency": "union", "source_ref": parsed.source_ref,
                                     "received_at": RECEIVED, **parsed.record})


def ledger_row(no: str = "TJ1", **cells) -> list:
    row = dict(zip(HEADER, [no, FACTS["clue_no"], FACTS["case_no"], dt.datetime(2023, 5, 25), "海岱建筑劳务有限公司",
                            FACTS["employer_uscc"], 24, 382848, "部分成功", 191424, 0, "2023-06-10", "赵德华"]))
    row.update(cells)
    return [row[c] for c in HEADER]


def workbook(rows: list[list], header: list | None = HEADER, title: str = "调解台账") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    if header is not None:
        ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def refused(body: bytes, **limits) -> hub.InvalidMessage:
    with pytest.raises(hub.InvalidMessage) as err:
        parse(body, **limits)
    return err.value


# -- the plugin as the hub loads it --------------------------------------------------------------

def test_registers_with_the_hub_specs():
    pm = pluggy.PluginManager("wagehub")
    pm.add_hookspecs(hub.contract.hookspecs)
    pm.register(union)
    pm.check_pending()
    (info,) = pm.hook.register_agency()
    assert info.code == "union" and info.kinds_in == ("mediation",) and info.kinds_out == ("referral",)
    assert info.settings_schema.load({}) == {"key": None, "max_bytes": 10 * MiB,
                                             "max_uncompressed": 100 * MiB, "max_ratio": 100.0,
                                             "max_rows": 200_000, "max_columns": 256, "max_cells": 5_000_000,
                                             "max_text": 256 * 1024, "max_seconds": 60.0}
    assert info.settings_schema.load({"max_bytes": "2048"})["max_bytes"] == 2048
    with pytest.raises(ma.ValidationError, match="Unknown field"):
        info.settings_schema.load({"max_byte": 1})
    with pytest.raises(ma.ValidationError, match="range"):
        info.settings_schema.load({"max_ratio": 0})



def test_samples_are_shipped_and_dated_by_the_mediation_date():
    samples = {s.name: s for s in union.register_samples()}
    good, bad = samples["union-mediation.xlsx"], samples["union-not-xlsx.xlsx"]
    assert good.body == LEDGER and bad.body == NOT_XLSX
    for s in (good, bad):
        assert (s.content_type, s.content_encoding) == (xlsx.XLSX_TYPE, "binary")
    (parsed,) = parse(good.body)
    assert good.at == f"{parsed.record['mediated_on']}T00:00:00+08:00" and not good.bad
    assert bad.bad and bad.reason in refused(bad.body).reason


# -- the ledger ---------------------------------------------------------------------------------

def test_ledger_sample():
    (parsed,) = parse(LEDGER)
    record = canonical(parsed)
    assert parsed.type == "mediation_result" and parsed.kind == "mediation" and parsed.row == 1
    assert parsed.source_ref == record["mediation_no"] == "TJ370103880"
    assert record["clue_no"] == FACTS["clue_no"] and record["case_no"] == FACTS["case_no"]
    assert record["mediated_on"] == "2023-05-25"
    assert record["employer"] == {"name": "海岱建筑劳务有限公司", "uscc": FACTS["employer_uscc"]}
    assert record["worker_count"] == FACTS["workers"]
    assert record["amount_disputed"] == FACTS["amount_yuan"]
    assert (record["outcome"], record["amount_agreed"], record["amount_paid"]) == ("partial", "191424.00", "0.00")
    assert (record["pay_by"], record["mediator"]) == ("2023-06-10", "赵德华")


def test_date_cells_text_dates_and_numeric_or_text_amounts():
    rows = [
        ledger_row("TJ1"),  # real date cell, int amounts
        ledger_row("TJ2", **{"调解日期": "2023-05-26", "争议金额(元)": "12345.60", "约定支付金额(元)": 12345.6,
                             "约定支付期限": dt.datetime(2023, 6, 30), "涉及人数": 24.0}),
        [None] * len(HEADER),  # an empty row: skipped, still counted
        ledger_row("TJ3", **{"调解日期": "2023/5/7", "争议金额(元)": 0.1, "调解结果": "失败",
                             "约定支付金额(元)": None, "已支付金额(元)": " ", "统一社会信用代码": None,
                             "线索编号": None, "案件编号": "", "涉及人数": "3"}),
        ledger_row(880, **{"调解日期": dt.date(2023, 5, 8), "争议金额(元)": 1000000000.05}),
    ]
    items = parse(workbook(rows))
    assert [type(i) for i in items] == [hub.Parsed] * 4
    assert [i.row for i in items] == [1, 2, 4, 5]
    one, two, three, four = (canonical(i) for i in items)
    assert (one["mediated_on"], one["amount_disputed"], one["amount_agreed"]) == ("2023-05-25", "382848.00",
                                                                                 "191424.00")
    assert (two["mediated_on"], two["amount_disputed"], two["amount_agreed"], two["pay_by"], two["worker_count"]) == (
        "2023-05-26", "12345.60", "12345.60", "2023-06-30", 24)
    assert (three["mediated_on"], three["amount_disputed"], three["outcome"]) == ("2023-05-07", "0.10", "failed")
    assert three["amount_agreed"] is None and three["amount_paid"] is None and three["clue_no"] is None
    assert three["case_no"] is None and three["employer"] == {"name": "海岱建筑劳务有限公司", "uscc": None}
    assert three["worker_count"] == 3
    assert (four["mediation_no"], four["mediated_on"], four["amount_disputed"]) == ("880", "2023-05-08",
                                                                                   "1000000000.05")


@pytest.mark.parametrize("value, amount", [(0.1 + 0.2, "0.30"), (191424.00000000003, "191424.00"),
                                           (12345.6, "12345.60"), (12345678901234.56, "12345678901234.56")])
def test_float_cells_are_read_as_a_spreadsheet_shows_them(value, amount):
    """Binary noise (a computed cell's 0.30000000000000004) is not a third decimal."""
    row = ledger_row(**{"争议金额(元)": value})
    body = xlsx.one_row_workbook(HEADER, row)  # writes the float's full repr, as Excel may
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert repr(value).encode() in archive.read("xl/worksheets/sheet1.xml")
    (parsed,) = parse(body)
    assert canonical(parsed)["amount_disputed"] == amount


def test_columns_by_name_in_any_order_with_full_width_parentheses():
    header = [h.replace("(", "（").replace(")", "）") for h in HEADER][::-1] + ["备注"]
    row = ledger_row()[::-1] + ["x"]
    (parsed,) = parse(workbook([row], header))
    assert canonical(parsed)["amount_disputed"] == FACTS["amount_yuan"]


@pytest.mark.parametrize("cells, column, rule", [
    ({"涉及人数": 24.5}, "涉及人数", "integer"),
    ({"涉及人数": "二十四"}, "涉及人数", "integer"),
    ({"涉及人数": None}, "涉及人数", "required"),
    ({"争议金额(元)": 0.125}, "争议金额(元)", "money-format"),
    ({"争议金额(元)": 1 / 3}, "争议金额(元)", "money-format"),
    ({"争议金额(元)": "1,000"}, "争议金额(元)", "money-format"),
    ({"争议金额(元)": "12.345"}, "争议金额(元)", "money-format"),
    ({"争议金额(元)": "３８２８４８"}, "争议金额(元)", "money-format"),
    ({"涉及人数": "２４"}, "涉及人数", "integer"),
    ({"争议金额(元)": -5}, "争议金额(元)", "money-non-negative"),
    ({"争议金额(元)": "-5"}, "争议金额(元)", "money-non-negative"),
    ({"争议金额(元)": 1e16}, "争议金额(元)", "money-format"),
    ({"争议金额(元)": 1e300}, "争议金额(元)", "money-format"),
    ({"争议金额(元)": 10**40}, "争议金额(元)", "money-format"),
    ({"争议金额(元)": 5e-324}, "争议金额(元)", "money-format"),
    ({"争议金额(元)": True}, "争议金额(元)", "money-format"),
    ({"调解结果": "调解中"}, "调解结果", "enum"),
    ({"调解编号": None}, "调解编号", "required"),
    ({"调解编号": "  "}, "调解编号", "required"),
    ({"调解日期": 45071}, "调解日期", "date"),
    ({"调解日期": "2023-02-30"}, "调解日期", "date"),
    ({"调解日期": "25/05/2023"}, "调解日期", "date"),
    ({"调解日期": None}, "调解日期", "required"),
    ({"约定支付期限": "soon"}, "约定支付期限", "date"),
    ({"单位名称": None}, "单位名称", "required"),
])
def test_bad_cell_rejects_its_row_and_the_batch_goes_on(cells, column, rule):
    items = parse(workbook([ledger_row("TJ1"), ledger_row("TJ2", **cells), ledger_row("TJ3")]))
    assert [type(i) for i in items] == [hub.Parsed, hub.Rejected, hub.Parsed]
    rejected = items[1]
    assert (rejected.row, rejected.field, rejected.rule, rejected.kind) == (2, column, rule, "mediation")
    assert rejected.reason.startswith("row 2 (sheet row 3): column " + column)
    assert f"rule: {rule}" in rejected.reason

    # The raw bytes are a one-row workbook that replays alone to the same refusal.
    (again,) = parse(rejected.raw)
    assert isinstance(again, hub.Rejected)
    assert (again.row, again.field, again.rule) == (1, column, rule)


def test_raw_row_workbook_replays_to_the_same_record():
    rows = [ledger_row("TJ1"), ledger_row("TJ2", **{"调解日期": "2023-05-26", "争议金额(元)": 12345.6,
                                                   "约定支付期限": dt.datetime(2023, 6, 30, 14, 30)})]
    items = parse(workbook(rows, title="台账<2023>"))
    for item in items:
        (again,) = parse(item.raw)
        assert again.record == item.record and again.row == 1
        sheet = openpyxl.load_workbook(io.BytesIO(item.raw), read_only=True).worksheets[0]
        assert sheet.title == "台账<2023>"
        header, row = sheet.iter_rows(values_only=True)
        assert list(header) == HEADER
    first = openpyxl.load_workbook(io.BytesIO(items[0].raw)).active
    assert first["D2"].is_date and first["D2"].value == dt.datetime(2023, 5, 25)  # still a real date


def test_schema_rules_are_left_to_the_hub():
    (parsed,) = parse(workbook([ledger_row(**{"统一社会信用代码": "91370103JURQ283F5A", "约定支付金额(元)": None,
                                              "涉及人数": 0})]))
    with pytest.raises(schemas.RecordInvalid) as err:
        canonical(parsed)
    paths = {path for path, _ in err.value.errors}
    assert paths >= {"employer.uscc", "worker_count"}
    assert {parsed.fields[path] for path in paths} >= {"统一社会信用代码", "涉及人数"}  # as the hub will name them


def test_native_field_names_are_schema_paths_and_columns_as_the_row_refusals_spell_them():
    names = inbound.FIELDS
    assert unknown_fields("mediation_result", names) == []
    assert set(names.values()) <= set(inbound.COLUMNS)
    (parsed,) = parse(workbook([ledger_row()]))  # every column filled
    assert parsed.fields == names
    assert leaf_paths(parsed.record) | {"source_ref"} == set(names)  # every field read from a column


@pytest.mark.parametrize("cells, column, path, rule", [
    ({"涉及人数": 0}, "涉及人数", "worker_count", "range"),
    ({"统一社会信用代码": "91370103JURQ283F5A"}, "统一社会信用代码", "employer.uscc", "uscc-gb32100"),  # check char
    ({"约定支付金额(元)": None}, "约定支付金额(元)", "amount_agreed", "required-if"),  # 部分成功 needs one
])
def test_a_row_the_schema_refuses_is_dead_lettered_by_its_column(running_hub, cells, column, path, rule):
    body = workbook([ledger_row("TJ1"), ledger_row("TJ2", **cells), ledger_row("TJ3")])
    assert all(isinstance(item, hub.Parsed) for item in parse(body))  # the plugin takes every row
    [outcome] = running_hub.pipeline.process([message(body)])
    assert outcome.status == "accepted" and len(outcome.records) == 2  # rows 1 and 3 go on
    [failure] = list(outcome.failures)
    assert (failure.field, failure.rule, failure.row, failure.kind) == (column, rule, 2, "mediation")
    # (the hub says "row 2: "; the plugin's own refusals say "row 2 (sheet row 3): ")
    assert failure.reason.startswith("row 2") and f"{column} ({path}): " in failure.reason
    assert f"(rule: {rule})" in failure.reason
    assert len(outcome.dead_letters) == 1


def test_formulas_are_never_evaluated():
    (parsed,) = parse(workbook([ledger_row(**{"单位名称": '=HYPERLINK("http://x","y")', "涉及人数": "=1+1"})]))
    assert isinstance(parsed, hub.Rejected)  # data_only: an unsaved formula has no value


@pytest.mark.parametrize("header, field, rule", [
    ([h for h in HEADER if h != "争议金额(元)"], "争议金额(元)", "required-column"),
    (HEADER + ["调解编号"], "调解编号", "duplicate-column"),
    (None, "header", "header"),
])
def test_header_problems_refuse_the_workbook(header, field, rule):
    rows = [] if header is None else [ledger_row()[:len(header)]]
    err = refused(workbook(rows, header))
    assert (err.field, err.rule) == (field, rule)


# -- what is refused before openpyxl sees it -----------------------------------------------------

def zip_of(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buf.getvalue()


def bomb(size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as part:
            for _ in range(size // MiB):
                part.write(b"<a/>" * (MiB // 4))
    return buf.getvalue()


@pytest.mark.parametrize("body", [NOT_XLSX, b"", b"hello", LEDGER[:len(LEDGER) // 2], b"PK\x05\x06" + b"\0" * 18,
                                  zip_of({"hello.txt": b"hi"}), zip_of({"[Content_Types].xml": b"<Types/>"})])
def test_not_a_workbook(body):
    err = refused(body)
    assert (err.field, err.rule) == ("body", "xlsx")
    assert "XLSX workbook" in err.reason


def test_workbook_over_the_size_limit():
    err = refused(LEDGER, max_bytes=len(LEDGER) - 1)
    assert (err.field, err.rule) == ("body", "max-bytes")
    assert len(parse(LEDGER, max_bytes=len(LEDGER))) == 1


def test_zip_bomb_by_ratio():
    body = bomb(20 * MiB)
    assert len(body) < 100_000  # 20 MiB of zeros in a few dozen KB
    err = refused(body)
    assert (err.field, err.rule) == ("body", "zip-bomb")


def test_zip_bomb_by_size():
    err = refused(bomb(3 * MiB), max_uncompressed=2 * MiB, max_ratio=1e9)
    assert err.rule == "zip-bomb" and "more than 2097152 bytes" in err.reason


def test_zip_bomb_that_lies_about_its_size():
    body = bytearray(bomb(5 * MiB))
    name = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(bytes(body))) as archive:
        local = archive.getinfo(name).header_offset
    central = body.rindex(b"PK\x01\x02")  # the part was written last: its directory entry is last
    assert body[central + 46:central + 46 + len(name)] == name.encode()
    # Declare 1,000 bytes for the 5 MiB part, in the local header and the central directory.
    struct.pack_into("<L", body, local + 22, 1000)
    struct.pack_into("<L", body, central + 24, 1000)
    with zipfile.ZipFile(io.BytesIO(bytes(body))) as archive:
        assert archive.getinfo(name).file_size == 1000
    err = refused(bytes(body), max_ratio=1e9)
    assert err.rule == "zip-bomb" and "larger than it declares" in err.reason


# -- the work guard: a small workbook must not cost much work ------------------------------------

SHEET_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def sheet_of(xml: str, header: bool = True, prefix: str = "") -> bytes:
    """A workbook (written with zipfile: no spreadsheet program writes these) whose first sheet's
    data is ``xml`` after the ledger's header row."""
    p = f"{prefix}:" if prefix else ""
    cells = "".join(f'<{p}c t="inlineStr"><{p}is><{p}t>{name}</{p}t></{p}is></{p}c>' for name in HEADER)
    ns = f'xmlns{":" + prefix if prefix else ""}="{SHEET_NS}"'
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {ns}><{p}sheetData>'
             + (f'<{p}row r="1">{cells}</{p}row>' if header else "") + xml + f"</{p}sheetData></{p}worksheet>")
    with zipfile.ZipFile(io.BytesIO(LEDGER)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    parts = {name: data for name, data in parts.items() if "sharedStrings" not in name}
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    return zip_of(parts)


# 40,000 rows of one empty cell at column XFD, a few KB zipped: openpyxl padded each row to
# 16,384 values and the plugin walked them all (14 s of CPU on the test machine).
FAR_RIGHT = '<row><c r="XFD1"/></row>' * 40_000


@pytest.mark.parametrize(("xml", "prefix", "rule"), [
    (FAR_RIGHT, "", "max-columns"),
    ('<x:row><x:c r="XFD1"/></x:row>' * 3, "x", "max-columns"),  # with a namespace prefix
    ('<row><c foo=">" r="IW1"/></row>', "", "max-columns"),  # r after a quoted ">"
    ('<row r="1048576"><c r="A1048576"><v>1</v></c></row>', "", "max-rows"),  # a million empty rows before it
    ("<!--" + "x" * 300_000 + "-->", "", "max-text"),  # expat re-reads a long token: quadratic
    ("<!--" + "<x>" * 100_000 + "-->", "", "max-text"),  # "<" inside a comment hides no length
    ('<row><c t="inlineStr"><is><t>' + "x" * 300_000 + "</t></is></c></row>", "", "max-text"),
])
def test_a_workbook_that_costs_too_much_work_is_refused_before_it_is_read(xml, prefix, rule):
    body = sheet_of(xml, prefix=prefix)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:  # too little for the zip guard to judge its ratio
        assert len(body) < 20_000 and sum(p.file_size for p in archive.infolist()) < xlsx.workbook.RATIO_FLOOR
    err = refused(body)
    assert (err.field, err.rule) == ("body", rule)
    assert f"(rule: {rule})" in err.reason


def test_cells_are_bounded_by_the_area_rows_and_columns_span():
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>1</v></c><c r="M{i}"><v>1</v></c></row>' for i in range(2, 102))
    body = sheet_of(rows)
    assert len(parse(body, max_cells=101 * 13)) == 100  # 101 rows of columns A to M: just fits
    err = refused(body, max_cells=101 * 13 - 1)
    assert (err.field, err.rule) == ("body", "max-cells")


@pytest.mark.parametrize(("limits", "rule"), [({"max_rows": 1}, "max-rows"), ({"max_columns": 12}, "max-columns"),
                                              ({"max_text": 10}, "max-text"), ({"max_seconds": 1e-9}, "max-seconds")])
def test_each_work_limit_is_a_setting(limits, rule):
    assert parse(LEDGER)  # the sample: 2 rows, 13 columns, short texts, read in a few ms
    err = refused(LEDGER, **limits)
    assert (err.field, err.rule) == ("body", rule)


def test_time_is_bounded_while_the_rows_are_read(monkeypatch):
    """Whatever the other bounds miss, reading stops once the CPU time is spent (checked each row)."""
    body = workbook([ledger_row(f"TJ{i}") for i in range(50)])
    items = union.parse_message(message=message(body), settings={})
    clock = iter([0.0, 1e9])  # the guard's reading, then a row's: past the deadline
    monkeypatch.setattr(xlsx.workbook.time, "thread_time", lambda: next(clock, 1e9))
    with pytest.raises(hub.InvalidMessage) as err:
        list(items)
    assert err.value.rule == "max-seconds"


def test_a_refused_workbook_is_dead_lettered_whole_with_its_bytes(running_hub):
    body = sheet_of(FAR_RIGHT)
    [outcome] = running_hub.pipeline.process([message(body)])
    assert outcome.status == "rejected" and not outcome.records
    [failure] = list(outcome.failures)
    assert (failure.field, failure.rule) == ("body", "max-columns")
    from hub.store.models import DeadLetter
    with running_hub.store.sessions() as session:
        [letter] = session.query(DeadLetter).all()
        assert letter.body == body and letter.rule == "max-columns"


def test_rows_are_never_padded_past_the_columns_cells_use():
    """A ``<dimension>`` of the whole sheet makes no row wider than its cells."""
    body = _rewrite(workbook([ledger_row()]), "xl/worksheets/sheet1.xml", b'<dimension ref="A1:M2" />',
                    b'<dimension ref="A1:XFD1048576"/>')
    [parsed] = parse(body)
    assert parsed.record["mediation_no"] == "TJ1"
    assert xlsx.check_archive(body).columns == 13


# -- referral -------------------------------------------------------------------------------------

CLUE = {
    "record_id": "rec-clue", "type": "clue", "schema_version": "1.0", "source_agency": "hrss",
    "source_ref": FACTS["clue_no"], "matter_id": "m-1", "received_at": "2023-05-22T09:10:00+08:00",
    "clue_no": FACTS["clue_no"], "channel": "qr_code", "region_code": FACTS["area"],
    "complainant": {"name": "王春生", "id_number": FACTS["complainant_id"], "mobile": FACTS["complainant_mobile"]},
    "employer": {"name": "海岱建筑劳务有限公司", "uscc": FACTS["employer_uscc"]},
    "project_code": FACTS["project_code"], "worker_count": FACTS["workers"], "amount_owed": FACTS["amount_yuan"],
    "period_from": "2023-01", "period_to": "2023-04", "content": f"身份证 {FACTS['complainant_id']}",
}


def delivery(record: dict | None = None, **kw) -> hub.Delivery:
    args = {"recipient": "union", "kind": "referral", "route": "clue-to-union", "record_type": "clue",
            "record": record or CLUE, "refs": {"clue_no": [FACTS["clue_no"]]}, "message_id": "out-union-1",
            "created_at": "2023-05-22T09:30:00+08:00"}
    args.update(kw)
    return hub.Delivery(**args)


def read_referral(body: bytes) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(body))
    assert wb.sheetnames == ["转办"]
    return list(wb["转办"].iter_rows(values_only=True))


def test_referral_workbook():
    rendered = union.render_record(delivery=delivery(), settings={})
    assert (rendered.content_type, rendered.content_encoding) == (xlsx.XLSX_TYPE, "binary")
    header, row = read_referral(rendered.body)
    assert header == ("线索编号", "受理日期", "所属区划", "单位名称", "统一社会信用代码", "涉及人数", "欠薪金额(元)",
                      "联系电话(脱敏)")
    assert row == (FACTS["clue_no"], dt.datetime(2023, 5, 22), FACTS["area"], "海岱建筑劳务有限公司",
                   FACTS["employer_uscc"], 24, 382848, "139****0696")
    assert row[7] == schemas.validators.mask_mobile(FACTS["complainant_mobile"])


def test_referral_never_carries_an_identity_number():
    body = union.render_record(delivery=delivery(), settings={}).body
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        for name in archive.namelist():
            data = archive.read(name)
            assert FACTS["complainant_id"].encode() not in data, name
            assert FACTS["complainant_mobile"].encode() not in data, name
            assert "王春生".encode() not in data, name
            assert not re.search(rb"\d{17}[\dX]", data), name


@pytest.mark.parametrize("mobile, written", [
    ("139****0696", "139****0696"), ("13923720696", "139****0696"), (" 13923720696 ", "139****0696"),
    (FACTS["complainant_id"], None), ("0531-88888888", None), (None, None), (13923720696, None),
])
def test_referral_mobile_is_masked_or_left_out(mobile, written):
    record = {**CLUE, "complainant": {"name": "王春生", "mobile": mobile}}
    _, row = read_referral(union.render_record(delivery=delivery(record), settings={}).body)
    assert row[7] == written


def test_referral_neutralises_formula_injection():
    record = {**CLUE, "employer": {"name": '=HYPERLINK("http://evil.example","点此")', "uscc": "@SUM(A1)"},
              "clue_no": "+1", "region_code": "-1+1"}
    body = union.render_record(delivery=delivery(record), settings={}).body
    sheet = openpyxl.load_workbook(io.BytesIO(body))["转办"]  # not data_only: formulas would show as such
    assert [c.data_type for c in sheet[2]][:5] == ["s", "d", "s", "s", "s"]
    # the exact text (no apostrophe added), a string cell with Excel's quote prefix: never evaluated
    assert sheet["D2"].value == '=HYPERLINK("http://evil.example","点此")'
    assert (sheet["A2"].value, sheet["C2"].value, sheet["E2"].value) == ("+1", "-1+1", "@SUM(A1)")
    assert [sheet[f"{c}2"].quotePrefix for c in "ACDEF"] == [True, True, True, True, False]
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


def test_referral_bytes_are_deterministic():
    first = union.render_record(delivery=delivery(), settings={}).body
    time.sleep(2.1)  # zip times have two-second steps: make sure the clock moved past one
    second = union.render_record(delivery=delivery(), settings={}).body
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {p.date_time for p in archive.infolist()} == {(2023, 5, 22, 9, 30, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2023-05-22T01:30:00Z") == 2  # created and modified: the delivery's time, in UTC
    other = union.render_record(delivery=delivery(created_at="2023-05-23T09:30:00+08:00"), settings={}).body
    assert other != first


_XML_CANNOT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from("=+-@\t\r\n &<>'\""),
                max_size=40)


@settings(max_examples=200, deadline=None, database=None)
@given(clue_no=_TEXT, region=_TEXT, name=_TEXT, uscc=_TEXT, workers=st.integers(0, 10**9),
       amount=st.decimals(min_value=0, max_value=10**13, places=2, allow_nan=False))
def test_referral_reads_back_exactly_through_openpyxl(clue_no, region, name, uscc, workers, amount):
    """The hand-written template reads back in openpyxl as the row: every text exactly (less
    what XML cannot carry), a string cell, quote-prefixed when it starts like a formula."""
    record = {**CLUE, "clue_no": clue_no, "region_code": region, "employer": {"name": name, "uscc": uscc},
              "worker_count": workers, "amount_owed": str(amount)}
    body = union.render_record(delivery=delivery(record), settings={}).body
    xlsx.check_archive(body)
    sheet = openpyxl.load_workbook(io.BytesIO(body))["转办"]
    texts = {"A": clue_no or FACTS["clue_no"], "C": region, "D": name, "E": uscc}  # no number: the route's
    for column, text in texts.items():
        cell = sheet[f"{column}2"]
        written = _XML_CANNOT.sub("", text)
        assert cell.value == (written or None)
        if written:
            assert cell.data_type == "s"
            assert cell.quotePrefix == written.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert sheet["B2"].value == dt.datetime(2023, 5, 22) and sheet["B2"].number_format == "yyyy-mm-dd"
    assert sheet["F2"].value == workers
    assert sheet["G2"].value == pytest.approx(float(amount), abs=0.001) and sheet["G2"].number_format == "0.00"
    assert sheet["H2"].value == "139****0696"
    assert [sheet.column_dimensions[c].width for c in "ABCDEFGH"] == list(union.outbound.WIDTHS)


def test_referral_only():
    with pytest.raises(ValueError, match="referral"):
        union.render_record(delivery=delivery(kind="NOTICE"), settings={})


def test_referral_reads_back_through_the_zip_guard():
    body = union.render_record(delivery=delivery(), settings={}).body
    xlsx.check_archive(body)


# -- robustness -----------------------------------------------------------------------------------

def consume(body: bytes) -> None:
    try:
        for item in union.parse_message(message=message(body), settings={}):
            assert isinstance(item, (hub.Parsed, hub.Rejected))
            if isinstance(item, hub.Parsed):
                json.dumps(item.record)
    except hub.InvalidMessage as exc:
        assert exc.rule and exc.reason


def mutate(data, body: bytes) -> bytes:
    buf = bytearray(body)
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(buf) - 1))
        if data.draw(st.booleans()):
            buf[at] = data.draw(st.integers(0, 255))
        else:
            del buf[at]
    return bytes(buf)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_workbook_bytes_give_items_or_invalid_message(data):
    body = mutate(data, LEDGER)
    consume(body[:data.draw(st.integers(0, len(body)))] if data.draw(st.booleans()) else body)


with zipfile.ZipFile(io.BytesIO(LEDGER)) as _archive:
    LEDGER_PARTS = {p.filename: _archive.read(p) for p in _archive.infolist()}


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_workbook_parts_give_items_or_invalid_message(data):
    """A sound zip around damaged XML: openpyxl's errors must come out as InvalidMessage."""
    name = data.draw(st.sampled_from(sorted(LEDGER_PARTS)))
    parts = {**LEDGER_PARTS, name: mutate(data, LEDGER_PARTS[name])}
    consume(zip_of(parts))


# -- what the samples do not show ---------------------------------------------------------------

def _rewrite(body: bytes, part: str, old: bytes, new: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == part:
                assert old in data
                data = data.replace(old, new)
            dst.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize("ref", [b"A1:M2", b"A1", b"A1:H4"])
def test_every_row_is_read_whatever_the_sheets_dimension_says(ref):
    """<dimension> is a hint some exporters write wrong; openpyxl's read-only mode trusts it."""
    body = workbook([ledger_row("TJ1"), ledger_row("TJ2"), ledger_row("TJ3")])
    body = _rewrite(body, "xl/worksheets/sheet1.xml", b'<dimension ref="A1:M4" />', b'<dimension ref="' + ref + b'" />')
    assert [p.source_ref for p in parse(body)] == ["TJ1", "TJ2", "TJ3"]


@pytest.mark.parametrize("format_id", [31, 57, 58, 27, 36])
def test_dates_in_the_chinese_locales_built_in_formats(format_id):
    """Chinese Excel and WPS write yyyy"年"m"月"d"日" as built-in format 31 (27–36, 50–58),
    which styles.xml does not define: still a date cell."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(ledger_row())
    ws["D2"].number_format = "0.000"  # a custom format (id 165), made the built-in id below, defined nowhere
    buf = io.BytesIO()
    wb.save(buf)
    body = _rewrite(buf.getvalue(), "xl/styles.xml", b'<numFmt numFmtId="165" formatCode="0.000" />', b"")
    body = _rewrite(body, "xl/styles.xml", b'numFmtId="165"', f'numFmtId="{format_id}"'.encode())
    [parsed] = parse(body)
    assert parsed.record["mediated_on"] == "2023-05-25"


def test_a_formula_error_is_no_value():
    [row] = parse(workbook([ledger_row(单位名称="#N/A")]))
    assert isinstance(row, hub.Rejected) and (row.field, row.rule) == ("单位名称", "cell-error")
    assert "#N/A" in row.reason


def test_a_date_cell_before_1900_is_no_date():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    ws.append(ledger_row(调解日期=-1))
    ws["D2"].number_format = "yyyy-mm-dd"
    buf = io.BytesIO()
    wb.save(buf)
    [row] = parse(buf.getvalue())
    assert isinstance(row, hub.Rejected) and (row.field, row.rule) == ("调解日期", "date")


def test_unknown_columns_are_ignored_even_when_named_twice():
    rows = [ledger_row() + ["备注一", "备注二"]]
    [parsed] = parse(workbook(rows, HEADER + ["备注", "备注"]))
    assert parsed.record["mediation_no"] == "TJ1"


def test_an_amount_past_a_spreadsheet_numbers_15_digits_goes_as_text_exactly():
    _, row = read_referral(union.render_record(delivery=delivery({**CLUE, "amount_owed": "999999999999999.99"}),
                                               settings={}).body)
    assert row[6] == "999999999999999.99"
