"""A NUL character anywhere in a message — a field value, the message_id, the kind, a
header — is refused with a reason (rule ``no-nul``), never taken for a database outage.

PostgreSQL text cannot hold NUL: before, such a message made the pipeline report the
database unavailable, so the worker held its batch and retried it for ever, and every
message behind it waited (found by fuzzing the API on PostgreSQL). Runs on the embedded
defaults and, in CI, on RabbitMQ and PostgreSQL.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select

from hub.store.models import DeadLetter, Record
from tests.helpers import sample, wait_for

CLUE = json.loads(sample("hrss-clue.json"))


def clue(no: str, **data) -> bytes:
    doc = json.loads(json.dumps(CLUE))
    doc["data"].update(clueNo=no, **data)
    return json.dumps(doc, ensure_ascii=False).encode()


def count(hub, model, *where):
    with hub.store.sessions() as session:
        return session.execute(select(func.count()).select_from(model).where(*where)).scalar()


def test_nul_characters_are_dead_lettered_and_the_queue_goes_on(hub, agency, caplog):
    from hub.runtime import Workers

    poison = [  # (message_id, body, extra publish arguments)
        ("nul-value", clue("XS3701032023050\u000001"), {}),
        ("nul-\x00-id", clue("XS370103202305002"), {}),
        ("nul-kind", clue("XS370103202305003"), {"headers": {"x-wagehub-kind": "CL\x00UE"}}),
        ("nul-header", clue("XS370103202305004"), {"headers": {"x-trace": "a\x00b"}}),
    ]
    with Workers(hub):
        for i, (message_id, body, extra) in enumerate(poison):
            agency.publish("hrss", body, message_id=message_id, **extra)
            agency.publish("hrss", clue(f"XS37010320230510{i}"), message_id=f"good-{i}")
        wait_for(lambda: count(hub, Record) == len(poison) and count(hub, DeadLetter) == len(poison), timeout=30)
    assert not [r for r in caplog.records if "held" in r.getMessage()]  # never taken for an outage
    with hub.store.sessions() as session:
        letters = list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))
    assert {dl.rule for dl in letters} == {"no-nul"}
    assert sorted(dl.field for dl in letters) == sorted(["data.clueNo", "message_id", "kind", "x-trace"])
    assert all("\x00" not in (dl.message_id + dl.reason) for dl in letters)  # stored with U+FFFD instead


def test_nul_in_a_query_or_path_value_is_a_400(client, token):
    admin = token("admin")
    for url in ("/api/v1/dead-letters?status=%00", "/api/v1/records?type=a%00b", "/api/v1/records/rec%00",
                "/api/v1/matters/m%00", "/api/v1/escalations?level=%00", "/api/v1/receipts/hrss/m%00"):
        resp = client.get(url, headers=admin)
        assert resp.status_code == 400 and resp.json["error"]["details"]["rule"] == "no-nul", url
    assert client.get("/api/v1/records?type=%00").status_code == 401  # the token is checked first


def test_lone_surrogates_are_dead_lettered_with_the_field_and_rule(hub, agency, caplog):
    """JSON may escape half a character (``"\\ud800"``) and AMQP headers are read with
    surrogatepass: no encoding can write such a string, so it is refused (rule ``unicode``)
    naming the field, never a hub error or a database outage."""
    from hub.runtime import Workers

    half = json.dumps({"x": "\ud800"})[7:13]  # the six characters \ud800, as JSON writes them
    body = clue("XS370103202305201").replace(b'"employer": {"name": "', ('"employer": {"name": "' + half).encode())
    assert half.encode() in body
    with Workers(hub):
        agency.publish("hrss", body, message_id="half-value")
        agency.publish("hrss", clue("XS370103202305202"), message_id="half-header", headers={"x-trace": "a\udc80b"})
        agency.publish("hrss", clue("XS370103202305203"), message_id="whole")
        # in the clue's own number: named as the record's field, not as the source_ref repeating it
        agency.publish("hrss", clue("XS3701032023HALF").replace(b"HALF", half.encode()), message_id="half-number")
        wait_for(lambda: count(hub, Record) == 1 and count(hub, DeadLetter) == 3, timeout=30)
    assert not [r for r in caplog.records if "held" in r.getMessage()]
    with hub.store.sessions() as session:
        letters = {dl.message_id: dl for dl in session.scalars(select(DeadLetter))}
    assert {(dl.field, dl.rule) for dl in letters.values()} == {("data.employer.name", "unicode"), ("x-trace", "unicode"),
                                                                ("data.clueNo", "unicode")}
    assert "lone surrogate" in letters["half-value"].reason
    assert letters["half-value"].body == body  # the original bytes, to replay after a fix


def test_overlong_message_ids_and_kinds_are_dead_lettered_not_taken_for_an_outage(hub, agency, caplog):
    """A message id or kind longer than the store's columns is refused (rule ``length``),
    kept as a dead letter (its id cut to fit, a digest at its end), and the queue goes on.
    On PostgreSQL it was a database error, taken for an outage: held and retried for ever."""
    from hub.runtime import Workers

    long_id = "m-" + "x" * 230  # (AMQP carries up to 255 bytes; the store keeps 200 characters)
    with Workers(hub):
        agency.publish("hrss", clue("XS370103202305301"), message_id=long_id)
        agency.publish("hrss", clue("XS370103202305302"), message_id="long-kind", headers={"x-wagehub-kind": "K" * 41})
        agency.publish("hrss", clue("XS370103202305303"), message_id="after")
        wait_for(lambda: count(hub, Record) == 1 and count(hub, DeadLetter) == 2, timeout=30)
    assert not [r for r in caplog.records if "held" in r.getMessage()]
    with hub.store.sessions() as session:
        letters = list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))
    assert [(dl.field, dl.rule) for dl in letters] == [("message_id", "length"), ("x-wagehub-kind", "length")]
    assert len(letters[0].message_id) == 200 and letters[0].message_id.startswith("m-xxx")
    assert len(letters[1].kind) == 40
