"""police inbound: XML packets (``AJJS`` receipts, ``LAJD`` decisions; format 1.2: ``FYJD``
reconsideration decisions, ``BCCL`` requests for materials) as canonical records.

Packets are parsed with defusedxml only: a DTD is refused (``no-dtd``) and no entity,
internal or external, is ever expanded. Expat cannot decode GB18030 itself, so the
bytes are decoded here (BOM, else the prolog's declaration, else the message's
``content_encoding``, else UTF-8) and the text, its encoding declaration dropped, is
what the XML parser sees.

``source_ref``: the police issue no number of their own for a receipt, nor for a
decision that does not open a case, and the message id (``XXBH``) changes when a
packet is re-sent. So a record's reference is ``<YSBH>/<TYPE>/<business time>``
(``YS37010320230880/AJJS/20230621093000``): the same for a re-sent packet, distinct
for a second receipt or decision on the same transfer (returned, then sent again).
The police case number of an opened case is kept in ``police_case_no``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml
import defusedxml.ElementTree as DET

from hub import InvalidMessage, NativeMessage, Parsed
from schemas.fields import BEIJING

DECISIONS = {"1": "opened", "2": "declined", "3": "returned"}
RECONSIDERATION_DECISIONS = {"1": "opened", "2": "upheld"}

_PROLOG_RE = re.compile(rb"""\A<\?xml[^>]*?\sencoding\s*=\s*(["'])([A-Za-z][A-Za-z0-9._-]*)\1""")
_DECL_ENCODING_RE = re.compile(r"""\A(<\?xml[^>]*?)\s+encoding\s*=\s*(["'])[^"']*\2""")
_TIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$")  # ASCII digits only
# GB2312 and GBK are subsets of GB18030: read them all as GB18030.
_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "gb18030": "gb18030", "utf8": "utf-8", "utf-8": "utf-8"}
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
         ("\ufeff".encode("gb18030"), "gb18030"))


