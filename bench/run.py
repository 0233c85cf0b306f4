"""The whole benchmark in one command: throughput against raw kombu, latency, scale-out,
batch files and HTTP, on the embedded defaults and (with ``--services``) on RabbitMQ and
PostgreSQL; prints the tables and writes every figure to ``bench/results/bench.json``.

    ./dev bench                 # embedded defaults only (nothing installed)
    ./dev bench --services      # and RabbitMQ + PostgreSQL on 127.0.0.1 (as CI has them)
    ./dev bench --quick         # a short run, to check the benchmark itself works
    tox -e bench -- --services

``--services`` uses ``amqp://guest:guest@127.0.0.1:5672//`` and
``postgresql+psycopg://postgres@127.0.0.1:5432/test`` unless ``--broker-url`` /
``--database-url`` say otherwise. The benchmark DROPS AND RECREATES the database's
``public`` schema and purges the hub's queues: never point it at a hub in use.

Parts (each also runs alone: ``python bench/throughput.py``, ``bench/http_api.py``,
``bench/housing_payroll.py``, ``bench/union_workbook.py``, ``bench/bank_payout.py``, ``bench/bulk_insert.py``,
``bench/union_referral.py``; the parsers on 10 MB values only alone: ``bench/huge_values.py``):

1. throughput: raw kombu baselines (a) and (b), the store-and-forward floor (f), the hub
   with 1, 2 and 4 ``wagehub worker`` processes on the same bodies, a 20,000-message backlog drained, latency at half the rate;
2. batch files: a 200,000-row housing payroll CSV, a 50,000-row union workbook and a
   100,000-line bank payout file, the parser alone and through the whole pipeline: rows/s
   and peak RSS; the payout file also against its baseline (lines split, decoded and cut,
   nothing checked) in the same run;
3. HTTP: inbound POST and record GETs under gunicorn, a load generator on loopback;
4. bulk inserts: SQLAlchemy's ``insert()`` executemany against the store's own (COPY on
   PostgreSQL), client and server CPU per row;
5. render: the union referral workbook by each writer (openpyxl, its write-only mode,
   XlsxWriter when installed, the plugin's template), ms per referral;
6. mix: the mix agencies send (``bench/mix.py``: clues with and without a project, case
   updates, orders, transfers, police receipts and decisions, court judgments, payroll
   batches, union ledgers, in the shares written there), each path alone and the mix,
   beside (a), (b) and the floor (f) taken in the same run, and latency at half load.
7. fairness (``bench/fairness.py``): the longest wait of an hrss message sent right after a
   50,000-row union ledger and a 200,000-row payroll, publish to applied (target: 1 s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import bulk_insert  # noqa: E402
import fairness  # noqa: E402
import http_api  # noqa: E402
import mix  # noqa: E402
import throughput  # noqa: E402
import union_referral  # noqa: E402

LOCAL_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
LOCAL_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def batch(script: str, rows: int, hub: bool, database_url: str = "", bad_every: int | None = None,
          extra: tuple[str, ...] = ()) -> dict:
    """One batch-file figure, in a process of its own (so its peak RSS is its own)."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, str(BENCH / script), str(rows), "--json", out.name, *extra]
        if hub:
            cmd += ["--hub"] + (["--database-url", database_url] if database_url else [])
        if bad_every is not None:
            cmd += ["--bad-every", str(bad_every)]
        subprocess.run(cmd, check=True, cwd=BENCH, stdout=subprocess.DEVNULL)
        return json.loads(Path(out.name).read_text())


def batches(targets: list[tuple[str, str, str]], quick: bool) -> list[dict]:
    payroll, union = (20_000, 5_000) if quick else (200_000, 50_000)
    out = []
    for script, rows in (("housing_payroll.py", payroll), ("union_workbook.py", union)):
        say(f"== batch file: {script} {rows:,} rows, parser alone")
        out.append({**batch(script, rows, hub=False), "target": "parser alone"})
        for name, _broker, database in targets:
            say(f"== batch file: {script} {rows:,} rows through the hub ({name})")
            out.append({**batch(script, rows, hub=True, database_url=database), "target": name})
    # The banks' payout file (100,000 payouts), against the least any reader of it does.
    payouts = 10_000 if quick else 100_000
    say(f"== batch file: bank_payout.py {payouts:,} lines, baseline (split + decode) and parser alone")
    out.append({**batch("bank_payout.py", payouts, hub=False, extra=("--baseline",)), "target": "baseline"})
    out.append({**batch("bank_payout.py", payouts, hub=False), "target": "parser alone"})
    for name, _broker, database in targets:
        say(f"== batch file: bank_payout.py {payouts:,} lines through the hub ({name})")
        out.append({**batch("bank_payout.py", payouts, hub=True, database_url=database), "target": name})
    # The worst case of bad input: a payroll whose every row is refused (a wrong column, say),
    # a dead letter per row with the row's own bytes.
    for name, _broker, database in targets:
        say(f"== batch file: housing_payroll.py {payroll:,} rows, every row bad, through the hub ({name})")
        out.append({**batch("housing_payroll.py", payroll, hub=True, database_url=database, bad_every=1),
                    "target": name})
    return out


def batch_table(rows: list[dict]) -> str:
    lines = [f"{'batch file':<44}{'through':<26}{'rows':>9}{'records':>9}{'dead letters':>14}{'s':>8}{'rows/s':>9}"
             f"{'peak RSS MB':>13}"]
    for r in rows:
        lines.append(f"{r['name']:<44}{r['target']:<26}{r['rows']:>9,}{r['records']:>9,}{r['dead_letters']:>14,}"
                     f"{r['seconds']:>8}{r['rows_per_s']:>9,}{r['peak_rss_mb']:>13}")
    return "\n".join(lines)


