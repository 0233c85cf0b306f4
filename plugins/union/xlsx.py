"""Workbook plumbing for the union plugin: the zip guard, one-row workbooks, fixed zip bytes.

- :func:`check_archive` (:mod:`hub.workbook`) refuses, before openpyxl sees them, bodies
  over the size limit, bytes that are not a zip package with a workbook in it, zip bombs,
  and workbooks that would cost too much work to read (rows, columns, cells, text).
- :func:`one_row_workbook` writes the header and one row as a workbook of their own
  (``Parsed.raw``/``Rejected.raw``: a row can be dead-lettered and replayed alone). It
  writes the few SpreadsheetML parts, and their stored (uncompressed) zip, by hand:
  openpyxl would take milliseconds a row, zipfile half of one; this takes tens of µs.
- :func:`fixed_zip` rewrites a package with one fixed timestamp on every entry, so the
  same workbook always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import io
import math
import struct
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from hub import workbook

# The zip guard and the work guard are the hub's (the console's previews go through them too).
XLSX_TYPE = workbook.XLSX_TYPE
MAX_BYTES, MAX_UNCOMPRESSED, MAX_RATIO = workbook.MAX_BYTES, workbook.MAX_UNCOMPRESSED, workbook.MAX_RATIO
Limits, check_archive, invalid = workbook.Limits, workbook.check_archive, workbook.invalid


# -- writing -----------------------------------------------------------------------------------

def fixed_zip(parts: Iterable[tuple[str, bytes]], date_time: tuple[int, int, int, int, int, int]) -> bytes:
    """A zip package of ``parts`` (in that order) whose bytes depend on nothing else."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 0
            info.external_attr = 0
            archive.writestr(info, data)
    return buf.getvalue()


def rewrite_zip(body: bytes, date_time: tuple[int, int, int, int, int, int],
                replace: dict[str, bytes] | None = None) -> bytes:
    """``body``'s parts, in their order, with fixed timestamps and some parts replaced."""
    replace = replace or {}
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        parts = [(p.filename, replace.get(p.filename) or archive.read(p)) for p in archive.infolist()]
    return fixed_zip(parts, date_time)


_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CONTENT_TYPES = (
    _HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>').encode()
_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL_NS}">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/></Relationships>').encode()
_WORKBOOK_RELS = (
    _HEAD + f'<Relationships xmlns="{_PKG_REL_NS}">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>').encode()
# Style 1 is a date, style 2 a date and time: dates stay real spreadsheet dates.
_STYLES = (
    _HEAD + f'<styleSheet xmlns="{_NS}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>').encode()


def _text_cell(ref: str, text: str) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(text)}</t></is></c>'


def _cell(ref: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, float):
        return f'<c r="{ref}"><v>{value!r}</v></c>' if math.isfinite(value) else _text_cell(ref, repr(value))
    if isinstance(value, decimal.Decimal):
        return f'<c r="{ref}"><v>{value}</v></c>' if value.is_finite() else _text_cell(ref, str(value))
    if isinstance(value, dt.datetime):
        style = 1 if value.time() == dt.time(0) else 2
        return f'<c r="{ref}" s="{style}"><v>{to_excel(value.replace(tzinfo=None))!r}</v></c>'
    if isinstance(value, dt.date):
        return f'<c r="{ref}" s="1"><v>{to_excel(value)!r}</v></c>'
    return _text_cell(ref, str(value))


def _stored_zip(parts: Sequence[tuple[bytes, bytes, int]]) -> bytes:
    """A zip of uncompressed ``(name, data, crc32)`` parts, all dated 1980-01-01 00:00."""
    chunks: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, data, crc in parts:
        size = len(data)
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, size, size, len(name), 0) + name
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, size, size,
                                   len(name), 0, 0, 0, 0, 0, offset) + name)
        chunks += (local, data)
        offset += len(local) + size
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(directory), offset, 0)
    return b"".join(chunks) + directory + end


def _part(name: str, data: bytes) -> tuple[bytes, bytes, int]:
    return name.encode("ascii"), data, zlib.crc32(data)


_STATIC_PARTS = (_part("[Content_Types].xml", _CONTENT_TYPES), _part("_rels/.rels", _RELS))
_STYLE_PARTS = (_part("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS), _part("xl/styles.xml", _STYLES))
_REFS = [get_column_letter(c) for c in range(1, 16385)]  # A..XFD


def _row_xml(r: int, values: Sequence[Any]) -> str:
    cells = "".join(_cell(f"{_REFS[c]}{r}", v) for c, v in enumerate(values[:len(_REFS)]))
    return f'<row r="{r}">{cells}</row>'


@functools.lru_cache(maxsize=8)
def _fixed_parts(header: tuple, title: str) -> tuple[str, tuple[bytes, bytes, int]]:
    """What every row's workbook of one batch shares: the header row's XML and the workbook part."""
    title = ILLEGAL_CHARACTERS_RE.sub("", title)[:31] or "Sheet1"
    workbook = (_HEAD + f'<workbook xmlns="{_NS}" xmlns:r="{_REL_NS}"><sheets>'
                f'<sheet name={quoteattr(title)} sheetId="1" r:id="rId1"/></sheets></workbook>').encode()
    return _row_xml(1, header), _part("xl/workbook.xml", workbook)


def one_row_workbook(header: Sequence[Any], row: Sequence[Any], title: str = "Sheet1") -> bytes:
    """The header and one row (cells as read: numbers, dates, text) as a workbook of their own."""
    header_xml, workbook = _fixed_parts(tuple(header), title)
    sheet = (_HEAD + f'<worksheet xmlns="{_NS}"><sheetData>{header_xml}{_row_xml(2, row)}'
             '</sheetData></worksheet>').encode()
    return _stored_zip((*_STATIC_PARTS, workbook, *_STYLE_PARTS, _part("xl/worksheets/sheet1.xml", sheet)))
