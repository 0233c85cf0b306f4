"""The daily bulletin (日通报) and the follow-up sample (回头看), built from records that went
through the real pipeline; only deadline rows are written by hand (see ``add_deadlines``)."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import delete, select

from hub.casework.bulletin import build_bulletin, due_day, publish_bulletin, to_csv, to_json, to_xlsx
from hub.casework.followup import followup_sample, sample_size
from hub.contract.types import NativeMessage
from hub.ids import BEIJING
from hub.store.models import Deadline, MatterKey, Outbox
from tests.helpers import sample

D = dt.date(2024, 5, 10)
A, B = "370103", "370202"
CLUE = json.loads(sample("hrss-clue.json"))
CASE = json.loads(sample("hrss-case.json"))
TRANSFER = json.loads(sample("hrss-transfer.json"))
ORDER = json.loads(sample("hrss-order.json"))
RECEIPT = sample("police-receipt.xml")
ENFORCEMENT = json.loads(sample("court-enforcement.json"))
FORMULA = '=HYPERLINK("http://evil.example/","click")'


def at(day: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hh, mm), tzinfo=BEIJING)


# -- building the records through the pipeline ------------------------------------------------

def process(hub, agency: str, body: bytes, message_id: str, content_type="application/json", encoding="utf-8"):
    [outcome] = hub.pipeline.process([NativeMessage(agency, body, message_id, content_type, encoding)])
    assert outcome.status == "accepted" and not outcome.failures, outcome.to_dict()
    return outcome


def hrss(hub, doc: dict) -> None:
    process(hub, "hrss", json.dumps(doc, ensure_ascii=False).encode(), doc["msgId"])


def clue(hub, no: str, area: str, channel: str, fen: int, received: str, *, mobile: str = "13923720696",
         name: str = "王春生", content: str = "拖欠工资") -> None:
    doc = copy.deepcopy(CLUE)
    doc["msgId"] = f"clue-{no}-{content}"
    doc["data"].update(clueNo=no, areaCode=area, channel=channel, amountFen=fen, receivedTime=received,
                       content=content)
    doc["data"]["complainant"] = {"name": name, "mobile": mobile}
    doc["data"].pop("projectCode")
    hrss(hub, doc)


def case(hub, no: str, clue_nos: list[str], status: str, when: str, *, fen: int | None = None,
         paid: int | None = None, handler: str = "监察大队") -> None:
    doc = copy.deepcopy(CASE)
    doc["msgId"] = f"case-{no}-{status}-{when}"
    data = doc["data"]
    data.update(caseNo=no, clueNos=clue_nos, status=status, statusTime=when, handler=handler)
    data.pop("firstContactTime")
    for key, value in (("recoveredFen", fen), ("paidWorkers", paid)):
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    hrss(hub, doc)


def transfer(hub, no: str, case_no: str, on: str) -> None:
    """A transfer with a served, past-due, unpaid order to pay: its dossier passes the check."""
    order = copy.deepcopy(ORDER)
    order["msgId"] = f"order-{no}"
    order["data"].update(orderNo=f"ZL{no}", caseNo=case_no, issueDate="20240401", dueDate="20240415",
                         serveDate="20240402")
    hrss(hub, order)
    doc = copy.deepcopy(TRANSFER)
    doc["msgId"] = f"transfer-{no}"
    doc["data"].update(transferNo=no, caseNo=case_no, orderNo=f"ZL{no}", transferDate=on)
    hrss(hub, doc)


def receipt(hub, transfer_no: str, when: str) -> None:
    body = RECEIPT.replace(b"YS37010320230880", transfer_no.encode()).replace(b"2023-06-21 09:30:00", when.encode())
    body = body.replace(b"GA-370103-880-1", f"GA-{transfer_no}".encode())
    process(hub, "police", body, f"receipt-{transfer_no}", "application/xml", "gb18030")


def enforcement(hub, n: int, on: str, status: str = "paid") -> None:
    doc = copy.deepcopy(ENFORCEMENT)
    doc["doc_id"] = f"FY-{n}"
    doc["body"].update(case_number=f"(2024)鲁0202执{n}号", judgment_case_number=f"（2024）鲁0202民初{n}号",
                       status=status, updated_on=on)
    process(hub, "court", json.dumps(doc, ensure_ascii=False).encode(), f"enf-{n}")


def matter_of(hub, key: str) -> str:
    with hub.store.sessions() as session:
        return session.get(MatterKey, key).matter_id


def build_day(hub) -> None:
    """Two districts' records around 2024-05-10 (Beijing), boundaries included."""
    # district A (370103): three clues on the day, one just before, one just after
    clue(hub, "XSA1", A, "01", 1234567, "20240510090000", mobile="13900000001")
    clue(hub, "XSA2", A, "02", 100001, "20240510233000", mobile="13900000002")
    clue(hub, "XSA2", A, "02", 100001, "20240510233000", mobile="13900000002", content="补充材料")  # resent
    clue(hub, "XSA3", A, "01", 777, "20240511001000")  # the next Beijing day (still the 10th in UTC)
    clue(hub, "XSA0", A, "05", 888, "20240509235900")  # the day before
    clue(hub, "XSA4", A, "04", 50, "20240510000500", mobile="13900000004")  # the 9th in UTC, the 10th here
    case(hub, "AJA1", ["XSA1"], "20", "20240510140000")
    case(hub, "AJA1", ["XSA1"], "20", "20240510150000", handler="二中队")  # opened again: one case
    case(hub, "AJA1", ["XSA1"], "40", "20240510180000", fen=1234567, paid=5)
    case(hub, "AJA0", ["XSA0"], "20", "20240509100000")
    case(hub, "AJA0", ["XSA0"], "40", "20240510100000", fen=50000, paid=2)
    case(hub, "AJA3", ["XSA3"], "20", "20240511080000")
    # district B (370202)
    clue(hub, "XSB1", B, "03", 999999, "20240510100000", mobile="13900000011", name="李四")
    clue(hub, "XSB2", B, "06", 1, "20240510120000", mobile="13900000012")
    case(hub, "AJB1", ["XSB1"], "20", "20240510110000")
    case(hub, "AJB1", ["XSB1"], "30", "20240510130000")  # mediating: neither opened nor closed
    case(hub, "AJB2", ["XSB2"], "40", "20240511090000", fen=1, paid=1)  # closed the next day
    # a case whose clue the hub never received: district unknown
    case(hub, "AJU1", ["XSZZ9999"], "20", "20240510120000")
    # transfers: A's was received only on the 11th; B's on the day; B9 transferred after the day
    transfer(hub, "YSA0", "AJA0", "20240508")
    receipt(hub, "YSA0", "2024-05-11 09:30:00")
    transfer(hub, "YSB1", "AJB1", "20240509")
    receipt(hub, "YSB1", "2024-05-10 09:30:00")
    transfer(hub, "YSB9", "AJB2", "20240511")


