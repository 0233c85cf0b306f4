"""The checks themselves, run on one plugin: hooks, agency, samples, determinism, round trip, logs."""

from __future__ import annotations

import contextlib
import dataclasses
import re
from pathlib import Path

import pluggy

from hub.contract import hookspecs
from hub.contract.errors import InvalidMessage
from hub.contract.types import Delivery, NativeMessage, Parsed, Rejected, Rendered, Sample
from hub.messaging.pipeline import schema_refusal
from hub.messaging.routes import ALWAYS, Route
from hub.testing.base import (
    ConformanceError,
    _clean,
    _fail,
    _mask,
    _summary,
    canonical,
)
from hub.testing.harness import _log_text, captured_logs
from hub.testing.reading import (
    _field_at,
    _occurs,
    _value_at,
    leaves,
    message_text,
    same_value,
    spellings,
    unknown_fields,
)
from hub.testing.subject import ConformanceSubject
from schemas import SCHEMAS, RecordInvalid
from schemas.versions import version_problem


class Conformance(ConformanceSubject):
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
