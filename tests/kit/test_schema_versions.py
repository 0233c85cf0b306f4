"""Canonical schema versions: a plugin says what it needs; the hub refuses what it lacks.

Two versions are exercised for real: the built-in plugins were written for schema 1.0
and run on this hub's 1.2 (1.1 added ``supervision_opinion``, 1.2 the criminal-linkage
records); and a hub at a simulated 1.3 (a new optional field on ``police_decision``)
still loads, runs and validates a plugin written for 1.0.
"""

from __future__ import annotations

import json

import marshmallow as ma
import pytest

import schemas
from hub import AgencyInfo, NativeMessage, hookimpl
from hub.contract.errors import ConfigError
from hub.contract.plugins import Registry, build_plugin_manager
from hub.testing import Conformance, canonical, canonical_records, sample_message
from plugins import hrss, police
from schemas import records
from schemas.versions import hub_schema_version, parse_version, version_problem


class Needs:
    """A plugin that declares the schema version it needs."""

    def __init__(self, version: str, code: str = "future"):
        self.version = version
        self.code = code
        self.__name__ = code  # the plugin's name in the registry, as a module's would be

    @hookimpl
    def register_agency(self) -> AgencyInfo:
        return AgencyInfo(code=self.code, name="a plugin from elsewhere", version="0.1", kinds_in=("X",),
                          schema_version=self.version)


def test_parse_version():
    assert parse_version("1") == (1, None)
    assert parse_version(" 1.12 ") == (1, 12)
    for bad in ("", "1.", "v1", "1.2.3", "one"):
        with pytest.raises(ValueError):
            parse_version(bad)


@pytest.mark.parametrize("needed", ["1", "1.0", "1.1"])
def test_same_major_and_no_later_minor_runs(needed):
    assert version_problem(needed, "1.1") is None


def test_a_later_minor_is_refused_naming_both_versions():
    problem = version_problem("1.2", "1.1")
    assert problem == ("needs canonical schema 1.2 or later, but this hub has canonical schema 1.1: "
                       "upgrade the hub (wage-arrears-hub) to one with schema 1.2")


@pytest.mark.parametrize("needed,available", [("2", "1.1"), ("0", "1.1"), ("1.0", "2.0")])
def test_another_major_is_refused_naming_both_versions(needed, available):
    problem = version_problem(needed, available)
    assert f"needs canonical schema {needed}" in problem and f"this hub has canonical schema {available}" in problem


def test_a_malformed_version_is_refused():
    assert "is not MAJOR or MAJOR.MINOR" in version_problem("1.x", "1.1")


def test_this_hub_is_at_1_2_and_the_builtins_were_written_for_1():
    assert hub_schema_version() == schemas.SCHEMA_VERSION == "1.2"
    assert schemas.SCHEMAS["supervision_opinion"].VERSION == "1.1"
    assert schemas.SCHEMAS["clue"].VERSION == schemas.SCHEMAS["wage_payment"].VERSION == "1.2"
    assert schemas.SCHEMAS["police_receipt"].VERSION == "1.0"  # unchanged since 1.0
    registry = Registry(build_plugin_manager(), {})
    for name in ("hrss", "police", "housing", "court", "union"):
        assert registry.adapters[name].info.schema_version == "1"
        assert registry.is_enabled(name)


def test_registry_build_refuses_a_plugin_needing_a_later_minor(caplog):
    registry = Registry(build_plugin_manager([Needs("1.3")], entry_points=False), {})
    adapter = registry.adapters["future"]
    assert not registry.is_enabled("future")
    assert adapter.settings_error == ("needs canonical schema 1.3 or later, but this hub has canonical schema 1.2: "
                                      "upgrade the hub (wage-arrears-hub) to one with schema 1.3")
    assert "plugin future refused: needs canonical schema 1.3" in caplog.text


def test_registry_build_refuses_a_plugin_of_another_major():
    registry = Registry(build_plugin_manager([Needs("2")], entry_points=False), {})
    assert not registry.is_enabled("future")
    assert "needs canonical schema 2 (major 2), but this hub has canonical schema 1.2 (major 1)" in \
        registry.adapters["future"].settings_error


def test_enabling_a_plugin_that_needs_a_later_schema_is_refused(settings):
    from hub.runtime import Hub

    h = Hub(settings, extra_plugins=[Needs("1.3")])
    try:
        with pytest.raises(ConfigError) as info:
            h.set_plugin_enabled("future", True, actor="test")
        assert str(info.value) == ("plugin future cannot be enabled: needs canonical schema 1.3 or later, but this "
                                   "hub has canonical schema 1.2: upgrade the hub (wage-arrears-hub) to one with "
                                   "schema 1.3")
        assert not h.registry.is_enabled("future")
        assert h.registry.is_enabled("police")
    finally:
        h.shutdown()