def add_deadlines(hub) -> None:
    """Deadline rows for the first-contact and overdue figures.

    Written by hand: the deadline engine is not part of this change. Rows it may have
    derived from the records above are replaced, so the figures below are exactly these.
    """
    m = {k: matter_of(hub, f"clue:{k}") for k in ("XSA0", "XSA1", "XSA4", "XSB1", "XSB2")}
    rows = [
        # key, matter, rule, owner, due, done, status, region, title
        ("fc-a1", m["XSA1"], "first_contact", "hrss", at(D, 12), at(D, 10), "met", None, "首次联系"),
        ("fc-a4", m["XSA4"], "first_contact", "hrss", at(D, 6), at(D, 11), "late", None, "首次联系"),
        ("fc-b1", m["XSB1"], "first_contact", "hrss", at(D, 20), None, "open", None, "首次联系"),
        ("fc-b2", m["XSB2"], "first_contact", "hrss", at(D + dt.timedelta(days=1), 10), None, "open", None,
         "首次联系"),
        ("fc-a0", m["XSA0"], "first_contact", "hrss", at(D - dt.timedelta(days=1), 12),
         at(D - dt.timedelta(days=1), 11), "met", None, "首次联系"),
        ("po-a0", m["XSA0"], "payment_order_due", "hrss", at(D - dt.timedelta(days=2), 0), None, "open", A,
         FORMULA),
        ("pr-a0", m["XSA0"], "police_receipt", "police", at(D, 9), None, "open", None, "公安接收"),
        # done late after the day: still overdue at the end of the day
        ("hs-b1", m["XSB1"], "housing_reply", "housing", at(D - dt.timedelta(days=1), 9),
         at(D + dt.timedelta(days=2), 9), "late", None, "住建答复"),
        ("cx-b1", m["XSB1"], "court_filing", "court", at(D - dt.timedelta(days=1), 9), None, "cancelled", None,
         "法院立案"),
        # done late during the day: not open at its end
        ("ld-b1", m["XSB1"], "police_decision", "police", at(D - dt.timedelta(days=1), 9), at(D, 15), "late",
         None, "公安决定"),
    ]
    with hub.store.transaction() as session:
        session.execute(delete(Deadline))
        for key, matter_id, rule, owner, due, done, status, region, title in rows:
            session.add(Deadline(key=key, matter_id=matter_id, rule=rule, subject=f"subject-{key}", owner=owner,
                                 title=title, source=f"test:{key}", start_at=due - dt.timedelta(days=2), due_at=due,
                                 done_at=done, status=status, region_code=region))


