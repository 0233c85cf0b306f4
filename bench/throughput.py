"""Throughput and latency: raw kombu against the hub, on the same broker, with the same bodies.

Every figure here is "first publish → last message taken at the far end", with the
publisher, the consumer at the far end and each hub worker in processes of their own
(as agencies and ``wagehub worker`` are in production), all on this machine.

* **Baseline (a)**: raw kombu, no hub: persistent messages into a durable queue (a quorum
  queue on RabbitMQ) with kombu's ``confirm_publish`` (one round trip per publish),
  consumed with manual acks. The durability the hub gives, done the plain way.
* **Baseline (a+)**: the same, confirms pipelined (what the hub's own publisher does).
* **Baseline (b)**: the same without confirms: the ceiling of a Python client on this broker.
  The embedded broker commits every publish before returning, so (a) and (b) are one figure.
* **Floor (f)**: the least any store-and-forward hub must do with these guarantees, done
  with raw kombu and SQLAlchemy Core, no parsing: 1 or 2 forwarder processes take what the
  broker has sent (up to 200), insert each message's id and bytes into a table in one
  transaction (COPY on PostgreSQL, as the hub does), publish them to a second durable queue
  with pipelined confirms, then ack. Two queue hops and a commit, as the hub's path has:
  what is left between this and the hub is the hub's own work (parse, validate, map, route,
  records, matters, deadlines, audit, render).
* **Hub**: the same bodies through the whole hub: agency queue → parse → validate → one
  transaction (records, matters, inbox, outbox, deadlines, audit) → render → recipient
  queue, with 1, 2 or 4 ``wagehub worker`` processes.
* **Backlog**: the messages are all queued first, then the workers start: the drain rate.
* **Latency**: one message every 1/rate seconds at half the hub's measured rate; the time
  from each publish to its delivery at the recipient, p50/p95/p99.

    python bench/throughput.py                        # embedded defaults
    python bench/throughput.py --broker-url amqp://guest:guest@127.0.0.1:5672/bench \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bodies import body, token_of  # noqa: E402
from measure import reset_database, services_cpu, tree_cpu  # noqa: E402

BASELINE_QUEUE = "bench.baseline"
FLOOR_IN, FLOOR_OUT = "bench.floor.in", "bench.floor.out"
FLOOR_TABLE = "bench_floor_inbox"
HUB_RECIPIENT = "hrss"


# -- the processes --------------------------------------------------------------------------


def _connection(url: str, confirms: bool = False):
    from kombu import Connection

    import hub.messaging.embedded  # noqa: F401  (registers embedded://)

    return Connection(url, heartbeat=0, transport_options={"confirm_publish": confirms})


def _publish(url: str, mode: str, n: int, rate: float, ready, go, sent, make=body, only: str = "",
             base: int = 0) -> None:
    """Publish bench bodies ``0..n-1``: ``naive`` (kombu's confirm_publish), ``unconfirmed``,
    ``pipelined`` (the hub's publisher) to the baseline queue, ``floor`` (pipelined, to the
    forwarders' queue) or ``hub`` (pipelined, as an agency, to ``wagehub.in``). With ``rate``, one message every 1/rate s; each publish time
    goes into ``sent`` (shared memory, by message number). ``make(i, *[only])`` gives message ``i``
    (the mix's bodies: bench/mix.py, with headers as a fifth item), numbered from ``base``."""
    from kombu import Exchange, Producer

    from hub.config import load_settings
    from hub.messaging.broker import IN_EXCHANGE, OutMessage, Publisher

    items = [make(base + i, only) if only else make(base + i) for i in range(n)]
    if mode in ("naive", "unconfirmed"):
        conn = _connection(url, confirms=mode == "naive")
        producer = Producer(conn.channel())
    else:
        settings = load_settings({"hub": {"broker_url": url, "var_dir": tempfile.gettempdir()}}, environ={})
        publisher = Publisher(settings, url)
    default = Exchange("", type="direct")
    ready.set()
    go.wait()
    batch: list = []
    started = time.perf_counter()
    for i, (agency, data, ctype, cenc, *more) in enumerate(items):
        if rate:
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        sent[i] = time.time()
        if mode in ("naive", "unconfirmed"):
            producer.publish(data, exchange=default, routing_key=BASELINE_QUEUE, content_type=ctype,
                             content_encoding=cenc, message_id=f"b-{i}", delivery_mode=2, retry=False)
            continue
        exchange, key = {"hub": (IN_EXCHANGE, agency), "floor": (default, FLOOR_IN)}.get(mode, (default, BASELINE_QUEUE))
        batch.append(OutMessage(routing_key=key, body=data, message_id=f"bench-{base + i}", content_type=ctype,
                                content_encoding=cenc, exchange=exchange, headers=more[0] if more else {}))
        if len(batch) >= (1 if rate else 100) or i == n - 1:
            if not all(publisher.publish_many(batch)):
                raise SystemExit("the broker did not confirm a publish")
            batch = []
    if mode not in ("naive", "unconfirmed"):
        publisher.close()


def _consume(url: str, queue: str, n: int, ready, done_at, received) -> None:
    """Take ``n`` messages from ``queue`` with manual acks; note when each bench token arrived."""
    from kombu import Consumer, Queue

    conn = _connection(url)
    got = 0

    def on_message(message):
        nonlocal got
        token = token_of(bytes(message.body) if not isinstance(message.body, str) else message.body.encode("utf-8",
                                                                                                        "replace"))
        if token is not None and 0 <= token < n:
            received[token] = time.time()
        got += 1
        message.ack()

    channel = conn.channel()
    channel.auto_decode = False
    with Consumer(channel, queues=[Queue(queue, no_declare=True)], on_message=on_message, prefetch_count=200,
                  accept=None):
        ready.set()
        while got < n:
            try:
                conn.drain_events(timeout=1)
            except TimeoutError:
                pass
    done_at.value = time.time()
    conn.release()


def _forward(url: str, database_url: str, ready, stop) -> None:
    """The floor (f): consume a batch, one transaction, publish with pipelined confirms, ack."""
    from kombu import Consumer, Exchange, Queue
    from sqlalchemy import create_engine

    from hub.config import load_settings
    from hub.messaging.broker import OutMessage, Publisher
    from hub.store import insert_rows

    engine = create_engine(database_url)
    table = _floor_table()
    settings = load_settings({"hub": {"broker_url": url, "var_dir": tempfile.gettempdir()}}, environ={})
    publisher = Publisher(settings, url)
    conn = _connection(url)
    channel = conn.channel()
    channel.auto_decode = False
    batch: list = []
    default = Exchange("", type="direct")

    def flush() -> None:
        with engine.begin() as db:
            insert_rows(db, table, [{"message_id": m.properties["message_id"], "body": bytes(m.body)}
                                    for m in batch])
        out = [OutMessage(routing_key=FLOOR_OUT, body=bytes(m.body), message_id=m.properties["message_id"],
                          exchange=default, content_type=m.content_type, content_encoding=m.content_encoding)
               for m in batch]
        if not all(publisher.publish_many(out)):
            raise SystemExit("the broker did not confirm a publish")
        batch[-1].ack(multiple=True)
        batch.clear()

    with Consumer(channel, queues=[Queue(FLOOR_IN, no_declare=True)], on_message=batch.append,
                  prefetch_count=400, accept=None):
        ready.set()
        while not stop.is_set():
            try:
                conn.drain_events(timeout=0.2)
                while len(batch) < 200:  # what the broker has already sent, as the hub's batches
                    conn.drain_events(timeout=0.001)
            except TimeoutError:
                pass
            if batch:
                flush()
    publisher.close()
    conn.release()


def _floor_table():
    from sqlalchemy import Column, LargeBinary, MetaData, String, Table

    return Table(FLOOR_TABLE, MetaData(), Column("message_id", String(200), primary_key=True),
                 Column("body", LargeBinary, nullable=False))


def floor_flow(settings: dict, n: int, forwarders: int) -> dict:
    """The same bodies through ``forwarders`` floor processes (see the module's doc)."""
    from sqlalchemy import create_engine

    url, database_url = settings["hub"]["broker_url"], settings["hub"]["database_url"]
    engine = create_engine(database_url)
    table = _floor_table()
    table.drop(engine, checkfirst=True)
    table.create(engine)
    engine.dispose()
    ctx = mp.get_context("spawn")
    stop = ctx.Event()
    procs = []
    for _ in range(forwarders):
        ready = ctx.Event()
        proc = ctx.Process(target=_forward, args=(url, database_url, ready, stop))
        proc.start()
        if not ready.wait(60):
            raise SystemExit("a floor forwarder did not start")
        procs.append(proc)
    cpu0 = [_process_cpu(p.pid) for p in procs]
    result = flow(url, "floor", FLOOR_OUT, n)
    result["worker_cpu_ms_per_msg"] = round(1000 * sum(_process_cpu(p.pid) - c for p, c in zip(procs, cpu0)) / n, 2)
    stop.set()
    for proc in procs:
        proc.join(30)
        if proc.is_alive():
            proc.kill()
    return result


# -- set-up -----------------------------------------------------------------------------------


def settings_for(broker_url: str, database_url: str, var: str) -> dict:
    from hub.config import load_settings

    return load_settings({"hub": {"var_dir": var, "broker_url": broker_url, "database_url": database_url}},
                         environ={})


def reset(broker_url: str, database_url: str, var: str) -> dict:
    """A fresh var dir, database schema and queues; the hub's topology declared."""
    settings = settings_for(broker_url, database_url, var)
    reset_database(database_url)
    from kombu import Queue

    from hub.messaging.broker import is_amqp
    from hub.runtime import Hub

    hub = Hub(settings)
    hub.declare_topology()
    with hub.connection() as conn:
        channel = conn.channel()
        args = {"x-queue-type": "quorum"} if is_amqp(conn) else {}
        for name in (BASELINE_QUEUE, FLOOR_IN, FLOOR_OUT):
            Queue(name, durable=True, queue_arguments=args, routing_key=name).bind(channel).declare()
        for name in [BASELINE_QUEUE, FLOOR_IN, FLOOR_OUT] + [f"wagehub.{d}.{a}" for d in ("in", "out") for a in hub.registry.codes()]:
            try:
                Queue(name, no_declare=True).bind(channel).purge()
            except Exception:  # noqa: BLE001  (a queue that does not exist has nothing to purge)
                pass
        channel.close()
    hub.shutdown()
    return settings


def purge_out(settings: dict) -> None:
    """Empty the recipients' queues (what a set-up step delivered is not a run's)."""
    from kombu import Queue

    from hub.runtime import Hub

    hub = Hub(settings)
    with hub.connection() as conn:
        channel = conn.channel()
        for code in hub.registry.codes():
            Queue(f"wagehub.out.{code}", no_declare=True).bind(channel).purge()
        channel.close()
    hub.shutdown()


def _worker_env(settings: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGEHUB_")}
    env.update(WAGEHUB_VAR_DIR=settings["hub"]["var_dir"], WAGEHUB_BROKER_URL=settings["hub"]["broker_url"],
               WAGEHUB_DATABASE_URL=settings["hub"]["database_url"], WAGEHUB_LINKAGE__CHECK_EVERY="3600")
    return env


def start_workers(settings: dict, count: int, extra_env: dict | None = None) -> list[subprocess.Popen]:
    log = open(os.path.join(settings["hub"]["var_dir"], "workers.log"), "ab")
    env = {**_worker_env(settings), **(extra_env or {})}
    return [subprocess.Popen([sys.executable, "-m", "hub.cli.main", "worker"], env=env, cwd=ROOT,
                             stdout=log, stderr=log) for _ in range(count)]


def stop_workers(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def _wait_consuming(settings: dict, count: int, timeout: float = 60,
                    agencies: tuple[str, ...] = ("police", "court")) -> None:
    """Until the workers consume (their start-up, plugin loading included, is not timed):
    ``count`` processes, each with its consumers of ``agencies`` (each logs its own)."""
    log = os.path.join(settings["hub"]["var_dir"], "workers.log")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = Path(log).read_text(errors="replace")
        except FileNotFoundError:
            text = ""
        if all(text.count(f"consuming wagehub.in.{a}") >= count for a in agencies):
            return
        time.sleep(0.2)
    raise SystemExit(f"the workers did not start; see {log}")


# -- one measured run --------------------------------------------------------------------------


def flow(url: str, mode: str, queue: str, n: int, rate: float = 0.0, timeout: float = 900) -> dict:
    """Publisher and far-end consumer in processes of their own; times and latencies."""
    ctx = mp.get_context("spawn")
    sent = ctx.Array("d", n, lock=False)
    received = ctx.Array("d", n, lock=False)
    done_at = ctx.Value("d", 0.0, lock=False)
    c_ready, p_ready, go = ctx.Event(), ctx.Event(), ctx.Event()
    consumer = ctx.Process(target=_consume, args=(url, queue, n, c_ready, done_at, received))
    publisher = ctx.Process(target=_publish, args=(url, mode, n, rate, p_ready, go, sent))
    consumer.start()
    publisher.start()
    if not (c_ready.wait(60) and p_ready.wait(60)):
        raise SystemExit("bench processes did not start")
    services0 = services_cpu()
    go.set()
    publisher.join(timeout)
    if publisher.exitcode:  # it will send no more: the consumer would wait out its timeout
        consumer.kill()
        raise SystemExit(f"{mode} run: the publisher failed (exit {publisher.exitcode})")
    consumer.join(timeout)
    for p in (publisher, consumer):
        if p.is_alive():
            p.kill()
            raise SystemExit(f"{mode} run did not finish in {timeout} s")
        if p.exitcode:
            raise SystemExit(f"{mode} run: a bench process failed (exit {p.exitcode})")
    first = min(t for t in sent if t)
    publish_end = max(sent)
    seconds = done_at.value - first
    out = {"messages": n, "seconds": round(seconds, 2), "per_s": round(n / seconds),
           "publish_per_s": round(n / max(publish_end - first, 1e-9)),
           "services_cpu_ms_per_msg": round(1000 * (services_cpu() - services0) / n, 2)}
    lat = sorted((r - s) * 1000 for s, r in zip(sent, received) if s and r)
    if rate and lat:
        q = statistics.quantiles(lat, n=100)
        out.update(rate=round(rate), p50_ms=round(q[49], 1), p95_ms=round(q[94], 1), p99_ms=round(q[98], 1),
                   max_ms=round(lat[-1], 1))
    return out


def _process_cpu(pid: int) -> float:
    return tree_cpu(pid) or 0.0


def hub_flow(settings: dict, n: int, workers: int, *, rate: float = 0.0, backlog: bool = False) -> dict:
    """The same bodies through ``workers`` hub processes to the recipient's queue, with the
    CPU the workers and the servers (PostgreSQL, RabbitMQ) spent per message."""
    url = settings["hub"]["broker_url"]
    queue = f"wagehub.out.{HUB_RECIPIENT}"
    if not backlog:
        procs = start_workers(settings, workers)
        _wait_consuming(settings, workers)
        cpu0, services0 = [_process_cpu(p.pid) for p in procs], services_cpu()
        result = flow(url, "hub", queue, n, rate)
    else:
        # All n queued first (not timed), then the workers start and drain them.
        fill = flow_publish_only(url, n)
        services0 = services_cpu()
        procs = start_workers(settings, workers)
        cpu0 = [0.0] * len(procs)
        started = time.time()
        done = _drain(url, queue, n)
        result = {"messages": n, "seconds": round(done - started, 2), "per_s": round(n / (done - started)),
                  "publish_per_s": fill}
    worker_cpu = sum(_process_cpu(p.pid) - c for p, c in zip(procs, cpu0))
    result["worker_cpu_ms_per_msg"] = round(1000 * worker_cpu / n, 2)
    result["services_cpu_ms_per_msg"] = round(1000 * (services_cpu() - services0) / n, 2)
    stop_workers(procs)
    return result


def flow_publish_only(url: str, n: int) -> int:
    ctx = mp.get_context("spawn")
    sent = ctx.Array("d", n, lock=False)
    ready, go = ctx.Event(), ctx.Event()
    p = ctx.Process(target=_publish, args=(url, "hub", n, 0.0, ready, go, sent))
    p.start()
    ready.wait(60)
    go.set()
    p.join()
    return round(n / max(max(sent) - min(t for t in sent if t), 1e-9))


def _drain(url: str, queue: str, n: int) -> float:
    ctx = mp.get_context("spawn")
    received = ctx.Array("d", n, lock=False)
    done_at = ctx.Value("d", 0.0, lock=False)
    ready = ctx.Event()
    p = ctx.Process(target=_consume, args=(url, queue, n, ready, done_at, received))
    p.start()
    p.join(900)
    if p.is_alive():
        p.kill()
        raise SystemExit("backlog run did not finish")
    return done_at.value


def run(broker_url: str = "", database_url: str = "", n: int = 5000, workers=(1, 2, 4), backlog: int = 20000,
        latency_seconds: float = 10.0, quick: bool = False) -> dict:
    """Every throughput figure on one broker (and database); returns them as a dict."""
    var = tempfile.mkdtemp(prefix="wagehub-bench-")
    settings = reset(broker_url, database_url, var)
    url = settings["hub"]["broker_url"]
    amqp = url.startswith("amqp")
    target = "RabbitMQ + PostgreSQL" if amqp else "embedded (SQLite)"
    out: dict = {"target": target, "broker": url.split("://")[0], "database": settings["hub"]["database_url"].split(":")[0],
                 "messages": n}
    progress = lambda what: print(f"  [{target}] {what}", file=sys.stderr, flush=True)  # noqa: E731
    progress(f"baseline (a): raw kombu, {'confirm_publish' if amqp else 'committed publishes'}, {n} messages")
    out["baseline_a"] = flow(url, "naive", BASELINE_QUEUE, n)
    if amqp:
        progress("baseline (a+): raw kombu, pipelined confirms")
        out["baseline_a_pipelined"] = flow(url, "pipelined", BASELINE_QUEUE, n)
        progress("baseline (b): raw kombu, no confirms")
        out["baseline_b"] = flow(url, "unconfirmed", BASELINE_QUEUE, n)
    else:
        out["baseline_b"] = out["baseline_a"]
    out["floor"] = {}
    for count in [c for c in workers if c <= 2]:
        settings = reset(broker_url, database_url, tempfile.mkdtemp(prefix="wagehub-bench-"))
        progress(f"floor (f): {count} forwarder process(es), {n} messages")
        out["floor"][str(count)] = floor_flow(settings, n, count)
    out["hub"] = {}
    for count in workers:
        settings = reset(broker_url, database_url, tempfile.mkdtemp(prefix="wagehub-bench-"))
        progress(f"hub, {count} worker process(es), {n} messages")
        out["hub"][str(count)] = hub_flow(settings, n, count)
    best = out["hub"][str(workers[0])]["per_s"]
    out["ratio_a"] = round(best / out["baseline_a"]["per_s"], 2)
    out["ratio_b"] = round(best / out["baseline_b"]["per_s"], 2)
    if backlog:
        settings = reset(broker_url, database_url, tempfile.mkdtemp(prefix="wagehub-bench-"))
        progress(f"hub backlog: {backlog} messages queued, then 1 worker drains them")
        out["backlog"] = hub_flow(settings, backlog, 1, backlog=True)
        out["backlog"]["vs_steady"] = round(best / out["backlog"]["per_s"], 2)
    if latency_seconds:
        rate = max(1.0, best / 2)
        count = max(200, int(rate * latency_seconds))
        settings = reset(broker_url, database_url, tempfile.mkdtemp(prefix="wagehub-bench-"))
        progress(f"latency at {rate:.0f} msg/s (half the 1-worker rate), {count} messages")
        out["latency"] = hub_flow(settings, count, 1, rate=rate)
    return out


def table(results: list[dict]) -> str:
    lines = [f"{'target':<24}{'run':<44}{'msg/s':>9}{'vs (a)':>8}{'vs (b)':>8}{'vs (f)':>8}"
             f"{'hub CPU ms/msg':>16}{'servers CPU ms/msg':>20}"]
    for r in results:
        a, b = r["baseline_a"]["per_s"], r["baseline_b"]["per_s"]
        rows = [("baseline (a) raw kombu, confirm_publish" if r["broker"] == "amqp"
                 else "baseline raw kombu (a = b)", r["baseline_a"], None)]
        if "baseline_a_pipelined" in r:
            rows.append(("baseline (a+) raw kombu, pipelined confirms", r["baseline_a_pipelined"], None))
        if r["broker"] == "amqp":
            rows.append(("baseline (b) raw kombu, no confirms", r["baseline_b"], None))
        for count, f in r.get("floor", {}).items():
            rows.append((f"floor (f), {count} forwarder process{'es' if count != '1' else ''}", f, None))
        for count, h in r["hub"].items():
            rows.append((f"hub, {count} worker process{'es' if count != '1' else ''}", h, r.get("floor", {}).get(count)))
        if "backlog" in r:
            rows.append((f"hub draining a {r['backlog']['messages']:,} backlog", r["backlog"], None))
        for name, fig, floor in rows:
            cpu = f"{fig.get('worker_cpu_ms_per_msg', '-'):>16}{fig['services_cpu_ms_per_msg']:>20}"
            vs_f = f"{fig['per_s'] / floor['per_s']:>8.2f}" if floor else f"{'-':>8}"
            lines.append(f"{r['target']:<24}{name:<44}{fig['per_s']:>9,}{fig['per_s'] / a:>8.2f}"
                         f"{fig['per_s'] / b:>8.2f}{vs_f}{cpu}")
        if "latency" in r:
            lat = r["latency"]
            lines.append(f"{r['target']:<24}latency at {lat['rate']:,} msg/s: p50 {lat['p50_ms']} ms, "
                         f"p95 {lat['p95_ms']} ms, p99 {lat['p99_ms']} ms (max {lat['max_ms']} ms)")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=5000, help="messages per throughput run (default 5000)")
    ap.add_argument("--workers", default="1,2,4", help="hub worker processes to run, comma-separated")
    ap.add_argument("--backlog", type=int, default=20000, help="backlog size (0: skip)")
    ap.add_argument("--latency-seconds", type=float, default=10.0, help="length of the latency run (0: skip)")
    ap.add_argument("--broker-url", default="")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "throughput.json"))
    args = ap.parse_args()
    result = run(args.broker_url, args.database_url, args.n, tuple(int(w) for w in args.workers.split(",")),
                 args.backlog, args.latency_seconds)
    print(table([result]))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
