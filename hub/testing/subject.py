"""What the kit works on for one plugin: its adapter, samples, routes, records and deliveries."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import Any

from hub.casework.matters import REF_NAMES
from hub.contract.errors import SettingsError
from hub.contract.types import AgencyInfo, Delivery, Parsed, Rejected, Rendered, Sample
from hub.messaging.routes import Route, get_path
from hub.testing.base import (
    _ID_RE,
    _MOBILE_RE,
    DELIVERY_CREATED_AT,
    RECEIVED_AT,
    ConformanceError,
    _build,
    canonical,
    sample_message,
)
from hub.testing.harness import _as_routes
from hub.testing.reading import (
    message_text,
)
from schemas import PERSONAL_FIELDS, RECORD_SCHEMAS, RecordInvalid, normalise_record


class ConformanceSubject:
    """The plugin, its samples and the records and deliveries the checks run on; see :class:`Conformance`."""

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
