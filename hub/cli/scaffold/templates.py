"""The files of a new plugin distribution, as ``string.Template`` texts.

Placeholders: ``$code`` (agency code, e.g. ``myagency``), ``$code_upper``, ``$dist``
(``wagehub-myagency``), ``$package`` (``wagehub_myagency``), ``$hub_version``. A literal
dollar sign is written ``$$``.
"""

from __future__ import annotations

SETUP_CFG = """\
[metadata]
name = $dist
version = attr: $package.__version__
description = wage-arrears-hub plugin for the $code agency
long_description = file: README.md
long_description_content_type = text/markdown

[options]
packages = find:
python_requires = >=3.11
install_requires =
    wage-arrears-hub>=$hub_version

[options.packages.find]
exclude =
    tests*

[options.package_data]
# The samples ship with the plugin: `wagehub demo` and the conformance kit read them.
$package = samples/*, samples/bad/*

[options.entry_points]
# The hub finds its plugins here: entry point name = plugin name = agency code.
wagehub =
    $code = $package
"""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=68", "wheel"]
build-backend = "setuptools.build_meta"
"""

README = """\
# $dist

A wage-arrears-hub plugin for the `$code` agency, started with `wagehub plugins new
$code`. The hub's plugin guide (`docs/plugins.md` in the hub) says how to make it yours.

As generated, it reads and writes a simple JSON `CASE` message as the canonical `case`
record, and passes the hub's conformance kit on its own sample:

```sh
pip install -e .        # into the hub's environment
pytest                  # tests/test_conformance.py runs the kit
```

## Make it your agency's

1. `$package/mapping.py`: your native format. Set `KIND`, `RECORD_TYPE` and `FIELDS`
   (native name, canonical name, required, converters, rule); add a module per format
   when you read or write several kinds.
2. `$package/samples/`: real messages of every kind you read; under `bad/`, the mistakes
   your agency makes, each listed in `_SAMPLES` with the word its refusal must name.
3. `$package/__init__.py`: `register_agency` (kinds in and out, the settings schema, the
   canonical schema version you need), and the hooks you need (see the guide).
4. `routes.toml`: what your agency receives, cut to the fields your format carries.
   The operator adds these routes to the hub's routes file.
5. `pytest`: the conformance kit says what is left to fix.

## Install into a hub

```sh
pip install $dist             # or: pip install ./$dist
wagehub plugins list          # after restarting the hub: `$code` is there
wagehub plugins enable $code  # admins turn it on and off at runtime
```

Settings go under `[plugins.$code]` in the hub's configuration
(`WAGEHUB_PLUGINS__${code_upper}__KEY=...` in the environment).
"""

ROUTES = """\
# Routes for the $code agency. Add them to the hub's routes file (hub.routes_file):
# each sends one canonical record type to $code as one of its kinds, with only the
# fields listed (data minimisation). The conformance kit renders every route below.

[[routes]]
name = "case-to-$code"
type = "case"
to = "$code"
kind = "CASE"
fields = ["case_no", "clue_nos", "status", "status_at", "handler", "amount_recovered", "workers_paid"]
"""

INIT = '''\
"""$code: a wage-arrears-hub plugin for the $code agency.

