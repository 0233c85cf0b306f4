"""Workbook plumbing for the union plugin: the zip guard, one-row workbooks, fixed zip bytes.

- :func:`check_archive` (:mod:`hub.contract.workbook`) refuses, before openpyxl sees them, bodies
  over the size limit, bytes that are not a zip package with a workbook in it, zip bombs,
  and workbooks that would cost too much work to read (rows, columns, cells, text).
- :func:`one_row_workbook` writes the header and one row as a workbook of their own
  (``Parsed.raw``/``Rejected.raw``: a row can be dead-lettered and replayed alone). It
  writes the few SpreadsheetML parts, and their stored (uncompressed) zip, by hand:
  openpyxl would take milliseconds a row, zipfile half of one; this takes tens of µs.
- :func:`stored_zip` is that zip, with one given timestamp on every entry: the same parts
  always give the same bytes (the referral workbook is written the same way).
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
import re
import struct
import zlib
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import quoteattr

from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

from hub.contract import workbook

# The zip guard and the work guard are the hub's (the console's previews go through them too).
XLSX_TYPE = workbook.XLSX_TYPE
MAX_BYTES, MAX_UNCOMPRESSED, MAX_RATIO = workbook.MAX_BYTES, workbook.MAX_UNCOMPRESSED, workbook.MAX_RATIO
Limits, check_archive = workbook.Limits, workbook.check_archive


# -- writing -----------------------------------------------------------------------------------

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
CORE_TYPE = "application/vnd.openxmlformats-package.core-properties+xml"
CORE_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"


def content_types(*overrides: tuple[str, str]) -> bytes:
    """``[Content_Types].xml`` of a one-sheet workbook, with more ``(part, content type)``."""
    more = "".join(f'<Override PartName="/{name}" ContentType="{ctype}"/>' for name, ctype in overrides)
    return (
        HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        f'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{more}'
        '</Types>').encode()


def package_rels(*relations: tuple[str, str]) -> bytes:
    """``_rels/.rels``: the workbook, and more ``(type, target)``."""
    more = "".join(f'<Relationship Id="rId{i}" Type="{kind}" Target="{target}"/>'
                   for i, (kind, target) in enumerate(relations, 2))
    return (
        HEAD + f'<Relationships xmlns="{PKG_REL_NS}">'
        '<Relationship Id="rId1" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        f'Target="xl/workbook.xml"/>{more}</Relationships>').encode()


def stylesheet(cell_xfs: Sequence[str]) -> bytes:
    """``xl/styles.xml`` with these ``<xf>`` cell styles (style 0 first) and a yyyy-mm-dd
    number format as id 164; one font, no fills or borders."""
    return (
        HEAD + f'<styleSheet xmlns="{NS}">'
        '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(cell_xfs)}">{"".join(cell_xfs)}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        '</styleSheet>').encode()


WORKBOOK_RELS = (
    HEAD + f'<Relationships xmlns="{PKG_REL_NS}">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/></Relationships>').encode()
# Style 1 is a date, style 2 a date and time: dates stay real spreadsheet dates.
_STYLES = stylesheet((
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>',
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>',
    '<xf numFmtId="22" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'))


XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
"""What XML 1.0 cannot carry at all: left out of a cell's text."""
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}  # a bare CR would be read back as LF


def text_cell(ref: str, text: str, style: int = 0) -> str:
    """A string cell (inline), exactly ``text`` less what XML cannot carry."""
    text = XML_ILLEGAL.sub("", text)
    for char, entity in _XML_ESCAPES.items():
        if char in text:
            text = text.replace(char, entity)
    s = f' s="{style}"' if style else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'


def _cell(ref: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, float):
        return f'<c r="{ref}"><v>{value!r}</v></c>' if math.isfinite(value) else text_cell(ref, repr(value))
    if isinstance(value, decimal.Decimal):
        return f'<c r="{ref}"><v>{value}</v></c>' if value.is_finite() else text_cell(ref, str(value))
    if isinstance(value, dt.datetime):
        style = 1 if value.time() == dt.time(0) else 2
        return f'<c r="{ref}" s="{style}"><v>{to_excel(value.replace(tzinfo=None))!r}</v></c>'
    if isinstance(value, dt.date):
        return f'<c r="{ref}" s="1"><v>{to_excel(value)!r}</v></c>'
    return text_cell(ref, str(value))


def stored_zip(parts: Sequence[tuple[bytes, bytes, int]],
               date_time: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)) -> bytes:
    """A zip of uncompressed ``(name, data, crc32)`` parts (see :func:`part`), every entry
    dated ``date_time`` (local time, from 1980, in two-second steps, as zip has it)."""
    year, month, day, hour, minute, second = date_time
    if year < 1980:
        year, month, day, hour, minute, second = 1980, 1, 1, 0, 0, 0
    time = hour << 11 | minute << 5 | second // 2
    date = (year - 1980) << 9 | month << 5 | day
    chunks: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for name, data, crc in parts:
        size = len(data)
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, time, date, crc, size, size, len(name), 0) + name
        central.append(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, time, date, crc, size, size,
                                   len(name), 0, 0, 0, 0, 0, offset) + name)
        chunks += (local, data)
        offset += len(local) + size
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(directory), offset, 0)
    return b"".join(chunks) + directory + end


def part(name: str, data: bytes) -> tuple[bytes, bytes, int]:
    return name.encode("ascii"), data, zlib.crc32(data)


_STATIC_PARTS = (part("[Content_Types].xml", content_types()), part("_rels/.rels", package_rels()))
_STYLE_PARTS = (part("xl/_rels/workbook.xml.rels", WORKBOOK_RELS), part("xl/styles.xml", _STYLES))
_REFS = [get_column_letter(c) for c in range(1, 16385)]  # A..XFD


def _row_xml(r: int, values: Sequence[Any]) -> str:
    cells = "".join(_cell(f"{_REFS[c]}{r}", v) for c, v in enumerate(values[:len(_REFS)]))
    return f'<row r="{r}">{cells}</row>'


@functools.lru_cache(maxsize=8)
def _fixed_parts(header: tuple, title: str) -> tuple[str, tuple[bytes, bytes, int]]:
    """What every row's workbook of one batch shares: the header row's XML and the workbook part."""
    title = XML_ILLEGAL.sub("", title)[:31] or "Sheet1"
    workbook = (HEAD + f'<workbook xmlns="{NS}" xmlns:r="{REL_NS}"><sheets>'
                f'<sheet name={quoteattr(title)} sheetId="1" r:id="rId1"/></sheets></workbook>').encode()
    return _row_xml(1, header), part("xl/workbook.xml", workbook)


def one_row_workbook(header: Sequence[Any], row: Sequence[Any], title: str = "Sheet1") -> bytes:
    """The header and one row (cells as read: numbers, dates, text) as a workbook of their own."""
    header_xml, workbook = _fixed_parts(tuple(header), title)
    sheet = (HEAD + f'<worksheet xmlns="{NS}"><sheetData>{header_xml}{_row_xml(2, row)}'
             '</sheetData></worksheet>').encode()
    return stored_zip((*_STATIC_PARTS, workbook, *_STYLE_PARTS, part("xl/worksheets/sheet1.xml", sheet)))
