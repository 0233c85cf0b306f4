"""A clue against a store of 1,000,000 clues, against an empty one: the hub's own work per clue.

Matter linking (the clue's number, the complainant, the employer and project), the
duplicate checks, the route's related records (a clue's project) and the outbox rows
are index lookups; this shows whether they stay so as the store grows. The store is
filled with bulk inserts (COPY on PostgreSQL) as the hub would have left it: per clue a
record, its matter, its numbers (clue, complainant, employer+project), its inbox row
and a sent outbox row; 10,000 projects, each with its own record and number. Then
batches of new clues on those projects (three routes each: union, housing, the
contractor) go through the pipeline (parse, validate, one transaction), timed, as on the
empty store. Rendering and publishing are the relay's (``bench/union_referral.py``).

    python bench/clue_store.py [--clues 1000000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from measure import reset_database  # noqa: E402
from mix import CONTRACTOR_USCC, clue  # noqa: E402

import hub  # noqa: E402

PROJECTS = 10_000
CHUNK = 20_000


def _project_code(p: int) -> str:
    return f"3701032023{p:04d}"


def fill(h, clues: int, say=print) -> float:
    """``clues`` clues (and 10,000 projects) in the store, as the hub leaves them; seconds taken."""
    from hub.store import insert_rows
    from hub.store.models import Inbox, Matter, MatterKey, Outbox, Record

    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    engine = h.store.engine
    with engine.begin() as conn:
        matters, keys, records = [], [], []
        for p in range(PROJECTS):
            mid = f"mat_p{p:010d}"
            matters.append({"id": mid, "created_at": now, "updated_at": now, "merged_into": None})
            keys.append({"key": f"project:{_project_code(p)}", "matter_id": mid, "seq": p})
            data = {"type": "project", "project_code": _project_code(p), "matter_id": mid,
                    "contractor": {"uscc": CONTRACTOR_USCC, "name": "山东鲁建建工集团有限公司"}}
            records.append({"record_id": f"rec_p{p:010d}", "type": "project", "schema_version": "1.0",
                            "source_agency": "housing", "source_ref": _project_code(p), "matter_id": mid,
                            "message_id": "fill-projects", "fingerprint": f"p{p}", "occurred_at": now,
                            "accepted_at": now, "data": data})
        insert_rows(conn, Matter.__table__, matters)
        insert_rows(conn, MatterKey.__table__, keys)
        insert_rows(conn, Record.__table__, records)
    for start in range(0, clues, CHUNK):
        matters, keys, records, inbox, outbox = [], [], [], [], []
        for i in range(start, min(clues, start + CHUNK)):
            mid, no = f"mat_c{i:010d}", f"XSF{i:011d}"
            project = _project_code(i % PROJECTS)
            uscc = f"91370103{i:09d}X"  # an employer of its own: each employer-project key once
            matters.append({"id": mid, "created_at": now, "updated_at": now, "merged_into": None})
            person = hashlib.sha256(f"person-{i}".encode()).hexdigest()[:40]
            keys += [{"key": f"clue:{no}", "matter_id": mid, "seq": 3 * i},
                     {"key": f"person:{person}", "matter_id": mid, "seq": 3 * i + 1},
                     {"key": f"employer-project:{uscc}:{project}", "matter_id": mid, "seq": 3 * i + 2}]
            data = {"type": "clue", "clue_no": no, "matter_id": mid, "project_code": project,
                    "employer": {"uscc": uscc, "name": "劳务公司"}, "period_from": "2023-01", "period_to": "2023-04"}
            records.append({"record_id": f"rec_c{i:010d}", "type": "clue", "schema_version": "1.0",
                            "source_agency": "hrss", "source_ref": no, "matter_id": mid, "message_id": f"fill-{i}",
                            "fingerprint": f"c{i}", "occurred_at": now, "accepted_at": now, "data": data})
            inbox.append({"agency": "hrss", "message_id": f"fill-{i}", "kind": "CLUE", "received_at": now,
                          "records": 1, "rejected": 0})
            outbox.append({"message_id": f"out_f{i:010d}", "record_id": f"rec_c{i:010d}", "record_type": "clue",
                           "source_agency": "hrss", "matter_id": mid, "recipient": "union", "kind": "referral",
                           "route": "clue-to-union", "payload": {"record": {"clue_no": no}, "refs": {}},
                           "status": "sent", "attempts": 1, "next_attempt_at": now, "claimed_until": None,
                           "last_error": None, "created_at": now, "sent_at": now})
        with engine.begin() as conn:
            for model, rows in ((Matter, matters), (MatterKey, keys), (Record, records), (Inbox, inbox),
                                (Outbox, outbox)):
                insert_rows(conn, model.__table__, rows)
        say(f"  {min(clues, start + CHUNK):,} clues in the store ({time.perf_counter() - started:.0f} s)")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            from sqlalchemy import text

            conn.execute(text("ANALYZE"))
    return time.perf_counter() - started


def time_clues(h, first: int, batches: int, size: int) -> list[tuple[float, float]]:
    """(wall, this process's CPU) ms per clue of each batch of ``size`` new clues (on the
    store's projects) through the pipeline. CPU is the steadier figure on a shared machine."""
    out = []
    for b in range(batches):
        messages = []
        for k in range(size):
            i = first + b * size + k
            agency, body, ctype, cenc, _ = clue(i, project=True)
            messages.append(hub.NativeMessage(agency=agency, body=body, message_id=f"timed-{i}", content_type=ctype,
                                              content_encoding=cenc))
        start, cpu = time.perf_counter(), time.process_time()
        outcomes = h.pipeline.process(messages)
        out.append((1000 * (time.perf_counter() - start) / size, 1000 * (time.process_time() - cpu) / size))
        applied = sum(len(o.records) for o in outcomes)
        if applied != size:
            raise SystemExit(f"a batch applied {applied} of {size} clues")
    return out


def run(database_url: str = "", clues: int = 1_000_000, batches: int = 12, size: int = 100, say=print) -> dict:
    from hub.config import load_settings
    from hub.runtime import Hub

    result: dict = {"clues_in_store": clues, "batch": size, "batches": batches}
    for label, n in (("empty", 0), ("full", clues)):
        var = tempfile.mkdtemp(prefix="wagehub-bench-store-")
        settings = load_settings({"hub": {"var_dir": var, "database_url": database_url}}, environ={})
        reset_database(database_url)
        h = Hub(settings)
        import logging

        logging.getLogger("hub").setLevel(logging.WARNING)
        say(f"== {label} store: {n:,} clues ({'PostgreSQL' if database_url else 'SQLite'})")
        result[f"fill_seconds_{label}"] = round(fill(h, n, say), 1)
        time_clues(h, 10**9, 2, size)  # warm up: caches, prepared statements
        per = time_clues(h, 10**9 + 10_000, batches, size)
        wall, cpu = statistics.median(w for w, _ in per), statistics.median(c for _, c in per)
        result[label] = {"ms_per_clue_median": round(wall, 3), "cpu_ms_per_clue_median": round(cpu, 3),
                         "ms_per_clue": [round(w, 3) for w, _ in per]}
        say(f"   {label}: median {wall:.3f} ms per clue ({cpu:.3f} ms CPU) over {batches} batches of {size}")
        h.shutdown()
    result["slowdown"] = round(result["full"]["ms_per_clue_median"] / result["empty"]["ms_per_clue_median"], 3)
    result["cpu_slowdown"] = round(result["full"]["cpu_ms_per_clue_median"] / result["empty"]["cpu_ms_per_clue_median"], 3)
    return result


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clues", type=int, default=1_000_000)
    ap.add_argument("--batches", type=int, default=12)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    r = run(args.database_url, args.clues, args.batches, args.size)
    print(f"store of {args.clues:,} clues: {r['full']['ms_per_clue_median']} ms per clue "
          f"({r['full']['cpu_ms_per_clue_median']} ms CPU), empty store {r['empty']['ms_per_clue_median']} ms "
          f"({r['empty']['cpu_ms_per_clue_median']} ms CPU): x{r['slowdown']} (CPU x{r['cpu_slowdown']})")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))
