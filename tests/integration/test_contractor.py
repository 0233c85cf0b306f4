"""The general contractor's head office: webhooks out, signed replies in, isolation of failures."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from hub.messaging.outbox import signature_for
from hub.store.models import Outbox, Record
from plugins.contractor import SAMPLES as CONTRACTOR_SAMPLES
from tests.helpers import count_rows, sample, wait_for
from tests.webhook import WebhookServer

USCC = "91370103QEFLCR639M"
KEY = "contractor-key-1"
FACTS = json.loads(sample("facts.json"))
PROJECT = (
    "项目编号,项目名称,所属区划,建设单位统一社会信用代码,总包单位统一社会信用代码,总包单位名称,开工日期,专用账户,"
    "工资保证金(元),实名制,状态\n"
    "37010320236387,安置房二期工程,370103,91370103P0G7QEYF7X,91370103QEFLCR639M,山东鲁建建工集团有限公司,"
    "2023-01-05,是,100000,是,在建\n"
).encode("utf-8-sig")


@pytest.fixture
def contractor_hub(settings, request):
    from hub.runtime import Hub, Workers

    server = WebhookServer(status=getattr(request, "param", 202))
    settings["plugins"] = {"contractor": {"timeout": 2, "contractors": {USCC: {"url": server.url, "key": KEY}}}}
    settings["relay"]["backoff_start"] = 0.2
    settings["relay"]["backoff_max"] = 0.5
    hub = Hub(settings)
    hub.declare_topology()
    workers = Workers(hub)
    workers.start()
    yield hub, server
    workers.stop()
    server.close()


def send_project_and_clue(hub, agency):
    agency.publish("housing", PROJECT, message_id="proj-1", content_type="text/csv", content_encoding="utf-8-sig",
                   headers={"x-wagehub-kind": "PROJECT"})
    # the project first, as on the ground: the notice names its contractor
    wait_for(lambda: count_rows(hub, Record, Record.type == "project") == 1)
    agency.publish("hrss", sample("hrss-clue.json"), message_id="clue-1")


def test_a_clue_on_a_project_reaches_its_contractor_signed(contractor_hub, agency):
    hub, server = contractor_hub
    send_project_and_clue(hub, agency)
    wait_for(lambda: server.received)
    [(_, headers, body)] = server.received
    assert headers["X-Wagehub-Signature"] == signature_for(KEY, body)
    notice = json.loads(body)
    assert notice["contractor_uscc"] == USCC and notice["clue_no"] == FACTS["clue_no"]
    assert FACTS["complainant_mobile"] not in body.decode() and FACTS["complainant_id"] not in body.decode()


@pytest.mark.parametrize("contractor_hub", [503], indirect=True)
def test_a_contractor_that_is_down_delays_only_its_own_deliveries(contractor_hub, agency):
    hub, server = contractor_hub
    send_project_and_clue(hub, agency)
    for name in ("hrss-case.json", "hrss-order.json", "hrss-transfer.json"):
        agency.publish("hrss", sample(name), message_id=f"m-{name}")
    assert len(agency.receive("police", 1)) == 1  # the queues go on while the contractor fails
    assert len(agency.receive("union", 1)) == 1
    wait_for(lambda: server.attempts >= 2)  # retried with backoff, through the outbox
    with hub.store.sessions() as session:
        row = session.scalars(select(Outbox).where(Outbox.recipient == "contractor")).one()
    assert row.status == "pending" and row.attempts >= 1 and "did not take" in row.last_error
    server.status = 202  # the head office is back
    wait_for(lambda: server.received)
    wait_for(lambda: _status(hub) == "sent")


def _status(hub):
    with hub.store.sessions() as session:
        return session.scalars(select(Outbox.status).where(Outbox.recipient == "contractor")).one()


def test_signed_reply_joins_the_matter_and_reaches_labour_inspection(contractor_hub, agency):
    from hub.web.app import create_app
    from hub.web.auth import create_token

    hub, server = contractor_hub
    client = create_app(hub=hub).test_client()
    send_project_and_clue(hub, agency)
    wait_for(lambda: server.received)  # the contractor answers the clue it was sent
    body = (CONTRACTOR_SAMPLES / "contractor-reply.json").read_bytes()
    auth = {"Authorization": f"Bearer {create_token(hub.store, 'agency:contractor', sender=USCC)}"}
    headers = {**auth, "message_id": "reply-1", "Content-Type": "application/json", "X-Wagehub-Contractor": USCC}
    forged = client.post("/api/v1/inbound/contractor", data=body,
                         headers={**headers, "X-Wagehub-Signature": signature_for("wrong-key-123", body)})
    # a bad signature is a bad message (422, with the rule), not a bad token (401)
    assert forged.status_code == 422 and forged.json["error"]["details"]["rule"] == "hmac-signature"
    resp = client.post("/api/v1/inbound/contractor", data=body,
                       headers={**headers, "X-Wagehub-Signature": signature_for(KEY, body)})
    assert resp.status_code == 202, resp.json
    notices = [json.loads(m.raw) for m in agency.receive("hrss", 1)]
    reply = next(n for n in notices if n["data"]["kind"] == "CONTRACTOR_REPLY")
    assert reply["data"]["refs"]["clueNo"] == FACTS["clue_no"]
    with hub.store.sessions() as session:
        clue = session.scalars(select(Record).where(Record.type == "clue")).one()
        answer = session.scalars(select(Record).where(Record.type == "contractor_reply")).one()
    assert answer.matter_id == clue.matter_id


def test_plugin_settings_show_no_contractor_key(contractor_hub, token):
    from hub.web.app import create_app

    hub, server = contractor_hub
    client = create_app(hub=hub).test_client()
    plugins = {p["name"]: p for p in client.get("/api/v1/plugins", headers=token("admin")).json["items"]}
    shown = plugins["contractor"]["settings"]["contractors"][USCC]
    assert shown["key"] == "***" and shown["url"] == server.url
    assert KEY not in json.dumps(plugins)


OTHER, OTHER_KEY = "91370102MA3C4X2B78", "other-contractor-key"


@pytest.fixture
def two_contractors(settings):
    """Two head offices, each with its own key, a token bound to each; a project of the
    first and a clue on it, applied (the notice waits in the outbox for the first)."""
    from hub.contract.types import NativeMessage
    from hub.runtime import Hub
    from hub.web.app import create_app
    from hub.web.auth import create_token

    settings["plugins"] = {"contractor": {"contractors": {USCC: {"key": KEY}, OTHER: {"key": OTHER_KEY}}}}
    hub = Hub(settings)
    hub.pipeline.process([NativeMessage("housing", PROJECT, "proj-1", "text/csv", "utf-8-sig", "PROJECT")])
    hub.pipeline.process([NativeMessage("hrss", sample("hrss-clue.json"), "clue-1", "application/json", "utf-8")])
    client = create_app(hub=hub).test_client()
    tokens = {who: {"Authorization": f"Bearer {create_token(hub.store, 'agency:contractor', sender=who)}"}
              for who in (USCC, OTHER)}
    yield hub, client, tokens
    hub.shutdown()


def reply_from(client, auth, uscc: str, key: str, message_id: str = "reply-1", named: str | None = None):
    doc = json.loads((CONTRACTOR_SAMPLES / "contractor-reply.json").read_bytes())
    doc.update(contractor_uscc=uscc, reply_id=f"{uscc}-R1")
    body = json.dumps(doc, ensure_ascii=False).encode()
    return client.post("/api/v1/inbound/contractor", data=body, headers={
        **auth, "Message-Id": message_id, "Content-Type": "application/json",
        "X-Wagehub-Contractor": named or uscc, "X-Wagehub-Signature": signature_for(key, body)})


def test_each_contractor_is_a_principal_of_its_own(two_contractors, token):
    hub, client, tokens = two_contractors
    # The other head office sends first, under the id the first will use: no squatting.
    squat = reply_from(client, tokens[OTHER], OTHER, OTHER_KEY)
    assert squat.status_code == 202 and squat.json["status"] == "accepted" and squat.json["message_id"] == "reply-1"
    genuine = reply_from(client, tokens[USCC], USCC, KEY)
    assert genuine.status_code == 202 and genuine.json["status"] == "accepted"
    again = reply_from(client, tokens[USCC], USCC, KEY)
    assert again.json["status"] == "duplicate"  # its own resend is still one
    # Nor can it speak for the other, even with a body signed right.
    posing = reply_from(client, tokens[OTHER], USCC, KEY, message_id="reply-2")
    assert posing.status_code == 403 and "must be your own sender" in posing.json["error"]["message"]

    def replies(auth):
        items = client.get("/api/v1/records?type=contractor_reply", headers=auth).json["items"]
        return sorted(r["contractor"]["uscc"] for r in items)

    assert replies(tokens[USCC]) == [USCC] and replies(tokens[OTHER]) == [OTHER]
    assert replies(token("admin")) == sorted([USCC, OTHER])
    mine = client.get("/api/v1/records?type=contractor_reply", headers=tokens[USCC]).json["items"][0]
    assert client.get(f"/api/v1/records/{mine['record_id']}", headers=tokens[OTHER]).status_code == 404
    # The clue was routed to the first (its project's contractor) only.
    clues = {who: client.get("/api/v1/records?type=clue", headers=tokens[who]).json["items"] for who in tokens}
    assert [c["clue_no"] for c in clues[USCC]] == [FACTS["clue_no"]] and clues[OTHER] == []
    # Receipts: each its own, whatever it asks for; an admin names the sender.
    own = client.get(f"/api/v1/receipts/contractor/reply-1?sender={USCC}", headers=tokens[OTHER]).json["receipt"]
    assert own["sender"] == OTHER and own["status"] == "accepted"
    theirs = client.get(f"/api/v1/receipts/contractor/reply-1?sender={USCC}", headers=token("admin")).json
    assert theirs["receipt"]["sender"] == USCC and theirs["receipt"]["audit_entry"] != own["audit_entry"]
    unnamed = client.get("/api/v1/receipts/contractor/reply-1", headers=token("admin"))
    assert unnamed.status_code == 400 and unnamed.json["error"]["details"]["field"] == "sender"
    # A token bound to no head office opens nothing of theirs.
    unbound = client.get("/api/v1/records?type=contractor_reply", headers=token("agency:contractor"))
    assert unbound.status_code == 403 and "--sender" in unbound.json["error"]["message"]
