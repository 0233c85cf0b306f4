"""A clue's cost does not grow with its matter or the store: what the pipeline reads and
writes per clue is counted (statements, rows), never timed (bench/clue_store.py times it).
Runs on the embedded defaults and, in CI, on PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, select, text

import hub
from hub.messaging.outbox import waiting_behind
from hub.store.models import Record
from tests.helpers import sample

CLUE = json.loads(sample("hrss-clue.json"))
PROJECTS = sample("housing-project.csv")


def clue(i: int, id_number: str | None = None) -> hub.NativeMessage:
    """Clue ``i`` on the sample's project and employer, over the sample's period: a
    duplicate complaint of the same arrears (one matter), from a complainant of its own."""
    doc = json.loads(json.dumps(CLUE))
    doc["msgId"] = f"cost-{i}"
    doc["data"]["clueNo"] = f"XSCOST{i:08d}"
    doc["data"]["complainant"]["idNo"] = id_number or _id_number(i)
    return hub.NativeMessage(agency="hrss", body=json.dumps(doc, ensure_ascii=False).encode(), message_id=f"cost-{i}",
                             content_type="application/json", content_encoding="utf-8")


def _id_number(i: int) -> str:
    from schemas.validators import id_check_char

    first17 = f"370103198{i % 10}{1 + i % 12:02d}{1 + i % 28:02d}{i // 420:03d}"  # one person each
    return first17 + id_check_char(first17)


class Statements:
    """The SQL statements the store runs (and rows fetched) while it is counting."""

    def __init__(self, engine):
        self.engine, self.seen = engine, []
        event.listen(engine, "before_cursor_execute", self._note)

    def _note(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append(" ".join(statement.split()).upper())

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._note)

    def count(self, start: str) -> int:
        return sum(s.startswith(start.upper()) for s in self.seen)

    def writes(self, table: str) -> int:
        """Statements that wrote rows to ``table``: INSERTs, or COPYs on PostgreSQL."""
        return self.count(f"INSERT INTO {table}") + self.count(f"COPY {table} ")


@pytest.fixture
def counted(hub, monkeypatch):
    projects = hub.pipeline.process([hub_message_projects()])
    assert sum(len(o.records) for o in projects) == 2
    statements = Statements(hub.store.engine)
    if hub.store.dialect == "postgresql":  # the store's COPY runs on psycopg's cursor, past SQLAlchemy's events
        import psycopg

        copy = psycopg.Cursor.copy

        def noted_copy(cursor, statement, *args, **kwargs):
            statements.seen.append(" ".join(str(statement).split()).upper())
            return copy(cursor, statement, *args, **kwargs)

        monkeypatch.setattr(psycopg.Cursor, "copy", noted_copy)
    yield hub, statements
    statements.close()


def hub_message_projects() -> hub.NativeMessage:
    return hub.NativeMessage(agency="housing", body=PROJECTS, message_id="cost-projects", content_type="text/csv",
                             content_encoding="utf-8-sig", kind="PROJECT")


def test_a_batch_of_clues_on_one_project_is_written_in_one_go(counted):
    """A clue naming a project looks up the project (a route's extra field) and whether it
    repeats an earlier complaint; neither writes the batch held back a clue at a time."""
    hub, statements = counted
    outcomes = hub.pipeline.process([clue(i) for i in range(20)])
    assert sum(len(o.records) for o in outcomes) == 20
    with hub.store.transaction() as session:
        matters = session.scalars(select(Record.matter_id).where(Record.type == "clue").distinct()).all()
    assert len(matters) == 1  # one arrears: one matter
    assert statements.writes("records") == 1, statements.seen
    assert statements.writes("outbox") == 1


def test_the_duplicate_check_reads_a_page_of_a_big_matter_not_all_of_it(counted):
    hub, statements = counted
    for first in range(0, 300, 100):  # one matter of 300 clues
        hub.pipeline.process([clue(i) for i in range(first, first + 100)])
    statements.seen.clear()
    hub.pipeline.process([clue(300)])
    reads = [s for s in statements.seen if s.startswith("SELECT RECORDS.SEQ, RECORDS.DATA")]
    assert len(reads) == 1 and "LIMIT" in reads[0]  # the latest page overlaps: found at once


def test_the_store_finds_a_rows_place_in_line_and_a_matters_record_by_index(hub):
    """waiting_behind skips the rows already sent; related() seeks a matter's record of a type."""
    if hub.store.dialect != "sqlite":
        pytest.skip("SQLite's plan is read here; PostgreSQL's depends on its statistics")
    with hub.store.engine.connect() as conn:
        plan = " ".join(r[-1] for r in conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT 1 FROM outbox e WHERE e.matter_id = 'm' AND e.recipient = 'r' "
            "AND e.status = 'pending' AND e.id < 10")))
        assert "ix_outbox_matter (matter_id=? AND recipient=? AND status=? AND id<?)" in plan, plan
        plan = " ".join(r[-1] for r in conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT data FROM records WHERE matter_id = 'm' AND type = 'project' "
            "ORDER BY seq DESC LIMIT 1")))
        assert "ix_records_matter_type (matter_id=? AND type=?)" in plan, plan
    with hub.store.transaction() as session:
        assert waiting_behind(session, ["none"]) == set()


def test_a_delivery_carries_the_oldest_numbers_of_its_matter_not_all(counted):
    """A matter of thousands of complaints would put every clue number in every delivery."""
    from hub.casework.matters import DELIVERY_REFS
    from hub.store.models import Outbox

    hub, _ = counted
    hub.pipeline.process([clue(i) for i in range(DELIVERY_REFS + 5)])
    with hub.store.transaction() as session:
        last = session.scalars(select(Outbox.payload).where(Outbox.recipient == "union").order_by(Outbox.id.desc())
                               .limit(1)).one()
    assert last["refs"]["clue_no"] == [f"XSCOST{i:08d}" for i in range(DELIVERY_REFS)]
    assert last["record"]["clue_no"] == f"XSCOST{DELIVERY_REFS + 4:08d}"  # its own number, always