Reads ``CASE`` messages (JSON, UTF-8) as canonical ``case`` records and writes them
back as ``CASE`` messages (see ``mapping.py``). Replace the mapping, the samples and
``routes.toml`` with your agency's format: the hub's ``docs/plugins.md`` says how.
"""

from __future__ import annotations

from typing import Any

from hub import AgencyInfo, Delivery, NativeMessage, Parsed, PluginSettings, Rendered, hookimpl, samples_from

from $package import mapping

__version__ = "0.1.0"


@hookimpl
def register_agency() -> AgencyInfo:
    return AgencyInfo(
        code="$code",
        name="$code agency",
        version=__version__,
        kinds_in=(mapping.KIND,),
        kinds_out=(mapping.KIND,),
        settings_schema=PluginSettings(),
        secret_settings=("key",),
        schema_version="1",
        description="JSON messages, UTF-8, Beijing times without offset, money as yuan strings.",
    )


@hookimpl
def parse_message(message: NativeMessage, settings: dict[str, Any]) -> list[Parsed]:
    source_ref, record = mapping.to_canonical(mapping.read(message))
    return [Parsed(type=mapping.RECORD_TYPE, record=record, source_ref=source_ref, kind=mapping.KIND)]


@hookimpl
def render_record(delivery: Delivery, settings: dict[str, Any]) -> Rendered:
    if delivery.kind != mapping.KIND:
        raise ValueError(f"$code writes {mapping.KIND} only, not {delivery.kind!r}")
    return Rendered(body=mapping.write(mapping.to_native(delivery.record)), content_type="application/json",
                    content_encoding="utf-8")


# good: file under samples/, kind, business time (the demo replays samples in this order);
# bad: file under samples/bad/, kind, what a refusal names
register_samples = samples_from(
    __package__,
    good=[("$code-case.json", mapping.KIND, "2023-05-22T16:00:00+08:00")],
    bad=[("$code-bad-status.json", mapping.KIND, "status")],
)
'''

MAPPING = '''\
"""$code's native format and the canonical record, both ways, from one table of fields.

A ``CASE`` message is a JSON object (UTF-8)::

    {"kind": "CASE", "caseNo": "$code_upper-2023-0001", "clueNos": ["XS3701032023050880"],
     "status": "20", "statusTime": "2023-05-22 16:00:00", "handler": "李四",
     "recoveredYuan": "0.00", "paidWorkers": 0}

Times are Beijing time without an offset; status is a code (``STATUS``). Replace
``KIND``, ``RECORD_TYPE`` and ``FIELDS`` with your agency's format. Errors name the
native field and the rule broken, never the value (it may be personal data).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from hub import InvalidMessage, NativeMessage
from schemas.fields import BEIJING

KIND = "CASE"
RECORD_TYPE = "case"
STATUS = {"10": "accepted", "20": "opened", "30": "mediating", "40": "closed", "50": "transferred", "60": "rejected"}
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


# Converters, one pair per kind of value: native -> canonical, canonical -> native.
# A converter raises ValueError (or KeyError, TypeError) for a value it cannot take.

def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    if not value.strip():
        raise ValueError("an empty string")
    return value


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise TypeError("not a list")
    return [_string(item) for item in value]


