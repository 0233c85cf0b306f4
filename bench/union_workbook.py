"""Measure the union ledger parser: rows/s and peak RSS for a large workbook.

Generates a 50,000-row mediation ledger with openpyxl (write-only), with real date
cells and text dates, amounts as numbers and as text, parses it with the plugin's
``parse_message`` hook (zip guard, read-only openpyxl, one-row replay workbook per row)
and prints the throughput and the process's peak resident set size (``ru_maxrss``).
Usage: ``python bench/union_workbook.py [ROWS]``.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import subprocess
import sys
import tempfile
import zipfile

from measure import peak_rss_mb, time_parse
from openpyxl import Workbook

import hub
import plugins.union
from plugins.union.inbound import COLUMNS


def workbook(rows: int, seed: int = 20230525) -> bytes:
    rng = random.Random(seed)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("调解台账")
    ws.append(list(COLUMNS))
    for i in range(rows):
        day = dt.datetime(2023, 1, 1) + dt.timedelta(days=i % 300)
        disputed = rng.randint(1000, 900000) + rng.choice((0, 0.5, 0.25))
        outcome = rng.choice(("成功", "部分成功", "失败"))
        ws.append([
            f"TJ370103{i:07d}", f"XS37010320230{i:05d}", None,
            day if i % 2 else day.strftime("%Y-%m-%d"),
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


def main(rows: int = 50_000) -> None:
    # Generated in a child process, so the peak RSS below is the parser's, not the generator's.
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/batch"
        subprocess.run([sys.executable, __file__, "--generate", path, str(rows)], check=True)
        with open(path, "rb") as f:
            body = f.read()
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        unpacked = sum(p.file_size for p in archive.infolist())
    rss_before = peak_rss_mb()
    message = hub.NativeMessage(agency="union", body=body, message_id="bench",
                                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    parsed, rejected, seconds = time_parse(plugins.union.parse_message, message)
    print(f"rows={rows} workbook={len(body) / (1 << 20):.1f} MiB (unpacked {unpacked / (1 << 20):.1f} MiB, "
          f"ratio {unpacked / len(body):.1f}) parsed={parsed} rejected={rejected}")
    print(f"parse {seconds:.2f} s, {rows / seconds:,.0f} rows/s")
    print(f"peak RSS {peak_rss_mb():.1f} MB (with the workbook read in: {rss_before:.1f} MB)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        rows = int(sys.argv[3])
        with open(sys.argv[2], "wb") as out:
            out.write(workbook(rows))
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
