"""One arrears matter through all five agencies, each in its own native format."""

from __future__ import annotations

import csv
import io
import json
import re

import openpyxl
import pytest
from sqlalchemy import or_, select

from hub.messaging.outbox import signature_for
from hub.store.models import DeadLetter, Inbox, Outbox, Record
from tests.helpers import sample, wait_for
from tests.webhook import WebhookServer

FACTS = json.loads(sample("facts.json"))
# hrss and housing also get the construction project's early warnings (docs/risks.md): no
# special account and no wage deposit on the project, April's shortfall past payday, April's
# rows paid "through the special account" with no bank payout (the bank's samples are 1.2's);
# hrss also the hub's proposal to list the employer once the police opened the case
# (LISTING_CANDIDATE, 人社部令第45号 Art. 5).
EXPECTED = {"police": 1, "hrss": 11, "union": 1, "housing": 5, "court": 1}
# Format 1.2's samples: steps of this matter (materials asked for, the dossier sent again, a
# payment, an extension), a second matter of an individual employer, a housing answer.
# The first test replays the matter as every agency sent it before; the second, all of them.
FORMAT_1_2 = {
    "police-materials.xml", "hrss-transfer-resubmitted.json", "hrss-payment.json", "hrss-extension.json",
    "hrss-order-individual.json", "hrss-transfer-individual.json", "police-decision-declined.xml",
    "hrss-reconsider.json", "police-reconsideration.xml", "hrss-supervise.json", "court-judgment-individual.json",
    "housing-answer.csv", "hotline-work-order.json", "hotline-satisfaction.json", "hrss-listing.json",
    "gov-answer.json",
    # the bank's wage-account feeds and the real-name roster (the project's early warnings)
    "bank-guarantee.txt", "bank-deposit.txt", "bank-missed.txt", "bank-payout.txt", "housing-roster.csv",
    "housing-contract.csv",
}
CONTRACTOR_KEY = "contractor-key-1"


@pytest.fixture
def head_office():
    server = WebhookServer()
    yield server
    server.close()


@pytest.fixture
def district_government():
    server = WebhookServer()
    yield server
    server.close()


@pytest.fixture
def six_agencies(settings, head_office, district_government):
    from hub.runtime import Hub, Workers
    from hub.web.app import create_app

    settings["plugins"] = {"contractor": {"contractors": {FACTS["contractor_uscc"]: {
        "url": head_office.url, "key": CONTRACTOR_KEY}}},
        "gov": {"governments": {"370103": {"url": district_government.url, "key": "gov-370103-key"}}}}
    hub = Hub(settings)
    hub.declare_topology()
    with Workers(hub):
        yield hub, create_app(hub=hub).test_client()
    hub.shutdown()


def publish_samples(hub, agency, keep=lambda sample: True) -> None:
    """The built-in agencies' good samples, in the order of their events, as their agencies send them
    (a plugin installed besides them, examples/procuratorate, ships its own)."""
    builtin = [a for a in hub.registry.adapters.values() if a.plugin.__name__.startswith("plugins.")]
    samples = sorted(((s.at, a, s) for a in builtin for s in a.samples() if not s.bad and keep(s)),
                     key=lambda item: item[0])
    for _, adapter, s in samples:
        headers = {**s.headers, **({"x-wagehub-kind": s.kind} if s.kind else {})}
        if adapter.code == "contractor":
            headers["x-wagehub-signature"] = signature_for(CONTRACTOR_KEY, s.body)
        agency.publish(adapter.code, s.body, message_id=f"whole-{s.name}", content_type=s.content_type,
                       content_encoding=s.content_encoding, headers=headers)
        # one after the other, as the events happened: the hub takes a reconsideration only
        # once the decline it answers is in (the agencies' queues are read side by side)
        wait_for(lambda s=s: taken(hub, f"whole-{s.name}"))


def taken(hub, message_id: str) -> bool:
    """The hub took the message in, or dead-lettered it (a sender's id may be kept under its
    sender's name: ``<uscc>/<id>``)."""
    ids = (Inbox.message_id, DeadLetter.message_id)
    with hub.store.sessions() as session:
        return any(session.scalars(select(column).where(or_(column == message_id, column.like(f"%/{message_id}")))
                                   .limit(1)).first() is not None for column in ids)


