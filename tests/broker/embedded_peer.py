"""A second process for the embedded-broker tests: a plain kombu client.

It never imports ``hub``: it names the transport class, as an agency system would, and
kombu imports it. Roles:

``publish URL N``
    publish messages ``0..N-1`` to ``--exchange`` with ``--key`` (nothing declared
    here), optionally at ``--rate`` messages/s; body and ``message_id`` from :func:`body`.
``hold URL LOG``
    consume ``--queue`` with ``--visibility-timeout``; log ``R id`` on receipt, hold every
    ``--hold-every``-th message forever, process the rest in batches of ``--batch``:
    ``P id`` (the effect, before the ack), then ``K id`` once the ack returned. Runs until
    killed. Each line is one unbuffered ``write`` to an ``O_APPEND`` file, so a
    ``kill -9`` loses no line that was written.
``compete URL LOG N``
    consume ``--queue``, ack each message and log ``R id``; exit after ``N`` idle polls.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time

from kombu import Connection, Consumer, Producer, Queue

TRANSPORT = "hub.messaging.embedded:Transport"


def body(i: int) -> bytes:
    """The body of message ``i``: JSON with a checksum, ~400 bytes, some non-ASCII."""
    digest = hashlib.sha256(str(i).encode()).hexdigest()
    text = f'{{"seq": {i}, "agency": "人社局", "sha": "{digest}", "pad": "{digest * 4}"}}'
    return text.encode("utf-8")


def publish(args: argparse.Namespace) -> None:
    with Connection(args.url, transport=TRANSPORT) as conn:
        producer = Producer(conn.default_channel)
        start = time.monotonic()
        for i in range(args.n):
            producer.publish(
                body(i), exchange=args.exchange, routing_key=args.key,
                content_type="application/json", content_encoding="utf-8", message_id=str(i),
            )
            if args.rate:
                delay = start + (i + 1) / args.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)


def _logger(path: str):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    return lambda kind, mid: os.write(fd, f"{kind} {mid}\n".encode())


def hold(args: argparse.Namespace) -> None:
    log = _logger(args.log)
    held, batch = [], []
    options = {"visibility_timeout": args.visibility_timeout}
    with Connection(args.url, transport=TRANSPORT, transport_options=options) as conn:
        def on_message(message):
            mid = message.properties["message_id"]
            log("R", mid)
            if int(mid) % args.hold_every == 0:
                held.append(message)
                return
            batch.append(message)
            if len(batch) >= args.batch:
                for m in batch:
                    log("P", m.properties["message_id"])
                    m.ack()
                    log("K", m.properties["message_id"])
                batch.clear()

        with Consumer(conn.default_channel, [Queue(args.queue)], on_message=on_message, auto_declare=False):
            while True:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass


def compete(args: argparse.Namespace) -> None:
    log = _logger(args.log)
    options = {"visibility_timeout": args.visibility_timeout}
    with Connection(args.url, transport=TRANSPORT, transport_options=options) as conn:
        def on_message(message):
            log("R", message.properties["message_id"])
            message.ack()

        idle = 0
        with Consumer(conn.default_channel, [Queue(args.queue)], on_message=on_message, auto_declare=False):
            while idle < args.n:
                try:
                    conn.drain_events(timeout=0.1)
                    idle = 0
                except TimeoutError:  # kombu raises socket.timeout, an alias
                    idle += 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="role", required=True)
    p = sub.add_parser("publish")
    p.add_argument("url")
    p.add_argument("n", type=int)
    p.add_argument("--exchange", default="wagehub.in")
    p.add_argument("--key", default="hrss")
    p.add_argument("--rate", type=float, default=0)
    h = sub.add_parser("hold")
    h.add_argument("url")
    h.add_argument("log")
    h.add_argument("--queue", default="wagehub.in.hrss")
    h.add_argument("--visibility-timeout", type=float, default=2.0)
    h.add_argument("--hold-every", type=int, default=5)
    h.add_argument("--batch", type=int, default=10)
    c = sub.add_parser("compete")
    c.add_argument("url")
    c.add_argument("log")
    c.add_argument("n", type=int, help="idle polls of 0.1 s before exiting")
    c.add_argument("--queue", default="wagehub.in.hrss")
    c.add_argument("--visibility-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    {"publish": publish, "hold": hold, "compete": compete}[args.role](args)


if __name__ == "__main__":
    sys.exit(main())
