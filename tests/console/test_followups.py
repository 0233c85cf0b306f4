"""The follow-up page (回头看): the sample with each call, and the linkage office's form."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.store.models import FollowupResult, Outbox
from tests.integration.test_followup_results import DAY, closed_matter


@pytest.fixture
def settings(settings):
    settings["followup"]["share"] = 1.0
    return settings


def test_the_linkage_office_records_a_call_on_the_page(console, hub):
    matter = closed_matter(hub)
    viewer = console("viewer").get(f"/console/followups?date={DAY}")
    assert viewer.status_code == 200 and matter in viewer.text
    assert "139****0696" in viewer.text and "13923720696" not in viewer.text  # contacts masked for viewers
    assert "记录回访" not in viewer.text  # no form for a viewer
    assert console("viewer").post(f"/console/followups/{matter}/result").status_code in (400, 403)

    office = console("linkage")
    page = office.get(f"/console/followups?date={DAY}")
    assert "记录回访 Record the call" in page.text and "13923720696" in page.text
    response = office.post(f"/console/followups/{matter}/result?date={DAY}", data={
        "csrf_token": office.csrf(f"/console/followups?date={DAY}"), "reached": "yes", "resolved": "yes",
        "paid_full": "no", "lawful": "", "satisfied": "no", "remark": "仍欠一人"})
    assert response.status_code == 302
    page = office.get(f"/console/followups?date={DAY}")
    assert "重新办理 reopened" in page.text and "仍欠一人" in page.text and "记录回访 Record the call" not in page.text
    with hub.store.sessions() as session:
        [row] = session.scalars(select(FollowupResult)).all()
        assert (row.paid_full, row.lawful, row.reopens) == (False, None, True)
        assert row.recorded_by.endswith("@console")
        assert session.scalars(select(Outbox).where(Outbox.record_type == "reopening")).first() is not None
    bulletin = office.get("/console/bulletin?date=" + row.called_at.astimezone().date().isoformat())
    assert "回头看" in bulletin.text


def test_a_district_user_sees_and_records_only_its_district(console, hub, client):
    """District scope: the sample, its figures and the form are the district's own."""
    from hub.web.auth import create_token

    matter = closed_matter(hub)  # in 370103
    body = {"reached": True, "paid_full": False}

    def api(role):
        return {"Authorization": f"Bearer {create_token(hub.store, role)}"}

    other = api("linkage@370102")
    assert client.post(f"/api/v1/followups/{matter}/result", json=body, headers=other).status_code == 404
    assert client.get(f"/api/v1/followups?date={DAY}", headers=other).json["items"] == []
    assert client.get(f"/api/v1/bulletin?date={DAY}", headers=other).json["followup"]["drawn"] == 0
    assert client.get(f"/api/v1/bulletin?date={DAY}", headers=api("viewer@370100")).json["followup"]["drawn"] == 1
    page = console("linkage@370102").get(f"/console/followups?date={DAY}")
    assert page.status_code == 200 and matter not in page.text
    user = console("linkage@370102")
    posted = user.post(f"/console/followups/{matter}/result", data={
        "csrf_token": user.csrf(f"/console/followups?date={DAY}"), "reached": "yes", "paid_full": "no"})
    assert posted.status_code == 404
    with hub.store.sessions() as session:
        assert session.scalars(select(FollowupResult)).all() == []
    own = client.post(f"/api/v1/followups/{matter}/result", json=body, headers=api("linkage@370103"))
    assert own.status_code == 201 and own.json["reopens"] is True
