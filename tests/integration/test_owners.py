"""Named owners (责任到人): a matter's 包案 leader and a project's 五员 group, named by the
linkage office or an admin (API, console, CLI) and audited; the leader shows on the
escalations and the transfers board, and a leader's view lists the matters owned with
their overdue steps."""

from __future__ import annotations

import io
import json

from openpyxl import load_workbook
from sqlalchemy import select

from hub.casework import owners
from hub.messaging import scheduler
from hub.store.models import AuditEntry, Outbox, Record
from tests.integration.test_legal_cases import NOW, PROJECT, TRANSFER, base, receipt, transfer

LEADER = {"name": "刘德明", "post": "副区长", "unit": "市中区人民政府"}


def late_matter(hub) -> str:
    """A transfer the police received and never decided on: its steps are overdue at NOW."""
    for message in [*base(), transfer(), receipt()]:
        [outcome] = hub.pipeline.process([message])
        assert outcome.status == "accepted", outcome.to_dict()
    with hub.store.sessions() as session:
        return session.scalars(select(Record.matter_id).where(Record.type == "criminal_transfer")).one()


def audit_actions(hub, prefix: str) -> list[tuple[str, str, dict]]:
    with hub.store.sessions() as session:
        return [(e.action, e.subject, e.details) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.seq))]


def test_the_linkage_office_names_a_leader_audited_and_bad_input_is_refused(hub, client, token):
    matter = late_matter(hub)
    url = f"/api/v1/matters/{matter}/leader"
    assert client.put(url, json=LEADER, headers=token("viewer")).status_code == 403
    assert client.put(url, json=LEADER, headers=token("agency:hrss")).status_code == 403
    for body, field, rule in (({**LEADER, "unit": " "}, "unit", "required"), ({"name": "刘德明"}, "post", "required"),
                              ({**LEADER, "post": "x" * 101}, "post", "length"),
                              ({**LEADER, "phone": "1"}, "phone", "unknown-field"), (["刘德明"], "body", "type")):
        response = client.put(url, json=body, headers=token("linkage"))
        assert response.status_code == 400, body
        assert response.json["error"]["details"] == {"field": field, "rule": rule}
    assert client.put("/api/v1/matters/mat_none/leader", json=LEADER, headers=token("linkage")).status_code == 404
    assert audit_actions(hub, "owner.") == []  # nothing of a refused request is applied

    response = client.put(url, json=LEADER, headers=token("linkage"))
    assert response.status_code == 200 and {k: response.json[k] for k in LEADER} == LEADER
    view = client.get(f"/api/v1/matters/{matter}", headers=token("viewer")).json
    assert {k: view["leader"][k] for k in LEADER} == LEADER  # an official's name is not masked
    renamed = {**LEADER, "name": "王立新"}
    assert client.put(url, json=renamed, headers=token("admin")).status_code == 200
    assert client.delete(url, headers=token("linkage")).json == {"matter_id": matter, "leader": None}
    assert client.delete(url, headers=token("linkage")).status_code == 404
    [first, second, cleared] = audit_actions(hub, "owner.")
    assert first[:2] == ("owner.leader_set", matter) and first[2]["name"] == "刘德明" and first[2]["before"] is None
    assert second[2]["before"]["name"] == "刘德明" and second[2]["name"] == "王立新"
    assert cleared[0] == "owner.leader_cleared" and cleared[2]["before"]["name"] == "王立新"


def test_escalations_and_the_board_show_the_leader(hub, client, token, app):
    matter = late_matter(hub)
    with hub.store.transaction() as session:
        owners.set_leader(session, matter, LEADER, "linkage:test")
    assert scheduler.escalate(hub, NOW) >= 1
    with hub.store.sessions() as session:
        sent = list(session.scalars(select(Outbox).where(Outbox.record_type == "escalation")))
    assert sent and all(row.payload["record"]["matter_owner"] == LEADER for row in sent)  # what each recipient renders
    assert {row.payload["record"]["owner"] for row in sent} <= {"hrss", "police", "housing"}  # the agency owing it
    listed = client.get("/api/v1/escalations", headers=token("linkage")).json["items"]
    assert listed and all(e["matter_owner"] == LEADER for e in listed)

    from hub.web.auth import create_token
    from tests.console.conftest import sign_in

    console = app.test_client()
    sign_in(console, create_token(hub.store, "linkage"))
    board = console.get("/console/transfers").get_data(as_text=True)
    row = board.split(f'data-transfer="{TRANSFER}"', 1)[1].split("</tr>", 1)[0]
    assert "刘德明" in row and "市中区人民政府 副区长" in row
    sheet = load_workbook(io.BytesIO(console.get("/console/transfers.xlsx").data))["移送看板"]
    header, first = [list(r) for r in sheet.iter_rows(values_only=True)][:2]
    assert first[header.index("包案领导 leader")] == "刘德明（市中区人民政府副区长）"
    page = console.get(f"/console/matters/{matter}").get_data(as_text=True)
    assert 'id="leader"' in page and "刘德明 · 副区长 · 市中区人民政府" in page
    assert "刘德明（市中区人民政府 副区长）" in page.split('id="escalations"', 1)[1]