@pytest.fixture
def day_data(hub):
    build_day(hub)
    add_deadlines(hub)
    return hub


def channels(**counts) -> dict:
    base = {"qr_code": 0, "hotline": 0, "petition": 0, "walk_in": 0, "online": 0, "referral": 0}
    return {**base, **counts}


def stages(**counts) -> dict:
    base = dict.fromkeys(("held", "transferred", "received", "opened", "declined", "returned", "reconsidering", "supervised", "judged",
                          "closed"), 0)
    return {**base, **counts}


EXPECTED = {
    A: {"region_code": A, "region_name": "市中区", "clues_total": 3,
        "clues_by_channel": channels(qr_code=1, hotline=1, walk_in=1), "amount_owed": "13346.18",
        "first_contacts_on_time": 1, "first_contacts_late": 1, "first_contacts_late_open": 0,
        "cases_opened": 1, "cases_closed": 2, "amount_recovered": "12845.67", "workers_paid": 7,
        "transfers_by_stage": stages(transferred=1), "overdue_total": 2,
        "overdue_by_owner": {"hrss": 1, "police": 1}},
    B: {"region_code": B, "region_name": "市南区", "clues_total": 2,
        "clues_by_channel": channels(petition=1, referral=1), "amount_owed": "10000.00",
        "first_contacts_on_time": 0, "first_contacts_late": 1, "first_contacts_late_open": 1,
        "cases_opened": 1, "cases_closed": 0, "amount_recovered": "0.00", "workers_paid": 0,
        "transfers_by_stage": stages(received=1), "overdue_total": 2,
        "overdue_by_owner": {"housing": 1, "hrss": 1}},
    "unknown": {"region_code": "unknown", "region_name": "未知区划", "clues_total": 0,
                "clues_by_channel": channels(), "amount_owed": "0.00", "first_contacts_on_time": 0,
                "first_contacts_late": 0, "first_contacts_late_open": 0, "cases_opened": 1, "cases_closed": 0,
                "amount_recovered": "0.00", "workers_paid": 0, "transfers_by_stage": stages(), "overdue_total": 0,
                "overdue_by_owner": {}},
    "total": {"region_code": "total", "region_name": "合计", "clues_total": 5,
              "clues_by_channel": channels(qr_code=1, hotline=1, walk_in=1, petition=1, referral=1),
              "amount_owed": "23346.18", "first_contacts_on_time": 1, "first_contacts_late": 2,
              "first_contacts_late_open": 1, "cases_opened": 3, "cases_closed": 2, "amount_recovered": "12845.67",
              "workers_paid": 7, "transfers_by_stage": stages(transferred=1, received=1), "overdue_total": 4,
              "overdue_by_owner": {"housing": 1, "hrss": 2, "police": 1}},
}


