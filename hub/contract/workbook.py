"""Bounded reading of XLSX workbooks from outside: the zip guard and the work guard.

A workbook is checked before any parser sees it, in one pass that inflates every part in
bounded chunks (sizes are never taken on trust: what really comes out is counted):

- bytes: the body's size, the unpacked size and the unpacked/packed ratio (zip bombs);
- work: a few kilobytes of XML can cost a parser minutes. openpyxl pads every row to its
  last cell's column (one empty cell at ``XFD`` makes a row 16,384 values wide) and yields
  every row number skipped, and expat re-reads a token fed in pieces from its start, so
  one long comment or text costs the square of its length. So each worksheet's highest
  row (``max-rows``), highest column of any cell (``max-columns``), and the area they span
  or the cells written, whichever is more (``max-cells``), are bounded, and so is the
  longest single token (text, tag or comment) of any XML part (``max-text``);
- time: :meth:`Limits.deadline` gives the CPU time a reader may spend (``max-seconds``),
  checked as it goes, a bound for whatever the others miss.

Every refusal is an :class:`hub.InvalidMessage` naming the field ``body`` and the rule.
:func:`check_archive` returns what it found (:class:`Scan`): a reader passes
``Scan.columns`` as openpyxl's ``max_col`` so that rows are never padded past the
columns cells use, whatever ``<dimension>`` claims.
"""

from __future__ import annotations

import copy
import functools
import io
import re
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass, field

from hub.contract.errors import InvalidMessage

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MiB = 1 << 20
MAX_BYTES = 10 * MiB
MAX_UNCOMPRESSED = 100 * MiB
MAX_RATIO = 100.0
RATIO_FLOOR = 1 * MiB
"""Below this much uncompressed XML the ratio is not judged: tiny parts compress oddly."""
MAX_PARTS = 1000
MAX_ROWS = 200_000
MAX_COLUMNS = 256  # IV: the width of a pre-2007 sheet; ledgers use a dozen or two
MAX_CELLS = 5_000_000
MAX_TEXT = 256 * 1024  # a cell holds at most 32,767 characters: up to 128 KiB of UTF-8
MAX_SECONDS = 60.0
_CHUNK = 1 << 16
_REQUIRED_PARTS = ("[Content_Types].xml",)  # openpyxl finds the workbook part through it
_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)

# A worksheet's tags, with the prefix its root element uses (most use none); an attribute
# value may hold ">" when quoted. Patterns that start with a literal are fast.
_ROOT = re.compile(rb"<([\w.-]+:)?worksheet[\s/>]")
_ATTRS = rb"""(?:[^>"']|"[^"]*"|'[^']*')*?"""
_R = rb"""(?<=[\s"'])r\s*=\s*["']"""


@functools.lru_cache(maxsize=8)
def _sheet_patterns(prefix: bytes) -> tuple[bytes, tuple[bytes, ...], re.Pattern, re.Pattern]:
    """(row tag, cell tags, a row's number, a cell's column letters) for tags with ``prefix``."""
    row, cell = b"<" + prefix + b"row", b"<" + prefix + b"c"
    return (row, (cell + b" ", cell + b">", cell + b"/>", cell + b"\t", cell + b"\n", cell + b"\r"),
            re.compile(re.escape(row) + rb"\s" + _ATTRS + _R + rb"(\d{1,12})"),
            re.compile(re.escape(cell) + rb"\s" + _ATTRS + _R + rb"\$?([A-Za-z]{1,4})"))


# Tokens that may hold "<" inside: each is measured from its opening to its end.
_SPECIAL = re.compile(rb"<!--|<!\[CDATA\[|<\?|<!")
_CLOSERS = {b"<!--": b"-->", b"<![CDATA[": b"]]>", b"<?": b"?>", b"<!": b">"}


