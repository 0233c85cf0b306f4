"""The parse and validate stages, outside the transaction: a message's signature checked, its
plugin's items parsed and each record validated with its schema."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping

from hub.contract.errors import InvalidMessage
from hub.contract.types import NativeMessage, Parsed, Rejected
from hub.ids import iso, now_beijing
from hub.logs import error_summary as _summary
from hub.messaging.outbox import signature_for
from hub.messaging.pipeline.check import (
    _LIMITS,
    STATE_CHECKED,
    _HubError,
    _named,
    _native,
    _refusal,
    _unstorable_fields,
    _unstorable_path,
    schema_refusal,
)
from hub.messaging.pipeline.outcome import Failure, Outcome, _Prepared
from schemas import SCHEMAS, RecordInvalid, normalise_record

log = logging.getLogger("hub.messaging.pipeline")  # one logger for every stage


class Intake:
    """The stages before the transaction (a part of :class:`hub.messaging.pipeline.Pipeline`)."""

    def _prepare(self, message: NativeMessage, *, trusted: bool = False) -> _Prepared:
        prep = _Prepared(message, Outcome(agency=message.agency, message_id=message.message_id, kind=message.kind))
        adapter = self.registry.get(message.agency)
        if adapter is None:
            prep.whole_failure = Failure(f"no plugin adapts agency {message.agency!r}", "agency", "unknown-agency")
            return prep
        if not message.message_id:
            prep.whole_failure = Failure("message_id is required (rule: required)", "message_id", "required")
            return prep
        if message.content_type is not None and not message.content_type.strip():
            # ("": a queue message without one; None: a hub caller with no transport, e.g. the demo)
            prep.whole_failure = Failure("content_type is required (rule: required)", "content_type", "required")
            return prep
        for name, value, limit in ((name, getattr(message, attr), limit) for name, attr, limit in _LIMITS[:2]):
            if isinstance(value, str) and len(value) > limit:
                # (stored, it would be a database error, taken for an outage: held for ever)
                prep.whole_failure = Failure(f"{name} must be at most {limit} characters (rule: length)", name,
                                             "length")
                return prep
        if bad := _unstorable_fields(message):
            (name, rule), names = bad[0], ", ".join(n for n, r in bad if r == bad[0][1])
            prep.whole_failure = Failure(_refusal(names, rule), name, rule)
            return prep
        try:
            key = None if trusted else adapter.key_for(message)
        except InvalidMessage as exc:  # the plugin cannot tell whose key should have signed it
            prep.whole_failure = Failure(f"unauthenticated: {exc.reason}", exc.field, exc.rule, message.kind)
            return prep
        if key:
            given = str(message.headers.get("x-wagehub-signature") or "").strip().lower()  # hex in either case
            if not hmac.compare_digest(given, signature_for(key, message.body)):
                rule = "hmac-signature-missing" if not given else "hmac-signature"
                prep.whole_failure = Failure(
                    "unauthenticated: x-wagehub-signature is missing or does not match the body "
                    f"(rule: {rule})", "x-wagehub-signature", rule)
                return prep
        received = iso(now_beijing())

        def take(item) -> None:
            """Validate one parsed item as it comes (a batch file's rows are not all held)."""
            if isinstance(item, Rejected):
                prep.outcome.failures.append(Failure(item.reason, item.field, item.rule, item.kind or message.kind,
                                                     item.row or 0, item.raw))
                return
            record = {"type": item.type, "source_agency": adapter.code, "source_ref": item.source_ref,
                      "schema_version": SCHEMAS[item.type].VERSION if item.type in SCHEMAS else None,
                      **item.record}
            record.setdefault("received_at", received)
            try:
                canonical = normalise_record(record)
            except RecordInvalid as exc:
                where = f"row {item.row}: " if item.row else ""
                reason, field = schema_refusal(exc, item.fields)
                prep.outcome.failures.append(Failure(
                    f"{where}{reason}", field, exc.rule, item.kind, item.row or 0, item.raw))
                return
            # (source_ref last: it repeats a field of the record, which is the one to name)
            if (bad := _unstorable_path(dict(sorted(canonical.items(), key=lambda kv: kv[0] == "source_ref")))) \
                    is not None:
                where = f"row {item.row}: " if item.row else ""
                prep.outcome.failures.append(Failure(f"{where}{_refusal(_named(bad[0], item.fields), bad[1])}",
                                                     _native(bad[0], item.fields), bad[1], item.kind,
                                                     item.row or 0, item.raw))
                return
            # (surrogatepass: a field the schema dropped may still hold a lone surrogate)
            what = [item.type, item.source_ref, item.record] + ([item.identity] if item.identity is not None else [])
            fp = hashlib.sha256(json.dumps(what, sort_keys=True,
                                           ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")).hexdigest()
            prep.records.append(canonical, fp, item.fields if canonical["type"] in STATE_CHECKED else None)
            prep.outcome.kind = prep.outcome.kind or item.kind

        if not self._parse(adapter, message, prep, take):
            return prep
        if not prep.records and prep.outcome.failures and len(prep.outcome.failures) == 1 \
                and not prep.outcome.failures[0].row:
            prep.whole_failure = prep.outcome.failures.pop()
        return prep

    def _parse(self, adapter, message: NativeMessage, prep: _Prepared, take) -> bool:
        """Hand each item the plugin yields to ``take``; False when the message failed whole.

        A plugin that raises part-way is run again from the start (what it yielded before
        is dropped), then dead-lettered after ``plugin_attempts``.
        """
        delay = 0.05
        for attempt in range(1, self.plugin_attempts + 1):
            prep.records.clear()
            prep.outcome.failures.clear()
            try:
                for item in adapter.parse(message) or ():
                    if not isinstance(item, Rejected) and not (isinstance(item, Parsed)
                                                               and isinstance(item.record, Mapping)):
                        raise TypeError(f"parse_message yielded a {type(item).__name__}: "
                                        "a Parsed (with a dict record) or a Rejected was expected")
                    try:
                        take(item)
                    except Exception as exc:  # noqa: BLE001  (the hub's own checks failed: a hub bug)
                        raise _HubError(exc) from exc
                return True
            except _HubError as exc:
                # Not the plugin's fault, and it would fail the same way again: dead-letter
                # at once, naming the hub's code (the bytes replay once the hub is fixed).
                summary = _summary(exc.__cause__)
                log.error("hub failed on an item of message %s from %s: %s", message.message_id, adapter.code,
                          summary)
                prep.records.clear()
                prep.outcome.failures.clear()
                prep.whole_failure = Failure(f"hub error: {summary}", None, "hub-error", message.kind)
                return False
            except InvalidMessage as exc:
                prep.records.clear()
                prep.outcome.failures.clear()
                prep.whole_failure = Failure(exc.reason, exc.field, exc.rule, exc.kind or message.kind)
                return False
            except Exception as exc:  # a bug in the plugin: retry, then dead-letter
                summary = _summary(exc)
                log.warning("plugin %s raised %s on message %s (attempt %d of %d)", adapter.name, summary,
                            message.message_id, attempt, self.plugin_attempts)
                if attempt == self.plugin_attempts:
                    prep.records.clear()
                    prep.outcome.failures.clear()
                    prep.whole_failure = Failure(f"plugin error after {attempt} attempts: {summary}",
                                                 None, "plugin-error", message.kind)
                    return False
                time.sleep(delay)
                delay *= 4
        return False
