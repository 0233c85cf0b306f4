"""Bulk inserts: SQLAlchemy's ``insert()`` executemany against ``hub.store.insert_rows``
(COPY on PostgreSQL), in the same run, on the same table and rows.

Inserts outbox rows shaped like the hub's (a JSON payload, datetimes) in transactions of
200, alternating the two ways, and prints the client's and the server's CPU per row for
each. The server's CPU is read from /proc (PostgreSQL's processes), so run it on the
database's machine. The rows go to a table of its own (``bench_bulk_outbox``, the outbox's
columns and indexes), created for the run and dropped after it.

    python bench/bulk_insert.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from measure import services_cpu  # noqa: E402
from sqlalchemy import MetaData, Table, insert  # noqa: E402

from hub.store import insert_rows, make_engine  # noqa: E402
from hub.store.models import Outbox  # noqa: E402

PAYLOAD = {"record": {"type": "police_receipt", "transfer_no": "YS37B00000000001", "officer": "李警官",
                      "amount": "382848.00", "defendants": [{"name": "徐建国"}]},
           "refs": {"clue": ["XS370103202300001"], "case": ["AJ370103202300001"]}, "params": {},
           "created_at": "2023-06-21T10:00:00+08:00"}


def rows(tag: str, n: int) -> list[dict]:
    now = dt.datetime.now(dt.UTC)
    return [{"message_id": f"out-{tag}-{i}", "record_id": f"rec-{tag}-{i}", "record_type": "police_receipt",
             "source_agency": "police", "matter_id": f"mat-{tag}-{i}", "recipient": "hrss", "kind": "NOTICE",
             "route": "bench", "payload": PAYLOAD, "status": "pending", "attempts": 0, "next_attempt_at": now,
             "created_at": now, "claimed_until": None} for i in range(n)]


def bench_table() -> Table:
    """The outbox's columns and indexes under names of their own."""
    table = Outbox.__table__.to_metadata(MetaData(), name="bench_bulk_outbox")
    for index in table.indexes:
        index.name = f"bench_bulk_{index.name}"
    return table


def run(url: str, batches: int = 50, size: int = 200, rounds: int = 2) -> dict[str, list[dict]]:
    engine = make_engine(url)
    table = bench_table()
    table.drop(engine, checkfirst=True)
    table.create(engine)
    ways = {
        "insert() executemany": lambda conn, batch: conn.execute(insert(table), batch),
        "insert_rows": lambda conn, batch: insert_rows(conn, table, batch),
    }
    out: dict[str, list[dict]] = {name: [] for name in ways}
    for r in range(rounds):
        for k, (name, write) in enumerate(ways.items()):
            client, server, wall = time.process_time(), services_cpu(), time.perf_counter()
            for b in range(batches):
                with engine.begin() as conn:
                    write(conn, rows(f"{k}-{r}-{b}", size))
            n = batches * size
            out[name].append({"client_ms_per_row": round(1000 * (time.process_time() - client) / n, 4),
                              "server_ms_per_row": round(1000 * (services_cpu() - server) / n, 4),
                              "wall_ms_per_row": round(1000 * (time.perf_counter() - wall) / n, 4)})
    table.drop(engine)
    engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", default="", help="default: a SQLite file in a temporary folder")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='wagehub-bulk-')}/bench.sqlite3"
    result = run(url, rounds=args.rounds)
    print(f"{'way':<24}{'round':>6}{'client ms/row':>15}{'server ms/row':>15}{'wall ms/row':>13}")
    for name, figures in result.items():
        for i, f in enumerate(figures, 1):
            print(f"{name:<24}{i:>6}{f['client_ms_per_row']:>15}{f['server_ms_per_row']:>15}{f['wall_ms_per_row']:>13}")


if __name__ == "__main__":
    main()
