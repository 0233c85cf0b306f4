"""Two writers meeting on the same matter numbers at once lose nothing and split no matter."""

from __future__ import annotations

import json
import threading

from sqlalchemy import select

from hub.contract.types import NativeMessage
from hub.store.models import Record
from tests.helpers import sample

CLUE = json.loads(sample("hrss-clue.json"))
CASE = json.loads(sample("hrss-case.json"))


def messages(i: int) -> tuple[NativeMessage, NativeMessage]:
    clue, case = json.loads(json.dumps(CLUE)), json.loads(json.dumps(CASE))
    clue["data"]["clueNo"] = f"XSRACE{i:04d}"
    case["data"]["caseNo"] = f"AJRACE{i:04d}"
    case["data"]["clueNos"] = [f"XSRACE{i:04d}"]
    return (NativeMessage("hrss", json.dumps(clue).encode(), f"clue-{i}", "application/json"),
            NativeMessage("hrss", json.dumps(case).encode(), f"case-{i}", "application/json"))


def test_concurrent_batches_sharing_new_numbers_join_one_matter(hub):
    from hub.runtime import Hub

    other = Hub(hub.settings)  # a second worker process's pipeline, on its own connections
    try:
        rounds = 15
        for i in range(rounds):
            clue, case = messages(i)
            barrier = threading.Barrier(2)
            outcomes = {}

            def run(name, pipeline, message, barrier=barrier, outcomes=outcomes):
                barrier.wait()
                outcomes[name] = pipeline.process([message])[0]

            threads = [threading.Thread(target=run, args=("clue", hub.pipeline, clue)),
                       threading.Thread(target=run, args=("case", other.pipeline, case))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert outcomes["clue"].status == outcomes["case"].status == "accepted"
        with hub.store.sessions() as session:
            rows = list(session.scalars(select(Record)))
        assert len(rows) == 2 * rounds
        by_clue = {}
        for r in rows:
            number = r.data.get("clue_no") or r.data["clue_nos"][0]
            by_clue.setdefault(number, set()).add(r.matter_id)
        assert all(len(m) == 1 for m in by_clue.values())  # clue and case on one matter each time
    finally:
        other.shutdown()
