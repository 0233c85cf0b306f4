"""Measure the writers of the union referral workbook: ms per referral, side by side.

Every writer writes the same row (the plugin's ``referral_row``: text, a date, numbers,
text that starts like a formula) with the same rules: text never a formula, and with
Excel's quote prefix when it starts like one; yyyy-mm-dd and 0.00 formats; the column
widths; document properties and every zip entry dated the delivery's time, so the same
delivery gives the same bytes (openpyxl and XlsxWriter stamp the save time: their zip is
rewritten, as the plugin had to). Each is checked to read back through openpyxl as the
row and to give the same bytes twice, before it is timed.

* ``openpyxl``: a normal workbook (what the plugin used);
* ``openpyxl write-only``: ``Workbook(write_only=True)``, ``WriteOnlyCell`` for the styles;
* ``xlsxwriter``: XlsxWriter in memory (``pip install xlsxwriter``; left out without it);
* ``template``: the plugin's writer: a fixed template whose sheet XML is filled in,
  stored in a zip written by hand.

Usage: ``python bench/union_referral.py [N] [--json FILE]`` (N referrals per writer, 2,000).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import openpyxl

import hub
from plugins.union import outbound, xlsx

RECORD = {
    "record_id": "rec-clue", "type": "clue", "schema_version": "1.0", "source_agency": "hrss",
    "source_ref": "XS370103202305220001", "matter_id": "m-1", "received_at": "2023-05-22T09:10:00+08:00",
    "clue_no": "XS370103202305220001", "channel": "qr_code", "region_code": "370103",
    "complainant": {"name": "王春生", "mobile": "13923720696"},
    "employer": {"name": '=HYPERLINK("http://evil.example","点此")', "uscc": "91370103JURQ283F5B"},
    "project_code": "P1", "worker_count": 24, "amount_owed": "382848.00",
}


def delivery(i: int = 0) -> hub.Delivery:
    record = {**RECORD, "clue_no": f"XS3701032023{i:08d}"}
    return hub.Delivery(recipient="union", kind="referral", route="clue-to-union", record_type="clue",
                        record=record, refs={}, message_id=f"out-union-{i}", created_at="2023-05-22T09:30:00+08:00")


def _fixed(saved: bytes, created_at: dt.datetime) -> bytes:
    """An openpyxl/XlsxWriter package with the delivery's time in core.xml and on every entry."""
    stamp = created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    local = created_at.replace(tzinfo=None)
    when = (local.year, local.month, local.day, local.hour, local.minute, local.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(saved)) as src, zipfile.ZipFile(out, "w") as dst:
        for part in src.infolist():
            data = src.read(part)
            if part.filename == "docProps/core.xml":
                head, _, rest = data.partition(b"<dcterms:modified")
                data = head + b'<dcterms:modified xsi:type="dcterms:W3CDTF">' + stamp + rest[rest.index(b"</"):]
            info = zipfile.ZipInfo(part.filename, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    return out.getvalue()


def _saved(wb: openpyxl.Workbook, created_at: dt.datetime) -> bytes:
    wb.properties.creator = "wage-arrears-hub"
    wb.properties.created = created_at.astimezone(dt.UTC).replace(tzinfo=None)
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed(buf.getvalue(), created_at)


def with_openpyxl(row: tuple, created_at: dt.datetime) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = outbound.SHEET
    ws.append(outbound.HEADER)
    ws.append(row)
    for cell in ws[2]:
        if isinstance(cell.value, str) and cell.value.startswith(outbound._FORMULA_START):
            cell.data_type, cell.quotePrefix = "s", True
    ws["B2"].number_format, ws["G2"].number_format = "yyyy-mm-dd", "0.00"
    for column, width in zip("ABCDEFGH", outbound.WIDTHS):
        ws.column_dimensions[column].width = width
    return _saved(wb, created_at)


def with_openpyxl_write_only(row: tuple, created_at: dt.datetime) -> bytes:
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(outbound.SHEET)
    for column, width in zip("ABCDEFGH", outbound.WIDTHS):
        ws.column_dimensions[column].width = width
    ws.append(outbound.HEADER)
    cells = []
    for column, value in zip("ABCDEFGH", row):
        cell = WriteOnlyCell(ws, value)
        if isinstance(value, str) and value.startswith(outbound._FORMULA_START):
            cell.data_type, cell.quotePrefix = "s", True
        if column in "BG":
            cell.number_format = "yyyy-mm-dd" if column == "B" else "0.00"
        cells.append(cell)
    ws.append(cells)
    return _saved(wb, created_at)


def with_xlsxwriter(row: tuple, created_at: dt.datetime) -> bytes:
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    formats = {(f, q): wb.add_format({**({"num_format": f} if f else {}), **({"quote_prefix": True} if q else {})})
               for f in ("", "yyyy-mm-dd", "0.00") for q in (False, True)}
    ws = wb.add_worksheet(outbound.SHEET)
    for i, width in enumerate(outbound.WIDTHS):
        ws.set_column(i, i, width)
    for i, text in enumerate(outbound.HEADER):
        ws.write_string(0, i, text)
    for i, value in enumerate(row):
        fmt = ("yyyy-mm-dd" if i == 1 else "0.00" if i == 6 else "")
        if value is None:
            continue
        if isinstance(value, str):
            ws.write_string(1, i, value, formats[fmt, value.startswith(outbound._FORMULA_START)])
        elif isinstance(value, dt.date):
            ws.write_datetime(1, i, dt.datetime.combine(value, dt.time()), formats[fmt, False])
        else:
            ws.write_number(1, i, float(value), formats[fmt, False])
    wb.set_properties({"author": "wage-arrears-hub", "created": created_at.astimezone(dt.UTC).replace(tzinfo=None)})
    wb.close()
    return _fixed(buf.getvalue(), created_at)


def with_template(row: tuple, created_at: dt.datetime) -> bytes:
    return outbound.workbook(row, created_at)


WRITERS = {"openpyxl": with_openpyxl, "openpyxl write-only": with_openpyxl_write_only,
           "xlsxwriter": with_xlsxwriter, "template (the plugin's)": with_template}


def read_back(body: bytes) -> tuple[list[tuple], list[bool]]:
    sheet = openpyxl.load_workbook(io.BytesIO(body))[outbound.SHEET]
    return list(sheet.iter_rows(values_only=True)), [c.quotePrefix for c in sheet[2]]


def run(n: int = 2000) -> list[dict]:
    created_at, row = outbound.referral_row(delivery())
    expected = (outbound.HEADER, (row[0], dt.datetime.combine(row[1], dt.time()), *row[2:]))
    rows = [outbound.referral_row(delivery(i)) for i in range(n)]
    out = []
    for name, write in WRITERS.items():
        try:
            first = write(row, created_at)
        except ImportError:
            print(f"{name}: not installed, left out", file=sys.stderr)
            continue
        values, prefixed = read_back(first)
        if tuple(values[0]) != expected[0] or tuple(float(v) if k in (5, 6) else v for k, v in enumerate(values[1])) \
                != tuple(float(v) if k in (5, 6) else v for k, v in enumerate(expected[1])):
            raise SystemExit(f"{name}: does not read back as the row: {values}")
        if prefixed != [False, False, False, True, False, False, False, False]:
            raise SystemExit(f"{name}: the quote prefix is wrong: {prefixed}")
        xlsx.check_archive(first)
        start = time.perf_counter()
        for at, r in rows:
            write(r, at)
        seconds = time.perf_counter() - start
        same = write(row, created_at) == first  # after n writes the clock has moved on
        out.append({"writer": name, "referrals": n, "ms_per_referral": round(1000 * seconds / n, 3),
                    "referrals_per_s": round(n / seconds), "bytes": len(first), "deterministic": same})
    return out


def table(results: list[dict]) -> str:
    lines = [f"{'writer':<28}{'ms/referral':>12}{'referrals/s':>13}{'bytes':>8}{'same bytes':>12}"]
    for r in results:
        lines.append(f"{r['writer']:<28}{r['ms_per_referral']:>12}{r['referrals_per_s']:>13,}{r['bytes']:>8,}"
                     f"{'yes' if r['deterministic'] else 'NO':>12}")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("n", nargs="?", type=int, default=2000)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    results = run(args.n)
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
