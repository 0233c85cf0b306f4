"""What a route hands a recipient's renderer besides the record: ``params``, and the end of
a hub deadline (``due_rule``), counted as the hub counts its own deadline for that step.
Runs on the embedded defaults and, in CI, on RabbitMQ and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.helpers import sample


def test_an_assignments_deadline_is_its_date_plus_the_configured_handling_period(hub, agency, settings):
    """三交办: 办结期限 is the assignment date plus the handling period the hub's own
    housing_answer deadline uses ([deadlines.housing_answer]: 10 working days, with
    China's holidays and make-up working days), not a second, calendar-day setting."""
    from hub.casework.deadlines import add_working_days
    from hub.runtime import Workers

    assert settings["deadlines"]["housing_answer"]["working_days"] == 10
    with Workers(hub):
        agency.publish("hrss", sample("hrss-clue.json"), message_id="clue-due")
        [message] = agency.receive("housing", 1)
    row = dict(zip(*csv.reader(io.StringIO(message.raw.decode("utf-8-sig")))))
    assigned = dt.date.fromisoformat(row["交办日期"])
    assert row["办结期限"] == add_working_days(assigned, 10).isoformat()


def test_a_route_naming_no_such_limit_is_refused_at_start(settings):
    """... and the hub that refused to start leaves no database connection open behind it."""
    import gc
    import warnings

    from hub.runtime import Hub

    settings["hub"]["routes_file"] = str(_routes(settings, 'params = { due_rule = "housing_anwser" }'))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with pytest.raises(ValueError, match="clue-to-housing: due_rule 'housing_anwser' is no \\[deadlines\\] limit"):
            Hub(settings)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def _routes(settings, params_line: str):
    from pathlib import Path

    path = Path(settings["hub"]["var_dir"]) / "routes.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'''[[routes]]
name = "clue-to-housing"
type = "clue"
to = "housing"
kind = "ASSIGNMENT"
fields = ["clue_no"]
{params_line}
''', encoding="utf-8")
    return path


def test_a_dossier_sent_again_reaches_the_police_as_bcys_named_so_on_the_queue(hub, agency):
    """The outbox row asks for AJYS (the one transfer-to-police route) with ``params.round`` 2:
    the police plugin writes a BCYS, and the queue's ``x-wagehub-kind`` says what it wrote."""
    from hub import NativeMessage
    from hub.ids import new_id
    from hub.runtime import Workers
    from hub.store.models import Outbox
    from plugins import hrss

    [parsed] = hrss.parse_message(message=NativeMessage(
        agency="hrss", body=sample("hrss-transfer.json"), content_type="application/json"), settings={})
    record = {"type": "criminal_transfer", "source_agency": "hrss", "source_ref": parsed.source_ref,
              **parsed.record}
    with hub.store.transaction() as session:
        session.add(Outbox(message_id=new_id("out"), record_id="rec-round-2", record_type="criminal_transfer",
                           source_agency="hrss", matter_id="mat-round", recipient="police", kind="AJYS",
                           route="transfer-to-police",
                           payload={"record": record, "refs": {}, "params": {"round": 2},
                                    "created_at": "2023-06-23T09:00:00+08:00"}))
    with Workers(hub):
        [message] = agency.receive("police", 1)
    assert message.headers["x-wagehub-kind"] == "BCYS"
    text = message.raw.decode("gb18030")
    assert '<PACKET TYPE="BCYS"' in text and "<BCCS>2</BCCS>" in text
    assert record["transfer_no"] in text
