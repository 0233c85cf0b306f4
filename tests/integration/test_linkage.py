"""The legal-linkage office through the hub: held dossiers, release and return, deadlines
on the matter, escalation exactly once, duplicate complaints, the audit log."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import delete, func, select, update

from hub.contract.types import NativeMessage
from hub.store.models import AuditEntry, Deadline, Escalation, Record
from tests.helpers import sample, wait_for

FACTS = json.loads(sample("facts.json"))


def message(name: str, message_id: str, **data) -> NativeMessage:
    doc = json.loads(sample(name))
    doc["data"].update(data)
    return NativeMessage("hrss", json.dumps(doc, ensure_ascii=False).encode(), message_id, "application/json")


def matter_of(hub, rtype: str) -> str:
    with hub.store.sessions() as session:
        return session.scalars(select(Record.matter_id).where(Record.type == rtype)).first()


def test_an_incomplete_dossier_is_held_then_released_by_the_linkage_office(hub, workers, agency, client, token):
    for name, data in (("hrss-clue.json", {}), ("hrss-case.json", {}), ("hrss-order.json", {"serveDate": None}),
                       ("hrss-transfer.json", {"evidence": ["E01", "E02", "E04"]})):
        data = {k: v for k, v in data.items()}
        doc = json.loads(sample(name))
        doc["data"].update(data)
        if doc["data"].get("serveDate", "x") is None:
            del doc["data"]["serveDate"]
        agency.publish("hrss", json.dumps(doc, ensure_ascii=False).encode(), message_id=f"m-{name}")
    linkage = token("linkage")
    view = wait_for(lambda: client.get(f"/api/v1/transfers/{FACTS['transfer_no']}", headers=linkage).json
                    if client.get(f"/api/v1/transfers/{FACTS['transfer_no']}", headers=linkage).status_code == 200
                    else None)
    assert view["status"] == "held"
    assert [m["item"] for m in view["dossier"]["missing"]] == ["order.served", "evidence.E03"]
    assert agency.drain("police", wait=0.5) == []  # nothing left the hub
    held = client.get("/api/v1/transfers?status=held", headers=linkage).json["items"]
    assert [t["transfer_no"] for t in held] == [FACTS["transfer_no"]]

    assert client.post(f"/api/v1/transfers/{FACTS['transfer_no']}/release", headers=token("admin")).status_code == 403
    resp = client.post(f"/api/v1/transfers/{FACTS['transfer_no']}/release", headers=linkage,
                       json={"reason": "送达回证已补正"})
    assert resp.status_code == 200 and resp.json["status"] == "released"
    [ajys] = agency.receive("police", 1)
    assert b"YS37010320230880" in ajys.raw
    again = client.post(f"/api/v1/transfers/{FACTS['transfer_no']}/release", headers=linkage)
    assert again.status_code == 409
    assert client.get(f"/api/v1/transfers/{FACTS['transfer_no']}", headers=linkage).json["status"] == "transferred"
    with hub.store.sessions() as session:
        actions = [a for (a,) in session.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
    assert "dossier.held" in actions and "transfer.released" in actions
    assert client.get("/api/v1/audit/verify", headers=token("admin")).json["ok"] is True


def test_a_returned_dossier_goes_back_to_labour_inspection_with_the_reasons(hub, workers, agency, client, token):
    hub.pipeline.process([message("hrss-clue.json", "c"), message("hrss-order.json", "o", complied="1"),
                          message("hrss-transfer.json", "t")])
    linkage = token("linkage")
    view = client.get(f"/api/v1/transfers/{FACTS['transfer_no']}", headers=linkage).json
    assert view["status"] == "held" and [m["item"] for m in view["dossier"]["missing"]] == ["order.unpaid"]
    no_reason = client.post(f"/api/v1/transfers/{FACTS['transfer_no']}/return", headers=linkage)
    assert no_reason.status_code == 400 and no_reason.json["error"]["details"]["field"] == "reason"
    resp = client.post(f"/api/v1/transfers/{FACTS['transfer_no']}/return", headers=linkage,
                       json={"reason": "已履行责令支付，不构成拒不支付"})
    assert resp.json["status"] == "returned"
    # labour inspection heard first that its dossier was held, with what was missing, then why it came back
    notices = [json.loads(m.raw)["data"] for m in agency.receive("hrss", 2)]
    assert [n["kind"] for n in notices] == ["DOSSIER_HELD", "TRANSFER_RETURNED"]
    assert notices[0]["record"]["missing"] == ["order.unpaid"]
    returned = next(n for n in notices if n["kind"] == "TRANSFER_RETURNED")
    assert returned["record"]["missing"] == ["order.unpaid"] and returned["refs"]["transferNo"] == FACTS["transfer_no"]
    assert client.get(f"/api/v1/transfers/{FACTS['transfer_no']}", headers=linkage).json["status"] == "returned"
    assert agency.drain("police", wait=0.3) == []


def test_the_sample_matter_shows_every_step_with_its_deadline(hub, client, token):
    for i, name in enumerate(("hrss-clue.json", "hrss-case.json", "hrss-order.json", "hrss-transfer.json")):
        hub.pipeline.process([message(name, f"s{i}")])
    for i, name in enumerate(("police-receipt.xml", "police-decision.xml")):
        hub.pipeline.process([NativeMessage("police", sample(name), f"p{i}", "application/xml")])
    matter_id = matter_of(hub, "criminal_transfer")
    view = client.get(f"/api/v1/matters/{matter_id}", headers=token("linkage")).json
    steps = {s["rule"]: s for s in view["steps"]}
    assert steps["first_contact"]["status"] == "met" and steps["first_contact"]["due_at"] == "2023-05-22T23:59:59+08:00"
    assert steps["police_decide"]["status"] == "late" and steps["police_decide"]["late"] is True
    assert steps["order_due"]["status"] == "overdue" and steps["order_due"]["source"] == "the order to pay"
    assert {s["owner"] for s in view["next_steps"]} <= {"hrss", "housing", "gov", "police"}
    assert view["reconciliation"]["claimed"] == "382848.00" and view["reconciliation"]["review"] is False
    transfer = client.get(f"/api/v1/transfers/{FACTS['transfer_no']}", headers=token("linkage")).json
    assert transfer["status"] == "opened" and transfer["dossier"]["status"] == "passed"
    assert {s["rule"] for s in transfer["steps"]} >= {"police_decide", "transfer_approve", "transfer_handover",
                                                      "handover_after_opening", "order_due"}
    assert "police_request_materials" not in {s["rule"] for s in transfer["steps"]}  # nothing was asked
    overdue = client.get("/api/v1/transfers?overdue=true", headers=token("linkage")).json["items"]
    assert [t["transfer_no"] for t in overdue] == [FACTS["transfer_no"]]
    assert client.get("/api/v1/transfers?district=370202", headers=token("linkage")).json["items"] == []


def test_overdue_steps_escalate_once_per_level(hub, workers, agency, client, token):
    from hub.messaging.scheduler import escalate

    hub.pipeline.process([message("hrss-clue.json", "c"), message("hrss-case.json", "k")])
    with hub.store.sessions() as session:
        open_overdue = session.execute(select(func.count()).select_from(Deadline)
                                       .where(Deadline.status == "open")).scalar()
    assert open_overdue >= 2  # the case to close and the housing answer: years overdue
    first = escalate(hub)
    assert first == open_overdue
    assert escalate(hub) == 0  # never twice
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hub.settings["linkage"]["escalation_grace_hours"] + 1)
    assert escalate(hub, later) == open_overdue  # then to supervision, once
    assert escalate(hub, later) == 0
    with hub.store.sessions() as session:
        levels = sorted(level for (level,) in session.execute(select(Escalation.level)))
    assert levels == ["agency"] * open_overdue + ["supervision"] * open_overdue
    listed = client.get("/api/v1/escalations", headers=token("linkage")).json["items"]
    assert len(listed) == 2 * open_overdue
    workers.relay.poke()
    notices = [json.loads(m.raw)["data"] for m in agency.receive("hrss", 10, timeout=5)]
    escalations = [n for n in notices if n["kind"] == "ESCALATION"]
    hrss_owned = sum(1 for e in listed if e["owner"] == "hrss")
    assert len(escalations) >= hrss_owned  # the agency-level ones owed by hrss, plus supervision copies


def test_duplicate_complaints_join_one_matter_and_are_listed(hub, client, token):
    hub.pipeline.process([message("hrss-clue.json", "qr")])
    hub.pipeline.process([message("hrss-clue.json", "hotline", clueNo="XS-HOTLINE-1", channel="02",
                                  complainant={"name": "李四", "mobile": "13800000000"},
                                  periodFrom="202303", periodTo="202305")])
    hub.pipeline.process([message("hrss-clue.json", "petition", clueNo="XS-PETITION-1", channel="03",
                                  employer={"name": "另一公司"}, projectCode=None)])
    hub.pipeline.process([message("hrss-clue.json", "other", clueNo="XS-OTHER-1", periodFrom="202306",
                                  periodTo="202307", complainant={"name": "赵六", "mobile": "13800000001"})])
    with hub.store.sessions() as session:
        matters = dict(session.execute(select(Record.source_ref, Record.matter_id)).all())
    assert matters["XS-HOTLINE-1"] == matters[FACTS["clue_no"]] == matters["XS-PETITION-1"]
    assert matters["XS-OTHER-1"] != matters[FACTS["clue_no"]]
    view = client.get(f"/api/v1/matters/{matters[FACTS['clue_no']]}", headers=token("viewer")).json
    assert {d["clue_no"]: d["duplicate_of"] for d in view["duplicates"]} == {
        "XS-HOTLINE-1": FACTS["clue_no"], "XS-PETITION-1": FACTS["clue_no"]}
    assert "person:" not in json.dumps(view)


def _swap(session, a: int, b: int) -> None:
    rows = {e.id: e for e in session.scalars(select(AuditEntry).where(AuditEntry.id.in_([a, b])))}
    fields = ("at", "actor", "action", "subject", "details", "prev_hash", "hash")
    values = {i: {f: getattr(rows[i], f) for f in fields} for i in (a, b)}
    session.execute(update(AuditEntry).where(AuditEntry.id == a).values(**values[b]))
    session.execute(update(AuditEntry).where(AuditEntry.id == b).values(**values[a]))


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_tampering_with_the_audit_log_is_found(hub, client, token, tamper):
    for role in ("viewer", "linkage", "agency:hrss", "agency:police"):
        token(role)  # each creation is audited
    admin = token("admin")
    assert client.get("/api/v1/audit/verify", headers=admin).json["ok"] is True
    with hub.store.sessions() as session:
        ids = [i for (i,) in session.execute(select(AuditEntry.id).order_by(AuditEntry.id))]
    with hub.store.transaction() as session:
        if tamper == "edit":
            session.execute(update(AuditEntry).where(AuditEntry.id == ids[1]).values(details={"role": "admin"}))
        elif tamper == "delete":
            session.execute(delete(AuditEntry).where(AuditEntry.id == ids[1]))
        else:
            _swap(session, ids[1], ids[2])
    result = client.get("/api/v1/audit/verify", headers=admin).json
    assert result["ok"] is False
    assert result["first_broken"] == (ids[2] if tamper == "delete" else ids[1])
