"""Measure the union ledger parser: rows/s and peak RSS for a large workbook.

Generates a 50,000-row mediation ledger with openpyxl (write-only), with real date
cells and text dates, amounts as numbers and as text, parses it with the plugin's
``parse_message`` hook (zip guard, read-only openpyxl, one-row replay workbook per row)
and prints the throughput and the process's peak resident set size (``ru_maxrss``).
With ``--hub`` the workbook goes through the whole pipeline instead.
Usage: ``python bench/union_workbook.py [ROWS] [--hub [--database-url URL]] [--json FILE]``.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import subprocess
import sys
import tempfile
import zipfile

from measure import batch_main
from openpyxl import Workbook

import hub
from plugins.union.inbound import COLUMNS


def workbook(rows: int, seed: int = 20230525, bad_every: int = 0, numbers: str = "370103") -> bytes:
    """A ledger of ``rows`` rows, mediations ``TJ<numbers><row:07d>`` of clues ``XS<numbers>…``."""
    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("调解台账")
    ws.append(list(COLUMNS))
    for i in range(rows):
        day = dt.datetime(2023, 1, 1) + dt.timedelta(days=i % 300)
        disputed = rng.randint(1000, 900000) + rng.choice((0, 0.5, 0.25))
        outcome = rng.choice(("成功", "部分成功", "失败"))
        ws.append([
            f"TJ{numbers}{i:07d}", f"XS{numbers}20230{i:05d}", None,
            "2023-02-30" if bad_every and i % bad_every == bad_every - 1  # no such day: a bad row
            else day if i % 2 else day.strftime("%Y-%m-%d"),
            f"海岱建筑劳务有限公司{i % 97}", "91370103JURQ283F5B", rng.randint(1, 60),
            disputed if i % 3 else f"{disputed:.2f}", outcome,
            None if outcome == "失败" else round(disputed / 2, 2), 0,
            (day + dt.timedelta(days=15)).strftime("%Y-%m-%d"), "赵德华",
        ])
    buf = io.BytesIO()
    wb.save(buf)
    return with_dimension(buf.getvalue(), f"A1:M{rows + 1}")


def with_dimension(body: bytes, ref: str) -> bytes:
    """Add the ``<dimension>`` Excel and WPS write and openpyxl's write-only mode leaves out.

    Without it openpyxl's read-only reader makes one extra pass over the sheet to size it.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for part in src.infolist():
            data = src.read(part)
            if part.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetPr>", f'</sheetPr><dimension ref="{ref}"/>'.encode(), 1)
            dst.writestr(part, data)
    return out.getvalue()


def generated(rows: int, bad_every: int = 0) -> bytes:
    # Generated in a child process, so the peak RSS measured is the parser's, not the generator's.
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/batch"
        subprocess.run([sys.executable, __file__, "--generate", path, str(rows), str(bad_every)], check=True)
        with open(path, "rb") as f:
            return f.read()


def message(body: bytes) -> hub.NativeMessage:
    return hub.NativeMessage(agency="union", body=body, message_id="bench",
                             content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        rows, bad_every = int(sys.argv[3]), int(sys.argv[4])
        with open(sys.argv[2], "wb") as out:
            out.write(workbook(rows, bad_every=bad_every))
    else:
        batch_main("union mediation workbook", 50_000, generated, message, __doc__)
