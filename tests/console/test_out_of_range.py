"""Values past what the database or the calendar can hold are a 400 or 404, never a 500
(found by fuzzing the API; the console reads the same arguments)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_bulletin_day_at_the_ends_of_the_calendar_is_a_400(console, day):
    viewer = console("viewer")
    assert viewer.get(f"/console/bulletin?date={day}").status_code == 400
    assert viewer.get(f"/console/bulletin/download?date={day}&format=csv").status_code == 400


def test_a_dead_letter_id_beyond_any_database_integer_is_not_found(console):
    admin = console("admin")
    assert admin.get("/console/dead-letters/99999999999999999999999").status_code == 404
    resp = admin.post("/console/dead-letters/99999999999999999999999/replay",
                      data={"csrf_token": admin.csrf(), "mode": "as-kept"})
    assert resp.status_code == 404


def test_a_nul_character_in_a_page_address_is_a_400(console):
    """PostgreSQL text cannot hold NUL: the page must refuse it, not fail on the query."""
    admin = console("admin")
    for url in ("/console/dead-letters?status=%00", "/console/dead-letters?agency=%00", "/console/matters/m%00",
                "/console/transfers?status=%00", "/console/transfers/YS%00"):
        assert admin.get(url).status_code == 400, url
