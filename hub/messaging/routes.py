"""Who receives what: the routing table named by ``hub.routes_file`` (the packaged
``hub/defaults/routes.toml`` unless an operator names another).

A route sends records of one canonical type to one agency, as one native kind, with
only the fields that agency may see (data minimisation is configuration, not code).
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import marshmallow as ma

from hub.contract.errors import ConfigError
from schemas import RECORD_SCHEMAS
from schemas.validators import mask_id_number, mask_mobile

ALWAYS = ("type", "record_id", "schema_version", "source_agency", "source_ref", "matter_id")
# What every canonical record carries (the contract): what the API shows an agency of a
# record routed to it, beside the route's cut.
ENVELOPE = (*ALWAYS, "received_at")


class RouteSchema(ma.Schema):
    class Meta:
        # A misspelled route option must not silently widen what an agency sees.
        unknown = ma.RAISE

    name = ma.fields.String(required=True)
    type = ma.fields.String(required=True, validate=ma.validate.OneOf(sorted(RECORD_SCHEMAS)))
    to = ma.fields.String(required=True)
    kind = ma.fields.String(required=True)
    fields = ma.fields.List(ma.fields.String(), required=True)
    mask = ma.fields.List(ma.fields.String(), load_default=list)
    extra = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), load_default=dict)
    when = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    params = ma.fields.Dict(keys=ma.fields.String(), load_default=dict)
    for_each = ma.fields.String(load_default=None, validate=ma.validate.OneOf(sorted(RECORD_SCHEMAS)),
                                metadata={"description": "one delivery per record of this type on the record's "
                                                         "matter (none when it holds none); `extra` fields of "
                                                         "that type come from each"})
    hold = ma.fields.String(load_default=None, validate=ma.validate.OneOf(["dossier"]),
                            metadata={"description": "dossier: only a complete criminal-transfer dossier goes "
                                                     "at once; an incomplete one waits for the linkage office"})


class RoutesFileSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    routes = ma.fields.List(ma.fields.Nested(RouteSchema), load_default=list)


@dataclass(frozen=True)
class Route:
    name: str
    type: str
    to: str
    kind: str
    fields: tuple[str, ...]
    mask: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)
    when: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    hold: str | None = None
    for_each: str | None = None

    def matches(self, record: Mapping[str, Any]) -> bool:
        if record.get("type") != self.type:
            return False
        for path, want in self.when.items():
            got = get_path(record, path)
            if want is True:
                if got in (None, "", [], {}):
                    return False
            elif want is False:
                if got not in (None, "", [], {}):
                    return False
            elif got != want:
                return False
        return True

    def extra_types(self) -> set[str]:
        return {spec.split(".", 1)[0] for spec in self.extra.values()}

    def project(self, record: Mapping[str, Any], related: Callable[[str], Mapping[str, Any] | None]) -> dict:
        """The record as this recipient may see it: allowed fields, masks, extras."""
        out: dict[str, Any] = {k: record.get(k) for k in ALWAYS if k in record}
        for path in self.fields:
            value = get_path(record, path)
            if value is not None or _has_path(record, path):
                set_path(out, path, copy.deepcopy(value), like=record)
        for path in self.mask:
            _mask_path(out, path.split("."))
        for name, spec in self.extra.items():
            rtype, _, fpath = spec.partition(".")
            other = related(rtype)
            # (a field the route also sends stays as it is when the matter lacks that record)
            out[name] = get_path(other, fpath) if other else out.get(name)
        return out


def get_path(data: Any, path: str) -> Any:
    node = data
    for part in path.split("."):
        if isinstance(node, list):
            return [get_path(item, part) for item in node]
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _has_path(data: Any, path: str) -> bool:
    node = data
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def set_path(out: dict, path: str, value: Any, like: Mapping[str, Any]) -> None:
    """Copy ``path`` of ``like`` into ``out``; lists of objects keep only that sub-field."""
    head, _, rest = path.partition(".")
    if not rest:
        out[head] = value
        return
    source = like.get(head)
    if isinstance(source, list):
        current = out.setdefault(head, [{} for _ in source])
        for target, item in zip(current, source):
            if isinstance(item, Mapping):
                set_path(target, rest, copy.deepcopy(get_path(item, rest)), like=item)
    elif isinstance(source, Mapping):
        set_path(out.setdefault(head, {}), rest, value, like=source)


def _mask_path(node: Any, parts: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _mask_path(item, parts)
        return
    if not isinstance(node, dict) or parts[0] not in node:
        return
    if len(parts) > 1:
        _mask_path(node[parts[0]], parts[1:])
        return
    value = node[parts[0]]
    if isinstance(value, str):
        node[parts[0]] = mask_mobile(value) if len(value) == 11 else mask_id_number(value)


def load_routes(path: Path, known_agencies: set[str] | None = None) -> list[Route]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        loaded = RoutesFileSchema().load(data)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"routes file {path}: cannot read it ({exc})") from exc
    except ma.ValidationError as exc:
        raise ConfigError(f"routes file {path}: {exc.messages}") from exc
    routes = []
    names = set()
    for item in loaded["routes"]:
        if item["name"] in names:
            raise ConfigError(f"routes file {path}: route name {item['name']!r} is used twice")
        names.add(item["name"])
        routes.append(Route(
            name=item["name"], type=item["type"], to=item["to"], kind=item["kind"],
            fields=tuple(item["fields"]), mask=tuple(item["mask"]), extra=dict(item["extra"]),
            when=dict(item["when"]), params=dict(item["params"]), hold=item["hold"], for_each=item["for_each"],
        ))
    return routes