def _encoding(body: bytes, content_encoding: str | None) -> tuple[str, bytes]:
    """(codec, bytes without BOM) as the packet itself says, the transport second."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, body[len(bom):]
    declared = _PROLOG_RE.match(body)
    if declared:
        name = declared.group(2).decode("ascii")
    elif content_encoding and content_encoding.strip().lower() not in ("binary", ""):
        name = content_encoding.strip()
    else:
        name = "utf-8"
    return _ALIASES.get(name.lower(), name.lower()), body


def read_packet(message: NativeMessage) -> Element:
    """The packet's root element, parsed safely."""
    body = bytes(message.body)
    codec, data = _encoding(body, message.content_encoding)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise InvalidMessage.of("body", "encoding", f"is not valid text in its declared encoding (byte {exc.start})",
                                message.kind) from None
    except LookupError:  # an unknown name, or a codec that is no character set ("hex", "zlib")
        raise InvalidMessage.of("body", "encoding", "declares an encoding this hub cannot read", message.kind) from None
    # Already decoded: a declaration naming GB18030 would only confuse expat.
    text = _DECL_ENCODING_RE.sub(r"\1", text, count=1)
    try:
        root = DET.fromstring(text, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise InvalidMessage.of("body", "no-dtd", "declares a DTD (DOCTYPE): DTDs and entities are refused",
                                message.kind) from None
    except defusedxml.EntitiesForbidden:
        raise InvalidMessage.of("body", "no-entities", "declares an entity: entities are refused", message.kind) from None
    except defusedxml.ExternalReferenceForbidden:
        raise InvalidMessage.of("body", "no-external", "refers to an external resource: refused", message.kind) from None
    except DET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise InvalidMessage.of("body", "xml", f"is not well-formed XML (line {line}, column {column})",
                                message.kind) from None
    except (ValueError, RecursionError):
        raise InvalidMessage.of("body", "xml", "is not XML this reader can hold", message.kind) from None
    if root.tag != "PACKET":
        raise InvalidMessage.of("PACKET", "root", "must be the root element", message.kind)
    return root


class _Body:
    """The BODY of a packet, read tag by tag; errors carry the path (``BODY/YSBH``)."""

    def __init__(self, body: Element, kind: str):
        self.body = body
        self.kind = kind

    def text(self, tag: str, required: bool = True) -> str | None:
        found = self.body.findall(tag)
        if len(found) > 1:
            raise InvalidMessage.of(f"BODY/{tag}", "single", "must occur once", self.kind)
        value = (found[0].text or "").strip() if found else ""
        if not value:
            if required:
                raise InvalidMessage.of(f"BODY/{tag}", "required", "is required", self.kind)
            return None
        return value

    def time(self, tag: str, required: bool = True) -> tuple[str, str] | None:
        """``yyyy-MM-dd HH:mm:ss`` Beijing time as (ISO 8601 with +08:00, yyyyMMddHHmmss)."""
        value = self.text(tag, required)
        if value is None:
            return None
        try:
            if not _TIME_RE.match(value):
                raise ValueError
            at = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        except ValueError:
            raise InvalidMessage.of(f"BODY/{tag}", "time-format", "must be a valid time yyyy-MM-dd HH:mm:ss",
                                    self.kind) from None
        return at.isoformat(), at.strftime("%Y%m%d%H%M%S")

    def code(self, tag: str, table: dict[str, str]) -> str:
        value = self.text(tag)
        if value not in table:
            raise InvalidMessage.of(f"BODY/{tag}", "enum", f"must be one of {', '.join(table)}", self.kind)
        return table[value]


def _receipt(b: _Body) -> tuple[str, dict[str, Any]]:
    transfer_no = b.text("YSBH")
    received_at, stamp = b.time("JSSJ")
    record = {"transfer_no": transfer_no, "received_at": received_at, "officer": b.text("JSR", required=False)}
    return f"{transfer_no}/AJJS/{stamp}", record


def _decider(kind: str, table: dict[str, str]) -> Callable[[_Body], tuple[str, dict[str, Any]]]:
    """A reader of LAJD, or of FYJD (format 1.2: the answer to a reconsideration, shaped as LAJD)."""

    def read(b: _Body) -> tuple[str, dict[str, Any]]:
        transfer_no = b.text("YSBH")
        decision = b.code("JDLX", table)
        decided_at, stamp = b.time("JDSJ")
        record = {
            "transfer_no": transfer_no,
            "decision": decision,
            "police_case_no": b.text("LAAJBH", required=False),
            "decided_at": decided_at,
            "reason": b.text("LY", required=False),
        }
        return f"{transfer_no}/{kind}/{stamp}", record

    return read


def _materials(b: _Body) -> tuple[str, dict[str, Any]]:
    """BCCL (format 1.2): the police ask for missing materials instead of deciding."""
    transfer_no = b.text("YSBH")
    missing = b.text("QSCL")
    requested_at, stamp = b.time("TZSJ")
    return f"{transfer_no}/BCCL/{stamp}", {"transfer_no": transfer_no, "missing": missing,
                                           "requested_at": requested_at}


# PACKET TYPE -> (canonical record type, mapper); AJYS is outbound only.
KINDS_IN = {"AJJS": ("police_receipt", _receipt), "LAJD": ("police_decision", _decider("LAJD", DECISIONS)),
            "FYJD": ("reconsideration_decision", _decider("FYJD", RECONSIDERATION_DECISIONS)),
            "BCCL": ("materials_request", _materials)}

# Canonical field paths as the police name them (``Parsed.fields``), spelt as this
# plugin's own refusals spell a tag (``BODY/YSBH``), so that a refusal by the shared
# schema names the tag the police know. ``source_ref`` (YSBH/TYPE/time) is derived: left out.
RECEIPT_FIELDS = {"transfer_no": "BODY/YSBH", "received_at": "BODY/JSSJ", "officer": "BODY/JSR"}
DECISION_FIELDS = {
    "transfer_no": "BODY/YSBH",
    "decision": "BODY/JDLX",
    "police_case_no": "BODY/LAAJBH",
    "decided_at": "BODY/JDSJ",
    "reason": "BODY/LY",
}
MATERIALS_FIELDS = {"transfer_no": "BODY/YSBH", "missing": "BODY/QSCL", "requested_at": "BODY/TZSJ"}
FIELDS = {"AJJS": RECEIPT_FIELDS, "LAJD": DECISION_FIELDS, "FYJD": DECISION_FIELDS, "BCCL": MATERIALS_FIELDS}
"""PACKET TYPE -> its canonical field paths as the police name them."""


def parse(message: NativeMessage) -> list[Parsed]:
    """One police packet as its single canonical record."""
    root = read_packet(message)
    kind = root.get("TYPE")
    if kind is None:
        raise InvalidMessage.of("PACKET/@TYPE", "required", "is required", message.kind)
    if kind not in KINDS_IN:
        raise InvalidMessage.of("PACKET/@TYPE", "enum", f"must be one of {', '.join(KINDS_IN)} (the hub's own kinds are "
                                "outbound only)",
                                None)
    bodies = root.findall("BODY")
    if len(bodies) != 1:
        raise InvalidMessage.of("BODY", "required" if not bodies else "single", "must occur once", kind)
    record_type, mapper = KINDS_IN[kind]
    source_ref, record = mapper(_Body(bodies[0], kind))
    record = {k: v for k, v in record.items() if v is not None}
    return [Parsed(type=record_type, record=record, source_ref=source_ref, kind=kind, fields=FIELDS[kind])]
