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

import pytest

from hub.testing.base import (  # noqa: F401
    _EXCEL_EPOCH,
    _ID_RE,
    _ISO_DATE_RE,
    _ISO_TIME_RE,
    _MOBILE_RE,
    _MONTH_RE,
    BEIJING,
    DELIVERY_CREATED_AT,
    RECEIVED_AT,
    ConformanceError,
    _build,
    _clean,
    _fail,
    _mask,
    _summary,
    canonical,
    canonical_records,
    sample_message,
)
from hub.testing.checks import Conformance  # noqa: F401
from hub.testing.harness import _as_routes, _log_text, captured_logs, load_routes_text  # noqa: F401
from hub.testing.reading import (  # noqa: F401
    _date_spellings,
    _decode,
    _field_at,
    _leaf_texts,
    _occurs,
    _structured_text,
    _value_at,
    leaves,
    message_text,
    same_value,
    spellings,
    unknown_fields,
)
from hub.testing.subject import ConformanceSubject  # noqa: F401
from hub.testing.suite import PluginConformance  # noqa: F401
from schemas.versions import hub_schema_version

__all__ = ["Conformance", "ConformanceError", "PluginConformance", "canonical_records", "wagehub_conformance"]


@pytest.fixture
def wagehub_conformance() -> type[Conformance]:
    """The kit for a test function: ``wagehub_conformance(plugin, routes=...).check_all()``."""
    return Conformance


def pytest_report_header(config) -> str:
    return f"wagehub conformance kit: canonical schema {hub_schema_version()}"
