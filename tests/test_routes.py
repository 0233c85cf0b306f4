"""Data minimisation, route by route: a recipient gets only the fields its route lists."""

from __future__ import annotations

import json

import pytest

from hub.config import DEFAULTS
from hub.messaging.routes import ALWAYS, get_path, load_routes
from schemas import normalise_record
from tests.schemas.test_records import EXAMPLES, record

ROUTES = load_routes(DEFAULTS / "routes.toml")
PERSONAL = ("id_number", "mobile")


def full_record(rtype: str) -> dict:
    data = normalise_record(record(rtype))
    data.update(record_id="rec_1", matter_id="mat_1")
    if rtype == "clue":
        data["complainant"] = {"name": "王春生", "id_number": "37010319821226234X", "mobile": "13923720696"}
    return data


def paths(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list):
        for item in value:
            yield from paths(item, prefix)
    else:
        yield prefix


@pytest.mark.parametrize("route", ROUTES, ids=[r.name for r in ROUTES])
def test_a_route_sends_only_its_fields(route):
    assert route.type in EXAMPLES
    source = full_record(route.type)
    sent = route.project(source, related=lambda rtype: None)
    allowed = set(ALWAYS) | set(route.fields) | set(route.extra)
    for path in paths(sent):
        assert path in allowed or any(path.startswith(f + ".") for f in allowed), f"{route.name} leaks {path}"
    for path in route.mask:
        value = get_path(sent, path)
        assert value is None or "*" in value, f"{route.name} sends {path} unmasked"
    text = json.dumps(sent, ensure_ascii=False)
    for field in PERSONAL:
        listed = [f for f in route.fields if f.endswith(field) or f in ("suspects", "defendants", "complainant")]
        if not listed:
            assert f'"{field}"' not in text or all("*" in str(get_path(sent, m)) for m in route.mask), \
                f"{route.name} sends {field} without listing it"


def test_the_union_sees_a_masked_mobile_and_no_identity_number():
    [route] = [r for r in ROUTES if r.name == "clue-to-union"]
    sent = route.project(full_record("clue"), related=lambda rtype: None)
    assert sent["complainant"] == {"mobile": "139****0696"}
    assert "37010319821226234X" not in json.dumps(sent)