def test_a_leaders_view_lists_the_matters_owned_with_their_overdue_steps(hub, client, token, app):
    matter = late_matter(hub)
    with hub.store.transaction() as session:
        owners.set_leader(session, matter, LEADER, "linkage:test")
        owned = owners.owned(session, LEADER["name"], NOW)
    [mine] = owned
    assert mine["matter_id"] == matter and mine["overdue_steps"]
    assert {s["owner"] for s in mine["overdue_steps"]} >= {"police"}  # the police owe the decision
    assert client.get("/api/v1/leaders", headers=token("viewer")).json["items"] == [{**LEADER, "matters": 1}]
    api = client.get(f"/api/v1/leaders/{LEADER['name']}/matters", headers=token("viewer")).json["items"]
    assert [m["matter_id"] for m in api] == [matter] and api[0]["numbers"]["transfer_no"] == TRANSFER
    assert client.get("/api/v1/leaders/nobody/matters", headers=token("viewer")).json["items"] == []

    from hub.web.auth import create_token
    from tests.console.conftest import csrf_of, sign_in

    viewer = app.test_client()
    sign_in(viewer, create_token(hub.store, "viewer"))
    page = viewer.get(f"/console/leaders?name={LEADER['name']}").get_data(as_text=True)
    row = page.split(f'data-matter="{matter}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-overdue="0"' not in page and "逾期 overdue" in row
    assert 'name="name"' not in viewer.get(f"/console/matters/{matter}").get_data(as_text=True)  # no form for viewers
    assert viewer.post(f"/console/matters/{matter}/leader",
                       data={**LEADER, "csrf_token": csrf_of(page)}).status_code == 403

    linkage = app.test_client()
    sign_in(linkage, create_token(hub.store, "linkage"))
    form = linkage.get(f"/console/matters/{matter}").get_data(as_text=True)
    done = linkage.post(f"/console/matters/{matter}/leader",
                        data={"name": "王立新", "post": "区长", "unit": "市中区人民政府", "csrf_token": csrf_of(form)})
    assert done.status_code == 302
    with hub.store.sessions() as session:
        assert owners.matter_leader(session, matter)["name"] == "王立新"
    assert audit_actions(hub, "owner.")[-1][2]["name"] == "王立新"


def test_a_projects_group_of_five(hub, client, token, app):
    matter = late_matter(hub)
    members = [{"name": n, "post": p} for n, p in (("赵一", "项目负责人"), ("钱二", "劳资专管员"), ("孙三", "施工员"),
                                                   ("李四", "属地监管员"), ("周五", "行业监管员"))]
    url = f"/api/v1/projects/{PROJECT}/group"
    assert client.put(url, json={"members": members}, headers=token("viewer")).status_code == 403
    bad = client.put(url, json={"members": [*members, members[0]]}, headers=token("linkage"))
    assert bad.status_code == 400 and bad.json["error"]["details"] == {"field": "members[5]",
                                                                        "rule": "duplicate-member"}
    assert client.put(url, json={"members": []}, headers=token("linkage")).status_code == 400
    assert client.put("/api/v1/projects/3701039999/group", json={"members": members},
                      headers=token("linkage")).status_code == 404
    assert client.put(url, json={"members": members}, headers=token("linkage")).json["members"] == members
    assert client.get(url, headers=token("viewer")).json["members"] == members
    view = client.get(f"/api/v1/matters/{matter}", headers=token("viewer")).json
    assert view["project_groups"][0]["project_code"] == PROJECT and view["project_groups"][0]["members"] == members
    [entry] = audit_actions(hub, "owner.group_set")
    assert entry[1] == f"project:{PROJECT}" and entry[2]["members"] == members

    from hub.web.auth import create_token
    from tests.console.conftest import csrf_of, sign_in

    linkage = app.test_client()
    sign_in(linkage, create_token(hub.store, "linkage"))
    page = linkage.get(f"/console/matters/{matter}").get_data(as_text=True)
    assert "劳资专管员：钱二" in page
    text = "项目负责人：赵一\n劳资专管员：钱六\n"
    assert linkage.post(f"/console/projects/{PROJECT}/group?back={matter}",
                        data={"members": text, "csrf_token": csrf_of(page)}).status_code == 302
    assert client.get(url, headers=token("viewer")).json["members"][1] == {"name": "钱六", "post": "劳资专管员"}


def test_the_command_line_names_owners(hub, cli_env):
    from tests.test_cli import wagehub

    matter = late_matter(hub)
    wagehub(cli_env, "owners", "set-leader", matter, "--name", "刘德明", "--post", "副区长", "--unit", "市中区人民政府",
            "--by", "张三")
    listed = wagehub(cli_env, "owners", "list", "--leader", "刘德明", "--json").stdout
    assert json.loads(listed)[0]["matter_id"] == matter and json.loads(listed)[0]["overdue_steps"]
    group = wagehub(cli_env, "owners", "set-group", PROJECT, "--member", "劳资专管员:钱二", "--by", "张三").stdout
    assert "劳资专管员：钱二" in group
    refused = wagehub(cli_env, "owners", "set-leader", matter, "--name", " ", "--post", "副区长",
                      "--unit", "市中区人民政府", "--by", "张三", check=False)
    assert refused.returncode == 2 and "name is required (rule: required)" in refused.stderr
    assert [a[0] for a in audit_actions(hub, "owner.")] == ["owner.leader_set", "owner.group_set"]
    with hub.store.sessions() as session:
        assert owners.matter_leader(session, matter)["set_by"] == "cli:张三"