def bulletin_of(hub, day=D) -> dict:
    with hub.store.sessions() as session:
        return build_bulletin(session, day, hub.settings)


# -- the figures ------------------------------------------------------------------------------

def test_bulletin_figures_match_the_records_it_was_built_from(day_data):
    b = bulletin_of(day_data)
    assert b["date"] == "2024-05-10" and b["timezone"] == "Asia/Shanghai"
    assert b["from"] == "2024-05-10T00:00:00+08:00" and b["to"] == "2024-05-11T00:00:00+08:00"
    assert [d["region_code"] for d in b["districts"]] == [A, B, "unknown"]
    for fig in b["districts"]:
        assert fig == EXPECTED[fig["region_code"]]
    assert b["total"] == EXPECTED["total"]
    items = [(i["region_code"], i["rule"], i["owner"], i["subject"]) for i in b["overdue_items"]]
    assert items == [(A, "payment_order_due", "hrss", "subject-po-a0"), (A, "police_receipt", "police", "subject-pr-a0"),
                     (B, "housing_reply", "housing", "subject-hs-b1"), (B, "first_contact", "hrss", "subject-fc-b1")]
    first = b["overdue_items"][0]
    assert first["due_at"] == "2024-05-08T00:00:00+08:00" and first["title"] == FORMULA
    assert first["matter_id"] == matter_of(day_data, "clue:XSA0")
    # the transfer received on the 11th is "received" now, but was "transferred" at the end of the 10th
    assert bulletin_of(day_data, D + dt.timedelta(days=1))["total"]["transfers_by_stage"]["received"] == 2


def test_an_empty_day_has_a_zero_total(hub):
    b = bulletin_of(hub)
    assert b["districts"] == [] and b["overdue_items"] == []
    assert b["total"]["clues_total"] == 0 and b["total"]["amount_owed"] == "0.00"


# -- the writers ------------------------------------------------------------------------------

def flat(fig: dict) -> dict:
    """A district's figures as the csv / xlsx columns name them."""
    out = {k: v for k, v in fig.items() if not isinstance(v, dict)}
    out.update({f"clues_{k}": v for k, v in fig["clues_by_channel"].items()})
    out.update({f"transfers_{k}": v for k, v in fig["transfers_by_stage"].items()})
    for owner in ("housing", "hrss", "police"):
        out[f"overdue_{owner}"] = fig["overdue_by_owner"].get(owner, 0)
    return {k: str(v) for k, v in out.items()}


def english(headers) -> list[str]:
    return [h.rsplit("(", 1)[1].rstrip(")") for h in headers]


def test_json_csv_and_xlsx_carry_the_same_figures(day_data):
    b = bulletin_of(day_data)
    assert json.loads(to_json(b)) == b

    raw = to_csv(b)
    assert raw.startswith(b"\xef\xbb\xbf")
    reader = csv.reader(io.StringIO(raw.decode("utf-8-sig")))
    headers = next(reader)
    assert headers[0] == "区划代码 (region_code)" and "线索·扫码 (clues_qr_code)" in headers
    rows = [dict(zip(english(headers), r)) for r in reader]
    expected = [flat(EXPECTED[c]) for c in (A, B, "unknown", "total")]
    assert rows == expected

    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx(b)))
    assert wb.sheetnames == ["日通报", "逾期事项", "回头看"]
    table = list(wb["日通报"].iter_rows(values_only=True))
    assert "2024-05-10" in table[0][0]
    keys = english(table[1])
    assert keys == english(headers)
    got = []
    for values in table[2:]:
        row = {}
        for key, value in zip(keys, values):
            if key in ("amount_owed", "amount_recovered"):
                value = Decimal(str(value)).quantize(Decimal("0.01"))
            row[key] = str(value)
        got.append(row)
    assert got == expected
    items = list(wb["逾期事项"].iter_rows(values_only=True))
    assert english(items[0]) == ["region_code", "region_name", "rule", "title", "subject", "owner", "due_at",
                                 "matter_id"]
    assert [r[4] for r in items[1:]] == [i["subject"] for i in b["overdue_items"]]
    # a title that would be a formula is written as text
    assert items[1][3] == "'" + FORMULA
    assert all(c.data_type != "f" for row in wb["逾期事项"].iter_rows() for c in row)


