"""What the parser benchmarks share: peak memory and a timed pass over a plugin's parser."""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time

import hub


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB.

    Linux's ``VmHWM`` when there is one: ``ru_maxrss`` survives ``exec`` on Linux, so a
    process started by a big parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    return rss / (1 << 20) if sys.platform == "darwin" else rss / 1024


def time_parse(parse_message, message: hub.NativeMessage) -> tuple[int, int, float]:
    """Run a plugin's ``parse_message`` to the end: (records, rejected rows, seconds)."""
    start = time.perf_counter()
    parsed = rejected = 0
    for item in parse_message(message=message, settings={}):
        if isinstance(item, hub.Rejected):
            rejected += 1
        else:
            parsed += 1
    return parsed, rejected, time.perf_counter() - start


def reset_database(url: str) -> None:
    """An empty PostgreSQL ``public`` schema (a bench's SQLite database is new anyway)."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import text

    from hub.store import make_engine

    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def through_hub(message: hub.NativeMessage, database_url: str = "") -> dict:
    """Apply one batch message through the hub's pipeline (parse, validate, one transaction:
    records, matters, outbox, audit) on a fresh database: records, dead letters, seconds."""
    from hub.config import load_settings
    from hub.runtime import Hub

    settings = load_settings({"hub": {"var_dir": tempfile.mkdtemp(prefix="wagehub-bench-"),
                                      "database_url": database_url}}, environ={})
    reset_database(database_url)
    h = Hub(settings)
    logging.getLogger("hub").setLevel(logging.ERROR)  # the 0.1% bad rows would log a line each
    start = time.perf_counter()
    [outcome] = h.pipeline.process([message])
    seconds = time.perf_counter() - start
    h.shutdown()
    return {"records": len(outcome.records), "dead_letters": len(outcome.dead_letters), "seconds": seconds}


def batch_main(name: str, default_rows: int, make_body, make_message, doc: str) -> None:
    """The command line both batch benchmarks share (rows, ``--hub``, ``--json``)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", nargs="?", type=int, default=default_rows)
    ap.add_argument("--hub", action="store_true", help="through the whole hub pipeline, not the parser alone")
    ap.add_argument("--database-url", default="", help="with --hub: PostgreSQL instead of the embedded SQLite")
    ap.add_argument("--json", default="", help="also write the figures to this file")
    ap.add_argument("--bad-every", type=int, default=None,
                    help="make every Nth row bad (a dead letter each); 1: every row")
    args = ap.parse_args()
    body = make_body(args.rows, **({} if args.bad_every is None else {"bad_every": args.bad_every}))
    if args.bad_every is not None:
        name += ", every row bad" if args.bad_every == 1 else f", every {args.bad_every}th row bad"
    rss_before = peak_rss_mb()
    message = make_message(body)
    if args.hub:
        result = through_hub(message, args.database_url)
        what = f"through the hub ({'PostgreSQL' if args.database_url else 'SQLite'})"
    else:
        parsed, rejected, seconds = time_parse(lambda **kw: _parse(message.agency, **kw), message)
        result = {"records": parsed, "dead_letters": rejected, "seconds": seconds}
        what = "parser alone"
    result.update(name=name, what=what, rows=args.rows, body_mib=round(len(body) / (1 << 20), 1),
                  rows_per_s=round(args.rows / result["seconds"]), seconds=round(result["seconds"], 2),
                  peak_rss_mb=round(peak_rss_mb(), 1), rss_with_body_mb=round(rss_before, 1))
    print(f"{name}, {what}: {args.rows:,} rows ({result['body_mib']} MiB): {result['records']:,} records, "
          f"{result['dead_letters']} dead letters, {result['seconds']} s, {result['rows_per_s']:,} rows/s, "
          f"peak RSS {result['peak_rss_mb']} MB (with the body read in: {result['rss_with_body_mb']} MB)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f)


def _parse(agency: str, **kwargs):
    import importlib

    return importlib.import_module(f"plugins.{agency}").parse_message(**kwargs)


# -- CPU used, from /proc (Linux) ------------------------------------------------------------


def _clk() -> float:
    return float(os.sysconf("SC_CLK_TCK"))


def machine_busy() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            values = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return (total - idle) / _clk(), total / _clk()


def tree_cpu(pid: int) -> float | None:
    """CPU seconds used so far by a process and its children (gunicorn's master and workers)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            pids = [pid] + [int(x) for x in f.read().split()]
    except OSError:
        return None
    used = 0.0
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            used += (int(fields[11]) + int(fields[12])) / _clk()  # utime + stime
        except (OSError, IndexError, ValueError):
            continue
    return used


SERVICES = ("postgres", "beam.smp", "epmd")  # PostgreSQL and RabbitMQ, when the run uses them


def services_cpu() -> float:
    """CPU seconds used so far by the database and broker servers on this machine."""
    used = 0.0
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
        except OSError:
            continue
        if head.split("(", 1)[-1] in SERVICES:
            fields = rest.split()
            used += (int(fields[11]) + int(fields[12])) / _clk()
    return used


def generated(script: str, rows: int, bad_every: int) -> bytes:
    """A generated batch body, made in a child process (``script --generate``), so the peak
    RSS measured here is the reader's, not the generator's."""
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/batch"
        subprocess.run([sys.executable, script, "--generate", path, str(rows), str(bad_every)], check=True)
        with open(path, "rb") as f:
            return f.read()


def write_generated(argv: list[str], lines) -> None:
    """The child's side of :func:`generated`: ``--generate PATH ROWS BAD_EVERY``."""
    rows, bad_every = int(argv[3]), int(argv[4])
    with open(argv[2], "wb") as out:
        out.write(b"".join(lines(rows, bad_every=bad_every)))