def test_every_sample_reaches_the_agencies_the_routes_promise(six_agencies, head_office, district_government, agency,
                                                              token):
    hub, client = six_agencies
    publish_samples(hub, agency, keep=lambda s: s.name not in FORMAT_1_2)
    got = {code: agency.receive(code, n) for code, n in EXPECTED.items()}
    assert {code: len(msgs) for code, msgs in got.items()} == EXPECTED

    notices = sorted(json.loads(m.raw)["data"]["kind"] for m in got["hrss"])
    assert notices == ["BANK_RISK", "CONTRACTOR_REPLY", "COURT_RULING", "COURT_RULING", "LISTING_CANDIDATE",
                       "MEDIATION_RESULT", "PAYROLL_SHORTFALL", "POLICE_DECISION", "POLICE_RECEIPT", "PROJECT_RISK",
                       "PROJECT_RISK"]
    wait_for(lambda: head_office.received)
    [(_, _, notice)] = head_office.received
    assert json.loads(notice)["contractor_uscc"] == FACTS["contractor_uscc"]
    wait_for(lambda: district_government.received)  # the 属地 third of 三交办
    [(_, _, assignment)] = district_government.received
    assert json.loads(assignment)["type"] == "ASSIGNMENT" and json.loads(assignment)["clueNo"] == FACTS["clue_no"]
    shortfall = next(json.loads(m.raw)["data"]["record"] for m in got["hrss"]
                     if json.loads(m.raw)["data"]["kind"] == "PAYROLL_SHORTFALL")
    assert shortfall["project_code"] == FACTS["project_code"] and shortfall["month"] == "2023-04"
    assert shortfall["worker_count"] == FACTS["payroll_short_workers"] and shortfall["amount_short"] == 1797600

    assert got["police"][0].raw.decode("gb18030").startswith('<?xml version="1.0" encoding="GB18030"?>')

    risks = [m.raw.decode("utf-8-sig").splitlines()[1].split(",")[2] for m in got["housing"]
             if m.raw.decode("utf-8-sig").startswith("预警编号")]
    assert sorted(risks) == ["no-special-account", "no-wage-deposit", "payout-missing", "payroll-shortfall"]
    (assignment,) = [m.raw for m in got["housing"] if m.raw.decode("utf-8-sig").startswith("交办编号")]
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
    # the project's early warnings first (joined by its code), then every agency's records;
    # the payroll's rows of the month beside them (workers hashed), the hub's risks
    assert sum(r["type"] == "payroll_month" for r in view["records"]) == 1
    assert sum(r["type"] == "risk" for r in view["records"]) == 4
    assert [r["type"] for r in view["records"] if r["type"] not in ("payroll_month", "risk")] == [
        "project", "payroll_shortfall", "clue", "case", "mediation_result", "contractor_reply", "payment_order",
        "criminal_transfer", "police_receipt", "police_decision", "court_judgment", "court_enforcement"]
    times = [r["occurred_at"] for r in view["records"]]
    assert times == sorted(times)
    wait_for(lambda: client.get(f"/api/v1/transfers/{FACTS['transfer_no']}",
                                headers=token("linkage")).json["status"] == "closed")


def test_the_format_1_2_steps_reach_whoever_the_routes_name(six_agencies, agency):
    """With format 1.2's samples: the reconsideration request and the payment after the transfer
    reach the police in their own packets (FYSQ, ZFQK), the police's answers reach labour
    inspection (RECONSIDER_DECISION, and the request for materials as a POLICE_DECISION)."""
    import time

    hub, _client = six_agencies
    publish_samples(hub, agency)
    police_kinds, notices = set(), []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not ({"FYSQ", "ZFQK"} <= police_kinds and
                                                 {"RECONSIDER_DECISION", "materials_request"} <= set(notices)):
        for message in agency.receive("police", 1, timeout=0.5):
            police_kinds.add(message.headers["x-wagehub-kind"])
            if message.headers["x-wagehub-kind"] == "ZFQK":
                zfqk = message.raw.decode("gb18030")
        for message in agency.receive("hrss", 1, timeout=0.5):
            if json.loads(message.raw)["msgType"] != "NOTICE":
                continue  # the 12345 work order's clue
            data = json.loads(message.raw)["data"]
            notices += [data["kind"], data["record"]["type"]]
    assert {"FYSQ", "ZFQK"} <= police_kinds and {"RECONSIDER_DECISION", "materials_request"} <= set(notices)
    assert f"<YSBH>{FACTS['transfer_no']}</YSBH><ZFJE>100000.00</ZFJE>" in zfqk