def http_table(results: list[dict]) -> str:
    lines = [f"{'target':<24}{'route':<44}{'req/s':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'errors':>7}"]
    for name, r in results:
        for phase in r["phases"].values():
            lines.append(f"{name:<24}{phase['route'][:43]:<44}{phase['requests_per_s']:>7}{phase['p50_ms']:>8.1f}"
                         f"{phase['p95_ms']:>8.1f}{phase['p99_ms']:>8.1f}{phase['errors']:>7}")
    return "\n".join(lines)


def bulk_table(results: list[dict]) -> str:
    lines = [f"{'target':<24}{'way':<24}{'client CPU ms/row':>19}{'server CPU ms/row':>19}"]
    for r in results:
        for way, rounds in r["ways"].items():
            for f in rounds:
                lines.append(f"{r['target']:<24}{way:<24}{f['client_ms_per_row']:>19}{f['server_ms_per_row']:>19}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", action="store_true", help="also on RabbitMQ + PostgreSQL (127.0.0.1)")
    ap.add_argument("--broker-url", default="", help=f"with --services (default {LOCAL_BROKER})")
    ap.add_argument("--database-url", default="", help=f"with --services (default {LOCAL_DATABASE})")
    ap.add_argument("--quick", action="store_true", help="small runs: checks the benchmark, not the hub")
    ap.add_argument("--skip", default="", help="parts to leave out, comma-separated: throughput,mix,batch,http,bulk,render,fairness")
    ap.add_argument("--json", default=str(BENCH / "results" / "bench.json"))
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    targets = [("embedded (SQLite)", "", "")]
    if args.services:
        targets.append(("RabbitMQ + PostgreSQL", args.broker_url or LOCAL_BROKER, args.database_url or LOCAL_DATABASE))
    started = time.time()
    report: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                "platform": platform.platform(), "loadavg_before": os.getloadavg()},
                    "quick": args.quick, "throughput": [], "mix": [], "batch": [], "http": [], "bulk": [],
                                "render": [], "fairness": []}
    if "throughput" not in skip:
        for name, broker, database in targets:
            say(f"== throughput: {name}")
            if args.quick:
                result = throughput.run(broker, database, n=1000, workers=(1, 2), backlog=2000, latency_seconds=3)
            else:
                result = throughput.run(broker, database)
            report["throughput"].append(result)
    if "mix" not in skip:
        for name, broker, database in targets:
            say(f"== the mix agencies send: {name}")
            if args.quick:  # the mix alone, small: checks the scenario works end to end
                report["mix"].append(mix.run(broker, database, n=300, per_path=0, latency_seconds=2))
            else:
                report["mix"].append(mix.run(broker, database))
    if "batch" not in skip:
        report["batch"] = batches(targets, args.quick)
    if "http" not in skip:
        for name, broker, database in targets:
            say(f"== HTTP under gunicorn: {name}")
            report["http"].append((name, http_api.run(broker, database, seconds=3 if args.quick else 10)))
    if "bulk" not in skip:
        for name, _broker, database in targets:
            say(f"== bulk inserts: {name}")
            url = database or f"sqlite:///{tempfile.mkdtemp(prefix='wagehub-bulk-')}/bench.sqlite3"
            figures = bulk_insert.run(url, batches=5 if args.quick else 50, rounds=1 if args.quick else 2)
            report["bulk"].append({"target": name, "ways": figures})
    if "render" not in skip:
        say("== render: the union referral workbook, each writer")
        report["render"] = union_referral.run(300 if args.quick else 2000)
    if "fairness" not in skip:
        for name, broker, database in targets:
            say(f"== fairness: an hrss message behind a union ledger and a payroll ({name})")
            sizes = dict(union_rows=5_000, payroll_rows=20_000, rounds=1) if args.quick else dict(rounds=2)
            report["fairness"].append({"target": name, **fairness.run(broker, database, **sizes)})
    report["seconds"] = round(time.time() - started)

    print()
    if report["throughput"]:
        print("Throughput: first publish to last delivery; (a) = raw kombu with confirm_publish, "
              "(b) = raw kombu without confirms, (f) = the store-and-forward floor (two queue hops and a "
              "commit, no hub work) with as many processes; each a process of its own")
        print(throughput.table(report["throughput"]))
        print()
    if report["mix"]:
        print("The mix agencies send (bench/mix.py: shares per 100 messages; msg/s = inbound messages, deliv/s = "
              "deliveries to queues and the webhook); (a), (b), (f) taken in the same run; CPU per inbound message")
        print(mix.table(report["mix"]))
        print()
    if report["batch"]:
        print("Batch files")
        print(batch_table(report["batch"]))
        print()
    if report["http"]:
        print("HTTP under gunicorn -w 2 (sync), load generator on loopback")
        print(http_table(report["http"]))
        print()
    if report["bulk"]:
        print("Bulk inserts of outbox rows, 200 per transaction (insert_rows: COPY on PostgreSQL)")
        print(bulk_table(report["bulk"]))
        print()
    if report["render"]:
        print("Rendering the union referral workbook (same row, same rules, same bytes each time)")
        print(union_referral.table(report["render"]))
        print()
    if report["fairness"]:
        print("Fairness: an hrss message published right after a union ledger and a housing payroll, "
              "publish to applied (target: at most 1 s); the big files' own times beside it")
        print(fairness.table(report["fairness"]))
        print()
    load = os.getloadavg()
    print(f"{report['seconds']} s in all; load average before {report['machine']['loadavg_before'][0]:.2f}, "
          f"after {load[0]:.2f} on {os.cpu_count()} CPUs (other work on the machine lowers every figure)")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    report["http"] = [{"target": name, **r} for name, r in report["http"]]
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"figures written to {out}")


if __name__ == "__main__":
    main()
