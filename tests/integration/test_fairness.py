"""One agency's heavy file never holds another agency's messages: each agency has its own
consumer, so an hrss clue is applied while a union ledger is still being parsed.
Runs on the embedded defaults and, in CI, on RabbitMQ and PostgreSQL."""

from __future__ import annotations

import threading

from hub.store.models import Inbox, Record
from tests.helpers import count_rows, sample, wait_for

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_a_message_is_applied_while_another_agencys_file_is_being_parsed(hub, agency, monkeypatch):
    from hub.runtime import Workers

    union = hub.registry.get("union")
    parse = union.parse
    parsing, done_parsing = threading.Event(), threading.Event()

    def heavy(message):
        """The real parse, held until the test lets it go: a heavy file, for as long as needed."""
        items = parse(message)
        parsing.set()
        assert done_parsing.wait(120)
        yield from items

    monkeypatch.setattr(union, "parse", heavy)
    workers = Workers(hub)
    workers.start()
    try:
        wait_for(lambda: {"hrss", "union"} <= set(workers.consuming), timeout=20)
        agency.publish("union", sample("union-mediation.xlsx"), message_id="ledger", content_type=XLSX,
                       content_encoding="binary")
        wait_for(parsing.is_set, timeout=20)
        agency.publish("hrss", sample("hrss-clue.json"), message_id="clue")
        wait_for(lambda: count_rows(hub, Inbox, Inbox.message_id == "clue"), timeout=20)
        assert not done_parsing.is_set() and count_rows(hub, Inbox, Inbox.message_id == "ledger") == 0
        done_parsing.set()
        wait_for(lambda: count_rows(hub, Inbox, Inbox.message_id == "ledger"), timeout=20)
        assert count_rows(hub, Record, Record.type == "clue") == 1
        assert count_rows(hub, Record, Record.type == "mediation_result") == 1
    finally:
        done_parsing.set()
        workers.stop()
