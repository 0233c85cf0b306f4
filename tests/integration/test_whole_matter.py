"""One arrears matter through all five agencies, each in its own native format."""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pytest
from sqlalchemy import select

from hub.pipeline import signature_for
from hub.store.models import Inbox, Outbox, Record
from tests.conftest import count_rows, sample, wait_for
from tests.webhook import WebhookServer

FACTS = json.loads(sample("facts.json"))
EXPECTED = {"police": 1, "hrss": 8, "union": 1, "housing": 1, "court": 1}
CONTRACTOR_KEY = "contractor-key-1"


@pytest.fixture
def head_office():
    server = WebhookServer()
    yield server
    server.close()


@pytest.fixture
def six_agencies(settings, head_office):
    from hub.app import create_app
    from hub.runtime import Hub, Workers

    settings["plugins"] = {"contractor": {"contractors": {FACTS["contractor_uscc"]: {
        "url": head_office.url, "key": CONTRACTOR_KEY}}}}
    hub = Hub(settings)
    hub.declare_topology()
    with Workers(hub):
        yield hub, create_app(hub=hub).test_client()
    hub.shutdown()


def test_every_sample_reaches_the_agencies_the_routes_promise(six_agencies, head_office, agency, token):
    hub, client = six_agencies
    # The built-in agencies' matter: a plugin installed besides them (examples/procuratorate) ships its own.
    builtin = [a for a in hub.registry.adapters.values() if a.plugin.__name__.startswith("plugins.")]
    samples = sorted(((s.at, a, s) for a in builtin for s in a.samples() if not s.bad), key=lambda item: item[0])
    for _, adapter, s in samples:
        headers = {**s.headers, **({"x-wagehub-kind": s.kind} if s.kind else {})}
        if adapter.code == "contractor":
            headers["x-wagehub-signature"] = signature_for(CONTRACTOR_KEY, s.body)
        agency.publish(adapter.code, s.body, message_id=f"whole-{s.name}", content_type=s.content_type,
                       content_encoding=s.content_encoding, headers=headers)
        # Each agency has its own consumer, so only what is applied is ordered: the events are
        # days apart (a clue's contractor is known once the project was applied, not published).
        wait_for(lambda s=s: count_rows(hub, Inbox, Inbox.message_id.endswith(f"whole-{s.name}", autoescape=True)),
                 timeout=30)
    got = {code: agency.receive(code, n) for code, n in EXPECTED.items()}
    assert {code: len(msgs) for code, msgs in got.items()} == EXPECTED

    notices = sorted(json.loads(m.raw)["data"]["kind"] for m in got["hrss"])
    assert notices == ["CONTRACTOR_REPLY", "COURT_RULING", "COURT_RULING", "MEDIATION_RESULT", "PAYROLL_SHORTFALL",
                       "POLICE_DECISION", "POLICE_RECEIPT", "PROJECT_RISK"]
    wait_for(lambda: head_office.received)
    [(_, _, notice)] = head_office.received
    assert json.loads(notice)["contractor_uscc"] == FACTS["contractor_uscc"]
    shortfall = next(json.loads(m.raw)["data"]["record"] for m in got["hrss"]
                     if json.loads(m.raw)["data"]["kind"] == "PAYROLL_SHORTFALL")
    assert shortfall["project_code"] == FACTS["project_code"] and shortfall["month"] == "2023-04"
    assert shortfall["worker_count"] == FACTS["payroll_short_workers"] and shortfall["amount_short"] == 1797600

    assert got["police"][0].raw.decode("gb18030").startswith('<?xml version="1.0" encoding="GB18030"?>')

    assignment = got["housing"][0].raw
    assert assignment.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(assignment.decode("utf-8-sig"))))
    assert rows[0][:3] == ["交办编号", "线索编号", "项目编号"]
    assert rows[1][1:4] == [FACTS["clue_no"], FACTS["project_code"], FACTS["contractor_uscc"]]

    workbook = got["union"][0].raw
    sheet = openpyxl.load_workbook(io.BytesIO(workbook), read_only=True)["转办"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[1][0] == FACTS["clue_no"]
    assert "139****0696" in [str(v) for v in values[1]]
    import zipfile

    with zipfile.ZipFile(io.BytesIO(workbook)) as z:
        text = "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist())
    assert FACTS["complainant_id"] not in text and FACTS["complainant_mobile"] not in text
    assert not re.search(r"\d{17}[\dX]", text)

    referral = json.loads(got["court"][0].raw)
    assert referral["doc_type"] == "referral" and referral["body"]["kind"] == "criminal_case"

    with hub.store.sessions() as session:
        transfer = session.scalars(select(Record).where(Record.type == "criminal_transfer")).one()
        pending = session.scalars(select(Outbox).where(Outbox.status != "sent")).all()
    assert pending == []
    view = client.get(f"/api/v1/matters/{transfer.matter_id}", headers=token("linkage")).json
    assert [r["type"] for r in view["records"]] == [
        "clue", "case", "mediation_result", "contractor_reply", "payment_order", "criminal_transfer", "police_receipt",
        "police_decision", "court_judgment", "court_enforcement"]
    times = [r["occurred_at"] for r in view["records"]]
    assert times == sorted(times)
    wait_for(lambda: client.get(f"/api/v1/transfers/{FACTS['transfer_no']}",
                                headers=token("linkage")).json["status"] == "closed")
