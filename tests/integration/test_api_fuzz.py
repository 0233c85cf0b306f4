"""Fuzz the HTTP API from its own OpenAPI document (schemathesis), in process (WSGI).

Every operation of ``/openapi.json`` is called with generated requests — valid ones and,
for admins, ones that break the document — as an admin, an agency, the linkage office,
a viewer and with no token at all. Each response must be no 5xx, carry no stack trace,
have a status code and content type the document lists for the operation, and a body
matching the document's schema for it; without a token it must be 401. Known ids
(records, matters, transfers, dead letters, messages, agencies) are fed to the path
parameters too, so the fuzzing reaches the code behind the 404s: the plugins' parsers
through ``POST /inbound/<agency>``, replays, releases and returns.

The run is bounded (``WAGEHUB_API_FUZZ_SCALE`` multiplies it) and reports the number of
cases in ``tests/artifacts/fuzz-counts.json``.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub.contract.types import NativeMessage
from tests.helpers import SAMPLES, record_fuzz_counts

SCALE = float(os.environ.get("WAGEHUB_API_FUZZ_SCALE", "1"))
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
# (role, mode, examples per operation): about a thousand cases in all.
PLAN = [("admin", POSITIVE, 16), ("admin", NEGATIVE, 8), ("agency:hrss", POSITIVE, 8), ("linkage", POSITIVE, 6),
        ("viewer", POSITIVE, 4), (None, POSITIVE, 4)]
TARGETED_EXAMPLES = 5
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
STACK_TRACE = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\", line \d+|\bsite-packages/")
CONTENT_TYPES = {".json": "application/json", ".xml": "application/xml", ".csv": "text/csv",
                 ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def seed(hub) -> dict[str, list]:
    """Every sample (good and bad) through the pipeline: records, a matter, a transfer, dead letters."""
    known: dict[str, list] = {"record_id": [], "matter_id": [], "transfer_no": [], "dead_letter_id": [],
                              "message_id": []}
    paths = sorted(p for p in SAMPLES.rglob("*.*") if p.suffix in CONTENT_TYPES and p.name != "facts.json")
    for i, path in enumerate(paths):
        agency = path.name.split("-", 1)[0]
        kind = ("PROJECT" if "project" in path.name else "PAYROLL") if agency == "housing" else None
        message = NativeMessage(agency=agency, body=path.read_bytes(), message_id=f"fuzz-seed-{i}",
                                content_type=CONTENT_TYPES[path.suffix], kind=kind, headers={})
        [outcome] = hub.pipeline.process([message])
        known["record_id"] += outcome.records
        known["dead_letter_id"] += outcome.dead_letters
        if agency == "hrss":
            known["message_id"].append(message.message_id)
    from sqlalchemy import select

    from hub.store.models import Record, TransferHold

    with hub.store.sessions() as session:
        known["matter_id"] = sorted(set(session.scalars(select(Record.matter_id))))
        known["transfer_no"] = sorted(set(session.scalars(select(TransferHold.transfer_no))))
    assert all(known.values()), f"seeding left something empty: {known}"
    return known


def test_api_fuzzed_from_its_openapi_document(app, hub, token, capsys):
    known = seed(hub)
    headers = {role: token(role) for role, _, _ in PLAN if role}
    headers[None] = {}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    schema.validate()  # the document itself is valid OpenAPI 3
    operations = [result.ok() for result in schema.get_all_operations()]
    from hub.web.api import API_ROUTES

    assert len(operations) == sum(len(r.methods) for r in API_ROUTES)

    counts: Counter = Counter()
    failures: dict[str, str] = {}
    started = time.monotonic()

    def run(operation, role, mode, examples, path_parameters=None):
        label = f"{operation.label} as {role or 'nobody'} ({mode.value}{', known ids' if path_parameters else ''})"

        @hsettings(max_examples=max(1, int(examples * SCALE)), deadline=None, database=None,
                   phases=[Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
        def fuzz(case):
            counts[role or "nobody"] += 1
            try:
                response = case.call_and_validate(headers=headers[role], checks=CHECKS)
            except (FailureGroup, Exception) as exc:  # noqa: BLE001  (collected: each distinct one reported at the end)
                failures.setdefault(f"{label}: {type(exc).__name__}", str(exc)[:1500])
                return
            body = response.content.decode("utf-8", "replace")
            if STACK_TRACE.search(body):
                failures.setdefault(f"{label}: stack trace in the body", body[:1500])
            if role is None and response.status_code != 401:
                failures.setdefault(f"{label}: {response.status_code} without a token", body[:500])

        fuzz()

    for operation in operations:
        for role, mode, examples in PLAN:
            run(operation, role, mode, examples)

    # Known ids in the path: past the 404s, into parsers, replays, releases and returns.
    agencies = sorted(hub.registry.adapters)
    for operation in operations:
        names = {p.name for p in operation.path_parameters}
        if not names or "name" in names:  # leave the plugins enabled: the inbound route needs them
            continue
        role = "linkage" if "/transfers/" in operation.path and operation.method == "post" else "admin"
        choices = {"agency": agencies, **known}
        if "message_id" in names:
            choices["agency"] = ["hrss"]
        for i in range(len(agencies) if "agency" in names else 1):
            fixed = {n: choices[n][i % len(choices[n])] for n in names if n in choices}
            run(operation, role, POSITIVE, TARGETED_EXAMPLES, fixed)
        if "agency" in names and "message_id" not in names:
            run(operation, "agency:hrss", POSITIVE, TARGETED_EXAMPLES, {"agency": "hrss"})

    seconds = time.monotonic() - started
    total = sum(counts.values())
    record_fuzz_counts("schemathesis", {"cases": total, "operations": len(operations), "seconds": round(seconds, 1),
                                        **{f"as {role}": n for role, n in sorted(counts.items())}})
    with capsys.disabled():
        print(f"\nschemathesis: {total} cases over {len(operations)} operations in {seconds:.1f}s "
              f"({', '.join(f'{r} {n}' for r, n in sorted(counts.items()))}); {len(failures)} distinct failure(s)")
    assert total >= 300
    assert not failures, "\n\n".join(f"== {k}\n{v}" for k, v in sorted(failures.items()))


@pytest.mark.parametrize("path", ["/api/v1/dead-letters/9223372036854775808/replay",
                                  "/api/v1/dead-letters/99999999999999999999999/replay"])
def test_a_dead_letter_id_beyond_any_database_integer_is_not_found(client, token, path):
    resp = client.post(path, json={}, headers=token("admin"))
    assert resp.status_code == 404 and resp.is_json


@pytest.mark.parametrize("body", [-10, "text", [1, 2], {"body_base64": 12}, {"body_base64": ["QQ=="]},
                                  {"body_base64": "не base64"}])
def test_a_replay_body_of_the_wrong_shape_is_a_400(client, token, hub, body):
    [outcome] = hub.pipeline.process([NativeMessage(agency="hrss", body=b"{", message_id="bad-1",
                                                    content_type="application/json")])
    [dead_letter] = outcome.dead_letters
    resp = client.post(f"/api/v1/dead-letters/{dead_letter}/replay", json=body, headers=token("admin"))
    assert resp.status_code == 400 and resp.json["error"]["details"]["field"] in ("body", "body_base64")


@pytest.mark.parametrize("data, content_type", [
    ('{"body_base64": "e30="', "application/json"),  # truncated
    ("body_base64=e30%3D", "application/x-www-form-urlencoded"),  # what curl -d sends
])
def test_a_replay_body_that_is_not_json_is_a_400_not_a_replay_of_the_kept_bytes(client, token, hub, data,
                                                                                content_type):
    [outcome] = hub.pipeline.process([NativeMessage(agency="hrss", body=b"{", message_id="bad-2",
                                                    content_type="application/json")])
    [dead_letter] = outcome.dead_letters
    resp = client.post(f"/api/v1/dead-letters/{dead_letter}/replay", data=data,
                       headers={**token("admin"), "Content-Type": content_type})
    assert resp.status_code == 400 and resp.json["error"]["details"] == {"field": "body", "rule": "json"}
    listed = client.get("/api/v1/dead-letters", headers=token("admin")).json["items"]
    assert [d["attempts"] for d in listed if d["id"] == dead_letter] == [0]  # not replayed


@pytest.mark.parametrize("body", [-10, "text", [1, 2]])
def test_a_decision_body_that_is_not_an_object_is_a_400(client, token, body):
    for action in ("release", "return"):
        resp = client.post(f"/api/v1/transfers/YS1/{action}", json=body, headers=token("linkage"))
        assert resp.status_code == 400 and resp.json["error"]["details"] == {"field": "body", "rule": "type"}



@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_report_day_at_the_ends_of_the_calendar_is_a_400(client, token, day):
    for route in ("bulletin", "followups"):
        resp = client.get(f"/api/v1/{route}?date={day}", headers=token("viewer"))
        assert resp.status_code == 400 and resp.json["error"]["details"] == {"field": "date", "rule": "range"}
