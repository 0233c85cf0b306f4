"""Measure the housing PAYROLL parser: rows/s and peak RSS for a large GB18030 batch.

Generates a 200,000-row payroll CSV in GB18030 (valid identity numbers, 5% of workers
paid short, 0.1% bad rows), parses it with the plugin's ``parse_message`` hook and
prints the throughput and the process's peak resident set size (``ru_maxrss``). The
body's bytes are in memory by design (a message body is); the parser must not add
memory per row. With ``--hub`` the batch goes through the whole pipeline instead (every
shortfall a record with its matter, outbox row and audit entry, in one transaction).
Usage: ``python bench/housing_payroll.py [ROWS] [--hub [--database-url URL]] [--json FILE]``.
"""

from __future__ import annotations

import random
import sys

import measure
from measure import batch_main

import hub
from schemas.validators import id_check_char

HEADER = "项目编号,工人姓名,身份证号,所属月份,出勤天数,应发工资(元),实发工资(元),发放日期,发放方式\r\n"
NAMES = ["高秀英", "徐桂兰", "吴国庆", "林建国", "杨丽娟", "胡桂兰", "郭建国", "王春生", "李明", "张伟"]
METHODS = ["专户代发", "银行代发", "现金", ""]



def lines(rows: int, seed: int = 20230520, bad_every: int = 1000, projects: str = "370103202363"):
    """A payroll of ``rows`` rows over 40 projects ``<projects>00``..``<projects>39``."""
    rng = random.Random(seed)
    yield HEADER.encode("gb18030")
    for i in range(rows):
        project = f"{projects}{i % 40:02d}"
        month = f"2023-{1 + (i // 40) % 6:02d}"
        # One row per worker per project and month, as the format has it: row i is worker
        # i // 240 of its project (i % 40) and month (i // 40 % 6).
        first17 = f"370103{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{i // 240 % 1000:03d}"
        id_number = first17 + id_check_char(first17)
        due = rng.randint(3000, 9000)
        paid = due if rng.random() > 0.05 else rng.randint(0, due - 1)
        paid_on = "2023/6/10" if paid == due else ""
        if i % bad_every == bad_every - 1:
            id_number = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")  # a bad check character
        yield (f"{project},{rng.choice(NAMES)},{id_number},{month},{rng.randint(0, 31)},{due},{paid},"
               f"{paid_on},{rng.choice(METHODS)}\r\n").encode("gb18030")


def generated(rows: int, bad_every: int = 1000) -> bytes:
    return measure.generated(__file__, rows, bad_every)


def message(body: bytes) -> hub.NativeMessage:
    return hub.NativeMessage(agency="housing", body=body, message_id="bench", content_type="text/csv",
                             content_encoding="gb18030", kind="PAYROLL")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        measure.write_generated(sys.argv, lines)
    else:
        batch_main("housing payroll CSV", 200_000, generated, message, __doc__)
