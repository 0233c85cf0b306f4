"""Logging set-up, with a last line of defence against personal data and forged lines.

The hub's own code never logs identity numbers or mobiles (tests check it). As a
safety net for third-party plugins, ``setup_logging`` installs a record factory that
masks anything shaped like one before any handler sees it, also when letters touch it
(``ID110101199003074518``). Values logged as arguments (message ids, kinds, errors: an
agency chooses them) have their control characters escaped (``\n`` becomes ``\\n``), so
a message id cannot end a log line and forge the next one or drive a terminal.
"""

from __future__ import annotations

import logging
import re
import sys

_ID_RE = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE_RE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def redact(text: str) -> str:
    text = _ID_RE.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def escape_controls(text: str) -> str:
    """``text`` with each control character written as its Python escape (``\\x1b``)."""
    return _CONTROL_RE.sub(lambda m: repr(m.group())[1:-1], text)


def _escaped(value):
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, BaseException):
        return escape_controls(str(value))
    return value


def _install_redaction() -> None:
    base = logging.getLogRecordFactory()
    if getattr(base, "_wagehub_redacting", False):
        return

    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
        if isinstance(record.args, tuple):
            record.args = tuple(_escaped(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _escaped(v) for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  (a bad format string is the caller's problem)
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    factory._wagehub_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def setup_logging(level: str = "INFO") -> None:
    _install_redaction()
    logging.basicConfig(stream=sys.stderr, level=getattr(logging, level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("amqp", "kombu", "werkzeug", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
