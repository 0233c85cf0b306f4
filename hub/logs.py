"""Logging set-up, with a last line of defence against personal data in log lines.

The hub's own code never logs identity numbers or mobiles (tests check it). As a
safety net for third-party plugins, ``setup_logging`` installs a record factory that
masks anything shaped like one before any handler sees it.
"""

from __future__ import annotations

import logging
import re
import sys

_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")


def redact(text: str) -> str:
    text = _ID_RE.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def _install_redaction() -> None:
    base = logging.getLogRecordFactory()
    if getattr(base, "_wagehub_redacting", False):
        return

    def factory(*args, **kwargs):
        record = base(*args, **kwargs)
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
