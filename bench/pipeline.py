"""First figure for the hub pipeline: messages/s from an agency's queue to the recipient's.

Publishes N hrss TRANSFER messages (each a distinct transfer, so each becomes a record and
an AJYS for the police), runs the hub's workers, and times first publish → last AJYS read
from ``wagehub.out.police``. Runs on the embedded defaults, and on RabbitMQ + PostgreSQL
when ``--broker-url`` / ``--database-url`` are given. Prints a table and writes JSON.

    python bench/pipeline.py -n 2000
    python bench/pipeline.py -n 2000 --broker-url amqp://guest:guest@127.0.0.1:5672// \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from kombu import Consumer, Queue

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hub.client import publish_native  # noqa: E402
from hub.config import load_settings  # noqa: E402
from hub.runtime import Hub, Workers  # noqa: E402

TEMPLATE = json.loads((ROOT / "plugins" / "hrss" / "samples" / "hrss-transfer.json").read_text(encoding="utf-8"))


def body(i: int) -> bytes:
    msg = json.loads(json.dumps(TEMPLATE))
    msg["msgId"] = f"BENCH-{i}"
    msg["data"]["transferNo"] = f"YSBENCH{i:08d}"
    msg["data"]["caseNo"] = f"AJBENCH{i:08d}"
    msg["data"]["orderNo"] = f"ZLBENCH{i:08d}"
    return json.dumps(msg, ensure_ascii=False).encode()


def reset(settings) -> None:
    url = settings["hub"]["database_url"]
    if url.startswith("postgresql"):
        from sqlalchemy import text

        from hub.store import make_engine

        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()


def run(n: int, broker_url: str, database_url: str) -> dict:
    var = tempfile.mkdtemp(prefix="wagehub-bench-")
    settings = load_settings({"hub": {"var_dir": var, "broker_url": broker_url, "database_url": database_url}},
                             environ={})
    reset(settings)
    hub = Hub(settings)
    hub.declare_topology()
    bodies = [body(i) for i in range(n)]
    with hub.connection() as conn:
        channel = conn.channel()
        for code in ("hrss", "police"):
            Queue(f"wagehub.in.{code}", no_declare=True).bind(channel).purge()
            Queue(f"wagehub.out.{code}", no_declare=True).bind(channel).purge()
        channel.close()
        started = time.perf_counter()
        for i, b in enumerate(bodies):
            publish_native(conn, "hrss", b, content_type="application/json", message_id=f"bench-{i}")
        published = time.perf_counter()
    received = 0
    with Workers(hub), hub.connection() as conn:
        def on_message(message):
            nonlocal received
            received += 1
            message.ack()

        with Consumer(conn, queues=[Queue("wagehub.out.police", no_declare=True)], on_message=on_message,
                      prefetch_count=500, accept=None):
            deadline = time.monotonic() + 600
            while received < n and time.monotonic() < deadline:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
        finished = time.perf_counter()
    hub.shutdown()
    return {
        "broker": settings["hub"]["broker_url"].split("://")[0], "database": settings["hub"]["database_url"].split(":")[0].split("+")[0],
        "messages": n, "delivered": received,
        "publish_per_s": round(n / (published - started)),
        "pipeline_per_s": round(received / (finished - started)),
        "seconds": round(finished - started, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("--broker-url", default="")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--json", default="bench/results/pipeline.json")
    args = ap.parse_args()
    result = run(args.n, args.broker_url, args.database_url)
    print(f"{'broker':<10}{'database':<12}{'messages':>9}{'delivered':>10}{'publish/s':>11}{'pipeline/s':>12}{'s':>8}")
    print(f"{result['broker']:<10}{result['database']:<12}{result['messages']:>9}{result['delivered']:>10}"
          f"{result['publish_per_s']:>11}{result['pipeline_per_s']:>12}{result['seconds']:>8}")
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
