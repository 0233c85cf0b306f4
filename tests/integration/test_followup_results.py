"""Follow-up results (回头看): the linkage office (API, console, CLI) or the hotline (its
SATISFACTION on a sampled matter) records each sampled matter's call; "not paid" reopens
the matter and tells labour inspection; the bulletin counts the calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from hub.contract.types import NativeMessage
from hub.store.models import AuditEntry, Deadline, FollowupResult, Outbox
from tests.integration.test_hotline import satisfaction, work_order

DAY = "2023-06-30"  # the case closes that day
CALLED = "2023-07-03T10:00:00+08:00"


@pytest.fixture
def settings(settings):
    settings["followup"]["share"] = 1.0  # every closed matter is drawn: the tests pick which to call
    return settings


def process(hub, agency: str, body: bytes, message_id: str):
    [outcome] = hub.pipeline.process([NativeMessage(agency, body, message_id, "application/json", "utf-8")])
    return outcome


def closed_matter(hub, order: str = "GD3701002023052000415", case_no: str = "AJ370103202300415") -> str:
    """A 12345 complaint whose case closed on DAY: its matter id."""
    assert process(hub, "hotline", work_order(order), f"wo-{order}").status == "accepted"
    for status, at in (("20", "20230522160000"), ("40", "20230630110000")):
        doc = {"msgType": "CASE_STATUS", "msgId": f"{case_no}-{status}", "sendTime": at,
               "data": {"caseNo": case_no, "clueNos": [order], "status": status, "statusTime": at}}
        outcome = process(hub, "hrss", json.dumps(doc).encode(), doc["msgId"])
        assert outcome.status == "accepted", outcome.to_dict()
    with hub.store.sessions() as session:
        return session.scalars(select(Deadline.matter_id).where(Deadline.subject == order)).first()


def reopened_notices(hub, matter_id: str) -> list[dict]:
    with hub.store.sessions() as session:
        return [o.payload for o in session.scalars(select(Outbox).where(
            Outbox.matter_id == matter_id, Outbox.recipient == "hrss", Outbox.record_type == "reopening"))]


def steps(hub, matter_id: str) -> dict[str, str]:
    with hub.store.sessions() as session:
        return {d.key: d.status for d in session.scalars(select(Deadline).where(Deadline.matter_id == matter_id))}


def test_the_linkage_office_records_a_call_and_not_paid_reopens_the_matter(hub, client, token):
    matter = closed_matter(hub)
    body = {"called_at": CALLED, "reached": True, "resolved": True, "paid_full": False, "lawful": True,
            "satisfied": False, "remark": "仍欠一名工人工资"}
    assert client.post(f"/api/v1/followups/{matter}/result", json=body, headers=token("viewer")).status_code == 403
    response = client.post(f"/api/v1/followups/{matter}/result", json=body, headers=token("linkage"))
    assert response.status_code == 201, response.json
    view = response.json
    assert view["sample_day"] == DAY and view["reopens"] is True and view["paid_full"] is False
    assert view["source"] == "linkage" and view["lawful"] is True

    [notice] = reopened_notices(hub, matter)
    assert notice["params"]["notice_kind"] == "REOPENED" and notice["record"]["paid_full"] is False
    assert notice["refs"]["case_no"] == ["AJ370103202300415"]
    # a new life: the work order is owed a new answer
    assert steps(hub, matter)["work_order_reply:GD3701002023052000415#2"] == "open"
    with hub.store.sessions() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "followup.recorded")).all()
    assert entry.subject == matter and entry.details["paid_full"] is False

    again = client.post(f"/api/v1/followups/{matter}/result", json=body, headers=token("linkage"))
    assert again.status_code == 409 and again.json["error"]["details"]["rule"] == "once"
    listed = client.get(f"/api/v1/followups?date={DAY}", headers=token("viewer")).json["items"]
    assert [i["result"]["reopens"] for i in listed] == [True]

    bulletin = client.get("/api/v1/bulletin?date=2023-07-03", headers=token("viewer")).json["followup"]
    assert bulletin["calls"] == 1 and bulletin["reached"] == 1 and bulletin["paid_full"] == 0
    assert bulletin["reopened"] == 1 and bulletin["lawful"] == 1
    assert client.get(f"/api/v1/bulletin?date={DAY}", headers=token("viewer")).json["followup"]["drawn"] == 1


def test_a_paid_call_reopens_nothing(hub, client, token):
    matter = closed_matter(hub)
    body = {"called_at": CALLED, "reached": True, "resolved": True, "paid_full": True, "satisfied": True}
    assert client.post(f"/api/v1/followups/{matter}/result", json=body, headers=token("linkage")).status_code == 201
    assert reopened_notices(hub, matter) == []
    assert "work_order_reply:GD3701002023052000415#2" not in steps(hub, matter)


@pytest.mark.parametrize("body, field, rule", [
    ({"reached": "yes"}, "reached", "type"),
    ({"resolved": True}, "reached", "required"),
    ({"reached": False, "paid_full": False}, "reached", "not-reached"),
    ({"reached": True, "called_at": "2023-07-03T10:00:00"}, "called_at", "time-with-offset"),
    ({"reached": True, "colour": "red"}, "colour", "unknown-field"),
])
def test_a_bad_result_is_refused_naming_the_field(hub, client, token, body, field, rule):
    matter = closed_matter(hub)
    response = client.post(f"/api/v1/followups/{matter}/result", json=body, headers=token("linkage"))
    assert response.status_code == 400
    assert (response.json["error"]["details"]["field"], response.json["error"]["details"]["rule"]) == (field, rule)
    with hub.store.sessions() as session:
        assert session.scalars(select(FollowupResult)).all() == []


def test_a_matter_never_sampled_is_refused(hub, client, token):
    assert process(hub, "hotline", work_order(), "wo-open").status == "accepted"  # open: never closed, never drawn
    with hub.store.sessions() as session:
        matter = session.scalars(select(Deadline.matter_id)).first()
    response = client.post(f"/api/v1/followups/{matter}/result", json={"reached": True}, headers=token("linkage"))
    assert response.status_code == 409 and response.json["error"]["details"]["rule"] == "not-sampled"
    assert client.post("/api/v1/followups/mat_nope/result", json={"reached": True},
                       headers=token("linkage")).status_code == 404


def test_the_hotline_s_call_back_on_a_sampled_matter_is_its_follow_up_result(hub):
    matter = closed_matter(hub)
    assert process(hub, "hotline", satisfaction(paid="0"), "sat").status == "accepted"
    with hub.store.sessions() as session:
        [row] = session.scalars(select(FollowupResult)).all()
    assert (row.matter_id, row.source, row.reopens, row.paid_full) == (matter, "hotline", True, False)
    assert row.record_id is not None
    assert len(reopened_notices(hub, matter)) == 1  # told once, by the call back itself


def test_cli_records_a_call(hub, settings, cli_env):
    matter = closed_matter(hub)
    env = {**os.environ, **cli_env}
    run = subprocess.run([sys.executable, "-m", "hub.cli.main", "followups", "record", matter, "--reached", "--paid", "no",
                          "--resolved", "yes", "--by", "张三", "--remark", "仍欠"], env=env, capture_output=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr.decode()
    assert json.loads(run.stdout)["reopens"] is True and "reopened" in run.stderr.decode()
    listed = subprocess.run([sys.executable, "-m", "hub.cli.main", "followups", "--date", DAY], env=env,
                            capture_output=True, timeout=120)
    assert listed.returncode == 0 and "paid=no" in listed.stdout.decode() and "REOPENED" in listed.stdout.decode()
    assert "139****0696" in listed.stdout.decode()  # masked unless asked
    with hub.store.sessions() as session:
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "followup.recorded")).all()
    assert entry.actor == "linkage:张三"
