"""Reading values back out of a rendered message: its text, and the spellings a value may take there."""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import decimal
import html
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping
from typing import Any

import marshmallow as ma

from hub.contract.types import Rendered
from hub.testing.base import (
    _EXCEL_EPOCH,
    _ISO_DATE_RE,
    _ISO_TIME_RE,
    _MONTH_RE,
    BEIJING,
)
from schemas import SCHEMAS
from schemas import fields as cf


def _decode(body: bytes, encoding: str | None) -> str:
    for codec in (encoding, "utf-8-sig", "gb18030"):
        if not codec or codec.lower() == "binary":
            continue
        try:
            codecs.lookup(codec)
            return body.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("latin-1")


def _leaf_texts(doc: Any) -> Iterator[str]:
    if isinstance(doc, Mapping):
        for key, value in doc.items():
            yield str(key)
            yield from _leaf_texts(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _leaf_texts(value)
    elif doc is not None:
        yield json.dumps(doc, ensure_ascii=False) if isinstance(doc, bool) else str(doc)


def _structured_text(text: str) -> list[str]:
    """The text of a JSON document's values, or of an XML document's elements and attributes."""
    stripped = text.lstrip("\ufeff \r\n\t")
    out = []
    if stripped[:1] in "{[":
        with contextlib.suppress(ValueError, RecursionError):
            out.extend(_leaf_texts(json.loads(stripped)))
    elif stripped[:1] == "<":
        import defusedxml.ElementTree as DET

        declared = re.sub(r"^<\?xml[^>]*\?>", "", stripped)
        with contextlib.suppress(Exception):
            root = DET.fromstring(declared)
            for element in root.iter():
                out.extend(element.attrib.values())
                if element.text:
                    out.append(element.text)
    return out


def message_text(rendered: Rendered) -> str:
    """Everything a reader could see in a rendered message, as one searchable text."""
    body = bytes(rendered.body)
    parts: list[str] = []
    if body[:4] == b"PK\x03\x04":  # a zip container (XLSX, ...): the text of its parts
        with contextlib.suppress(zipfile.BadZipFile, OSError, RuntimeError):
            with zipfile.ZipFile(io.BytesIO(body)) as archive:
                for name in archive.namelist():
                    if name.endswith((".xml", ".json", ".txt", ".csv")):
                        parts.append(archive.read(name).decode("utf-8", "replace"))
    if not parts:
        parts.append(_decode(body, rendered.content_encoding))
    texts = []
    for part in parts:
        texts += [part, html.unescape(part)] + _structured_text(part)
    return "\n".join(texts)


def _field_at(schema: ma.Schema | None, parts: list[str]) -> ma.fields.Field | None:
    field = None
    for part in parts:
        if part.isdigit():
            continue
        if schema is None or part not in schema.fields:
            return None
        field = schema.fields[part]
        while isinstance(field, ma.fields.List):
            field = field.inner
        schema = field.schema if isinstance(field, ma.fields.Nested) else None
    return field


def unknown_fields(record_type: str, fields: Mapping[str, str] | None) -> list[str]:
    """The canonical paths in ``Parsed.fields`` that are no field of the record type's
    schema (a typo, or a field of another type): a refusal would never be named by them."""
    schema = SCHEMAS.get(record_type)
    return [path for path in (fields or {}) if _field_at(schema, path.replace("[]", "").split(".")) is None]


def _date_spellings(day: dt.date) -> set[str]:
    return {day.isoformat(), day.strftime("%Y%m%d"), day.strftime("%Y/%m/%d"),
            f"{day.year}年{day.month}月{day.day}日", str((day - _EXCEL_EPOCH).days)}


def spellings(value: Any, field: ma.fields.Field | None = None) -> set[str]:
    """The common ways a native format writes a canonical value (see the module docstring)."""
    if isinstance(value, bool):
        return {"true", "True", "1", "是"} if value else {"false", "False", "0", "否"}
    if isinstance(value, int):
        return {str(value)}
    text = str(value)
    out = {text}
    if isinstance(field, cf.Money):
        with contextlib.suppress(decimal.InvalidOperation, ValueError):
            amount = decimal.Decimal(text)
            out |= {format(amount.quantize(cf.TWO_PLACES), "f"), format(amount.normalize(), "f")}
            fen = amount * 100
            if fen == fen.to_integral_value():
                out.add(str(int(fen)))
    elif (isinstance(field, ma.fields.DateTime) or field is None) and _ISO_TIME_RE.match(text):
        with contextlib.suppress(ValueError):
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment = moment.astimezone(BEIJING)
            out |= {moment.isoformat(), moment.strftime("%Y-%m-%d %H:%M:%S"), moment.strftime("%Y%m%d%H%M%S"),
                    moment.strftime("%Y-%m-%dT%H:%M:%S"), moment.strftime("%Y/%m/%d %H:%M:%S")}
            out |= _date_spellings(moment.date())
    elif (isinstance(field, ma.fields.Date) or field is None) and _ISO_DATE_RE.match(text):
        with contextlib.suppress(ValueError):
            out |= _date_spellings(dt.date.fromisoformat(text))
    elif (isinstance(field, cf.Month) or field is None) and _MONTH_RE.match(text):
        out |= {text.replace("-", ""), f"{int(text[:4])}年{int(text[5:])}月"}
    if "（" in text or "）" in text:
        out.add(text.replace("（", "(").replace("）", ")"))
    return out


def _occurs(spelling: str, text: str) -> bool:
    """``spelling`` in ``text``; a number must not be part of a longer number."""
    if not spelling:
        return False
    if not (spelling[0].isdigit() or spelling[-1].isdigit()):
        return spelling in text
    left = r"(?<![0-9])" if spelling[0].isdigit() else ""
    right = r"(?![0-9])" if spelling[-1].isdigit() else ""
    return re.search(left + re.escape(spelling) + right, text) is not None


def leaves(record: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every non-empty scalar in a record; list items by index."""
    for key, value in record.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from leaves(value, path + ".")
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield from leaves(item, f"{path}.{i}.")
                elif item not in (None, ""):
                    yield f"{path}.{i}", item
        elif value not in (None, ""):
            yield path, value


def _value_at(record: Any, path: str) -> Any:
    node = record
    for part in path.split("."):
        if isinstance(node, (list, tuple)) and part.isdigit():
            node = node[int(part)] if int(part) < len(node) else None
        elif isinstance(node, Mapping):
            node = node.get(part)
        else:
            return None
    return node


def same_value(expected: Any, got: Any, field: ma.fields.Field | None = None) -> bool:
    """Equal as canonical values: money by amount, times by instant, the rest as text."""
    if got is None:
        return False
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected == got
    if isinstance(field, cf.Money):
        with contextlib.suppress(decimal.InvalidOperation, ValueError, TypeError):
            return decimal.Decimal(str(expected)) == decimal.Decimal(str(got))
    if isinstance(field, ma.fields.DateTime) or (field is None and _ISO_TIME_RE.match(str(expected))):
        with contextlib.suppress(ValueError):
            a = dt.datetime.fromisoformat(str(expected).replace("Z", "+00:00"))
            b = dt.datetime.fromisoformat(str(got).replace("Z", "+00:00"))
            if a.tzinfo and b.tzinfo:
                return a == b
    return str(expected) == str(got)


# -- capturing logs ------------------------------------------------------------------------------
