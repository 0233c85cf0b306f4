"""The mix agencies send, through the hub, beside raw kombu and the floor in the same run.

Per 100 messages published to ``wagehub.in`` (the scenario; ``PATHS`` below):

======  ==============================  =================================================
 share  path                            what the hub does with it
======  ==============================  =================================================
  25    ``clue+project`` hrss CLUE      a matter, steps, duplicate checks; fan-out: union
        naming a project                referral workbook, housing ASSIGNMENT, contractor
                                        webhook (a local HTTP receiver, signed POST)
  15    ``clue`` hrss CLUE, no project  the same, union referral only
  12    ``case`` hrss CASE_STATUS       linked to its clue's matter; no delivery
   8    ``order`` hrss PAY_ORDER        a deadline; no delivery
   5    ``transfer`` hrss TRANSFER      AJYS to the police (GB18030 XML)
   9    ``receipt`` police AJJS         NOTICE to hrss (GB18030 XML in)
   5    ``decision`` police LAJD        NOTICE to hrss; an opened case, a referral to court
   9    ``judgment`` court judgment     NOTICE to hrss
   6    ``payroll`` housing PAYROLL     a 40-row GB18030 CSV batch; shortfall NOTICEs
   6    ``ledger`` union mediation      a 10-row workbook; a NOTICE per row to hrss
======  ==============================  =================================================

So a third of the messages are clues (as in the complaints agencies forward), one in nine
a batch file. Every message carries its own numbers (``B<11 digits>``, the message's
index), so nothing is a duplicate; a delivery that carries such a number (every one but
the batch files' notices) is matched to its publish time for the latency figures.

A run publishes ``n`` messages (pipelined confirms, as an agency's client does) while a
far-end process takes every delivery from every ``wagehub.out.*`` queue and the webhook
receiver counts the contractor's POSTs; it ends at the last delivery (their number is
known from the routes: ``DELIVERIES``), or after 60 s without one (a stall: the table says
how many came). msg/s is inbound messages over that time,
deliveries/s the deliveries; CPU is the workers' and the servers' per inbound message.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import throughput  # noqa: E402
from bodies import RECEIPT, judgment, token_of  # noqa: E402
from measure import services_cpu  # noqa: E402

from schemas.validators import id_check_char  # noqa: E402

HRSS = "application/json", "utf-8"
CONTRACTOR_USCC = "91370103QEFLCR639M"
CONTRACTOR_KEY = "bench-contractor-key"
PROJECTS = "\ufeff项目编号,项目名称,所属区划,建设单位统一社会信用代码,总包单位统一社会信用代码,总包单位名称,开工日期," \
           "专用账户,工资保证金(元),实名制,状态\r\n" + "".join(
               f"3701032023{p:04d},370103安置房{p}期工程,370103,91370103P0G7QEYF7X,{CONTRACTOR_USCC},"
               f"山东鲁建建工集团有限公司,2023-01-05,否,0,是,在建\r\n" for p in range(100))


def _hrss(kind: str, i: int, data: dict) -> tuple:
    doc = {"msgType": kind, "msgId": f"HRSS-B{i:011d}", "sendTime": "20230522093015", "data": data}
    return "hrss", json.dumps(doc, ensure_ascii=False).encode(), *HRSS, {}


def _id_number(i: int) -> str:
    """A complainant of their own for each clue (one complainant's clues would be one matter)."""
    first17 = f"370103{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i // 840 % 1000:03d}"
    return first17 + id_check_char(first17)


def clue(i: int, project: bool = False, one_complainant: bool = False) -> tuple:
    data = {"clueNo": f"XSB{i:011d}", "channel": "01", "receivedTime": "20230522091000", "areaCode": "370103",
            "complainant": {"name": "王春生", "idNo": _id_number(0 if one_complainant else i),
                            "mobile": f"139{i % 10**8:08d}"},
            "employer": {"name": f"海岱建筑劳务有限公司{i % 997}", "creditCode": "91370103JURQ283F5B"},
            "workerCount": 24, "amountFen": 38284800, "periodFrom": "202301", "periodTo": "202304",
            "content": "工程完工后劳务公司拖欠工资"}
    if project:
        data["projectCode"] = f"3701032023{i % 100:04d}"
    return _hrss("CLUE", i, data)


def case(i: int) -> tuple:
    return _hrss("CASE_STATUS", i, {"caseNo": f"AJB{i:011d}", "clueNos": [f"XSB{i:011d}"], "status": "20",
                                    "statusTime": "20230522160000", "firstContactTime": "20230522110000",
                                    "handler": "370103劳动保障监察大队", "recoveredFen": 0, "paidWorkers": 0})


def order(i: int) -> tuple:
    return _hrss("PAY_ORDER", i, {"orderNo": f"ZLZFB{i:011d}", "caseNo": f"AJB{i:011d}",
                                  "creditCode": "91370103JURQ283F5B", "amountFen": 38284800, "issueDate": "20230601",
                                  "dueDate": "20230615", "serveDate": "20230602", "complied": "0"})


def transfer(i: int) -> tuple:
    return _hrss("TRANSFER", i, {
        "transferNo": f"YSB{i:011d}", "caseNo": f"AJB{i:011d}", "orderNo": f"ZLZFB{i:011d}",
        "creditCode": "91370103JURQ283F5B", "employerName": "海岱建筑劳务有限公司",
        "suspects": [{"name": "徐建国", "idNo": "370103196601215548", "role": "法定代表人"}], "workerCount": 24,
        "amountFen": 38284800, "evidence": ["E01", "E02", "E03", "E04"], "transferDate": "20230620", "policeUnit": "370103000000",
        "summary": "经责令支付逾期仍不支付"})


def receipt(i: int) -> tuple:
    return "police", RECEIPT.format(i=i).encode("gb18030"), "application/xml", "gb18030", {}


DECISION = ('<?xml version="1.0" encoding="GB18030"?>\n<PACKET TYPE="LAJD" VERSION="1.0"><HEAD>'
            '<XXBH>GA-B{i:011d}</XXBH><FSDW>370103000000</FSDW><FSSJ>2023-06-21 10:00:00</FSSJ></HEAD><BODY>'
            '<YSBH>YSB{i:011d}</YSBH><JDLX>1</JDLX><LAAJBH>AB{i:011d}</LAAJBH><JDSJ>2023-06-28 15:00:00</JDSJ>'
            '</BODY></PACKET>')


def decision(i: int) -> tuple:
    return "police", DECISION.format(i=i).encode("gb18030"), "application/xml", "gb18030", {}


def court_judgment(i: int) -> tuple:
    return "court", json.dumps(judgment(i), ensure_ascii=False).encode(), "application/json", "utf-8", {}


def payroll(i: int) -> tuple:
    from housing_payroll import lines

    data = b"".join(lines(40, seed=i, bad_every=10**9, projects=f"370{i:09d}"))
    return "housing", data, "text/csv", "gb18030", {"x-wagehub-kind": "PAYROLL"}


def shortfalls(i: int) -> int:
    """Payroll ``i``'s rows paid less than due: each is a project-month of its own, one NOTICE."""
    rows = [line.split(",") for line in payroll(i)[1].decode("gb18030").splitlines()[1:]]
    return sum(int(r[6]) < int(r[5]) for r in rows)


def ledger(i: int) -> tuple:
    from union_workbook import workbook

    return ("union", workbook(10, seed=i, numbers=f"B{i:011d}"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "binary", {})


PATHS = {  # name: (share of 100, body of message i)
    "clue+project": (25, lambda i: clue(i, project=True)),
    "clue": (15, clue),
    "case": (12, case),
    "order": (8, order),
    "transfer": (5, transfer),
    "receipt": (9, receipt),
    "decision": (5, decision),
    "judgment": (9, court_judgment),
    "payroll": (6, payroll),
    "ledger": (6, ledger),
}
assert sum(share for share, _ in PATHS.values()) == 100
DELIVERIES = {  # path: deliveries of message i, by the routes (a run waits for every one)
    "clue+project": 3, "clue": 1, "case": 0, "order": 0, "transfer": 1, "receipt": 1,
    "decision": 2,  # an opened case (JDLX 1): a NOTICE to hrss and a referral to the court
    "judgment": 1, "payroll": shortfalls, "ledger": 10, "clue+project, one complainant": 3,
}
# Not in the mix: every clue from one complainant, so one matter whose deliveries wait in
# line (bench/stall.py; the way a sample resent with new numbers behaves).
ONE_COMPLAINANT = "clue+project, one complainant"
OTHER_PATHS = {ONE_COMPLAINANT: lambda i: clue(i, project=True, one_complainant=True)}
_ORDER = [name for name, (share, _) in PATHS.items() for _ in range(share)]


def path_of(i: int, only: str = "") -> str:
    """The path of message ``i``: ``only``, or the mix's (the shares interleaved, fixed order)."""
    return only or _ORDER[(i * 37) % 100]  # 37 is prime to 100: every share spread over each hundred


def deliveries(i: int, only: str = "") -> int:
    expected = DELIVERIES[path_of(i, only)]
    return expected(i) if callable(expected) else expected


def make(i: int, only: str = "") -> tuple:
    path = path_of(i, only)
    return OTHER_PATHS[path](i) if path in OTHER_PATHS else PATHS[path][1](i)


# -- the far end: every out queue and the webhook -------------------------------------------------


def _far_end(url: str, queues: list[str], port: int, base: int, expected: int, idle: float, ready, applied,
             done_at, got_count, received) -> None:
    """Take every delivery (queues and webhook), counted once by its message id (a delivery
    redelivered after a dropped connection is the same one); reconnects as an agency would."""
    from kombu import Consumer, Queue

    lock = threading.Lock()
    seen: set[str] = set()
    last = time.time()

    def note(message_id: str, data: bytes) -> None:
        nonlocal last
        token = token_of(data)
        token = None if token is None else token - base
        with lock:
            last = time.time()
            seen.add(message_id)
            if token is not None and 0 <= token < len(received):
                received[token] = last  # a message's latency is to its last delivery

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802  (http.server's name)
            note(self.headers.get("X-Wagehub-Message-Id", ""), self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def on_message(message):
        body = message.body if isinstance(message.body, bytes) else bytes(message.body)
        note((message.properties or {}).get("message_id") or "", body)
        message.ack()

    def done() -> bool:
        with lock:
            return bool(expected and len(seen) >= expected) or (applied.is_set() and time.time() - last > idle)

    while not done():
        conn = throughput._connection(url)
        try:
            channel = conn.channel()
            channel.auto_decode = False
            with Consumer(channel, queues=[Queue(q, no_declare=True) for q in queues], on_message=on_message,
                          prefetch_count=200, accept=None):
                ready.set()
                while not done():
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
        except conn.connection_errors + conn.channel_errors:
            time.sleep(0.5)  # the broker dropped us: take up again where the queue is
        finally:
            conn.release()
    done_at.value = last
    got_count.value = len(seen)
    server.shutdown()


def mix_flow(settings: dict, n: int, only: str = "", *, base: int = 0, rate: float = 0.0,
             timeout: float = 900, during=None) -> dict:
    """``n`` messages of one path (``only``) or of the mix, numbered from ``base``, through the
    running workers; the run ends when every message is applied (the inbox) and every delivery
    the routes make of them is in, or 60 s pass without one (a stall: the result says how many
    came). ``during()`` is called a second after the first publish."""
    expected = sum(deliveries(base + i, only) for i in range(n))
    url = settings["hub"]["broker_url"]
    queues = [f"wagehub.out.{code}" for code in ("hrss", "police", "court", "union", "housing")]
    ctx = mp.get_context("spawn")
    sent = ctx.Array("d", n, lock=False)
    received = ctx.Array("d", n, lock=False)
    done_at, got = ctx.Value("d", 0.0, lock=False), ctx.Value("i", 0, lock=False)
    c_ready, p_ready, go, applied = ctx.Event(), ctx.Event(), ctx.Event(), ctx.Event()
    far = ctx.Process(target=_far_end, args=(url, queues, settings["_receiver_port"], base, expected,
                                             60.0, c_ready, applied, done_at, got, received))
    far.start()
    if not c_ready.wait(60):
        raise SystemExit("the far end did not start")
    publisher = ctx.Process(target=throughput._publish, args=(url, "hub", n, rate, p_ready, go, sent),
                            kwargs={"make": make, "only": only, "base": base})
    publisher.start()
    if not p_ready.wait(300):
        raise SystemExit("the publisher did not start")
    inbox0 = _applied(settings)
    services0, workers0 = services_cpu(), settings["_workers_cpu"]()
    go.set()
    if during is not None:
        threading.Timer(1.0, during).start()
    publisher.join(timeout)
    if publisher.exitcode:
        far.kill()
        raise SystemExit(f"mix run {only or 'mix'}: the publisher failed (exit {publisher.exitcode})")
    deadline = time.monotonic() + timeout
    while _applied(settings) < inbox0 + n:
        if time.monotonic() > deadline:
            far.kill()
            raise SystemExit(f"mix run {only or 'mix'}: not every message applied in {timeout} s")
        time.sleep(0.05)
    applied_at = time.time()
    applied.set()
    far.join(timeout)
    if far.is_alive():
        far.kill()
        raise SystemExit(f"mix run {only or 'mix'} did not finish in {timeout} s")
    done_at.value = max(done_at.value, applied_at)
    first = min(t for t in sent if t)
    seconds = done_at.value - first
    out = {"path": only or "mix", "messages": n, "deliveries": got.value, "expected": expected, "seconds": round(seconds, 2),
           "per_s": round(n / seconds), "deliveries_per_s": round(got.value / seconds),
           "worker_cpu_ms_per_msg": round(1000 * (settings["_workers_cpu"]() - workers0) / n, 2),
           "services_cpu_ms_per_msg": round(1000 * (services_cpu() - services0) / n, 2)}
    lat = sorted((r - s) * 1000 for s, r in zip(sent, received) if s and r)
    if rate and len(lat) > 1:
        q = statistics.quantiles(lat, n=100)
        out.update(rate=round(rate), p50_ms=round(q[49], 1), p95_ms=round(q[94], 1), p99_ms=round(q[98], 1),
                   max_ms=round(lat[-1], 1), matched=len(lat))
    return out


# -- set-up: the hub with a contractor's webhook and its projects -------------------------------


def _config(var: str, port: int) -> str:
    path = Path(var) / "bench-mix.toml"
    path.write_text(f'[plugins.contractor.contractors.{CONTRACTOR_USCC}]\nurl = "http://127.0.0.1:{port}/notice"\n'
                    f'key = "{CONTRACTOR_KEY}"\n', encoding="utf-8")
    return str(path)


def _applied(settings: dict) -> int:
    """Messages the hub has applied so far (its inbox)."""
    from sqlalchemy import func, select

    from hub.store.models import Inbox

    engine = settings.get("_engine")
    if engine is None:
        from sqlalchemy import create_engine

        engine = settings["_engine"] = create_engine(settings["hub"]["database_url"], pool_pre_ping=True)
    with engine.connect() as db:
        return db.scalar(select(func.count()).select_from(Inbox))


def _set_up(settings: dict, items: list[tuple], timeout: float = 300) -> None:
    """Publish ``(agency, body, content type, encoding, headers)`` items (not timed) and wait
    until they are applied: the projects the clues name, the cases and orders a transfer's
    dossier needs, the transfer a police decision answers."""
    from hub.messaging.broker import IN_EXCHANGE, OutMessage, Publisher

    before = _applied(settings)
    publisher = Publisher(settings, settings["hub"]["broker_url"])
    for k in range(0, len(items), 100):
        ok = publisher.publish_many([
            OutMessage(routing_key=agency, body=data, exchange=IN_EXCHANGE, message_id=f"set-up-{before + k + j}",
                       content_type=ctype, content_encoding=cenc, headers=headers)
            for j, (agency, data, ctype, cenc, headers) in enumerate(items[k:k + 100])])
        if not all(ok):
            raise SystemExit("the broker did not confirm the set-up")
    publisher.close()
    deadline = time.monotonic() + timeout
    while _applied(settings) < before + len(items):
        if time.monotonic() > deadline:
            raise SystemExit("the set-up was not applied")
        time.sleep(0.2)


def set_up_items(n: int, only: str, base: int) -> list[tuple]:
    """What messages ``base``..``base+n-1`` refer to: a transfer's case and order, a decision's transfer."""
    items: list[tuple] = []
    for i in range(base, base + n):
        path = path_of(i, only)
        if path in ("transfer", "decision"):
            items += [case(i), order(i)]
        if path == "decision":
            items.append(transfer(i))
    return items


def hub_run(broker_url: str, database_url: str, workers: int, runs: list[tuple[str, int, float]],
            keep_log: bool = False, during=None) -> list[dict]:
    """Fresh hub (``workers`` processes), projects loaded, then each ``(path, n, rate)``;
    with ``keep_log``, the last run's result carries the workers' log (``log``)."""
    var = tempfile.mkdtemp(prefix="wagehub-bench-mix-")
    settings = throughput.reset(broker_url, database_url, var)
    with socket.socket() as s:  # the webhook receiver's port: the workers are told it at start
        s.bind(("127.0.0.1", 0))
        settings["_receiver_port"] = s.getsockname()[1]
    out = []
    procs = throughput.start_workers(settings, workers,
                                     extra_env={"WAGEHUB_CONFIG": _config(var, settings["_receiver_port"])})
    try:
        throughput._wait_consuming(settings, workers)
        _set_up(settings, [("housing", PROJECTS.encode("utf-8"), "text/csv", "utf-8", {"x-wagehub-kind": "PROJECT"})])
        settings["_workers_cpu"] = lambda: sum(throughput._process_cpu(p.pid) for p in procs)
        base = 0
        for only, n, rate in runs:
            _set_up(settings, set_up_items(n, only, base))
            throughput.purge_out(settings)
            out.append(mix_flow(settings, n, only, base=base, rate=rate, during=during))
            base += n
    finally:
        throughput.stop_workers(procs)
    if keep_log and out:
        out[-1]["log"] = (Path(var) / "workers.log").read_text(errors="replace")
    return out


def run(broker_url: str = "", database_url: str = "", n: int = 3000, per_path: int = 400, workers: int = 2,
        latency_seconds: float = 10.0) -> dict:
    """Baselines (a), (b), the floor (f), each path alone, the mix, latency at half the mix's rate."""
    var = tempfile.mkdtemp(prefix="wagehub-bench-")
    settings = throughput.reset(broker_url, database_url, var)
    url = settings["hub"]["broker_url"]
    amqp = url.startswith("amqp")
    target = "RabbitMQ + PostgreSQL" if amqp else "embedded (SQLite)"
    progress = lambda what: print(f"  [{target}] mix: {what}", file=sys.stderr, flush=True)  # noqa: E731
    out: dict = {"target": target, "broker": url.split("://")[0], "workers": workers, "shares":
                 {name: share for name, (share, _) in PATHS.items()}, "at": dt.datetime.now(dt.UTC).isoformat()}
    progress(f"baseline (a), {n} messages")
    out["baseline_a"] = throughput.flow(url, "naive", throughput.BASELINE_QUEUE, n)
    if amqp:
        progress("baseline (b)")
        out["baseline_b"] = throughput.flow(url, "unconfirmed", throughput.BASELINE_QUEUE, n)
    else:
        out["baseline_b"] = out["baseline_a"]
    progress(f"floor (f), {workers} forwarders")
    out["floor"] = throughput.floor_flow(throughput.reset(broker_url, database_url, tempfile.mkdtemp()), n, workers)
    if per_path:
        progress(f"each path alone, {per_path} messages each, {workers} workers")
        out["paths"] = hub_run(broker_url, database_url, workers, [(p, per_path, 0.0) for p in PATHS])
    progress(f"the mix, {n} messages")
    [out["mix"]] = hub_run(broker_url, database_url, workers, [("", n, 0.0)])
    if latency_seconds:
        rate = max(1.0, out["mix"]["per_s"] / 2)
        count = max(200, int(rate * latency_seconds))
        progress(f"latency at {rate:.0f} msg/s (half the mix's rate), {count} messages")
        [out["latency"]] = hub_run(broker_url, database_url, workers, [("", count, rate)])
    return out


def table(results: list[dict]) -> str:
    lines = [f"{'target':<24}{'path':<16}{'share':>6}{'msg/s':>8}{'deliv/s':>9}{'vs (a)':>8}{'vs (b)':>8}"
             f"{'vs (f)':>8}{'hub CPU ms/msg':>16}{'servers CPU ms/msg':>20}"]
    for r in results:
        a, b, f = r["baseline_a"]["per_s"], r["baseline_b"]["per_s"], r["floor"]["per_s"]
        lines.append(f"{r['target']:<24}{'baseline (a)':<16}{'':>6}{a:>8,}{'':>9}{1:>8.2f}{a / b:>8.2f}{a / f:>8.2f}"
                     f"{'-':>16}{r['baseline_a']['services_cpu_ms_per_msg']:>20}")
        if r["broker"] == "amqp":
            lines.append(f"{r['target']:<24}{'baseline (b)':<16}{'':>6}{b:>8,}{'':>9}{b / a:>8.2f}{1:>8.2f}"
                         f"{b / f:>8.2f}{'-':>16}{r['baseline_b']['services_cpu_ms_per_msg']:>20}")
        fl = r["floor"]
        lines.append(f"{r['target']:<24}{'floor (f)':<16}{'':>6}{f:>8,}{'':>9}{f / a:>8.2f}{f / b:>8.2f}{1:>8.2f}"
                     f"{fl['worker_cpu_ms_per_msg']:>16}{fl['services_cpu_ms_per_msg']:>20}")
        for p in r.get("paths", []) + [r["mix"]]:
            share = r["shares"].get(p["path"], 100)
            lines.append(f"{r['target']:<24}{p['path']:<16}{share:>6}{p['per_s']:>8,}{p['deliveries_per_s']:>9,}"
                         f"{p['per_s'] / a:>8.2f}{p['per_s'] / b:>8.2f}{p['per_s'] / f:>8.2f}"
                         f"{p['worker_cpu_ms_per_msg']:>16}{p['services_cpu_ms_per_msg']:>20}")
        if "latency" in r:
            lat = r["latency"]
            lines.append(f"{r['target']:<24}mix latency at {lat['rate']:,} msg/s (half load): p50 {lat.get('p50_ms')} ms, "
                         f"p95 {lat.get('p95_ms')} ms, p99 {lat.get('p99_ms')} ms (max {lat.get('max_ms')} ms; "
                         f"{lat.get('matched', 0)} of {lat['messages']} messages matched)")
        lines.append(f"{r['target']:<24}{r['workers']} hub workers, {r['workers']} floor forwarders; the mix "
                     f"delivered {r['mix']['deliveries']:,} of {r['mix']['expected']:,} for "
                     f"{r['mix']['messages']:,} messages")
        short = [p["path"] for p in r.get("paths", []) + [r["mix"]] if p["deliveries"] < p["expected"]]
        if short:
            lines.append(f"{r['target']:<24}DELIVERIES MISSING after 60 s without one: {', '.join(short)}")
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=3000, help="messages in the mix and the baselines")
    ap.add_argument("--per-path", type=int, default=400, help="messages of each path alone (0: skip)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--latency-seconds", type=float, default=10.0)
    ap.add_argument("--broker-url", default="")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "mix.json"))
    args = ap.parse_args()
    result = run(args.broker_url, args.database_url, args.n, args.per_path, args.workers, args.latency_seconds)
    print(table([result]))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2))