# -- the API ------------------------------------------------------------------------------------

def test_bulletin_route_roles_formats_and_errors(day_data, client, token):
    viewer = token("viewer")
    resp = client.get("/api/v1/bulletin?date=2024-05-10", headers=viewer)
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.json["total"] == EXPECTED["total"]
    assert [d["region_code"] for d in resp.json["districts"]] == [A, B, "unknown"]

    csv_resp = client.get("/api/v1/bulletin?date=2024-05-10&format=csv", headers=token("linkage"))
    assert csv_resp.status_code == 200 and csv_resp.mimetype == "text/csv"
    assert csv_resp.headers["Content-Disposition"] == 'attachment; filename="bulletin-2024-05-10.csv"'
    assert csv_resp.data.startswith(b"\xef\xbb\xbf")
    xlsx = client.get("/api/v1/bulletin?date=2024-05-10&format=xlsx", headers=token("admin"))
    assert xlsx.status_code == 200
    assert xlsx.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="bulletin-2024-05-10.xlsx"' in xlsx.headers["Content-Disposition"]
    assert openpyxl.load_workbook(io.BytesIO(xlsx.data)).sheetnames == ["日通报", "逾期事项", "回头看"]

    assert client.get("/api/v1/bulletin?date=2024-05-10", headers=token("agency:hrss")).status_code == 403
    assert client.get("/api/v1/bulletin?date=2024-05-10").status_code == 401
    for query, rule in (("", "required"), ("?date=2024-13-01", "date"), ("?date=20240510", "date"),
                        ("?date=yesterday", "date")):
        bad = client.get(f"/api/v1/bulletin{query}", headers=viewer)
        assert bad.status_code == 400, query
        assert bad.json["error"]["details"] == {"field": "date", "rule": rule}
    bad = client.get("/api/v1/bulletin?date=2024-05-10&format=pdf", headers=viewer)
    assert bad.status_code == 400 and bad.json["error"]["details"]["field"] == "format"


def test_openapi_documents_the_report_routes(client):
    paths = client.get("/openapi.json").json["paths"]
    for path in ("/api/v1/bulletin", "/api/v1/followups"):
        op = paths[path]["get"]
        assert "viewer" in op["description"] and "agency" not in op["description"]
        assert {"date"} <= {p["name"] for p in op["parameters"]}
        assert {"200", "400", "401", "403"} <= set(op["responses"])


# -- the command line ---------------------------------------------------------------------------