def _integer(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("not an integer")
    return value


def _status_in(code: Any) -> str:
    return STATUS[code]


def _status_out(status: str) -> str:
    return {name: code for code, name in STATUS.items()}[status]


def _time_in(text: Any) -> str:
    """``2023-05-22 16:00:00`` (Beijing) -> ``2023-05-22T16:00:00+08:00``."""
    return dt.datetime.strptime(_string(text), TIME_FORMAT).replace(tzinfo=BEIJING).isoformat()


def _time_out(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).astimezone(BEIJING).strftime(TIME_FORMAT)


STRING = (_string, _string)
STRINGS = (_strings, _strings)
INTEGER = (_integer, _integer)
# Money: canonical yuan strings ("36000.00") are what this format writes too; the hub's
# schema checks them. A format in fen or in numbers needs its own converters.
MONEY = (_string, _string)

# native name, canonical name, required, (to canonical, to native), the rule a bad value breaks
FIELDS: tuple[tuple[str, str, bool, tuple[Callable, Callable], str], ...] = (
    ("caseNo", "case_no", True, STRING, "type"),
    ("clueNos", "clue_nos", True, STRINGS, "type"),
    ("status", "status", True, (_status_in, _status_out), "enum"),
    ("statusTime", "status_at", True, (_time_in, _time_out), "time-format"),
    ("handler", "handler", False, STRING, "type"),
    ("recoveredYuan", "amount_recovered", False, MONEY, "type"),
    ("paidWorkers", "workers_paid", False, INTEGER, "type"),
)


def read(message: NativeMessage) -> dict[str, Any]:
    """The message's JSON object, or :class:`InvalidMessage`."""
    try:
        doc = json.loads(bytes(message.body).decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidMessage.of("body", "encoding", "is not UTF-8 text", KIND) from None
    except (ValueError, RecursionError):
        raise InvalidMessage.of("body", "json", "is not JSON", KIND) from None
    if not isinstance(doc, dict):
        raise InvalidMessage.of("body", "type", "must be a JSON object", KIND)
    if doc.get("kind") != KIND:
        raise InvalidMessage.of("kind", "enum", f"must be {KIND}", KIND)
    return doc


def to_canonical(doc: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(source_ref, canonical fields) of one native message."""
    record: dict[str, Any] = {}
    for native, canonical, required, (inward, _outward), rule in FIELDS:
        value = doc.get(native)
        if value is None:
            if required:
                raise InvalidMessage.of(native, "required", "is required", KIND)
            continue
        try:
            record[canonical] = inward(value)
        except (ValueError, KeyError, TypeError):
            raise InvalidMessage.of(native, rule, "is not valid", KIND) from None
    return record["case_no"], record


def to_native(record: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical record (as a route cut it) as a native message: what it has, nothing more."""
    doc: dict[str, Any] = {"kind": KIND}
    for native, canonical, _required, (_inward, outward), _rule in FIELDS:
        if record.get(canonical) is not None:
            doc[native] = outward(record[canonical])
    return doc


def write(doc: Mapping[str, Any]) -> bytes:
    """Deterministic bytes: sorted keys, UTF-8."""
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")
'''

SAMPLE = """\
{
  "kind": "CASE",
  "caseNo": "$code_upper-2023-0001",
  "clueNos": ["XS3701032023050880"],
  "status": "20",
  "statusTime": "2023-05-22 16:00:00",
  "handler": "李四",
  "recoveredYuan": "0.00",
  "paidWorkers": 0
}
"""

BAD_SAMPLE = """\
{
  "kind": "CASE",
  "caseNo": "$code_upper-2023-0002",
  "clueNos": ["XS3701032023050881"],
  "status": "99",
  "statusTime": "2023-05-23 10:00:00"
}
"""

TEST_CONFORMANCE = '''\
"""The hub's conformance kit on this plugin (docs/plugins.md, "Testing your plugin")."""

from pathlib import Path

from hub.testing import PluginConformance

import $package


class TestConformance(PluginConformance):
    plugin = $package
    routes = Path(__file__).resolve().parent.parent / "routes.toml"
'''

TEST_MAPPING = '''\
"""The format's own details, beside the kit: call the hooks as the hub does."""

import pytest
from hub import InvalidMessage, NativeMessage

import $package


def parse(body: bytes):
    message = NativeMessage(agency="$code", body=body, message_id="m-1", content_type="application/json",
                            content_encoding="utf-8")
    return list($package.parse_message(message=message, settings={}))


def test_times_are_beijing_time():
    [parsed] = parse(
        b'{"kind": "CASE", "caseNo": "C-1", "clueNos": ["X-1"], "status": "10", "statusTime": "2023-05-22 16:00:00"}')
    assert parsed.record["status_at"] == "2023-05-22T16:00:00+08:00"
    assert parsed.record["status"] == "accepted"


def test_a_missing_field_is_named():
    with pytest.raises(InvalidMessage) as info:
        parse(b'{"kind": "CASE", "clueNos": [], "status": "10", "statusTime": "2023-05-22 16:00:00"}')
    assert info.value.field == "caseNo" and info.value.rule == "required"
'''

FILES = {
    "setup.cfg": SETUP_CFG,
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "routes.toml": ROUTES,
    "$package/__init__.py": INIT,
    "$package/mapping.py": MAPPING,
    "$package/samples/$code-case.json": SAMPLE,
    "$package/samples/bad/$code-bad-status.json": BAD_SAMPLE,
    "tests/test_conformance.py": TEST_CONFORMANCE,
    "tests/test_mapping.py": TEST_MAPPING,
}
