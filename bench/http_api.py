"""HTTP figures: inbound POST and record GETs per second under gunicorn, on loopback.

Starts the API the way production does (``gunicorn -w N 'hub.web.app:create_app()'``) on a
fresh database, then drives it for a fixed time from a load generator on the same
machine:

1. ``POST /api/v1/inbound/hrss``: labour inspection's native CLUE (a complaint), each with
   its own message id, clue number, complainant and project, so each is accepted as new:
   a record, its own matter and deadlines, an outbox row for each route a clue takes
   (union, housing, contractor) and its audit entry, in one transaction;
2. ``GET /api/v1/records/<id>`` of records the POST phase created, as a ``viewer``;
3. ``GET /api/v1/records?limit=50&cursor=...``: pages from random places, as a ``viewer``.

Every request must succeed: non-2xx answers and connection errors are counted and shown
(with the first few bodies), never dropped. The generator is ``wrk`` when it is installed
(it costs gunicorn the least CPU on a small machine), otherwise Python processes with a
few threads each, each thread on its own ``http.client`` connection (gunicorn's sync
workers close the connection after every response, so it reconnects each time).

Runs on the embedded defaults, and on RabbitMQ + PostgreSQL when ``--broker-url`` /
``--database-url`` are given. Prints a table and writes JSON.

    python bench/http_api.py
    python bench/http_api.py --broker-url amqp://guest:guest@127.0.0.1:5672/bench_http \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_http
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from measure import machine_busy, reset_database, services_cpu, tree_cpu  # noqa: E402

from hub.config import load_settings  # noqa: E402

SAMPLE = ROOT / "plugins" / "hrss" / "samples" / "hrss-clue.json"
KEY, ID = "@@K@@", "@@ID@@"
REGION = "370103"
LIST_LIMIT = 50
WARMUP_SECONDS = 1.0
SHOW_ERRORS = 5
APP = "hub.web.app:create_app()"


def post_template() -> bytes:
    """Labour inspection's CLUE sample (a complaint from a QR code or the hotline: the
    commonest message an agency posts), with placeholders for what makes each one new."""
    msg = json.loads(SAMPLE.read_text(encoding="utf-8"))
    msg["msgId"] = f"HTTP-{KEY}"
    data = msg["data"]
    data["clueNo"] = f"XSHTTP{KEY}"
    # Its own complainant and project too: a clue with the same complainant, or the same
    # employer and project over the same months, would join the earlier clue's matter.
    data["complainant"]["idNo"] = ID
    data["projectCode"] = f"PJHTTP{KEY}"
    return json.dumps(msg, ensure_ascii=False).encode()


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(k: int) -> str:
    """A distinct identity number with a valid GB 11643 check character."""
    first17 = f"{REGION}{k:011d}"
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS)) % 11]


def post_body(template: bytes, k: int) -> tuple[bytes, str]:
    """Request ``k``'s body and message id."""
    return template.replace(KEY.encode(), str(k).encode()).replace(ID.encode(), id_number(k).encode()), f"http-{k}"


def cursor_for(seq: int) -> str:
    """A cursor as the API gives them out (hub.services.paging.encode_cursor)."""
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


# -- the server -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reset(settings) -> None:
    reset_database(settings["hub"]["database_url"])


def prepare(settings) -> dict[str, str]:
    """Migrate the database and create the tokens the load generator uses."""
    from hub.store import Store
    from hub.web.auth import create_token

    store = Store(settings["hub"]["database_url"])
    try:
        store.upgrade()
        return {"hrss": create_token(store, "agency:hrss", label="bench"),
                "viewer": create_token(store, "viewer", label="bench")}
    finally:
        store.dispose()


