"""The criminal-transfer path through real queues, with a plain kombu client as the agencies."""

from __future__ import annotations

import json
import logging
import re

import defusedxml.ElementTree as ET
from sqlalchemy import func, select

from hub.store.models import DeadLetter, Outbox, Record
from tests.helpers import sample, wait_for

HRSS = ["hrss-clue.json", "hrss-case.json", "hrss-order.json", "hrss-transfer.json"]
FACTS = json.loads(sample("facts.json"))


def count(hub, model, *where):
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def publish_hrss(agency):
    for name in HRSS:
        agency.publish("hrss", sample(name), message_id=f"m-{name}")


def police_xml(message) -> ET.Element:
    assert message.content_encoding == "gb18030"
    text = message.raw.decode("gb18030")
    assert text.startswith('<?xml version="1.0" encoding="GB18030"?>')
    return ET.fromstring(re.sub(r"^<\?xml[^>]*\?>", "", text))


def test_transfer_reaches_police_as_ajys_and_answers_reach_hrss(hub, workers, agency, client, token):
    publish_hrss(agency)
    [ajys] = agency.receive("police", 1)
    packet = police_xml(ajys)
    body = packet.find("BODY")
    assert packet.get("TYPE") == "AJYS"
    assert body.findtext("YSBH") == FACTS["transfer_no"]
    assert body.findtext("QXJE") == FACTS["amount_yuan"]
    assert body.findtext("TYXYDM") == FACTS["employer_uscc"]
    assert body.findtext("SJRS") == str(FACTS["workers"])
    assert body.findtext("ZLZFBH") == FACTS["order_no"]
    assert body.findtext("ZLZFQX") == "2023-06-15"
    suspects = [(x.findtext("XM"), x.findtext("SFZH")) for x in body.findall("XYR")]
    assert suspects == [("徐建国", "370103196601215548")]
    headers = ajys.headers
    assert headers["x-wagehub-record-type"] == "criminal_transfer"
    assert headers["x-wagehub-source"] == "hrss"
    assert headers["x-wagehub-matter"].startswith("mat_")
    assert ajys.properties["message_id"].startswith("out_")

    agency.publish("police", sample("police-receipt.xml"), message_id="p-1", content_type="application/xml",
                   content_encoding="gb18030")
    agency.publish("police", sample("police-decision.xml"), message_id="p-2", content_type="application/xml",
                   content_encoding="gb18030")
    notices = agency.receive("hrss", 2)
    bodies = [json.loads(m.raw) for m in notices]
    assert sorted(b["data"]["kind"] for b in bodies) == ["POLICE_DECISION", "POLICE_RECEIPT"]
    for b in bodies:
        assert b["msgType"] == "NOTICE"
        assert b["data"]["refs"]["transferNo"] == FACTS["transfer_no"]
        assert b["data"]["refs"]["caseNo"] == FACTS["case_no"]
    decision = next(b for b in bodies if b["data"]["kind"] == "POLICE_DECISION")
    assert decision["data"]["record"]["decision"] == "opened"

    # one matter holds all six records, in time order
    matter_id = headers["x-wagehub-matter"]
    resp = client.get(f"/api/v1/matters/{matter_id}", headers=token("linkage"))
    assert resp.status_code == 200
    types = [r["type"] for r in resp.json["records"]]
    assert types == ["clue", "case", "payment_order", "criminal_transfer", "police_receipt", "police_decision"]
    resp = client.get(f"/api/v1/transfers/{FACTS['transfer_no']}", headers=token("linkage"))
    assert resp.json["status"] == "opened"


def test_the_transfer_carries_the_due_date_of_the_order_it_names_not_the_latest(hub, workers, agency):
    """A case may have several orders to pay; the AJYS's ZLZFQX is the one of ZLZFBH."""
    for name in HRSS[:3]:
        agency.publish("hrss", sample(name), message_id=f"m-{name}")
    other = json.loads(sample("hrss-order.json"))
    other["msgId"] = "HRSS-370103-880-3b"
    other["data"].update(orderNo="ZLZF-B", issueDate="20230610", dueDate="20230720", serveDate="20230611")
    agency.publish("hrss", json.dumps(other, ensure_ascii=False).encode(), message_id="m-second-order")
    wait_for(lambda: count(hub, Record, Record.type == "payment_order") == 2)
    agency.publish("hrss", sample("hrss-transfer.json"), message_id="m-transfer")
    [ajys] = agency.receive("police", 1)
    body = police_xml(ajys).find("BODY")
    assert body.findtext("ZLZFBH") == FACTS["order_no"] and body.findtext("ZLZFQX") == "2023-06-15"


def test_redelivered_or_resent_message_has_one_effect(hub, workers, agency):
    for _ in range(3):
        agency.publish("hrss", sample("hrss-clue.json"), message_id="same-id")
    # the same content under a new id is the same record: no second effect either
    agency.publish("hrss", sample("hrss-clue.json"), message_id="other-id")
    wait_for(lambda: _inbox(hub) == 2)
    assert count(hub, Record) == 1
    with hub.store.sessions() as session:
        clue = session.scalars(select(Record)).one().data
    routed = sum(1 for route in hub.routes if route.matches(clue) and hub.registry.get(route.to))
    assert count(hub, Outbox) == routed  # one delivery per route, not one per copy received


