"""Fairness: how long one agency's single message waits behind other agencies' big files.

A ``wagehub worker`` process runs on a fresh store and queues. A 50,000-row union ledger
(``union_workbook.py``) and a 200,000-row housing payroll (``housing_payroll.py``) are
published, then at once one hrss clue; the figure is the clue's wait: from its publish
to its message being applied (its inbox row committed, polled every 5 ms). Each round
sends the three again (new message ids, new clue number); the longest wait is the figure
(target: at most 1 s). The big files' own times, publish to applied, are printed too.
Usage: ``python bench/fairness.py [--rounds N] [--union-rows N] [--payroll-rows N]
[--broker-url URL --database-url URL] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import housing_payroll
import throughput
import union_workbook
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
CLUE = (ROOT / "plugins" / "hrss" / "samples" / "hrss-clue.json").read_text(encoding="utf-8")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _applied(hub, pending: dict[tuple[str, str], float], seen: dict[tuple[str, str], float]) -> None:
    """Move the messages the inbox now holds from ``pending`` to ``seen`` (with the time seen)."""
    from hub.store.models import Inbox

    with hub.store.sessions() as session:
        rows = session.execute(select(Inbox.agency, Inbox.message_id)
                               .where(Inbox.message_id.in_([m for _, m in pending]))).all()
    now = time.perf_counter()
    for agency, message_id in rows:
        if (agency, message_id) in pending:
            seen[(agency, message_id)] = now - pending.pop((agency, message_id))


def run(broker_url: str = "", database_url: str = "", union_rows: int = 50_000, payroll_rows: int = 200_000,
        rounds: int = 3, timeout: float = 900) -> dict:
    import tempfile

    from hub.messaging.client import publish_native
    from hub.runtime import Hub

    settings = throughput.reset(broker_url, database_url, tempfile.mkdtemp(prefix="wagehub-bench-"))
    ledger = union_workbook.generated(union_rows)
    payroll = housing_payroll.generated(payroll_rows)
    procs = throughput.start_workers(settings, 1)
    hub = Hub(settings)
    logging.getLogger("hub").setLevel(logging.WARNING)
    conn = hub.connection()
    waits, files = [], {"union": [], "housing": []}
    try:
        throughput._wait_consuming(settings, 1, agencies=("hrss", "union", "housing"))
        for r in range(rounds + 1):  # round 0 warms up (plugins' first parse, the store's first writes)
            clue = CLUE.replace("HRSS-370103-880-1", f"FAIR-{r}").replace("XS3701032023050880", f"XS37010320239{r:05d}")
            pending: dict[tuple[str, str], float] = {}
            sent = [("union", ledger, XLSX, "binary", None), ("housing", payroll, "text/csv", "gb18030", "PAYROLL"),
                    ("hrss", clue.encode(), "application/json", "utf-8", None)]
            for agency, body, ctype, cenc, kind in (sent if r else sent[2:]):
                at = time.perf_counter()
                mid = publish_native(conn, agency, body, content_type=ctype, content_encoding=cenc, kind=kind,
                                     message_id=f"fair-{agency}-{r}", settings=settings)
                pending[(agency, mid)] = at
            seen: dict[tuple[str, str], float] = {}
            deadline = time.monotonic() + timeout
            while pending and time.monotonic() < deadline:
                _applied(hub, pending, seen)
                time.sleep(0.005)
            if pending:
                raise SystemExit(f"not applied within {timeout:.0f} s: {sorted(pending)}; see the workers' log")
            if r:
                waits.append(seen[("hrss", f"fair-hrss-{r}")])
                for agency in files:
                    files[agency].append(seen[(agency, f"fair-{agency}-{r}")])
    finally:
        conn.release()
        throughput.stop_workers(procs)
        hub.shutdown()
    return {"rounds": rounds, "union_rows": union_rows, "payroll_rows": payroll_rows,
            "hrss_waits_s": [round(w, 3) for w in waits], "hrss_longest_wait_s": round(max(waits), 3),
            "union_applied_s": [round(s, 1) for s in files["union"]],
            "payroll_applied_s": [round(s, 1) for s in files["housing"]]}


def table(results: list[dict]) -> str:
    lines = [f"{'target':<24}{'union rows':>11}{'payroll rows':>13}{'hrss longest wait s':>21}{'each round s':>22}"
             f"{'union applied s':>17}{'payroll applied s':>19}"]
    for r in results:
        lines.append(f"{r['target']:<24}{r['union_rows']:>11,}{r['payroll_rows']:>13,}{r['hrss_longest_wait_s']:>21}"
                     f"{' '.join(map(str, r['hrss_waits_s'])):>22}{max(r['union_applied_s']):>17}"
                     f"{max(r['payroll_applied_s']):>19}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--broker-url", default="")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--union-rows", type=int, default=50_000)
    ap.add_argument("--payroll-rows", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    result = run(args.broker_url, args.database_url, args.union_rows, args.payroll_rows, args.rounds)
    result["target"] = "RabbitMQ + PostgreSQL" if args.broker_url else "embedded (SQLite)"
    print(table([result]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
