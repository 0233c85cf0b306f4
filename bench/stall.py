"""No stall: the clue path run again and again, quiet, beside a CPU hog, and with the broker's
connections dropped mid-run; every delivery must arrive, and the hub's log says what happened.

Each round: a fresh hub (2 ``wagehub worker`` processes), ``n`` hrss clues naming a project
(union referral, housing ASSIGNMENT, the contractor's webhook: 3 deliveries each) published
as an agency would; rounds alternate between one complainant for all (one matter: every
delivery waits in line behind the one before) and a complainant each. Round ``k`` is
disturbed as ``k % 3`` says: 0 nothing, 1 two processes spinning on the CPU, 2 every
connection of the run's RabbitMQ vhost closed (``rabbitmqctl close_connection``) a second
after the publishing starts (only on RabbitMQ, only that vhost's connections). A round fails
if a delivery is still missing after 60 s without one; the workers' warnings and errors
are printed either way.

    python bench/stall.py [--rounds 20] [-n 500] [--broker-url amqp://…/vhost --database-url …]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import mix  # noqa: E402


def _spin(stop) -> None:
    while not stop.is_set():
        sum(range(10_000))


def close_connections(vhost: str) -> int:
    """Close every client connection of ``vhost`` (and only those); how many were closed."""
    out = subprocess.run(["rabbitmqctl", "-q", "list_connections", "vhost", "pid"], capture_output=True,
                         text=True, check=True).stdout
    closed = 0
    for line in out.splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and parts[0] == vhost:
            subprocess.run(["rabbitmqctl", "-q", "close_connection", parts[1], "bench: connection dropped mid-run"],
                           capture_output=True, check=False)
            closed += 1
    return closed


def one_round(k: int, n: int, broker_url: str, database_url: str) -> dict:
    disturb = ("none", "cpu hog", "connections closed")[k % 3]
    one_matter = k % 2 == 0
    if disturb == "connections closed" and not broker_url.startswith("amqp"):
        disturb = "none (embedded broker: no connections to close)"
    hog_stop = mp.get_context("spawn").Event()
    hogs = []
    if disturb == "cpu hog":
        hogs = [mp.get_context("spawn").Process(target=_spin, args=(hog_stop,)) for _ in range(2)]
        for h in hogs:
            h.start()
    closed: list[int] = []
    drop = None
    if disturb == "connections closed":
        vhost = unquote(urlsplit(broker_url).path[1:]) or "/"

        def drop():
            closed.append(close_connections(vhost))
    path = "clue+project, one complainant" if one_matter else "clue+project"
    started = time.time()
    try:
        [r] = mix.hub_run(broker_url, database_url, 2, [(path, n, 0.0)], keep_log=True, during=drop)
    finally:
        hog_stop.set()
        for h in hogs:
            h.join()
    log = r.pop("log", "")
    notable = [line for line in log.splitlines() if " WARNING " in line or " ERROR " in line or "Traceback" in line]
    return {"round": k, "disturbance": disturb + (f" ({closed[0]} closed)" if closed else ""),
            "one matter": one_matter, "expected": r["expected"], "delivered": r["deliveries"],
            "seconds": round(time.time() - started, 1), "log": notable}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("-n", type=int, default=500, help="clues per round")
    ap.add_argument("--first", type=int, default=0, help="number of the first round (its disturbance)")
    ap.add_argument("--broker-url", default="")
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    failed = 0
    for k in range(args.first, args.first + args.rounds):
        r = one_round(k, args.n, args.broker_url, args.database_url)
        ok = r["delivered"] >= r["expected"]
        failed += not ok
        print(f"round {k:2d} {'ok  ' if ok else 'STALL'} {r['disturbance']:<32} one matter: {str(r['one matter']):<5} "
              f"{r['delivered']:,}/{r['expected']:,} deliveries in {r['seconds']} s", flush=True)
        for line in r["log"][:8]:
            print(f"      {line[:220]}")
        if len(r["log"]) > 8:
            print(f"      ... {len(r['log']) - 8} more warnings")
    print(f"{args.rounds - failed} of {args.rounds} rounds delivered everything")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
