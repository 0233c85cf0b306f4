"""The area's government (属地政府): assignments by webhook, signed answers, escalations to the
supervision group covering the matter's district."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from hub.messaging.outbox import signature_for
from hub.store.models import DeadLetter, Deadline, Escalation, Outbox, Record
from plugins.gov import SAMPLES as GOV_SAMPLES
from tests.helpers import sample, wait_for
from tests.integration.test_contractor import PROJECT
from tests.webhook import WebhookServer

FACTS = json.loads(sample("facts.json"))
KEYS = {"370103": "lixia-gov-key-1", "370100": "jinan-gov-key-1", "370104": "huaiyin-gov-key-1"}
GROUPS = {"group-1": {"name": "第一督导组", "districts": ["370102", "370103"]},
          "group-2": {"name": "第二督导组", "districts": ["370104", "370105"]}}


@pytest.fixture
def gov_hub(settings):
    """Three governments (the project's district, its city, a neighbour district), each with its
    own webhook and key; a project in 370103 and a clue on it, applied; the relay running."""
    from hub.contract.types import NativeMessage
    from hub.runtime import Hub, Workers
    from hub.web.app import create_app
    from hub.web.auth import create_token

    servers = {code: WebhookServer() for code in KEYS}
    settings["plugins"] = {"gov": {"timeout": 2, "governments": {
        code: {"url": servers[code].url, "key": key} for code, key in KEYS.items()}}}
    settings["linkage"]["supervision_groups"] = GROUPS
    settings["linkage"]["escalation_grace_hours"] = 1
    hub = Hub(settings)
    hub.declare_topology()
    hub.pipeline.process([NativeMessage("housing", PROJECT, "proj-1", "text/csv", "utf-8-sig", "PROJECT")])
    hub.pipeline.process([NativeMessage("hrss", sample("hrss-clue.json"), "clue-1", "application/json", "utf-8")])
    workers = Workers(hub)
    workers.start()
    client = create_app(hub=hub).test_client()
    # agency:gov@<code>: each government a principal bound to its own code (its sender)
    tokens = {code: {"Authorization": "Bearer " + create_token(
        hub.store, f"agency:gov@{code}", sender=hub.check_binding(f"agency:gov@{code}", None))} for code in KEYS}
    yield hub, client, servers, tokens
    workers.stop()
    for server in servers.values():
        server.close()
    hub.shutdown()


def assignment_no(hub) -> str:
    with hub.store.sessions() as session:
        return session.scalars(select(Outbox.message_id).where(Outbox.recipient == "gov",
                                                               Outbox.kind == "ASSIGNMENT")).one()


def answer(client, auth, code: str, number: str, key: str | None = None, message_id: str = "ans-1",
           result: str = "resolved"):
    doc = {**json.loads((GOV_SAMPLES / "gov-answer.json").read_bytes()), "assignmentNo": number,
           "result": result, "messageId": f"{code}-{message_id}"}
    body = json.dumps(doc, ensure_ascii=False).encode()
    return client.post("/api/v1/inbound/gov", data=body, headers={
        **auth, "Message-Id": message_id, "Content-Type": "application/json", "X-Wagehub-Gov": code,
        "X-Wagehub-Signature": signature_for(key or KEYS[code], body)})


def test_a_clue_on_a_project_is_assigned_to_its_district_and_city_signed(gov_hub):
    hub, client, servers, tokens = gov_hub
    wait_for(lambda: servers["370103"].received and servers["370100"].received)
    for code in ("370103", "370100"):
        [(_, headers, body)] = servers[code].received
        assert headers["X-Wagehub-Signature"] == signature_for(KEYS[code], body)  # each with its own key
        doc = json.loads(body)
        assert doc["type"] == "ASSIGNMENT" and doc["clueNo"] == FACTS["clue_no"]
        assert doc["projectCode"] == FACTS["project_code"] and doc["answerBy"] and doc["regionCode"] == "370103"
        assert FACTS["complainant_mobile"] not in body.decode() and FACTS["complainant_id"] not in body.decode()
    assert servers["370104"].received == []  # not the neighbour's area
    with hub.store.sessions() as session:
        step = session.scalars(select(Deadline).where(Deadline.rule == "gov_answer")).one()
    assert step.owner == "gov" and step.status == "open"
    # answerBy: the end of [deadlines.gov_answer] (10 working days) from when it was sent
    assert json.loads(servers["370103"].received[0][2])["answerBy"].endswith("T23:59:59+08:00")


def test_answers_close_the_step_only_from_a_government_of_the_area(gov_hub):
    hub, client, servers, tokens = gov_hub
    wait_for(lambda: servers["370103"].received)
    number = assignment_no(hub)
    # a bad signature: refused with its rule, nothing applied
    forged = answer(client, tokens["370103"], "370103", number, key="not-the-right-key")
    assert forged.status_code == 422 and forged.json["error"]["details"]["rule"] == "hmac-signature"
    # the neighbour district's government, signing right, answers an assignment not its own
    other = answer(client, tokens["370104"], "370104", number)
    assert other.status_code == 422, other.json
    assert other.json["error"]["details"]["rule"] == "assignment-area"
    assert other.json["error"]["details"]["field"] == "assignmentNo"
    # nor may a government's token speak for another government
    posing = answer(client, tokens["370104"], "370103", number, message_id="ans-2")
    assert posing.status_code == 403
    with hub.store.sessions() as session:
        assert session.scalars(select(Record).where(Record.type == "assignment_answer")).all() == []
        assert session.scalars(select(Deadline.status).where(Deadline.rule == "gov_answer")).one() == "open"
        rules = sorted(d.rule for d in session.scalars(select(DeadLetter).where(DeadLetter.agency == "gov")))
    assert rules == ["assignment-area", "hmac-signature"]  # kept, replayable
    # the district's own answer closes it; its resend is applied once
    own = answer(client, tokens["370103"], "370103", number, message_id="ans-3")
    assert own.status_code == 202 and own.json["status"] == "accepted", own.json
    assert answer(client, tokens["370103"], "370103", number, message_id="ans-3").json["status"] == "duplicate"
    with hub.store.sessions() as session:
        [record] = session.scalars(select(Record).where(Record.type == "assignment_answer")).all()
        clue = session.scalars(select(Record).where(Record.type == "clue")).one()
        steps = {d.rule: d.status for d in session.scalars(select(Deadline).where(
            Deadline.rule.in_(("gov_answer", "housing_answer"))))}
    assert record.matter_id == clue.matter_id and record.data["answered_by"] == "370103"
    assert steps == {"gov_answer": "met", "housing_answer": "open"}  # the government's answer is its own
    # the city takes in its districts: it may answer too
    city = answer(client, tokens["370100"], "370100", number, message_id="ans-4")
    assert city.status_code == 202 and city.json["status"] == "accepted", city.json


def test_an_overdue_step_escalates_to_the_group_and_government_of_its_district(gov_hub, token):
    from hub.messaging import scheduler

    hub, client, servers, tokens = gov_hub
    wait_for(lambda: servers["370103"].received and servers["370100"].received)
    now = dt.datetime.now(dt.UTC)  # the sample clue's steps (2023) are all overdue by now
    assert scheduler.escalate(hub, now) >= 1
    with hub.store.sessions() as session:
        first = session.scalars(select(Escalation).where(Escalation.level == "agency")).all()
    assert first and all(e.supervision_group is None for e in first)
    wait_for(lambda: _sent(hub))
    # the first level goes to the owing agency, never to a government (its format has none)
    assert all(json.loads(b)["type"] == "ASSIGNMENT" for _, _, b in servers["370103"].received)
    # the district's leader takes the case (包案) before it reaches the supervision level
    leader = {"name": "刘德明", "post": "副区长", "unit": "历下区人民政府"}
    assert client.put(f"/api/v1/matters/{first[0].matter_id}/leader", json=leader,
                      headers=token("linkage")).status_code == 200
    assert scheduler.escalate(hub, now + dt.timedelta(hours=2)) >= 1
    with hub.store.sessions() as session:
        second = session.scalars(select(Escalation).where(Escalation.level == "supervision")).all()
    assert second and {e.supervision_group for e in second} == {"group-1"}
    assert {e.region_code for e in second} == {"370103"}
    wait_for(lambda: any(json.loads(b)["type"] == "ESCALATION" for _, _, b in servers["370103"].received))
    for code in ("370103", "370100"):
        wait_for(lambda code=code: any(json.loads(b)["type"] == "ESCALATION" for _, _, b in servers[code].received))
        for _, headers, body in servers[code].received:
            assert headers["X-Wagehub-Signature"] == signature_for(KEYS[code], body)
        esc = [json.loads(b) for _, _, b in servers[code].received if json.loads(b)["type"] == "ESCALATION"]
        assert {e["level"] for e in esc} == {"supervision"} and {e["group"] for e in esc} == {"group-1"}
        assert all(e["matterId"] == second[0].matter_id and e["step"] and e["owedBy"] and e["dueAt"] for e in esc)
        assert all(e["owner"] and e["owner"]["name"] == "刘德明" and e["owner"]["unit"] == "历下区人民政府"
                   for e in esc)
    assert not any(json.loads(b)["type"] == "ESCALATION" for _, _, b in servers["370104"].received)
    # the linkage office lists them per group
    mine = client.get("/api/v1/escalations?group=group-1", headers=token("linkage")).json["items"]
    assert mine and {e["supervision_group"] for e in mine} == {"group-1"} and {e["level"] for e in mine} == {"supervision"}
    assert client.get("/api/v1/escalations?group=group-2", headers=token("linkage")).json["items"] == []
    unknown = client.get("/api/v1/escalations?group=nope", headers=token("linkage"))
    assert unknown.status_code == 400 and unknown.json["error"]["details"]["field"] == "group"


def _sent(hub) -> bool:
    with hub.store.sessions() as session:
        return not session.scalars(select(Outbox).where(Outbox.status == "pending")).all()


def test_each_government_receives_its_own_areas_daily_bulletin(gov_hub):
    from hub.casework import bulletin

    hub, client, servers, tokens = gov_hub
    day = dt.date(2023, 5, 22)  # the sample clue's day
    with hub.store.transaction() as session:
        assert bulletin.publish_bulletin(session, day, hub.settings, hub.registry) == 2  # hrss and gov
    with hub.store.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.recipient == "gov", Outbox.kind == "BULLETIN")).one()
    assert row.message_id == "bulletin-2023-05-22-gov"
    got = {}
    for code in KEYS:
        wait_for(lambda code=code: any(json.loads(b)["type"] == "BULLETIN" for _, _, b in servers[code].received))
        [(headers, body)] = [(h, b) for _, h, b in servers[code].received if json.loads(b)["type"] == "BULLETIN"]
        assert headers["X-Wagehub-Signature"] == signature_for(KEYS[code], body)
        got[code] = json.loads(body)
    assert [d["region_code"] for d in got["370103"]["districts"]] == ["370103"]
    assert got["370103"]["total"]["clues_total"] == 1 and got["370103"]["date"] == "2023-05-22"
    assert [d["region_code"] for d in got["370100"]["districts"]] == ["370103"]  # the city: its districts
    assert got["370104"]["districts"] == [] and got["370104"]["total"]["clues_total"] == 0