def server_env(settings) -> dict[str, str]:
    """The parent's environment without any WAGEHUB_* of its own, plus the bench's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAGEHUB_")}
    hub = settings["hub"]
    env.update(WAGEHUB_VAR_DIR=hub["var_dir"], WAGEHUB_BROKER_URL=hub["broker_url"],
               WAGEHUB_DATABASE_URL=hub["database_url"],
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    return env


def start_gunicorn(settings, port: int, workers: int, log_path: Path, app: str, threads: int = 1) -> subprocess.Popen:
    """gunicorn as the README runs it; its log and the hub's (stderr) go to ``log_path``.

    ``threads`` > 1 runs gunicorn's gthread workers (keep-alive, requests on threads).
    """
    conf = log_path.parent / "gunicorn_conf.py"
    # Each worker leaves a mark once it has built its app (and hub): wait_ready() counts them.
    conf.write_text("import pathlib\n\n\ndef post_worker_init(worker):\n"
                    f"    pathlib.Path({str(log_path.parent / 'ready')!r}, str(worker.pid)).touch()\n")
    (log_path.parent / "ready").mkdir(exist_ok=True)
    cmd = [sys.executable, "-m", "gunicorn", "-c", str(conf), "-w", str(workers), "--bind", f"127.0.0.1:{port}",
           "--log-level", "warning", app]
    if threads > 1:
        cmd[3:3] = ["--threads", str(threads)]
    with open(log_path, "ab") as log:
        return subprocess.Popen(cmd, cwd=ROOT, env=server_env(settings), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(proc: subprocess.Popen, port: int, workers: int, log_path: Path, timeout: float = 60) -> None:
    """Until every worker has built its app (each builds its own Hub) and /healthz answers 200."""
    deadline = time.monotonic() + timeout
    ok = 0
    ready = log_path.parent / "ready"
    while time.monotonic() < deadline:
        if len(list(ready.iterdir())) < workers:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{tail(log_path)}")
            time.sleep(0.1)
            continue
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{tail(log_path)}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            status = conn.getresponse().status
            conn.close()
        except OSError:
            status = 0
        ok = ok + 1 if status == 200 else 0
        if ok >= 3:
            return
        time.sleep(0.05 if status == 200 else 0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{tail(log_path)}")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()  # the arbiter stops its workers gracefully
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- the Python load generator ------------------------------------------------------------------

def _thread_loop(spec: dict, proc_no: int, thread_no: int, out: dict) -> None:
    port, token, phase = spec["port"], spec["token"], spec["phase"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    rng = random.Random(proc_no * 1000 + thread_no)
    template = spec.get("template", b"")
    ids = spec.get("ids") or []
    max_seq = spec.get("max_seq", 0)
    auth = f"Bearer {token}"
    post_headers = {"Authorization": auth, "Content-Type": "application/json", "Content-Encoding": "utf-8"}
    get_headers = {"Authorization": auth}
    n = 0
    # Request keys: each phase, process and thread has its own block of them.
    first_key = ((spec.get("key_block", 0) * 16 + proc_no) * 64 + thread_no) * 1_000_000
    start_at, end_at = spec["start_at"], spec["end_at"]
    while time.time() < start_at:
        time.sleep(0.001)
    perf = time.perf_counter
    while time.time() < end_at:
        n += 1
        if phase == "post":
            body, message_id = post_body(template, first_key + n)
            method, path, headers = "POST", "/api/v1/inbound/hrss", {**post_headers, "Message-Id": message_id}
        elif phase == "health":
            method, path, headers, body = "GET", "/healthz", get_headers, None
        elif phase == "get":
            method, path, headers, body = "GET", f"/api/v1/records/{rng.choice(ids)}", get_headers, None
        else:
            after = rng.randrange(0, max(1, max_seq - LIST_LIMIT))
            method, path, headers, body = "GET", f"/api/v1/records?limit={LIST_LIMIT}&cursor={cursor_for(after)}", \
                get_headers, None
        t0 = perf()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            status, data = 0, f"{type(exc).__name__}: {exc}".encode()
        latencies.append((perf() - t0) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if not 200 <= status < 300:
            if len(errors) < SHOW_ERRORS:
                errors.append(f"{status} {method} {path}: {data[:300].decode(errors='replace')}")
        elif n == 1:
            json.loads(data)  # the first answer of each connection parses as JSON
    conn.close()
    out[(proc_no, thread_no)] = {"latencies": latencies, "statuses": statuses, "errors": errors,
                                 "finished": time.time()}


def _process_main(spec: dict, proc_no: int, threads: int, results) -> None:
    out: dict = {}
    pool = [threading.Thread(target=_thread_loop, args=(spec, proc_no, t, out)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    results.put(list(out.values()))


def python_load(spec: dict, concurrency: int, processes: int) -> list[dict]:
    ctx = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() \
        else multiprocessing.get_context()
    results = ctx.Queue()
    processes = max(1, min(processes, concurrency))
    per = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    procs = [ctx.Process(target=_process_main, args=(spec, i, per[i], results), daemon=True)
             for i in range(processes)]
    for p in procs:
        p.start()
    gathered: list[dict] = []
    for _ in procs:
        gathered.extend(results.get(timeout=spec["end_at"] - time.time() + 120))
    for p in procs:
        p.join()
    return gathered


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[i]


def summarise(name: str, threads: list[dict], started: float) -> dict:
    latencies = sorted(x for t in threads for x in t["latencies"])
    statuses: dict[str, int] = {}
    for t in threads:
        for code, count in t["statuses"].items():
            statuses[str(code)] = statuses.get(str(code), 0) + count
    total = len(latencies)
    ok = sum(c for code, c in statuses.items() if 200 <= int(code) < 300)
    elapsed = max((t["finished"] for t in threads), default=started) - started
    return {
        "phase": name, "requests": total, "ok": ok, "errors": total - ok, "statuses": statuses,
        "seconds": round(elapsed, 2), "requests_per_s": round(total / elapsed) if elapsed > 0 else 0,
        "ok_per_s": round(ok / elapsed) if elapsed > 0 else 0,
        "p50_ms": round(percentile(latencies, 50), 2), "p95_ms": round(percentile(latencies, 95), 2),
        "p99_ms": round(percentile(latencies, 99), 2), "max_ms": round(latencies[-1], 2) if latencies else 0.0,
        "first_errors": [e for t in threads for e in t["errors"]][:SHOW_ERRORS],
    }


# -- wrk (when installed) ---------------------------------------------------------------------------

_WRK_LUA = r"""
-- globals, not locals: wrk's setup() sets thread_no and done() reads statuses through them
counter = 0
thread_no = 0
statuses = {}
local threads = {}
local template, token, phase, ids, max_seq, key_block, limit = nil, nil, nil, {}, 0, 0, 50
local weights = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