def _inbox(hub):
    from hub.store.models import Inbox

    return count(hub, Inbox)


BAD = {
    "hrss-bad-idcheck.json": ("hrss", "data.complainant.idNo", "id-number"),
    "hrss-bad-json.json": ("hrss", None, "json"),
    "hrss-bad-amount.json": ("hrss", "amount", "money-non-negative"),
    "hrss-unknown-type.json": ("hrss", "msgType", "enum"),
    "police-dtd.xml": ("police", "body", "no-dtd"),
    "police-missing-ysbh.xml": ("police", "YSBH", "required"),
    "court-float-amount.json": ("court", "amount_ordered", "decimal-string"),
    "union-not-xlsx.xlsx": ("union", None, "xlsx"),
}
CONTENT_TYPES = {"xml": "application/xml", "json": "application/json",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def test_bad_samples_are_dead_lettered_with_reason_and_replayable(hub, workers, agency, client, token):
    for name, (code, _, _) in BAD.items():
        agency.publish(code, sample(f"bad/{name}"), message_id=f"bad-{name}",
                       content_type=CONTENT_TYPES[name.rsplit(".", 1)[1]])
    wait_for(lambda: count(hub, DeadLetter) == len(BAD))
    resp = client.get("/api/v1/dead-letters?limit=500", headers=token("admin"))
    letters = {d["message_id"]: d for d in resp.json["items"]}
    for name, (code, field, rule) in BAD.items():
        dl = letters[f"bad-{name}"]
        assert dl["agency"] == code
        assert rule in (dl["rule"] or "")
        if field:
            assert field in (dl["field"] or "") and field in dl["reason"]
        assert dl["body_base64"]  # the original bytes are kept
        assert "/etc/passwd" not in dl["reason"] and "root:" not in dl["reason"]
    assert count(hub, Record) == 0

    # fix the identity number and replay: accepted, and the dead letter is marked replayed
    dl = letters["bad-hrss-bad-idcheck.json"]
    fixed = sample("bad/hrss-bad-idcheck.json").replace(b"370103198212262340", b"37010319821226234X")
    import base64

    resp = client.post(f"/api/v1/dead-letters/{dl['id']}/replay", headers=token("admin"),
                       json={"body_base64": base64.b64encode(fixed).decode()})
    assert resp.status_code == 200, resp.json
    assert resp.json["dead_letter"]["status"] == "replayed"
    assert resp.json["outcome"]["status"] == "accepted"
    assert count(hub, Record, Record.type == "clue") == 1
    # replaying the unfixed one again fails again, and says why
    resp = client.post(f"/api/v1/dead-letters/{letters['bad-hrss-bad-amount.json']['id']}/replay",
                       headers=token("admin"))
    assert resp.json["dead_letter"]["status"] == "open"
    assert "amount" in resp.json["dead_letter"]["reason"]


def test_disabled_plugin_keeps_its_queue_and_resumes_when_enabled(hub, workers, agency, client, token):
    resp = client.post("/api/v1/plugins/hrss/disable", headers=token("admin"))
    assert resp.status_code == 200 and resp.json["enabled"] is False
    wait_for(lambda: "hrss" not in workers.consuming, timeout=10)
    agency.publish("hrss", sample("hrss-clue.json"), message_id="while-disabled")
    import time

    time.sleep(1.5)
    assert count(hub, Record) == 0
    from kombu import Queue

    q = Queue("wagehub.in.hrss", no_declare=True).bind(agency.conn.default_channel)
    assert q.queue_declare(passive=True).message_count == 1  # kept, not drained into the void

    # the decision is stored: a new hub process on the same database sees it
    from hub.runtime import Hub

    restarted = Hub(hub.settings)
    assert restarted.registry.is_enabled("hrss") is False
    restarted.shutdown()

    resp = client.post("/api/v1/plugins/hrss/enable", headers=token("admin"))
    assert resp.json["enabled"] is True
    wait_for(lambda: count(hub, Record) == 1, timeout=15)


def test_signed_agency_messages(settings, agency):
    from hub.messaging.outbox import signature_for
    from hub.runtime import Hub, Workers

    settings["plugins"] = {"hrss": {"key": "hrss-secret-key"}}
    hub = Hub(settings)
    hub.declare_topology()
    with Workers(hub):
        agency.publish("hrss", sample("hrss-clue.json"), message_id="unsigned")
        agency.publish("hrss", sample("hrss-case.json"), message_id="forged",
                       headers={"x-wagehub-signature": "sha256=" + "0" * 64})
        agency.publish("hrss", sample("hrss-order.json"), message_id="signed",
                       headers={"x-wagehub-signature": signature_for("hrss-secret-key", sample("hrss-order.json"))})
        upper = signature_for("hrss-secret-key", sample("hrss-transfer.json")).upper()  # hex is hex, in either case
        agency.publish("hrss", sample("hrss-transfer.json"), message_id="signed-upper",
                       headers={"x-wagehub-signature": upper})
        wait_for(lambda: count(hub, DeadLetter) == 2 and count(hub, Record) == 2)
    with hub.store.sessions() as session:
        letters = {d.rule: d.id for d in session.scalars(select(DeadLetter))}
    assert sorted(letters) == ["hmac-signature", "hmac-signature-missing"]
    # A replay checks the signature again: the unsigned bytes stay out ...
    from hub.services.accounts import create_user
    from hub.store.models import AuditEntry
    from hub.web.app import create_app
    from hub.web.auth import create_token

    admin = {"Authorization": f"Bearer {create_token(hub.store, 'admin')}"}
    client = create_app(hub=hub).test_client()
    missing, forged = letters["hmac-signature-missing"], letters["hmac-signature"]
    resp = client.post(f"/api/v1/dead-letters/{missing}/replay", headers=admin)
    assert resp.json["dead_letter"]["status"] == "open" and resp.json["outcome"]["status"] == "rejected"
    assert resp.json["dead_letter"]["rule"] == "hmac-signature-missing" and count(hub, Record) == 2
    # ... until the agency signs them (its signature of the bytes, sent with the replay) ...
    signed = {"signature": signature_for("hrss-secret-key", sample("hrss-clue.json"))}
    resp = client.post(f"/api/v1/dead-letters/{missing}/replay", headers=admin, json=signed)
    assert resp.json["dead_letter"]["status"] == "replayed" and count(hub, Record) == 3
    # ... or a named admin accepts them unsigned, with the reason, in the audit log.
    override = {"accept_unsigned": True, "reason": "hrss confirmed by phone (ticket 7731)"}
    refused = client.post(f"/api/v1/dead-letters/{forged}/replay", headers=admin, json=override)
    assert refused.status_code == 400 and refused.json["error"]["details"] == {"field": "by", "rule": "required"}
    refused = client.post(f"/api/v1/dead-letters/{forged}/replay", headers=admin, json={**override, "by": "nobody"})
    assert refused.status_code == 400 and refused.json["error"]["details"]["rule"] == "admin-user"
    create_user(hub.store, "chen.admin", "admin", "a long enough password", min_length=12)
    resp = client.post(f"/api/v1/dead-letters/{forged}/replay", headers=admin, json={**override, "by": "chen.admin"})
    assert resp.json["dead_letter"]["status"] == "replayed" and count(hub, Record) == 4
    with hub.store.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "dead_letter.replay_unsigned")).one()
    assert entry.subject == str(forged) and entry.actor.startswith("admin#")
    assert entry.details["by"] == "chen.admin" and entry.details["reason"] == override["reason"]
    hub.shutdown()


