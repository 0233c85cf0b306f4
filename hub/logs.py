"""Logging set-up, with a last line of defence against personal data and forged lines.

The hub's own code never logs identity numbers or mobiles (tests check it). As a
safety net for third-party plugins, ``setup_logging`` installs a record factory that
masks anything shaped like one before any handler sees it, also when letters touch it
(``ID110101199003074518``). Values logged as arguments (message ids, kinds, errors: an
agency chooses them) have their control characters escaped (``\n`` becomes ``\\n``), so
a message id cannot end a log line and forge the next one or drive a terminal.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import traceback

_ID_RE = re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)")
_MOBILE_RE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def redact(text: str) -> str:
    text = _ID_RE.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _MOBILE_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def error_summary(exc: BaseException) -> str:
    """Type and place of an unexpected error, without its message (it may hold data)."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno} in {tb[-1].name}" if tb else ""
    return f"{type(exc).__name__}{where}"


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


class _Stderr(logging.StreamHandler):
    """Writes to the ``sys.stderr`` of the moment (a test's captured stream, then the real one)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ sets it; the property decides
        pass


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message``; a traceback's text redacted like the message."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatException(self, ei) -> str:  # noqa: N802  (logging's name)
        return redact(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802
        return redact(stack_info)


class JsonFormatter(TextFormatter):
    """One JSON object a line, for a log collector: time (UTC, ISO 8601), level, logger,
    message, and the traceback as ``exc``; redacted like the text lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": redact(record.getMessage()),
                "process": record.process, "thread": record.threadName}
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)


# Libraries whose INFO lines say how they work (alembic's plugins and migrations, kombu's
# connections), not what the hub does: shown with -v.
LIBRARIES = ("alembic", "amqp", "kombu", "werkzeug")


def setup_logging(level: str = "INFO", fmt: str = "text", libraries: str = "WARNING") -> None:
    """Log lines to stderr as text or JSON (``fmt``), the hub's from ``level``, the
    libraries' from ``libraries``; called again, it replaces its own handler."""
    _install_redaction()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(handler)
    handler = _Stderr()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(getattr(logging, libraries.upper(), logging.WARNING))