def test_enabling_refused_over_the_api(settings):
    from hub.runtime import Hub
    from hub.web.app import create_app
    from hub.web.auth import create_token

    h = Hub(settings, extra_plugins=[Needs("2")])
    try:
        client = create_app(hub=h).test_client()
        headers = {"Authorization": f"Bearer {create_token(h.store, 'admin')}"}
        response = client.post("/api/v1/plugins/future/enable", headers=headers)
        assert response.status_code == 409
        assert "needs canonical schema 2 (major 2), but this hub has canonical schema 1.2" in \
            response.json["error"]["message"]
    finally:
        h.shutdown()


# -- a minor schema change does not break an older plugin -----------------------------------------


class PoliceDecisionSchema13(records.PoliceDecisionSchema):
    """police_decision as a 1.3 hub might have it: one new optional field."""

    VERSION = "1.3"
    schema_version = ma.fields.String(load_default=VERSION)
    review_requested_on = ma.fields.Date(load_default=None, allow_none=True)


@pytest.fixture
def hub_at_1_3(monkeypatch):
    monkeypatch.setattr(records, "SCHEMA_VERSION", "1.3")
    monkeypatch.setitem(records.RECORD_SCHEMAS, "police_decision", PoliceDecisionSchema13)
    monkeypatch.setitem(records.SCHEMAS, "police_decision", PoliceDecisionSchema13())
    assert hub_schema_version() == "1.3"


def test_a_plugin_written_for_1_0_loads_on_a_1_3_hub(hub_at_1_3):
    registry = Registry(build_plugin_manager(), {})
    assert registry.is_enabled("police") and registry.adapters["police"].info.schema_version == "1"
    refused = Registry(build_plugin_manager([Needs("1.4")], entry_points=False), {})
    assert "needs canonical schema 1.4 or later, but this hub has canonical schema 1.3" in \
        refused.adapters["future"].settings_error


def test_its_records_validate_and_carry_the_new_version(hub_at_1_3):
    [decision] = [s for s in police.register_samples() if s.name == "police-decision.xml"]
    [parsed] = police.parse_message(message=sample_message("police", decision), settings={})
    record = canonical("police", parsed)
    assert record["schema_version"] == "1.3"
    assert record["review_requested_on"] is None  # the new field: absent, defaulted
    assert record["decision"] == "opened" and record["police_case_no"] == "A370103202300880"


def test_it_passes_the_kit_on_a_1_3_hub(hub_at_1_3):
    from tests.kit.test_builtin_conformance import RECORDS

    kit = Conformance(police, records=RECORDS)
    for check in ("check_hooks", "check_agency", "check_good_samples", "check_bad_samples", "check_deterministic",
                  "check_no_personal_data_in_logs"):
        getattr(kit, check)()
    assert {r["schema_version"] for r in kit.parsed_records()["police_decision"]} == {"1.3"}
    Conformance(hrss, records=RECORDS).check_all()  # it renders the 1.3 police decisions


def test_older_renderers_write_a_record_with_the_new_field(hub_at_1_3):
    """hrss (written for 1.0) renders a 1.3 police_decision; the new field goes along."""
    pool = canonical_records(police)
    decision = {**pool["police_decision"][0], "review_requested_on": "2023-07-05"}
    record = schemas.normalise_record(decision)
    kit = Conformance(hrss, records={"police_decision": [record]})
    [(route, delivery)] = [(r, d) for r, d in kit.deliveries() if r.name == "police-decision-to-hrss"]
    notice = json.loads(kit.adapter.render(delivery).body)
    assert notice["data"]["record"]["decision"] == "opened"
    assert notice["data"]["record"]["schema_version"] == "1.3"


def test_the_hub_accepts_an_older_plugins_message_on_a_1_3_hub(hub_at_1_3, settings):
    from hub.runtime import Hub

    h = Hub(settings)
    try:
        [decision] = [s for s in police.register_samples() if s.name == "police-decision.xml"]
        message = NativeMessage(agency="police", body=decision.body, message_id="v12-1",
                                content_type=decision.content_type, content_encoding=decision.content_encoding,
                                kind=decision.kind)
        [outcome] = h.pipeline.process([message])
        assert outcome.status == "accepted" and not outcome.failures
        from sqlalchemy import select

        from hub.store.models import Record

        with h.store.sessions() as session:
            stored = session.scalars(select(Record).where(Record.record_id == outcome.records[0])).one()
            assert stored.schema_version == "1.3" and stored.data["review_requested_on"] is None
    finally:
        h.shutdown()