def test_no_personal_data_in_logs(hub, workers, agency, client, token, caplog):
    caplog.set_level(logging.DEBUG)
    publish_hrss(agency)
    for name in ("bad/hrss-bad-idcheck.json", "bad/hrss-bad-amount.json"):
        agency.publish("hrss", sample(name), message_id=name)
    agency.receive("police", 1)
    wait_for(lambda: count(hub, DeadLetter) == 2)
    wait_for(lambda: count(hub, Outbox, Outbox.status == "pending") == 0)
    client.get("/api/v1/records", headers=token("admin"))
    text = caplog.text
    assert text  # the run did log
    for secret in (FACTS["complainant_id"], FACTS["complainant_mobile"], "370103196601215548",
                   "370103198212262340"):
        assert secret not in text
    # dead-letter reasons carry no personal data either
    with hub.store.sessions() as session:
        reasons = " ".join(d.reason for d in session.scalars(select(DeadLetter)))
    assert "370103198212262340" not in reasons and FACTS["complainant_mobile"] not in reasons


def test_a_queue_message_without_a_content_type_is_dead_lettered(hub, workers, agency):
    """The contract has content_type required: a message that comes without one is refused
    with the field and rule, kept, and goes through when replayed after review."""
    channel = agency.conn.default_channel
    message = channel.prepare_message(sample("hrss-clue.json"), content_type=None, content_encoding=None,
                                      headers={}, properties={"message_id": "no-type", "delivery_mode": 2})
    channel.basic_publish(message, exchange="wagehub.in", routing_key="hrss")
    wait_for(lambda: count(hub, DeadLetter) == 1)
    with hub.store.sessions() as session:
        dl = session.scalars(select(DeadLetter)).one()
    assert (dl.message_id, dl.field, dl.rule) == ("no-type", "content_type", "required")
    assert dl.body == sample("hrss-clue.json")
    from hub.messaging.pipeline import message_for_replay

    [outcome] = hub.pipeline.process([message_for_replay(dl)], replay_of=dl.id)
    assert outcome.status == "accepted"