local function b64(s)
  local chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  return ((s:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d?%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return chars:sub(c + 1, c + 1)
  end))
end

function init(args)
  local f = io.open(os.getenv("BENCH_SPEC"), "r")
  phase = f:read("*l"); token = f:read("*l"); key_block = tonumber(f:read("*l")); max_seq = tonumber(f:read("*l"))
  template = f:read("*l")
  for line in f:lines() do table.insert(ids, line) end
  f:close()
  math.randomseed(thread_no * 7919 + 1)
end

function request()
  counter = counter + 1
  if phase == "post" then
    -- as post_body(): process number 15 is wrk's
    local key = string.format("%.0f", ((key_block * 16 + 15) * 64 + thread_no) * 1000000 + counter)
    local first = "370103" .. string.format("%011.0f", tonumber(key))
    local sum = 0
    for i = 1, 17 do sum = sum + tonumber(first:sub(i, i)) * weights[i] end
    local c = sum % 11 + 1
    local body = template:gsub("@@K@@", key)
    body = body:gsub("@@ID@@", first .. ("10X98765432"):sub(c, c))
    return wrk.format("POST", "/api/v1/inbound/hrss", {
      ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
      ["Content-Encoding"] = "utf-8", ["Message-Id"] = "http-" .. key}, body)
  elseif phase == "health" then
    return wrk.format("GET", "/healthz")
  elseif phase == "get" then
    return wrk.format("GET", "/api/v1/records/" .. ids[math.random(#ids)], {["Authorization"] = "Bearer " .. token})
  else
    local after = math.random(0, math.max(1, max_seq - limit))
    return wrk.format("GET", "/api/v1/records?limit=" .. limit .. "&cursor=" .. b64(tostring(after)),
      {["Authorization"] = "Bearer " .. token})
  end
end

errs = {}

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if (status < 200 or status > 299) and #errs < 5 then
    table.insert(errs, status .. " " .. (body or ""):sub(1, 300):gsub("[\r\n]", " "))
  end
end

function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for code, n in pairs(s) do all[code] = (all[code] or 0) + n end
    for _, e in ipairs(t:get("errs")) do io.write("WRKERR " .. e .. "\n") end
  end
  local parts = {}
  for code, n in pairs(all) do table.insert(parts, '"' .. code .. '": ' .. n) end
  io.write(string.format(
    'WRKJSON {"requests": %d, "seconds": %.3f, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"timeouts": %d, "non2xx": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, summary.errors.status, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, table.concat(parts, ", ")))
end
"""


def wrk_load(wrk: str, spec: dict, concurrency: int, var: Path) -> dict:
    """One phase with wrk; returns the same summary as the Python generator."""
    spec_file, script = var / f"wrk-{spec['phase']}.txt", var / "bench.lua"
    script.write_text(_WRK_LUA)
    lines = [spec["phase"], spec["token"], str(spec.get("key_block", 0)), str(spec.get("max_seq", 0)),
             spec.get("template", b"").decode()] + list(spec.get("ids") or [])
    spec_file.write_text("\n".join(lines) + "\n")
    seconds = spec["end_at"] - spec["start_at"]
    threads = max(1, min(2, concurrency))
    cmd = [wrk, "-t", str(threads), "-c", str(concurrency), "-d", f"{max(1, round(seconds))}s", "--timeout", "30s",
           "-s", str(script), f"http://127.0.0.1:{spec['port']}"]
    proc = subprocess.run(cmd, env={**os.environ, "BENCH_SPEC": str(spec_file)}, capture_output=True, text=True,
                          timeout=seconds + 120)
    line = next((x for x in proc.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout[-2000:]} {proc.stderr[-2000:]}")
    w = json.loads(line[len("WRKJSON "):])
    socket_errors = w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"]
    statuses = dict(w["statuses"])
    if socket_errors:
        statuses["0"] = socket_errors
    ok = sum(c for code, c in statuses.items() if 200 <= int(code) < 300)
    total = w["requests"] + socket_errors
    return {
        "phase": spec["phase"], "requests": total, "ok": ok, "errors": total - ok, "statuses": statuses,
        "seconds": round(w["seconds"], 2), "requests_per_s": round(total / w["seconds"]),
        "ok_per_s": round(ok / w["seconds"]),
        "p50_ms": w["p50_us"] / 1000, "p95_ms": w["p95_us"] / 1000, "p99_ms": w["p99_us"] / 1000,
        "max_ms": w["max_us"] / 1000,
        "first_errors": ([x[len("WRKERR "):] for x in proc.stdout.splitlines() if x.startswith("WRKERR ")]
                         + [f"{v} socket errors or timeouts" for k, v in statuses.items() if k == "0"])[:SHOW_ERRORS],
    }


# -- the run -------------------------------------------------------------------------------------

# -- where the CPU went (Linux /proc; left out elsewhere) ------------------------------------------

def children_cpu() -> float:
    """CPU seconds of this process's reaped children (the generator processes, once joined)."""
    t = os.times()
    return t.children_user + t.children_system


def cpu_shares(before: dict, after: dict, elapsed: float) -> dict:
    """Percent of one core each used during a phase: gunicorn, the load generator, PostgreSQL and
    RabbitMQ, and ``other``: the rest of the machine (other programs competing for the CPU)."""
    if before["machine"] is None or after["machine"] is None or before["server"] is None \
            or after["server"] is None or elapsed <= 0:
        return {}
    machine = after["machine"][0] - before["machine"][0]
    server = after["server"] - before["server"]
    generator = after["generator"] - before["generator"]
    services = after["services"] - before["services"]
    return {"cores": os.cpu_count(), "machine_pct": round(machine / elapsed * 100),
            "server_pct": round(server / elapsed * 100), "generator_pct": round(generator / elapsed * 100),
            "services_pct": round(services / elapsed * 100),
            "other_pct": max(0, round((machine - server - generator - services) / elapsed * 100))}


def run_phase(phase: str, spec_base: dict, seconds: float, concurrency: int, processes: int,
              wrk: str | None, var: Path, **extra) -> dict:
    spec = {**spec_base, **extra, "phase": phase}
    spec["start_at"] = time.time() + 0.3
    spec["end_at"] = spec["start_at"] + seconds

    def sample() -> dict:
        return {"machine": machine_busy(), "server": tree_cpu(spec["server_pid"]), "generator": children_cpu(),
                "services": services_cpu()}

    before, t0 = sample(), time.monotonic()
    if wrk:
        result = wrk_load(wrk, spec, concurrency, var)
    else:
        result = summarise(phase, python_load(spec, concurrency, processes), spec["start_at"])
    elapsed = time.monotonic() - t0
    result["cpu"] = cpu_shares(before, sample(), elapsed)
    if result["cpu"] and result["requests"]:
        # gunicorn's CPU per request: what one core serves, whatever else the machine is doing
        result["cpu"]["server_ms_per_request"] = round(
            result["cpu"]["server_pct"] / 100 * elapsed * 1000 / result["requests"], 2)
    return result


def stored(settings, sample: int = 20000) -> tuple[int, int, list[str]]:
    """Records and outbox rows in the database, and a sample of record ids to read back."""
    from sqlalchemy import func, select

    from hub.store import make_engine
    from hub.store.models import Outbox, Record

    engine = make_engine(settings["hub"]["database_url"])
    try:
        with engine.connect() as conn:
            records = conn.execute(select(func.count()).select_from(Record)).scalar()
            outbox = conn.execute(select(func.count()).select_from(Outbox)).scalar()
            ids = list(conn.execute(select(Record.record_id).order_by(func.random()).limit(sample)).scalars())
        return records, outbox, ids
    finally:
        engine.dispose()


def run(broker_url: str = "", database_url: str = "", seconds: float = 10, workers: int = 2,
        concurrency: int = 16, processes: int = 2, generator: str = "auto", app: str = APP,
        threads: int = 1, keep: bool = False) -> dict:
    """Start gunicorn on a fresh database and measure POST, GET by id and paged GET.

    ``generator``: ``auto`` (wrk when installed, else Python), ``python`` or ``wrk``; ``app``: the WSGI
    app gunicorn serves (a variant of the hub's, to compare); ``keep``: leave the var dir (database,
    server log) in place afterwards.
    """
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    var = Path(tempfile.mkdtemp(prefix="wagehub-bench-http-"))
    settings = load_settings({"hub": {"var_dir": str(var), "broker_url": broker_url, "database_url": database_url}},
                             environ={})
    reset(settings)
    tokens = prepare(settings)
    wrk = shutil.which("wrk") if generator in ("auto", "wrk") else None
    if generator == "wrk" and not wrk:
        raise RuntimeError("--generator wrk: wrk is not installed")
    port = free_port()
    log_path = var / "gunicorn.log"
    proc = start_gunicorn(settings, port, workers, log_path, app, threads)
    try:
        wait_ready(proc, port, workers, log_path)
        base = {"port": port, "template": post_template(), "server_pid": proc.pid}
        # The ceiling of this server and generator on this machine: a trivial JSON route.
        health = run_phase("health", {**base, "token": ""}, seconds, concurrency, processes, wrk, var)
        # Warm-up (not counted): imports, pools and caches of every worker, on both paths.
        warm = run_phase("post", {**base, "token": tokens["hrss"], "key_block": 1}, WARMUP_SECONDS, concurrency,
                         processes, wrk, var)
        post = run_phase("post", {**base, "token": tokens["hrss"], "key_block": 2}, seconds, concurrency, processes,
                         wrk, var)
        records, outbox, ids = stored(settings)
        if not ids:
            raise RuntimeError(f"the POST phase created no record to read: {post['first_errors']}\n{tail(log_path)}")
        get = run_phase("get", {**base, "token": tokens["viewer"]}, seconds, concurrency, processes,
                        wrk, var, ids=ids)
        listing = run_phase("list", {**base, "token": tokens["viewer"]}, seconds, concurrency,
                            processes, wrk, var, max_seq=records)
    finally:
        stop_gunicorn(proc)
        # What went wrong on the server side, if anything (its INFO lines are one per accepted message).
        server_log = [line for line in tail(log_path, 1_000_000).splitlines()
                      if any(w in line for w in ("ERROR", "WARNING", "CRITICAL", "Traceback", "Error"))][-20:]
        if not keep:
            shutil.rmtree(var, ignore_errors=True)
    return {
        "broker": settings["hub"]["broker_url"].split("://")[0],
        "database": settings["hub"]["database_url"].split(":")[0].split("+")[0],
        "server": f"gunicorn -w {workers} " + (f"--threads {threads} (gthread)" if threads > 1 else "(sync)")
        + ("" if app == APP else f" {app}"), "concurrency": concurrency,
        "generator": f"wrk ({wrk})" if wrk else
        f"python ({min(processes, concurrency)} processes x threads, http.client)",
        # Each accepted POST is a new clue: one record, its own matter, and an outbox row for each
        # route a clue takes (union, housing, contractor).
        "posts_accepted": warm["ok"] + post["ok"], "records_after_post": records, "outbox_after_post": outbox,
        # wrk leaves the requests in flight when its time is up uncounted (the server completes them).
        "posts_uncounted_max": 2 * concurrency if wrk else 0,
        "phases": {"health": {**health, "route": "GET /healthz (no auth, no database)"},
                   "post": {**post, "route": "POST /api/v1/inbound/hrss (a new CLUE each, agency:hrss)"},
                   "get": {**get, "route": "GET /api/v1/records/<id> (viewer)"},
                   "list": {**listing, "route": f"GET /api/v1/records?limit={LIST_LIMIT}&cursor= (viewer)"}},
        "server_problems": server_log,
        "machine": {"cpus": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before or ()],
                    "python": sys.version.split()[0]},
        "var_dir": str(var) if keep else None,
    }


def missing_records(result: dict) -> int:
    """Accepted POSTs without their record (or records no POST was answered for, beyond those in flight)."""
    extra = result["records_after_post"] - result["posts_accepted"]
    return -extra if extra < 0 else max(0, extra - result["posts_uncounted_max"])


NAMES = {"health": "GET /healthz", "post": "POST inbound/hrss", "get": "GET records/<id>",
         "list": f"GET records?limit={LIST_LIMIT}"}


def print_table(result: dict) -> None:
    print(f"{result['broker']} + {result['database']}, {result['server']}, {result['concurrency']} connections, "
          f"generator: {result['generator']}")
    print(f"{'phase':<22}{'requests':>9}{'errors':>7}{'req/s':>7}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
          f"{'max ms':>8}{'cpu ms/req':>11}   CPU % of a core: gunicorn/generator/pg+rabbit/other")
    for key, r in result["phases"].items():
        cpu = r.get("cpu") or {}
        shares = f"{cpu['server_pct']}/{cpu['generator_pct']}/{cpu['services_pct']}/{cpu['other_pct']}" \
            if cpu else ""
        per = f"{cpu['server_ms_per_request']:>11.2f}" if "server_ms_per_request" in cpu else f"{'':>11}"
        print(f"{NAMES[key]:<22}{r['requests']:>9}{r['errors']:>7}{r['requests_per_s']:>7}{r['p50_ms']:>8.1f}"
              f"{r['p95_ms']:>8.1f}{r['p99_ms']:>8.1f}{r['max_ms']:>8.1f}{per}   {shares}")
    print("cpu ms/req: gunicorn's CPU per request (1000 / it = requests/s one core can serve)")
    if result["server_problems"]:
        print(f"!! the server logged {len(result['server_problems'])} problem line(s), the last:")
        print(f"   {result['server_problems'][-1][:300]}")
    if missing_records(result):
        print(f"!! {result['posts_accepted']} POSTs answered 202 but the database holds "
              f"{result['records_after_post']} records")
    busy = max((r.get("cpu", {}).get("other_pct", 0) for r in result["phases"].values()), default=0)
    if busy >= 20:
        print(f"!! other processes used up to {busy}% of a core during the run: the figures are low by that much")
    for key, r in result["phases"].items():
        if r["errors"]:
            print(f"!! {NAMES[key]}: {r['errors']} failed requests, statuses {r['statuses']}")
            for e in r["first_errors"]:
                print(f"   {e}")


def write_result(path: Path, result: dict) -> None:
    """Keep one result per configuration (``embedded+sqlite``, ``amqp+postgresql``) in one file."""
    try:
        saved = json.loads(path.read_text())
        runs = saved["runs"] if isinstance(saved, dict) and isinstance(saved.get("runs"), dict) else {}
    except (OSError, ValueError):
        runs = {}
    runs[f"{result['broker']}+{result['database']}"] = {**result, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"runs": runs}, indent=2, ensure_ascii=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--broker-url", default="")
    ap.add_argument("--database-url", default="")
    ap.add_argument("--seconds", type=float, default=10, help="length of each measured phase")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ap.add_argument("--concurrency", type=int, default=16, help="connections kept busy by the load generator")
    ap.add_argument("--processes", type=int, default=2, help="load generator processes (Python generator)")
    ap.add_argument("--generator", choices=("auto", "python", "wrk"), default="auto")
    ap.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (>1: gthread workers)")
    ap.add_argument("--keep", action="store_true", help="keep the var dir (database, server log) afterwards")
    ap.add_argument("--app", default=APP, help="WSGI app for gunicorn (to compare a variant)")
    ap.add_argument("--json", default=str(ROOT / "bench" / "results" / "http_api.json"),
                    help="results file: each configuration's last run is kept under its own key")
    args = ap.parse_args()
    result = run(args.broker_url, args.database_url, seconds=args.seconds, workers=args.workers,
                 concurrency=args.concurrency, processes=args.processes, generator=args.generator, app=args.app,
                 threads=args.threads, keep=args.keep)
    print_table(result)
    out = Path(args.json)
    write_result(out, result)
    failed = sum(r["errors"] for r in result["phases"].values())
    failed += missing_records(result)
    if failed:
        sys.exit(f"{failed} requests failed (see above and {out})")


if __name__ == "__main__":
    main()
