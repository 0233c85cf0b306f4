"""Throughput of the embedded broker (``hub.embedded``), printed as a small table.

    .venv/bin/python bench/embedded_transport.py [--messages 20000] [--size 400]

Measures, on a fresh SQLite file, with one kombu connection per process:

1. publish/s: one process publishes N messages of ~SIZE bytes through a direct exchange;
2. drain/s with an N-message backlog: one consumer fetches and acks them all (and the
   rate over its first and last tenth, to show the fetch cost does not grow);
3. drain/s with a small backlog (N/20 messages), the near-empty queue of normal running;
4. steady state: a publisher process and a consumer process run together (round trip
   publish -> consume -> ack), with the consumer caught up.

The backlog drain rate should stay within 2x of the steady-state and small-backlog ones.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kombu import Connection, Consumer, Exchange, Producer, Queue

import hub.embedded  # noqa: F401  (registers embedded://)

EXCHANGE = Exchange("bench.in", "direct", durable=True)
QUEUE = Queue("bench.in.hrss", EXCHANGE, routing_key="hrss")


def _body(i: int, size: int) -> bytes:
    head = f'{{"seq": {i}, "pad": "'.encode()
    return head + b"x" * max(0, size - len(head) - 2) + b'"}'


def declare(url: str) -> None:
    with Connection(url) as conn:
        QUEUE(conn.default_channel).declare()


def publish(url: str, n: int, size: int, start: int = 0) -> float:
    """Publish n messages; return the elapsed seconds."""
    with Connection(url) as conn:
        producer = Producer(conn.default_channel)
        t0 = time.perf_counter()
        for i in range(start, start + n):
            producer.publish(
                _body(i, size), exchange="bench.in", routing_key="hrss",
                content_type="application/json", content_encoding="utf-8", message_id=str(i),
            )
        return time.perf_counter() - t0


def drain(url: str, n: int) -> list[float]:
    """Consume and ack n messages; return the perf_counter time of every ack."""
    stamps: list[float] = []
    with Connection(url) as conn:
        def on_message(message):
            message.ack()
            stamps.append(time.perf_counter())

        with Consumer(conn.default_channel, [QUEUE], on_message=on_message, prefetch_count=100):
            while len(stamps) < n:
                conn.drain_events(timeout=30)
    return stamps


def _rate(stamps: list[float], start: float) -> float:
    return len(stamps) / (stamps[-1] - start)


def _child(args: argparse.Namespace) -> None:
    if args.role == "publish":
        time.sleep(0.2)  # let the consumer start polling first
        elapsed = publish(args.url, args.messages, args.size)
        print(f"{args.messages / elapsed:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=400)
    parser.add_argument("--role", choices=["publish"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
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

        env = dict(os.environ, PYTHONPATH=str(ROOT))
        publisher = subprocess.Popen(
            [sys.executable, __file__, "--role", "publish", "--url", url,
             "--messages", str(n), "--size", str(size)],
            stdout=subprocess.PIPE, text=True, env=env,
        )
        t0 = time.perf_counter()
        stamps = drain(url, n)
        steady_rate = _rate(stamps, t0)
        concurrent_publish_rate = float(publisher.communicate()[0].strip() or 0)

        db_size = os.path.getsize(f"{tmp}/bench.sqlite3")

    print(f"embedded broker, {n} messages of ~{size} bytes, Python {sys.version.split()[0]}")
    print(f"  publish                        {publish_rate:8.0f} msg/s")
    print(f"  drain (consume+ack), backlog {n}: {backlog_rate:8.0f} msg/s"
          f"   (first tenth {first:.0f}, last tenth {last:.0f})")
    print(f"  drain, small backlog ({small})      {small_rate:8.0f} msg/s")
    print(f"  steady state round trip         {steady_rate:8.0f} msg/s"
          f"   (publisher alongside: {concurrent_publish_rate:.0f} msg/s)")
    print(f"  backlog drain / steady state    {backlog_rate / steady_rate:8.2f}x")
    print(f"  backlog drain / small backlog   {backlog_rate / small_rate:8.2f}x")
    print(f"  database file after the run     {db_size / 1e6:8.1f} MB")


if __name__ == "__main__":
    main()
