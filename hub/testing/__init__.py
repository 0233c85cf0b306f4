"""The plugin authors' conformance kit: a pytest plugin shipped with the hub.

It is registered through the ``pytest11`` entry point (``wagehub = hub.testing``), so a
plugin's own test suite needs a few lines (docs/plugins.md, "Testing your plugin")::

    from hub.testing import PluginConformance
    import wagehub_myagency

    class TestConformance(PluginConformance):
        plugin = wagehub_myagency

The kit knows nothing of any agency: it takes the plugin, the samples the plugin ships
(``register_samples``) and the routes that hand records to the plugin, and checks:

hooks
    the plugin registers against the hub's hook specs (pluggy validates every argument
    name) and ``pm.check_pending()`` passes (no misspelt hook); no function named like a
    hook is left without ``@hookimpl``; ``register_agency`` is implemented, and
    ``parse_message`` / ``render_record`` when the plugin declares kinds in / out.
agency
    ``register_agency`` returns a :class:`hub.AgencyInfo` with a lower-case code and a
    canonical schema version this hub has (``schemas.versions``); the test settings pass
    the settings schema and ``parse_settings``; every sample's kind is among ``kinds_in``.
good samples
    each parses into at least one :class:`hub.Parsed`, no :class:`hub.Rejected`, each
    record of a declared native kind, and each valid once the hub adds the envelope
    (``schemas.normalise_record``, exactly as the pipeline does).
bad samples
    each is refused *with a reason and without an exception*: ``parse_message`` raises
    :class:`hub.InvalidMessage` with a reason, or yields :class:`hub.Rejected` rows, or
    yields records the canonical schema refuses. ``Sample.reason``, when set, must occur
    in the reason or the field named. No reason holds an identity number or mobile.
determinism
    parsing the same sample twice gives the same records (or the same refusal), and
    rendering the same delivery twice gives the same bytes.
round trip
    for every route to the plugin's agency and every canonical record of the route's
    type the kit has (the plugin's own good samples, parsed, and the class's
    ``records``), the record is cut down as the route cuts it (fields, masks, extras
    joined from ``related`` records), handed to ``render_record`` as a
    :class:`hub.Delivery`, and every value the route lets through must come back:

    - when the plugin reads the kind it writes (the kind is in ``kinds_in``), the
      rendered message is parsed again and each value compared (native -> canonical ->
      native -> canonical);
    - else, when the test class defines ``read_back(rendered, delivery)``, what it
      reads from the message is compared;
    - else each value must occur in the message's text (JSON strings and XML text
      unescaped, the XML parts of a zip container such as XLSX) in one of its common
      spellings: money as yuan with two places, plain yuan or integer fen; a date as
      ``YYYY-MM-DD``, ``YYYYMMDD``, ``YYYY/MM/DD``, ``YYYY年M月D日`` or a spreadsheet
      serial number; a time in Beijing time as ISO 8601, ``YYYY-MM-DD HH:MM:SS``,
      ``YYYYMMDDHHMMSS`` or, for formats that hold dates only, its date; a month as
      ``YYYY-MM`` or ``YYYYMM``.

    A route with no record to render, or asking for a kind the plugin does not declare,
    fails. A field a native format has no place for must be left out of the route
    (data minimisation), not silently dropped.
logs
    parsing every sample and rendering every delivery with every logger at DEBUG (and
    the hub's log redaction off: it is a safety net, not the plugin's excuse) writes no
    identity number (18 characters) or mobile (11 digits) that occurs in the samples or
    the records into any log line (message, arguments, exception text).

Each check is a method of :class:`Conformance` raising :class:`ConformanceError` (an
``AssertionError``) that lists every problem found; :class:`PluginConformance` runs
them as pytest tests, and the ``wagehub_conformance`` fixture gives the class itself.
"""

from __future__ import annotations

import codecs
import contextlib
import copy
import dataclasses
import datetime as dt
import decimal
import html
import inspect
import io
import json
import logging
import re
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import marshmallow as ma
import pluggy
import pytest