@dataclass(frozen=True)
class Limits:
    """How much a workbook may cost to read; each bound is refused under its rule name."""

    bytes: int = MAX_BYTES
    uncompressed: int = MAX_UNCOMPRESSED
    ratio: float = MAX_RATIO
    rows: int = MAX_ROWS
    columns: int = MAX_COLUMNS
    cells: int = MAX_CELLS
    text: int = MAX_TEXT
    seconds: float = MAX_SECONDS

    @classmethod
    def from_settings(cls, settings: dict) -> Limits:
        """From a plugin's settings: ``max_bytes``, ``max_rows``, ... (unset: the defaults)."""
        names = {"bytes": int, "uncompressed": int, "ratio": float, "rows": int, "columns": int, "cells": int,
                 "text": int, "seconds": float}
        return cls(**{name: kind(settings[f"max_{name}"]) for name, kind in names.items()
                      if settings.get(f"max_{name}")})

    def deadline(self, kind: str | None = None) -> Deadline:
        return Deadline(self.seconds, kind)


class Deadline:
    """CPU time of this thread a reader may still spend (``max-seconds``): CPU, not wall
    time, so a busy machine does not refuse a workbook a quiet one accepts."""

    def __init__(self, seconds: float, kind: str | None = None):
        self.seconds = seconds
        self.kind = kind
        self.until = time.thread_time() + seconds

    def check(self) -> None:
        if time.thread_time() > self.until:
            raise InvalidMessage.of("body", "max-seconds", f"takes more than {self.seconds:g} s of CPU to read", self.kind)


@dataclass
class Scan:
    """What the guard found: the highest column any cell of any worksheet uses."""

    columns: int = 0
    rows: int = 0
    cells: int = 0
    parts: list[str] = field(default_factory=list)


def check_archive(body: bytes, *, limits: Limits | None = None, kind: str | None = None,
                  deadline: Deadline | None = None) -> Scan:
    """Refuse a body that is too big, not an XLSX package, a zip bomb, or too much work."""
    limits = limits or Limits()
    deadline = deadline or limits.deadline(kind)
    if len(body) > limits.bytes:
        raise InvalidMessage.of("body", "max-bytes", f"is {len(body)} bytes, over the limit of {limits.bytes}", kind)
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, KeyError,
            IndexError, NotImplementedError, UnicodeDecodeError, struct.error):
        raise InvalidMessage.of("body", "xlsx", "is not an XLSX workbook: not a zip package", kind) from None
    scan = Scan()
    with archive:
        parts = archive.infolist()
        if len(parts) > MAX_PARTS:
            raise InvalidMessage.of("body", "zip-bomb", f"has {len(parts)} zip entries, over the limit of {MAX_PARTS}", kind)
        names = {p.filename for p in parts}
        for name in _REQUIRED_PARTS:
            if name not in names:
                raise InvalidMessage.of("body", "xlsx", f"is not an XLSX workbook: the zip package has no {name}", kind)
        compressed = max(1, sum(p.compress_size for p in parts))
        declared = sum(p.file_size for p in parts)
        _check_sizes(declared, compressed, limits, kind)
        total = 0
        for part in parts:
            xml = _XmlWork(limits, kind, sheet=bool(_SHEET_PART.match(part.filename)))
            total += _inflated_size(archive, part, limits.uncompressed - total, kind, xml, deadline)
            scan.columns = max(scan.columns, xml.columns)
            scan.rows = max(scan.rows, xml.rows)
            scan.cells = max(scan.cells, xml.cells)
        _check_sizes(total, compressed, limits, kind)
    return scan


def _check_sizes(uncompressed: int, compressed: int, limits: Limits, kind: str | None) -> None:
    if uncompressed > limits.uncompressed:
        raise InvalidMessage.of("body", "zip-bomb", f"unpacks to more than {limits.uncompressed} bytes", kind)
    if uncompressed >= RATIO_FLOOR and uncompressed / compressed > limits.ratio:
        raise InvalidMessage.of("body", "zip-bomb",
                                f"unpacks {uncompressed / compressed:.0f} times its size, over the limit of {limits.ratio:g}",
                                kind)