@pytest.fixture
def env(settings):
    os.makedirs(settings["hub"]["var_dir"], exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGEHUB_")}
    env.update(WAGEHUB_VAR_DIR=settings["hub"]["var_dir"], WAGEHUB_BROKER_URL=settings["hub"]["broker_url"],
               WAGEHUB_DATABASE_URL=settings["hub"]["database_url"])
    return env


def wagehub(env, *args, cwd=None):
    proc = subprocess.run([sys.executable, "-m", "hub.cli.main", *args], env=env, capture_output=True, timeout=60,
                          cwd=cwd)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc


def last_line(stream: bytes) -> str:
    return stream.decode().strip().splitlines()[-1]


def test_cli_bulletin_in_each_format(day_data, env, tmp_path):
    cwd = os.getcwd()
    env["PYTHONPATH"] = cwd + os.pathsep + env.get("PYTHONPATH", "")
    out = wagehub(env, "bulletin", "--date", "2024-05-10")
    assert json.loads(out.stdout)["total"] == EXPECTED["total"]
    out = wagehub(env, "bulletin", "--date", "2024-05-10", "--format", "csv")
    assert out.stdout == to_csv(bulletin_of(day_data))
    # xlsx goes to bulletin-<date>.xlsx in the working directory unless --output says otherwise
    out = wagehub(env, "bulletin", "--date", "2024-05-10", "--format", "xlsx", cwd=tmp_path)
    written = tmp_path / "bulletin-2024-05-10.xlsx"
    assert last_line(out.stderr).endswith("bulletin-2024-05-10.xlsx") and out.stdout == b""
    rows = list(openpyxl.load_workbook(written)["日通报"].iter_rows(values_only=True))
    assert rows[-1][:3] == ("total", "合计", 5)
    target = tmp_path / "b.csv"
    out = wagehub(env, "bulletin", "--date", "2024-05-10", "--format", "csv", "--output", str(target))
    assert last_line(out.stderr) == str(target) and target.read_bytes() == to_csv(bulletin_of(day_data))


def test_cli_followups_masks_unless_asked(day_data, env):
    masked = wagehub(env, "followups", "--date", "2024-05-10").stdout.decode()
    assert "139****0001" in masked or "139****0696" in masked  # AJA1's or AJA0's complainant
    assert "13900000001" not in masked and "13923720696" not in masked and "王春生" not in masked
    full = json.loads(wagehub(env, "followups", "--date", "2024-05-10", "--json", "--show-personal-data").stdout)
    assert full and all(i["complainant"]["mobile"].startswith("139000000") for i in full if i["complainant"])


# -- publishing -------------------------------------------------------------------------------

def outbox_rows(hub) -> list[Outbox]:
    with hub.store.sessions() as session:
        return list(session.scalars(select(Outbox).where(Outbox.route == "daily-bulletin").order_by(Outbox.id)))


def test_publish_writes_one_row_per_installed_subscriber_once(day_data):
    hub = day_data
    settings = {**hub.settings, "bulletin": {**hub.settings["bulletin"],
                                             "subscribers": ["hrss", "police", "nobody"]}}
    with hub.store.transaction() as session:
        assert publish_bulletin(session, D, settings, hub.registry) == 2
    with hub.store.transaction() as session:
        assert publish_bulletin(session, D, settings, hub.registry) == 0
        assert publish_bulletin(session, D, settings, ["hrss", "police"]) == 0
    rows = outbox_rows(hub)
    assert [(r.recipient, r.message_id) for r in rows] == [("hrss", "bulletin-2024-05-10-hrss"),
                                                           ("police", "bulletin-2024-05-10-police")]
    row = rows[0]
    assert (row.kind, row.record_type, row.record_id, row.matter_id) == ("NOTICE", "daily_bulletin",
                                                                        "bulletin-2024-05-10", "bulletin")
    assert row.payload["params"] == {"notice_kind": "DAILY_BULLETIN"} and row.payload["refs"] == {}
    assert row.payload["created_at"].endswith("+08:00")
    record = row.payload["record"]
    assert record["type"] == "daily_bulletin" and record["total"] == EXPECTED["total"]
    # another day is another bulletin
    with hub.store.transaction() as session:
        assert publish_bulletin(session, D + dt.timedelta(days=1), settings, hub.registry) == 2


def test_published_bulletin_reaches_hrss_as_a_notice(hub, workers, agency):
    clue(hub, "XSN1", A, "02", 123456, "20240510090000")
    with hub.store.transaction() as session:
        # hrss and the governments (gov: each its own area's, tests/integration/test_gov.py)
        assert publish_bulletin(session, D, hub.settings, hub.registry) == 2
    workers.relay.poke()
    messages = [m for m in agency.receive("hrss", 1, timeout=15)
                if m.headers.get("x-wagehub-record-type") == "daily_bulletin"]
    assert messages, "no daily bulletin reached wagehub.out.hrss"
    message = messages[0]
    assert message.properties["message_id"] == "bulletin-2024-05-10-hrss"
    assert message.headers["x-wagehub-record-id"] == "bulletin-2024-05-10"
    body = json.loads(message.raw)
    assert body["msgType"] == "NOTICE" and body["msgId"] == "bulletin-2024-05-10-hrss"
    assert body["data"]["kind"] == "DAILY_BULLETIN"
    record = body["data"]["record"]
    assert record["type"] == "daily_bulletin" and record["date"] == "2024-05-10"
    assert record["total"]["clues_total"] == 1
    assert record["total"]["clues_by_channel"]["hotline"] == 1
    # hrss reads money as integer fen everywhere: the hub's own amount_* fields too
    assert record["total"]["amount_owed"] == 123456


def test_due_day_follows_the_configured_time(settings):
    assert settings["bulletin"]["time"] == "08:00"
    assert due_day(at(D, 7, 59), settings) is None
    assert due_day(at(D, 8, 0), settings) == D - dt.timedelta(days=1)
    assert due_day(at(D, 23, 59), settings) == D - dt.timedelta(days=1)
    assert due_day(dt.datetime(2024, 5, 10, 0, 30, tzinfo=dt.UTC), settings) == D - dt.timedelta(days=1)  # 08:30
    assert due_day(dt.datetime(2024, 5, 9, 23, 30, tzinfo=dt.UTC), settings) is None  # 07:30 on the 10th
    assert due_day(dt.datetime(2024, 5, 10, 0, 30), settings) == D - dt.timedelta(days=1)  # naive: UTC
    later = {**settings, "bulletin": {**settings["bulletin"], "time": "17:30"}}
    assert due_day(at(D, 17, 29), later) is None and due_day(at(D, 17, 30), later) == D - dt.timedelta(days=1)


# -- follow-up sample ------------------------------------------------------------------------

def build_closed(hub) -> list[str]:
    """Twelve matters closed on the day (eleven by case, one by court enforcement), and two not."""
    for n in range(11):
        clue(hub, f"XSF{n:02d}", B if n % 2 else A, "01", 1000 + n, "20240501090000", mobile=f"1390000{n:04d}",
             name=f"张{'三四五六七八九十甲乙丙'[n]}")
        case(hub, f"AJF{n:02d}", [f"XSF{n:02d}"], "40", f"202405101{n % 10}0000", fen=1000 + n, paid=1)
    clue(hub, "XSF99", A, "01", 5, "20240501090000")
    case(hub, "AJF99", ["XSF99"], "40", "20240511090000")  # the next day
    enforcement(hub, 901, "2024-05-10")
    enforcement(hub, 902, "2024-05-10", status="partially_paid")  # not closed
    return sorted([matter_of(hub, f"case:AJF{n:02d}") for n in range(11)]
                  + [matter_of(hub, "court_case:（2024）鲁0202执901号")])


def draw(hub, day=D, **followup) -> list[dict]:
    settings = {**hub.settings, "followup": {**hub.settings["followup"], **followup}}
    with hub.store.sessions() as session:
        return followup_sample(session, day, settings)


def test_followup_sample_is_reproducible_and_respects_the_share(hub):
    closed = build_closed(hub)
    assert len(draw(hub, share=1.0)) == 12
    assert [i["matter_id"] for i in draw(hub, share=1.0)] == closed
    first = draw(hub, share=0.5)
    assert len(first) == 6 and first == draw(hub, share=0.5)
    assert [i["matter_id"] for i in first] == sorted(i["matter_id"] for i in first)
    assert {i["matter_id"] for i in first} <= set(closed)
    others = [tuple(i["matter_id"] for i in draw(hub, share=0.5, seed=f"seed-{n}")) for n in range(5)]
    assert any(o != tuple(i["matter_id"] for i in first) for o in others)
    assert len(draw(hub)) == 1  # the default share 0.1 of 12 rounds to 1
    assert len(draw(hub, share=0.01)) == 1  # at least one
    assert draw(hub, share=0.0) == []
    assert draw(hub, D - dt.timedelta(days=1), share=1.0) == []
    assert [sample_size(n, 0.25) for n in (0, 1, 4, 10)] == [0, 1, 1, 2]

    by_case = {i["case_no"]: i for i in draw(hub, share=1.0) if i["case_no"]}
    item = by_case["AJF03"]
    assert item["region_code"] == B and item["region_name"] == "市南区" and item["clue_nos"] == ["XSF03"]
    assert item["closed_on"] == "2024-05-10" and item["closed_by"] == "case"
    assert item["employer_name"] == "海岱建筑劳务有限公司"
    assert item["complainant"] == {"name": "张六", "mobile": "13900000003"}
    court = next(i for i in draw(hub, share=1.0) if i["closed_by"] == "court_enforcement")
    assert court["region_code"] == "unknown" and court["complainant"] is None


def test_followups_route_masks_contacts_for_viewers(hub, client, token):
    build_closed(hub)
    viewer = client.get("/api/v1/followups?date=2024-05-10", headers=token("viewer"))
    admin = client.get("/api/v1/followups?date=2024-05-10", headers=token("admin"))
    assert viewer.status_code == 200 and admin.status_code == 200
    assert viewer.json["next_cursor"] is None
    assert [i["matter_id"] for i in viewer.json["items"]] == [i["matter_id"] for i in admin.json["items"]]
    assert len(admin.json["items"]) == 1  # 0.1 of 12
    full = draw(hub, share=1.0)
    hub.settings["followup"]["share"] = 1.0
    items = client.get("/api/v1/followups?date=2024-05-10", headers=token("viewer")).json["items"]
    unmasked = client.get("/api/v1/followups?date=2024-05-10", headers=token("linkage")).json["items"]
    assert unmasked == [{**i, "result": None} for i in full]  # each with its call's result: none recorded
    people = [i for i in items if i["complainant"]]
    assert len(people) == 11
    for item, original in zip(items, full):
        if not item["complainant"]:
            continue
        mobile, name = original["complainant"]["mobile"], original["complainant"]["name"]
        assert item["complainant"]["mobile"] == mobile[:3] + "****" + mobile[-4:]
        assert item["complainant"]["name"] == name[0] + "*" * (len(name) - 1)
        assert mobile not in json.dumps(item, ensure_ascii=False)
    assert client.get("/api/v1/followups?date=2024-05-10", headers=token("agency:hrss")).status_code == 403
    assert client.get("/api/v1/followups?date=10.05.2024", headers=token("viewer")).json["error"]["details"] == \
        {"field": "date", "rule": "date"}


def test_the_scheduler_publishes_the_bulletin_once_a_day_at_its_time(hub):
    import datetime as dt

    from hub.messaging.scheduler import Scheduler
    from hub.store.models import Outbox as OutboxRow

    clock = Scheduler(hub)
    before = dt.datetime(2023, 6, 21, 7, 59, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # time is 08:00
    after = before.replace(hour=8, minute=1)
    clock.run_once(before)
    with hub.store.sessions() as session:
        assert session.scalars(select(OutboxRow).where(OutboxRow.route == "daily-bulletin")).all() == []
    clock.run_once(after)
    clock.run_once(after.replace(hour=9))
    with hub.store.sessions() as session:
        rows = session.scalars(select(OutboxRow).where(OutboxRow.route == "daily-bulletin")).all()
    assert sorted((r.recipient, r.message_id) for r in rows) == [("gov", "bulletin-2023-06-20-gov"),
                                                                 ("hrss", "bulletin-2023-06-20-hrss")]
