"""District scope (viewer@370103, linkage@370102, agency:gov@370100): route by route, a
scoped principal sees only the matters, records, transfers, escalations, bulletins and
exports of its area, on the API and in the console; a city's code takes in its districts.

The loaded hub holds two matters: the sample matter in 市中区 (370103) and a second one in
历下区 (370102), both in 济南市 (370100).
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from hub.store.models import Matter, Record
from hub.web.auth import create_token
from tests.console.conftest import FACTS, SECOND
from tests.test_cli import env, wagehub  # noqa: F401  (env: a fixture)

DAY = "2023-05-22"
FIRST_AREA, SECOND_AREA, CITY = "370103", SECOND["area"], "370100"


@pytest.fixture
def escalated(hub, loaded):
    """Every overdue step of both matters escalated, at both levels, to a group each."""
    import datetime as dt

    from hub.messaging import scheduler

    hub.settings["linkage"]["supervision_groups"] = {
        "south": {"name": "第一督导组", "districts": [FIRST_AREA]},
        "north": {"name": "第二督导组", "districts": [SECOND_AREA]}}
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=3650)  # both matters' steps are overdue by then
    scheduler.escalate(hub, now)
    hub.settings["linkage"]["escalation_grace_hours"] = 0
    scheduler.escalate(hub, now)
    return loaded


def api(client, hub, role: str):
    headers = {"Authorization": f"Bearer {create_token(hub.store, role)}"}
    return lambda path, **kw: client.open(path, headers=headers, **kw)


def test_each_matter_knows_its_district(hub, loaded):
    with hub.store.sessions() as session:
        regions = dict(session.execute(select(Matter.id, Matter.region_code)
                                       .where(Matter.id.in_([loaded.matter_id, loaded.second_matter_id]))).all())
    assert regions == {loaded.matter_id: FIRST_AREA, loaded.second_matter_id: SECOND_AREA}


def _matters_of(items, key="matter_id"):
    return {i[key] for i in items}


def test_the_api_route_by_route_for_a_district_user(client, hub, escalated):
    loaded = escalated
    mine, theirs = loaded.second_matter_id, loaded.matter_id
    get = api(client, hub, f"linkage@{SECOND_AREA}")
    # records: a page, and one by one
    items = get("/api/v1/records?limit=500").json["items"]
    assert items and _matters_of(items) == {mine}
    with hub.store.sessions() as session:
        their_record = session.scalars(select(Record.record_id).where(Record.matter_id == theirs)).first()
        my_record = session.scalars(select(Record.record_id).where(Record.matter_id == mine)).first()
    assert get(f"/api/v1/records/{their_record}").status_code == 404
    assert get(f"/api/v1/records/{my_record}").status_code == 200
    # matters
    assert get(f"/api/v1/matters/{theirs}").status_code == 404
    assert get(f"/api/v1/matters/{mine}").json["matter_id"] == mine
    # transfers: the board, one transfer, and deciding on one
    board = get("/api/v1/transfers").json["items"]
    assert [t["transfer_no"] for t in board] == [SECOND["transfer_no"]]
    assert get(f"/api/v1/transfers/{FACTS['transfer_no']}").status_code == 404
    assert get(f"/api/v1/transfers/{SECOND['transfer_no']}").status_code == 200
    refused = get(f"/api/v1/transfers/{FACTS['transfer_no']}/release", method="POST", json={})
    assert refused.status_code == 404
    # escalations, and per supervision group
    escalations = get("/api/v1/escalations?limit=500").json["items"]
    assert escalations and _matters_of(escalations) == {mine}
    assert get("/api/v1/escalations?group=south").json["items"] == []
    north = get("/api/v1/escalations?group=north").json["items"]
    assert north and {e["level"] for e in north} == {"supervision"} and {e["region_code"] for e in north} == {SECOND_AREA}
    # the bulletin, as JSON, CSV and XLSX
    bulletin = get(f"/api/v1/bulletin?date={DAY}").json
    assert [d["region_code"] for d in bulletin["districts"]] == [SECOND_AREA]
    assert bulletin["total"]["clues_total"] == bulletin["districts"][0]["clues_total"] == 1
    assert {i["region_code"] for i in bulletin["overdue_items"]} <= {SECOND_AREA}
    rows = list(csv.reader(io.StringIO(get(f"/api/v1/bulletin?date={DAY}&format=csv").data.decode("utf-8-sig"))))
    assert FIRST_AREA not in {r[0] for r in rows} and SECOND_AREA in {r[0] for r in rows}
    sheet = load_workbook(io.BytesIO(get(f"/api/v1/bulletin?date={DAY}&format=xlsx").data)).worksheets[0]
    codes = {row[0] for row in sheet.iter_rows(values_only=True)}
    assert FIRST_AREA not in codes and SECOND_AREA in codes
    # the follow-up sample: only its own matters (whatever the draw)
    followups = get(f"/api/v1/followups?date={DAY}").json["items"]
    assert _matters_of(followups) <= {mine}
    # not area data: the audit chain's signed heads
    assert get("/api/v1/audit/heads").status_code == 200
    # the dishonest-employer list: the sample listing is the other district's
    assert get("/api/v1/listings").json["items"] == []
    assert get("/api/v1/listings/SX370103202300880").status_code == 404
    assert api(client, hub, f"viewer@{FIRST_AREA}")("/api/v1/listings").json["items"][0]["matter_id"] == theirs
    # named owners: its own matters only; another district's matter or project is not found
    leader = {"name": "刘德明", "post": "副区长", "unit": "历下区人民政府"}
    assert get(f"/api/v1/matters/{theirs}/leader", method="PUT", json=leader).status_code == 404
    assert get(f"/api/v1/matters/{theirs}/leader", method="DELETE").status_code == 404
    assert get(f"/api/v1/matters/{mine}/leader", method="PUT", json=leader).status_code == 200
    group = {"members": [{"name": "钱二", "post": "劳资专管员"}]}
    assert get(f"/api/v1/projects/{FACTS['project_code']}/group", method="PUT", json=group).status_code == 404
    assert get(f"/api/v1/projects/{FACTS['project_code']}/group").status_code == 404
    assert get(f"/api/v1/projects/{SECOND['project_code']}/group", method="PUT", json=group).status_code == 200
    with hub.store.transaction() as session:
        from hub.casework import owners

        owners.set_leader(session, theirs, leader, "test")  # the same leader owns a matter elsewhere
    assert get("/api/v1/leaders").json["items"] == [{**leader, "matters": 1}]
    assert [m["matter_id"] for m in get("/api/v1/leaders/刘德明/matters").json["items"]] == [mine]


def test_a_city_covers_its_districts_and_a_district_only_itself(client, hub, escalated):
    loaded = escalated
    city = api(client, hub, f"viewer@{CITY}")
    seen = _matters_of(city("/api/v1/records?limit=500").json["items"])
    assert {loaded.matter_id, loaded.second_matter_id} <= seen
    bulletin = city(f"/api/v1/bulletin?date={DAY}").json
    assert [d["region_code"] for d in bulletin["districts"]] == [SECOND_AREA, FIRST_AREA]
    whole = api(client, hub, "viewer")(f"/api/v1/bulletin?date={DAY}").json
    assert bulletin["total"]["clues_total"] == whole["total"]["clues_total"]
    assert Decimal(bulletin["total"]["amount_owed"]) == Decimal(whole["total"]["amount_owed"])
    first = api(client, hub, f"viewer@{FIRST_AREA}")
    seen = _matters_of(first("/api/v1/records?limit=500").json["items"])
    assert loaded.matter_id in seen and loaded.second_matter_id not in seen
    assert first(f"/api/v1/matters/{loaded.second_matter_id}").status_code == 404
    other_city = api(client, hub, "viewer@370200")  # 青岛市: none of these
    assert other_city("/api/v1/records").json["items"] == []
    assert other_city(f"/api/v1/bulletin?date={DAY}").json["districts"] == []
    several = api(client, hub, f"viewer@{FIRST_AREA},{SECOND_AREA}")
    assert {loaded.matter_id, loaded.second_matter_id} <= _matters_of(several("/api/v1/records?limit=500").json["items"])


def test_the_console_route_by_route_for_a_district_user(console, hub, escalated):
    loaded = escalated
    mine, theirs = loaded.second_matter_id, loaded.matter_id
    user = console(f"linkage@{SECOND_AREA}")
    home = user.get("/console/")
    assert home.status_code == 200 and SECOND_AREA in home.text  # its scope, shown with its role
    found = user.get(f"/console/matters?q={FACTS['clue_no']}")
    assert found.status_code == 200 and theirs not in found.text
    assert mine in user.get(f"/console/matters?q={SECOND['clue_no']}").text
    assert user.get(f"/console/matters/{theirs}").status_code == 404
    assert user.get(f"/console/matters/{mine}").status_code == 200
    board = user.get("/console/transfers").text
    assert SECOND["transfer_no"] in board and FACTS["transfer_no"] not in board
    assert user.get(f"/console/transfers/{FACTS['transfer_no']}").status_code == 404
    assert user.get(f"/console/transfers/{SECOND['transfer_no']}").status_code == 200
    decide = user.post(f"/console/transfers/{FACTS['transfer_no']}/release",
                       data={"csrf_token": user.csrf()})
    assert decide.status_code == 404
    sheet = load_workbook(io.BytesIO(user.get("/console/transfers.xlsx").data)).worksheets[0]
    numbers = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert numbers == {SECOND["transfer_no"]}
    bulletin = user.get(f"/console/bulletin?date={DAY}").text
    assert "历下区" in bulletin and "市中区" not in bulletin
    rows = list(csv.reader(io.StringIO(user.get(f"/console/bulletin/download?date={DAY}&format=csv")
                                       .data.decode("utf-8-sig"))))
    assert FIRST_AREA not in {r[0] for r in rows} and SECOND_AREA in {r[0] for r in rows}
    book = load_workbook(io.BytesIO(user.get(f"/console/bulletin/download?date={DAY}&format=xlsx").data))
    assert FIRST_AREA not in {row[0] for row in book.worksheets[0].iter_rows(values_only=True)}
    escalations = user.get("/console/escalations")
    assert escalations.status_code == 200 and mine in escalations.text and theirs not in escalations.text
    north = user.get("/console/escalations?group=north").text
    assert mine in north and "第二督导组" in north
    assert theirs not in user.get("/console/escalations?group=south").text
    assert "SX370103202300880" not in user.get("/console/listings").text  # the other district's listing
    leader = {"name": "刘德明", "post": "副区长", "unit": "历下区人民政府"}
    assert user.post(f"/console/matters/{theirs}/leader", data={**leader, "csrf_token": user.csrf()}).status_code == 404
    assert user.post(f"/console/matters/{mine}/leader", data={**leader, "csrf_token": user.csrf()}).status_code == 302
    assert user.post(f"/console/projects/{FACTS['project_code']}/group",
                     data={"members": "劳资专管员：钱二", "csrf_token": user.csrf()}).status_code == 404
    from hub.casework import owners

    with hub.store.transaction() as session:
        owners.set_leader(session, theirs, leader, "test")
    owned = user.get("/console/leaders?name=刘德明").text
    assert mine in owned and theirs not in owned and "1 件" in owned
    assert user.get("/console/audit").status_code == 403  # the log spans every district
    assert "审计 Audit" not in home.text.split("<main")[0]  # nor does the menu offer it


def test_the_console_lists_each_groups_supervision_escalations(console, escalated):
    admin = console("admin")
    north = admin.get("/console/escalations?group=north&level=supervision").text
    assert escalated.second_matter_id in north and "第二督导组" in north
    assert 'data-group="north"' in north and 'data-group="south"' not in north and 'data-level="agency"' not in north
    south = admin.get("/console/escalations?group=south").text
    assert escalated.second_matter_id not in south and 'data-group="north"' not in south
    assert admin.get("/console/escalations?group=nope").status_code == 400


@pytest.mark.parametrize("role, rule", [("admin@370103", "scope"), ("viewer@379999", "division"),
                                        ("viewer@3701", "enum"), ("viewer@", "enum")])
def test_a_scope_must_be_division_codes_and_not_on_an_admin(hub, role, rule):
    from hub.contract.errors import BadRequest

    with pytest.raises(BadRequest) as err:
        create_token(hub.store, role)
    assert err.value.details["rule"] == rule


def test_users_are_created_with_a_district_scope_from_the_command_line(hub, env):  # noqa: F811
    from hub.services.accounts import sign_in

    made = wagehub(env, "users", "create", "--username", "lixia.viewer", "--role", "viewer@370102",
                   "--password-stdin", input="a-long-enough-password\n")
    assert made.stdout.strip() == "created lixia.viewer (viewer@370102)"
    principal, _ = sign_in(hub.store, "lixia.viewer", "a-long-enough-password")
    assert (principal.role, principal.scope, principal.stored_role) == ("viewer", ("370102",), "viewer@370102")
    assert "viewer@370102" in wagehub(env, "users", "list").stdout
    assert wagehub(env, "tokens", "create", "--role", "agency:gov@370103").stdout.startswith("wht_")
    bad = wagehub(env, "tokens", "create", "--role", "viewer@999999", check=False)
    assert bad.returncode != 0 and "division" in bad.stderr


def test_a_government_token_reads_only_what_concerns_its_area(client, hub, loaded):
    role = "agency:gov@370102"
    headers = {"Authorization": f"Bearer {create_token(hub.store, role, sender=hub.check_binding(role, None))}"}
    items = client.get("/api/v1/records?type=clue", headers=headers).json["items"]
    assert [c["clue_no"] for c in items] == [SECOND["clue_no"]]  # its assignment's clue, not the other district's
    assert json.dumps(items).find(FACTS["complainant_mobile"]) == -1