from hub.casework.matters import REF_NAMES
from hub.contract import hookspecs
from hub.contract.errors import InvalidMessage, SettingsError
from hub.contract.types import AgencyInfo, Delivery, NativeMessage, Parsed, Rejected, Rendered, Sample
from hub.messaging.pipeline import schema_refusal
from hub.messaging.routes import ALWAYS, Route, RouteSchema, get_path, load_routes
from schemas import PERSONAL_FIELDS, RECORD_SCHEMAS, SCHEMAS, RecordInvalid, normalise_record
from schemas import fields as cf
from schemas.versions import hub_schema_version, version_problem

__all__ = ["Conformance", "ConformanceError", "PluginConformance", "canonical_records", "wagehub_conformance"]

# Fixed times, so every run renders the same bytes.
RECEIVED_AT = "2023-07-01T09:00:00+08:00"
DELIVERY_CREATED_AT = "2023-07-01T10:00:00+08:00"
BEIJING = cf.BEIJING

_ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9])1\d{10}(?![0-9])")
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2}|Z)?$")
_MONTH_RE = re.compile(r"^\d{4}-\d{2}$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


class ConformanceError(AssertionError):
    """A plugin fails the kit; the message lists every problem found."""


def _fail(title: str, problems: list[str]) -> None:
    if problems:
        raise ConformanceError(f"{title}:\n" + "\n".join(f"  - {p}" for p in problems))


def _mask(value: str) -> str:
    """A personal value as it may appear in a failure message."""
    if len(value) == 18:
        return value[:6] + "********" + value[-4:]
    if len(value) == 11:
        return value[:3] + "****" + value[-4:]
    return "***"


def _summary(exc: BaseException) -> str:
    """Type and place of an exception, without its message (it may hold personal data)."""
    tb = inspect.getinnerframes(exc.__traceback__, context=0) if exc.__traceback__ else []
    where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno} in {tb[-1].function}" if tb else ""
    return f"{type(exc).__name__}{where}"


def sample_message(agency: str, sample: Sample) -> NativeMessage:
    """A sample as the hub's worker would hand it to ``parse_message``."""
    headers = dict(sample.headers)
    if sample.kind:
        headers.setdefault("x-wagehub-kind", sample.kind)
    return NativeMessage(agency=agency, body=sample.body, message_id=f"conformance-{sample.name}",
                         content_type=sample.content_type, content_encoding=sample.content_encoding,
                         kind=sample.kind, headers=headers)


def canonical(agency: str, item: Parsed, received_at: str = RECEIVED_AT) -> dict[str, Any]:
    """A parsed record with the envelope the pipeline adds, validated (raises RecordInvalid)."""
    record = {"type": item.type, "source_agency": agency, "source_ref": item.source_ref,
              "schema_version": SCHEMAS[item.type].VERSION if item.type in SCHEMAS else None,
              **item.record}
    record.setdefault("received_at", received_at)
    return normalise_record(record)


def _build(plugin: object, settings: Mapping[str, Any] | None = None):
    """(plugin manager, adapter) for one plugin alone, as the hub builds them."""
    from hub.contract.plugins import Adapter

    pm = pluggy.PluginManager("wagehub")
    pm.add_hookspecs(hookspecs)
    try:
        pm.register(plugin)
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConformanceError(f"the plugin's hooks do not match the hub's hook specs: {exc}") from exc
    except ValueError as exc:
        raise ConformanceError(f"the plugin cannot be registered: {exc}") from exc
    infos = pm.hook.register_agency()
    if len(infos) != 1 or not isinstance(infos[0], AgencyInfo):
        raise ConformanceError("register_agency must be implemented (marked @hookimpl) and return one "
                               f"hub.AgencyInfo; got {[type(i).__name__ for i in infos]}")
    adapter = Adapter(name=infos[0].code, plugin=plugin, info=infos[0], pm=pm,
                      raw_settings=dict(settings or {}))
    return pm, adapter