def _inflated_size(archive: zipfile.ZipFile, part: zipfile.ZipInfo, budget: int, kind: str | None,
                   xml: _XmlWork, deadline: Deadline) -> int:
    """Inflate one part in bounded chunks, count it and weigh its XML; stop as soon as it is too much."""
    if part.flag_bits & 0x1:
        raise InvalidMessage.of("body", "xlsx", "is not a readable XLSX workbook: it is encrypted", kind)
    if part.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise InvalidMessage.of("body", "xlsx", "is not an XLSX workbook: unsupported zip compression", kind)
    # zipfile stops at the size a part declares; let it run past, to see whether it lies.
    probe = copy.copy(part)
    probe.file_size = max(part.file_size, budget) + 1
    size = 0
    try:
        with archive.open(probe) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > part.file_size:
                    raise InvalidMessage.of("body", "zip-bomb", "has a zip entry larger than it declares", kind)
                if size > budget:
                    raise InvalidMessage.of("body", "zip-bomb", "unpacks to more than the limit", kind)
                xml.feed(chunk)
                deadline.check()
            xml.feed(b"", final=True)
    except InvalidMessage:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, RuntimeError, NotImplementedError,
            struct.error):
        raise InvalidMessage.of("body", "xlsx", "is not an XLSX workbook: a zip entry is damaged", kind) from None
    if size != part.file_size:
        raise InvalidMessage.of("body", "xlsx", "is not an XLSX workbook: a zip entry is shorter than it declares", kind)
    return size


def _column_number(letters: bytes) -> int:
    """``b"A"`` is 1, ``b"XFD"`` 16,384."""
    n = 0
    for c in letters.upper():
        n = n * 26 + c - 64
    return n


class _XmlWork:
    """The work one part's XML would cost a parser, weighed chunk by chunk in linear time.

    Each chunk is cut before its last unfinished token (kept for the next one), so every
    tag weighed is whole; the kept bytes never exceed ``max-text``.
    """

    def __init__(self, limits: Limits, kind: str | None, sheet: bool):
        self.limits, self.kind, self.sheet = limits, kind, sheet
        self.carry = b""
        self.rows = self.cells = self.columns = 0
        self.rows_seen = self.row_numbers = self.highest_row = 0  # rows, rows that give their number
        self.prefix: bytes | None = None

    def feed(self, chunk: bytes, final: bool = False) -> None:
        buf = self.carry + chunk
        cut = len(buf) if final else max(0, buf.rfind(b"<"))
        pos = 0
        while (m := _SPECIAL.search(buf, pos)) and m.start() < cut:
            end = buf.find(_CLOSERS[m.group()], m.end())
            if end < 0:  # unfinished: weighed whole once it ends
                cut = m.start()
                break
            pos = end + len(_CLOSERS[m.group()])
            if pos - m.start() > self.limits.text:
                self._too_long()
        whole, self.carry = buf[:cut], buf[cut:]
        if len(self.carry) > self.limits.text:
            self._too_long()
        if len(whole) > self.limits.text and max(map(len, whole.split(b"<"))) > self.limits.text:
            self._too_long()
        if self.sheet and whole:
            self._weigh_sheet(whole)

    def _weigh_sheet(self, xml: bytes) -> None:
        if self.prefix is None:
            root = _ROOT.search(xml)
            self.prefix = (root.group(1) or b"") if root else b""
        row, cells, row_number, cell_column = _sheet_patterns(self.prefix)
        numbers = row_number.findall(xml)
        self.rows_seen += xml.count(row)  # (a <rowBreaks> too: a bound, not a count)
        self.row_numbers += len(numbers)
        if numbers:
            self.highest_row = max(self.highest_row, max(map(int, numbers)))
        self.cells += sum(map(xml.count, cells))
        if letters := set(cell_column.findall(xml)):
            self.columns = max(self.columns, max(map(_column_number, letters)))
        # Rows that give no number follow the one before: each at most one further.
        self.rows = self.highest_row + self.rows_seen - self.row_numbers
        limits = self.limits
        if self.rows > limits.rows:
            raise InvalidMessage.of("body", "max-rows", f"has a sheet of more than {limits.rows} rows", self.kind)
        if self.columns > limits.columns:
            raise InvalidMessage.of("body", "max-columns", f"has a cell past column {limits.columns}", self.kind)
        if max(self.cells, self.rows * self.columns) > limits.cells:
            raise InvalidMessage.of("body", "max-cells", f"has a sheet of more than {limits.cells} cells", self.kind)

    def _too_long(self) -> None:
        raise InvalidMessage.of("body", "max-text", f"holds a text, tag or comment longer than {self.limits.text} bytes",
                                self.kind)
