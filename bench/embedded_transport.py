"""Throughput of the embedded broker (``hub.messaging.embedded``), printed as a small table.

    .venv/bin/python bench/embedded_transport.py [--messages 20000] [--size 400]

Measures, on a fresh SQLite file, with one kombu connection per process:

1. publish/s: one process publishes N messages of ~SIZE bytes through a direct exchange;
2. drain/s with an N-message backlog: one consumer fetches and acks them all (and the
   rate over its first and last tenth, to show the fetch cost does not grow);
3. drain/s in steady state: the same with a small backlog (N/20 messages), the
   near-empty queue of normal running;
4. round trip: a publisher process and a consumer process run together (publish ->
   consume -> ack), the publisher as fast as it can;
5. latency: the same with the publisher held to 1,000 msg/s (the consumer caught up):
   time from publish to ack.

The backlog drain rate must stay within 2x of the steady-state one. The round trip runs
two processes on the same cores and one SQLite write lock, so it is lower than either
half alone. A caught-up consumer's latency includes its polling interval (0.05 s).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kombu import Connection, Consumer, Exchange, Producer, Queue

import hub.messaging.embedded

EXCHANGE = Exchange("bench.in", "direct", durable=True)
QUEUE = Queue("bench.in.hrss", EXCHANGE, routing_key="hrss")


def _body(i: int, size: int) -> bytes:
    head = f'{{"seq": {i}, "ts": {time.time():.6f}, "pad": "'.encode()
    return head + b"x" * max(0, size - len(head) - 2) + b'"}'


def declare(url: str) -> None:
    with Connection(url) as conn:
        QUEUE(conn.default_channel).declare()


def publish(url: str, n: int, size: int, rate: float = 0) -> float:
    """Publish n messages (at most ``rate`` per second); return the elapsed seconds."""
    with Connection(url) as conn:
        producer = Producer(conn.default_channel)
        t0 = time.perf_counter()
        for i in range(n):
            producer.publish(
                _body(i, size), exchange="bench.in", routing_key="hrss",
                content_type="application/json", content_encoding="utf-8", message_id=str(i),
            )
            if rate:
                delay = t0 + (i + 1) / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
        return time.perf_counter() - t0


def drain(url: str, n: int, latencies: list[float] | None = None) -> list[float]:
    """Consume and ack n messages; return the perf_counter time of every ack."""
    stamps: list[float] = []
    with Connection(url) as conn:
        def on_message(message):
            message.ack()
            stamps.append(time.perf_counter())
            if latencies is not None:
                latencies.append(time.time() - json.loads(message.body)["ts"])

        with Consumer(conn.default_channel, [QUEUE], on_message=on_message, prefetch_count=100):
            while len(stamps) < n:
                conn.drain_events(timeout=30)
    return stamps


def _rate(stamps: list[float], start: float) -> float:
    return len(stamps) / (stamps[-1] - start)


def _child(args: argparse.Namespace) -> None:
    if args.role == "publish":
        time.sleep(0.2)  # let the consumer start polling first
        elapsed = publish(args.url, args.messages, args.size, args.rate)
        print(f"{args.messages / elapsed:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--role", choices=["publish"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        return _child(args)

    n, size = args.messages, args.size
    small = max(100, n // 20)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"embedded:///{tmp}/bench.sqlite3"
        declare(url)

        elapsed = publish(url, n, size)
        publish_rate = n / elapsed

        t0 = time.perf_counter()
        stamps = drain(url, n)
        backlog_rate = _rate(stamps, t0)
        tenth = n // 10
        first = tenth / (stamps[tenth - 1] - t0)
        last = tenth / (stamps[-1] - stamps[-tenth - 1])

        publish(url, small, size)
        t0 = time.perf_counter()
        small_rate = _rate(drain(url, small), t0)

        def alongside(count: int, rate: float, latencies: list[float]) -> tuple[float, float]:
            publisher = subprocess.Popen(
                [sys.executable, __file__, "--role", "publish", "--url", url,
                 "--messages", str(count), "--size", str(size), "--rate", str(rate)],
                stdout=subprocess.PIPE, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)),
            )
            t0 = time.perf_counter()
            consumed = _rate(drain(url, count, latencies), t0)
            return consumed, float(publisher.communicate()[0].strip() or 0)

        round_trip_rate, concurrent_publish_rate = alongside(n, 0, [])
        latencies: list[float] = []
        alongside(min(n, 5000), 1000, latencies)
        latencies.sort()

        db_size = os.path.getsize(f"{tmp}/bench.sqlite3")

    print(f"embedded broker, {n} messages of ~{size} bytes, Python {sys.version.split()[0]}, "
          f"SQLite {hub.messaging.embedded.sqlite3.sqlite_version}")
    def row(label: str, value: str) -> None:
        print(f"  {label:<44} {value}")

    row("publish", f"{publish_rate:6.0f} msg/s")
    row(f"consume+ack, {n} backlog", f"{backlog_rate:6.0f} msg/s  (first tenth {first:.0f}, last tenth {last:.0f})")
    row(f"consume+ack, steady state ({small} backlog)", f"{small_rate:6.0f} msg/s")
    row("backlog / steady state", f"{backlog_rate / small_rate:6.2f}x")
    row("round trip, publisher + consumer", f"{round_trip_rate:6.0f} msg/s  (publisher alongside {concurrent_publish_rate:.0f} msg/s)")
    row("latency at 1000 msg/s, median / p99 / max", f"{statistics.median(latencies) * 1e3:.1f} / "
        f"{latencies[int(len(latencies) * 0.99)] * 1e3:.1f} / {latencies[-1] * 1e3:.1f} ms")
    row("database file after the run", f"{db_size / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