def canonical_records(*plugins: object, settings: Mapping[str, Mapping[str, Any]] | None = None
                      ) -> dict[str, list[dict[str, Any]]]:
    """Canonical records, by type, parsed from the good samples of ``plugins``.

    For a plugin's tests: the records another agency sends, which routes hand to the
    plugin (``records = canonical_records(plugins.hrss, plugins.police)``).
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for plugin in plugins:
        _pm, adapter = _build(plugin)
        adapter.raw_settings = dict((settings or {}).get(adapter.code, {}))
        adapter.check_settings()
        for sample in adapter.samples():
            if sample.bad:
                continue
            for item in adapter.parse(sample_message(adapter.code, sample)) or ():
                if isinstance(item, Parsed):
                    out.setdefault(item.type, []).append(canonical(adapter.code, item))
    return out


# -- finding values in a native message ---------------------------------------------------------


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


@contextlib.contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record written inside the block, every logger opened to DEBUG.

    The hub's record factory that masks identity numbers (``hub.logs``) is set aside
    for the block: it is a safety net for production, and the plugin must not need it.
    """
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = _Keep(logging.DEBUG)
    root = logging.getLogger()
    factory = logging.getLogRecordFactory()
    disabled = logging.root.manager.disable
    changed: list[tuple[logging.Logger, int]] = []
    isolated: list[logging.Logger] = []
    logging.setLogRecordFactory(logging.LogRecord)
    logging.disable(logging.NOTSET)
    for logger in [root, *logging.Logger.manager.loggerDict.values()]:
        if not isinstance(logger, logging.Logger):
            continue
        if logger.level > logging.DEBUG or logger is root:
            changed.append((logger, logger.level))
            logger.setLevel(logging.DEBUG)
        if not logger.propagate:
            isolated.append(logger)
            logger.addHandler(handler)
    root.addHandler(handler)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        for logger in isolated:
            logger.removeHandler(handler)
        for logger, level in changed:
            logger.setLevel(level)
        logging.disable(disabled)
        logging.setLogRecordFactory(factory)


