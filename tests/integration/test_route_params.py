"""What a route hands a recipient's renderer besides the record: ``params``, and the end of
a hub deadline (``due_rule``), counted as the hub counts its own deadline for that step.
Runs on the embedded defaults and, in CI, on RabbitMQ and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.conftest import sample


def test_an_assignments_deadline_is_its_date_plus_the_configured_handling_period(hub, agency, settings):
    """三交办: 办结期限 is the assignment date plus the handling period the hub's own
    housing_answer deadline uses ([deadlines.housing_answer]: 10 working days, with
    China's holidays and make-up working days), not a second, calendar-day setting."""
    from hub.deadlines import add_working_days
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
