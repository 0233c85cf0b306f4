"""Measure the bank plugin on a 100,000-line PAYOUT file: rows/s and peak RSS, against a
baseline taken the same way in the same run.

Generates a GB18030 ``|``-separated payout file (valid identity numbers, 2% of payouts
failed, 0.1% bad lines), then, in this process alone, one of:

- ``--baseline``: the least any reader of the format does: split the body into lines,
  decode each from GB18030, split it on ``|`` (no checks, no records);
- the bank plugin's ``parse_message`` (the default): every check, one record a line,
  the trailer's count and sum;
- ``--hub``: the whole pipeline (records, matters, outbox, the early-warning rules, audit,
  one transaction).

The body's bytes are in memory by design (a message body is); the parser must not add
memory per line. Usage:
``python bench/bank_payout.py [ROWS] [--baseline | --hub [--database-url URL]] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import time

import measure
from measure import peak_rss_mb, through_hub, time_parse

import hub
from schemas.validators import id_check_char

BANK = "102451000018"
ACC = "1602002419200123456"
NAMES = ["高秀英", "徐桂兰", "吴国庆", "林建国", "杨丽娟", "胡桂兰", "郭建国", "王春生", "李明", "张伟"]


def lines(rows: int, seed: int = 20230510, bad_every: int = 1000, projects: str = "370103202371"):
    """A payout file of ``rows`` lines over 40 projects ``<projects>00``..``<projects>39``."""
    rng = random.Random(seed)
    yield f"H|{BANK}|PAYOUT|BENCH{rows}|20230510|{rows}\r\n".encode("gb18030")
    total = 0
    for i in range(rows):
        first17 = f"370103{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i // 480 % 1000:03d}"
        id_number = first17 + id_check_char(first17)
        if i % bad_every == bad_every - 1:
            id_number = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")  # a bad check character
        amount = rng.randint(300000, 900000)
        total += amount
        result = "0|" if rng.random() > 0.02 else "1|收款账户状态异常"
        yield (f"D|{projects}{i % 40:02d}|{ACC}|{id_number}|{rng.choice(NAMES)}|{amount}|2023{5 + i % 2:02d}"
               f"{1 + i % 28:02d}|{result}\r\n").encode("gb18030")
    yield f"T|{rows}|{total}\r\n".encode("gb18030")


def generated(rows: int, bad_every: int = 1000) -> bytes:
    return measure.generated(__file__, rows, bad_every)


def message(body: bytes) -> hub.NativeMessage:
    return hub.NativeMessage(agency="bank", body=body, message_id="bench", content_type="text/plain",
                             content_encoding="gb18030", kind="PAYOUT")


def baseline(body: bytes) -> tuple[int, float]:
    """Split, decode and cut each line, as the plugin reads it, keeping nothing: (lines, seconds)."""
    start = time.perf_counter()
    n, at, size = 0, 0, len(body)
    while at < size:
        end = body.find(b"\n", at)
        end = size if end < 0 else end
        cells = body[at:end].rstrip(b"\r").decode("gb18030").split("|")
        n += cells[0] == "D"
        at = end + 1
    return n, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows", nargs="?", type=int, default=100_000)
    way = ap.add_mutually_exclusive_group()
    way.add_argument("--baseline", action="store_true", help="lines split, decoded and cut only")
    way.add_argument("--hub", action="store_true", help="through the whole hub pipeline")
    ap.add_argument("--database-url", default="", help="with --hub: PostgreSQL instead of the embedded SQLite")
    ap.add_argument("--json", default="", help="also write the figures to this file")
    args = ap.parse_args()
    body = generated(args.rows)
    rss_before = peak_rss_mb()
    if args.baseline:
        n, seconds = baseline(body)
        result = {"records": n, "dead_letters": 0, "seconds": seconds}
        what = "baseline: split + decode"
    elif args.hub:
        logging.getLogger("hub").setLevel(logging.ERROR)
        result = through_hub(message(body), args.database_url)
        what = f"through the hub ({'PostgreSQL' if args.database_url else 'SQLite'})"
    else:
        from plugins import bank

        parsed, rejected, seconds = time_parse(bank.parse_message, message(body))
        result = {"records": parsed, "dead_letters": rejected, "seconds": seconds}
        what = "parser alone"
    result.update(name="bank PAYOUT file", what=what, rows=args.rows, body_mib=round(len(body) / (1 << 20), 1),
                  rows_per_s=round(args.rows / result["seconds"]), seconds=round(result["seconds"], 2),
                  peak_rss_mb=round(peak_rss_mb(), 1), rss_with_body_mb=round(rss_before, 1))
    print(f"bank PAYOUT file, {what}: {args.rows:,} lines ({result['body_mib']} MiB): {result['records']:,} records, "
          f"{result['dead_letters']} dead letters, {result['seconds']} s, {result['rows_per_s']:,} rows/s, "
          f"peak RSS {result['peak_rss_mb']} MB (with the body read in: {result['rss_with_body_mb']} MB)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        measure.write_generated(sys.argv, lines)
    else:
        main()