def _log_text(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # noqa: BLE001  (a bad format string: look at its parts)
        text = f"{record.msg} {record.args}"
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        text += "\n" + record.exc_text
    if record.stack_info:
        text += "\n" + record.stack_info
    return text


# -- the kit -------------------------------------------------------------------------------------


def _as_routes(routes: Any, agency: str) -> list[Route]:
    if routes is None:
        from hub.config import load_settings, routes_path

        routes = routes_path(load_settings())
    if isinstance(routes, (str, Path)):
        loaded = load_routes(Path(routes))
    else:
        loaded = []
        for item in routes:
            if isinstance(item, Route):
                loaded.append(item)
                continue
            data = RouteSchema().load(dict(item))
            loaded.append(Route(name=data["name"], type=data["type"], to=data["to"], kind=data["kind"],
                                fields=tuple(data["fields"]), mask=tuple(data["mask"]), extra=dict(data["extra"]),
                                when=dict(data["when"]), params=dict(data["params"]), hold=data["hold"]))
    return [r for r in loaded if r.to == agency]


def load_routes_text(text: str) -> list[dict[str, Any]]:
    """``[[routes]]`` tables from TOML text, for a plugin that keeps its routes in a string."""
    return list(tomllib.loads(text).get("routes", []))


class Conformance:
    """The checks, for one plugin.

    ``plugin``: the module (or object) registered under the ``wagehub`` entry-point group.
    ``settings``: its settings (``[plugins.<code>]``) for the tests.
    ``routes``: routes that hand records to the plugin, as a routes.toml path or a list of
    ``[[routes]]`` tables; None: those of the hub's routes file (``hub.routes_file``) naming its agency.
    ``records``: canonical records by type (a record or a list) for the route types the
    plugin does not read itself; ``related``: records by type that routes' ``extra``
    fields are joined from (default: the first of that type among the records).
    ``read_back(rendered, delivery) -> dict``: reads an outbound message back as
    canonical fields, for a kind the plugin does not read itself.
    """

    def __init__(self, plugin: object, *, settings: Mapping[str, Any] | None = None, routes: Any = None,
                 records: Mapping[str, Any] | None = None, related: Mapping[str, Any] | None = None,
                 read_back: Callable[[Rendered, Delivery], Mapping[str, Any] | None] | None = None):
        if plugin is None:
            raise ConformanceError("no plugin given: set `plugin` to your plugin module")
        self.plugin = plugin
        self.settings = dict(settings or {})
        self._routes = routes
        self._records = dict(records or {})
        self._related = dict(related or {})
        self.read_back = read_back

    # -- what the kit works on -------------------------------------------------------------------

    @cached_property
    def adapter(self):
        _pm, adapter = _build(self.plugin, self.settings)
        try:
            adapter.check_settings()
        except SettingsError as exc:
            self.settings_problem = str(exc)
        else:
            self.settings_problem = None
        return adapter

    @property
    def info(self) -> AgencyInfo:
        return self.adapter.info

    @property
    def code(self) -> str:
        return self.info.code

    @cached_property
    def samples(self) -> list[Sample]:
        samples = list(self.adapter.samples())
        for sample in samples:
            if not isinstance(sample, Sample):
                raise ConformanceError(f"register_samples must return hub.Sample items, not {type(sample).__name__}")
        return samples

    @property
    def good(self) -> list[Sample]:
        return [s for s in self.samples if not s.bad]

    @property
    def bad(self) -> list[Sample]:
        return [s for s in self.samples if s.bad]

    @cached_property
    def routes(self) -> list[Route]:
        return _as_routes(self._routes, self.code)

    def parse(self, sample: Sample) -> list[Parsed | Rejected]:
        if self.adapter and self.settings_problem:
            raise ConformanceError(f"plugin {self.code}: cannot run: {self.settings_problem}")
        result = self.adapter.parse(sample_message(self.code, sample))
        return list(result) if result is not None else []

    def parsed_records(self) -> dict[str, list[dict[str, Any]]]:
        """Canonical records of the good samples, by type (those that validate)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for sample in self.good:
            with contextlib.suppress(Exception):
                for item in self.parse(sample):
                    if isinstance(item, Parsed):
                        with contextlib.suppress(RecordInvalid):
                            out.setdefault(item.type, []).append(canonical(self.code, item))
        return out

    def _given_records(self) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for rtype, given in self._records.items():
            for i, record in enumerate(given if isinstance(given, (list, tuple)) else [given]):
                data = {"type": rtype, "source_agency": "conformance", "source_ref": f"{rtype}-{i + 1}",
                        "received_at": RECEIVED_AT, **copy.deepcopy(dict(record))}
                try:
                    out.setdefault(rtype, []).append(normalise_record(data))
                except RecordInvalid as exc:
                    raise ConformanceError(f"records[{rtype!r}][{i}] is not a valid canonical record: {exc}") from exc
        return out

    @cached_property
    def pool(self) -> dict[str, list[dict[str, Any]]]:
        pool = self.parsed_records()
        for rtype, records in self._given_records().items():
            pool.setdefault(rtype, []).extend(records)
        return pool

    def _related_record(self, rtype: str) -> dict[str, Any] | None:
        if rtype in self._related:
            return dict(self._related[rtype])
        found = self.pool.get(rtype)
        return found[0] if found else None

    def deliveries(self) -> Iterator[tuple[Route, Delivery]]:
        """Every delivery the routes would hand the plugin, from the records the kit has."""
        for route in self.routes:
            for i, record in enumerate(r for r in self.pool.get(route.type, []) if route.matches(r)):
                refs: dict[str, list[str]] = {}  # as the hub gives them: the record's own numbers
                for ns, field in RECORD_SCHEMAS[route.type].LINKS:
                    value = record.get(field)
                    for number in value if isinstance(value, list) else [value]:
                        if number and ns in REF_NAMES:
                            refs.setdefault(REF_NAMES[ns], []).append(number)
                yield route, Delivery(
                    recipient=self.code, kind=route.kind, route=route.name, record_type=route.type,
                    record=route.project(record, self._related_record), refs=refs,
                    message_id=f"conformance-{route.name}-{i + 1}", matter_id="mat-conformance",
                    params=dict(route.params), created_at=DELIVERY_CREATED_AT,
                )

    def personal_values(self) -> set[str]:
        """Identity numbers and mobiles in the samples (any shape-alike) and the records."""
        found: set[str] = set()
        for sample in self.samples:
            text = message_text(Rendered(body=sample.body, content_type=sample.content_type,
                                         content_encoding=sample.content_encoding))
            found |= {m.upper() for m in _ID_RE.findall(text)} | set(_MOBILE_RE.findall(text))
        for records in self.pool.values():
            for record in records:
                for path in PERSONAL_FIELDS:
                    value = get_path(record, path)
                    for item in value if isinstance(value, list) else [value]:
                        if isinstance(item, str) and len(item) in (11, 18):
                            found.add(item.upper())
        return found

    # -- the checks ------------------------------------------------------------------------------

    def check_hooks(self) -> None:
        """Hook signatures match the specs; nothing named like a hook is left unmarked."""
        problems = []
        pm = pluggy.PluginManager("wagehub")
        pm.add_hookspecs(hookspecs)
        try:
            pm.register(self.plugin)
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            problems.append(f"{exc} (see the hook's exact signature in docs/plugins.md)")
        except ValueError as exc:
            problems.append(f"cannot register the plugin: {exc}")
        implemented = {name for name in hookspecs.HOOK_NAMES
                       if any(impl.plugin is self.plugin for impl in getattr(pm.hook, name).get_hookimpls())}
        for name in hookspecs.HOOK_NAMES:
            function = getattr(self.plugin, name, None)
            if callable(function) and name not in implemented:
                problems.append(f"{name} is not marked with @hookimpl (from hub import hookimpl): the hub never "
                                "calls it")
        if not problems:
            if "register_agency" not in implemented:
                problems.append("register_agency is not implemented: a plugin declares its agency")
            else:
                info = self.info
                if info.kinds_in and "parse_message" not in implemented:
                    problems.append(f"kinds_in {info.kinds_in} declared but parse_message is not implemented")
                if info.kinds_out and "render_record" not in implemented:
                    problems.append(f"kinds_out {info.kinds_out} declared but render_record is not implemented")
        _fail(f"plugin {getattr(self.plugin, '__name__', self.plugin)!s}: hooks", problems)

    def check_agency(self) -> None:
        """``register_agency`` says who the plugin is; its schema version and settings are accepted."""
        problems = []
        info = self.info
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", info.code or ""):
            problems.append(f"agency code {info.code!r} must be lower case letters, digits and _ (a queue suffix)")
        if not info.name or not info.version:
            problems.append("AgencyInfo needs a name and the plugin's version")
        if not info.kinds_in and not info.kinds_out:
            problems.append("AgencyInfo declares no kinds in or out")
        problem = version_problem(info.schema_version)
        if problem:
            problems.append(f"AgencyInfo.schema_version: {problem}")
        elif self.settings_problem:
            problems.append(f"the test settings are refused: {self.settings_problem}")
        for secret in info.secret_settings:
            if not isinstance(secret, str):
                problems.append("secret_settings must be setting names")
        for sample in self.samples:
            if sample.kind and sample.kind not in info.kinds_in:
                problems.append(f"sample {sample.name}: kind {sample.kind!r} is not among kinds_in {info.kinds_in}")
        _fail(f"plugin {info.code}: register_agency", problems)

    def check_good_samples(self) -> None:
        """Each good sample parses into valid canonical records."""
        problems = []
        if not self.good:
            problems.append("register_samples returns no good sample: ship at least one message of each kind "
                            "you read")
        personal = self.personal_values()
        for sample in self.good:
            try:
                items = self.parse(sample)
            except InvalidMessage as exc:
                problems.append(f"{sample.name}: refused: {_clean(exc.reason, personal)}")
                continue
            except ConformanceError:
                raise
            except Exception as exc:  # noqa: BLE001  (a plugin bug is what the kit reports)
                problems.append(f"{sample.name}: parse_message raised {_summary(exc)}")
                continue
            if not any(isinstance(item, Parsed) for item in items):
                problems.append(f"{sample.name}: no record parsed")
            for item in items:
                if isinstance(item, Rejected):
                    problems.append(f"{sample.name}: row {item.row} rejected: {_clean(item.reason, personal)}")
                    continue
                if not isinstance(item, Parsed):
                    problems.append(f"{sample.name}: parse_message yielded a {type(item).__name__}, "
                                    "not hub.Parsed or hub.Rejected")
                    continue
                if item.type not in SCHEMAS:
                    problems.append(f"{sample.name}: record type {item.type!r} is not a canonical type "
                                    f"({', '.join(sorted(SCHEMAS))})")
                    continue
                if not item.source_ref:
                    problems.append(f"{sample.name}: a {item.type} record without source_ref")
                if item.kind not in self.info.kinds_in:
                    problems.append(f"{sample.name}: Parsed.kind {item.kind!r} is not among kinds_in "
                                    f"{self.info.kinds_in}")
                if unknown := unknown_fields(item.type, item.fields):
                    problems.append(f"{sample.name}: Parsed.fields names no field of {item.type}: "
                                    f"{', '.join(unknown)}")
                try:
                    canonical(self.code, item)
                except RecordInvalid as exc:
                    problems.append(f"{sample.name}: the {item.type} record is not valid: {exc}")
        _fail(f"plugin {self.code}: good samples", problems)

    def refusal(self, sample: Sample) -> tuple[list[tuple[str, str | None]], str | None]:
        """(reasons with the field each names, the exception summary) for a bad sample."""
        try:
            items = self.parse(sample)
        except InvalidMessage as exc:
            return [(exc.reason or "", exc.field)], None
        except ConformanceError:
            raise
        except Exception as exc:  # noqa: BLE001
            return [], _summary(exc)
        reasons: list[tuple[str, str | None]] = []
        for item in items:
            if isinstance(item, Rejected):
                reasons.append((item.reason or "", item.field))
            elif isinstance(item, Parsed):
                try:
                    canonical(self.code, item)
                except RecordInvalid as exc:  # worded as the hub words it: the agency's field names
                    reasons.append(schema_refusal(exc, item.fields))
        return reasons, None

    def check_bad_samples(self) -> None:
        """Each bad sample is refused with a reason, never with another exception."""
        problems = []
        if not self.bad:
            return
        personal = self.personal_values()
        for sample in self.bad:
            reasons, raised = self.refusal(sample)
            if raised:
                problems.append(f"{sample.name}: parse_message raised {raised}; raise hub.InvalidMessage(reason, "
                                "field=..., rule=...) for a message that cannot be read")
                continue
            if not reasons:
                problems.append(f"{sample.name}: accepted, though the sample is marked bad")
                continue
            for reason, _field in reasons:
                if not reason.strip():
                    problems.append(f"{sample.name}: refused without a reason")
                leaked = [v for v in personal if v in reason.upper()]
                if leaked:
                    problems.append(f"{sample.name}: the reason holds personal data ({_mask(leaked[0])})")
            if sample.reason and not any(sample.reason.lower() in f"{r} {f or ''}".lower() for r, f in reasons):
                problems.append(f"{sample.name}: the reason should name {sample.reason!r}, it says: "
                                f"{_clean(reasons[0][0], personal)}")
        _fail(f"plugin {self.code}: bad samples", problems)

    def check_deterministic(self) -> None:
        """The same sample parses the same twice; the same delivery renders the same bytes twice."""
        problems = []
        for sample in self.samples:
            runs = []
            for _ in range(2):
                try:
                    runs.append([dataclasses.asdict(i) if dataclasses.is_dataclass(i) else repr(i)
                                 for i in self.parse(sample)])
                except Exception as exc:  # noqa: BLE001
                    runs.append(("raised", type(exc).__name__, str(getattr(exc, "reason", ""))))
            if runs[0] != runs[1]:
                problems.append(f"{sample.name}: two parses gave different results")
        for route, delivery in self.deliveries():
            try:
                first, second = self.adapter.render(delivery), self.adapter.render(delivery)
            except Exception:  # noqa: BLE001  (check_round_trip reports it)
                continue
            if (first.body, first.content_type, first.content_encoding, dict(first.headers)) != \
                    (second.body, second.content_type, second.content_encoding, dict(second.headers)):
                problems.append(f"route {route.name}: two renderings of one delivery differ (use "
                                "delivery.created_at and delivery.message_id, not the clock or random ids)")
        _fail(f"plugin {self.code}: determinism", problems)

    def check_round_trip(self) -> None:
        """Every value a route lets through comes back out of the rendered native message."""
        problems = []
        routes = self.routes
        if self.info.kinds_out and not routes:
            problems.append(f"kinds_out {self.info.kinds_out} declared but no route hands records to agency "
                            f"{self.code!r}: give the kit your routes (routes = path to a routes.toml)")
        rendered_routes = set()
        personal = self.personal_values()
        for route in routes:
            if route.kind not in self.info.kinds_out:
                problems.append(f"route {route.name} asks for kind {route.kind!r}, not among kinds_out "
                                f"{self.info.kinds_out}")
        for route, delivery in self.deliveries():
            rendered_routes.add(route.name)
            try:
                rendered = self.adapter.render(delivery)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"route {route.name}: render_record raised {_summary(exc)}")
                continue
            if not isinstance(rendered, Rendered) or not isinstance(rendered.body, (bytes, bytearray)):
                problems.append(f"route {route.name}: render_record must return hub.Rendered with bytes")
                continue
            if not rendered.content_type:
                problems.append(f"route {route.name}: Rendered.content_type is empty")
            for path, missing in self._missing(route, delivery, rendered):
                value = _value_at(delivery.record, path)
                shown = _mask(str(value)) if str(value).upper() in personal else repr(value)
                problems.append(f"route {route.name} ({route.type} -> {route.kind}): {path} = {shown} "
                                f"{missing}")
        for route in routes:
            if route.name not in rendered_routes:
                problems.append(f"route {route.name}: no {route.type} record"
                                f"{' matching ' + str(dict(route.when)) if route.when else ''} to render: add "
                                f"one to `records` (canonical_records(...) gives them from another plugin)")
        _fail(f"plugin {self.code}: round trip", problems)

    def _missing(self, route: Route, delivery: Delivery, rendered: Rendered) -> list[tuple[str, str]]:
        schema = SCHEMAS.get(route.type)
        expected = [(p, v) for p, v in leaves(delivery.record) if p.split(".")[0] not in ALWAYS]
        if route.kind in self.info.kinds_in:
            message = NativeMessage(agency=self.code, body=bytes(rendered.body), message_id=delivery.message_id,
                                    content_type=rendered.content_type, content_encoding=rendered.content_encoding,
                                    kind=route.kind, headers={"x-wagehub-kind": route.kind, **rendered.headers})
            try:
                items = list(self.adapter.parse(message) or ())
            except Exception as exc:  # noqa: BLE001
                return [("(message)", f"cannot be read back by parse_message: {_summary(exc)}")]
            back = next((i.record for i in items if isinstance(i, Parsed) and i.type == route.type), None)
            if back is None:
                return [("(message)", f"read back by parse_message gives no {route.type} record")]
            return [(p, "is lost: native -> canonical -> native -> canonical gives "
                        f"{'nothing' if _value_at(back, p) is None else 'another value'}")
                    for p, v in expected if not same_value(v, _value_at(back, p), _field_at(schema, p.split(".")))]
        if self.read_back is not None:
            back = self.read_back(rendered, delivery)
            if back is None:
                return [("(message)", "read_back returned nothing")]
            return [(p, "is lost: read_back does not find it in the rendered message")
                    for p, v in expected if not same_value(v, _value_at(back, p), _field_at(schema, p.split(".")))]
        text = message_text(rendered)
        return [(p, "is not in the rendered message (dropped on the way out?)")
                for p, v in expected if not any(_occurs(s, text)
                                                for s in spellings(v, _field_at(schema, p.split("."))))]

    def check_no_personal_data_in_logs(self) -> None:
        """No identity number or mobile of the samples and records reaches a log line."""
        personal = self.personal_values()
        with captured_logs() as logged:
            for sample in self.samples:
                with contextlib.suppress(Exception):
                    for item in self.parse(sample):
                        if isinstance(item, Parsed):
                            with contextlib.suppress(RecordInvalid):
                                canonical(self.code, item)
            for _route, delivery in self.deliveries():
                with contextlib.suppress(Exception):
                    self.adapter.render(delivery)
        problems = []
        for record in logged:
            text = _log_text(record).upper()
            leaked = sorted(v for v in personal if v in text)
            if leaked:
                problems.append(f"logger {record.name} ({record.levelname}, {Path(record.pathname).name}:"
                                f"{record.lineno}) wrote personal data ({', '.join(_mask(v) for v in leaked)})")
        _fail(f"plugin {self.code}: personal data in logs", problems)

    CHECKS = ("check_hooks", "check_agency", "check_good_samples", "check_bad_samples", "check_deterministic",
              "check_round_trip", "check_no_personal_data_in_logs")

    def check_all(self) -> None:
        """Every check; one error listing the failures of all of them."""
        failures = []
        for name in self.CHECKS:
            try:
                getattr(self, name)()
            except ConformanceError as exc:
                failures.append(str(exc))
                if name == "check_hooks":
                    break  # nothing else can be trusted
        if failures:
            raise ConformanceError("\n".join(failures))


def _clean(text: str, personal: Iterable[str]) -> str:
    for value in personal:
        text = re.sub(re.escape(value), _mask(value), text, flags=re.IGNORECASE)
    return text


class PluginConformance:
    """Subclass it in your plugin's tests (a ``Test*`` name) and set ``plugin``; see :class:`Conformance`.

    Class attributes: ``plugin`` (required), ``settings``, ``routes``, ``records``,
    ``related``; define ``read_back(self, rendered, delivery)`` to read an outbound kind
    the plugin does not read itself.
    """

    plugin: object = None
    settings: Mapping[str, Any] = {}
    routes: Any = None
    records: Mapping[str, Any] = {}
    related: Mapping[str, Any] = {}
    read_back: Callable[..., Mapping[str, Any] | None] | None = None

    @property
    def conformance(self) -> Conformance:
        """The kit for this class's plugin, built once per class (parsing is not free)."""
        cls = type(self)
        kit = cls.__dict__.get("_wagehub_kit")
        if kit is None:
            if self.plugin is None:
                pytest.fail(f"{cls.__name__}: set `plugin = <your plugin module>`")
            read_back = self.read_back if callable(self.read_back) else None
            kit = Conformance(self.plugin, settings=self.settings, routes=self.routes, records=self.records,
                              related=self.related, read_back=read_back)
            cls._wagehub_kit = kit
        return kit

    def test_hooks_match_the_specs(self) -> None:
        self.conformance.check_hooks()

    def test_agency_declared(self) -> None:
        self.conformance.check_agency()

    def test_good_samples_give_valid_records(self) -> None:
        self.conformance.check_good_samples()

    def test_bad_samples_refused_with_a_reason(self) -> None:
        if not self.conformance.bad:
            pytest.skip("the plugin ships no bad sample (Sample(bad=True, reason=...))")
        self.conformance.check_bad_samples()

    def test_parsing_and_rendering_are_deterministic(self) -> None:
        self.conformance.check_deterministic()

    def test_round_trip_keeps_every_value(self) -> None:
        self.conformance.check_round_trip()

    def test_no_personal_data_in_logs(self) -> None:
        self.conformance.check_no_personal_data_in_logs()


@pytest.fixture
def wagehub_conformance() -> type[Conformance]:
    """The kit for a test function: ``wagehub_conformance(plugin, routes=...).check_all()``."""
    return Conformance


def pytest_report_header(config) -> str:
    return f"wagehub conformance kit: canonical schema {hub_schema_version()}"
