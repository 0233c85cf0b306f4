"""The kit's common ground: its error, the fixed times, and the plugin built as the hub builds it."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pluggy

from hub.contract import hookspecs
from hub.contract.types import AgencyInfo, NativeMessage, Parsed, Sample
from schemas import SCHEMAS, normalise_record
from schemas import fields as cf

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


def _clean(text: str, personal: Iterable[str]) -> str:
    for value in personal:
        text = re.sub(re.escape(value), _mask(value), text, flags=re.IGNORECASE)
    return text


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
