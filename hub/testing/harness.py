"""What the kit runs a plugin under: every log line captured, and the routes that hand it records."""

from __future__ import annotations

import contextlib
import logging
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hub.messaging.routes import Route, RouteSchema, load_routes


@contextlib.contextmanager
def captured_logs() -> Iterator[list[logging.LogRecord]]:
    """Every log record written inside the block, every logger opened to DEBUG.

    The hub's record factory that masks identity numbers (``hub.logs``) is set aside
    for the block: it is a safety net for production, and the plugin must not need it.
    """
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = _Keep(logging.DEBUG)
    root = logging.getLogger()
    factory = logging.getLogRecordFactory()
    disabled = logging.root.manager.disable
    changed: list[tuple[logging.Logger, int]] = []
    isolated: list[logging.Logger] = []
    logging.setLogRecordFactory(logging.LogRecord)
    logging.disable(logging.NOTSET)
    for logger in [root, *logging.Logger.manager.loggerDict.values()]:
        if not isinstance(logger, logging.Logger):
            continue
        if logger.level > logging.DEBUG or logger is root:
            changed.append((logger, logger.level))
            logger.setLevel(logging.DEBUG)
        if not logger.propagate:
            isolated.append(logger)
            logger.addHandler(handler)
    root.addHandler(handler)
    try:
        yield records
    finally:
        root.removeHandler(handler)
        for logger in isolated:
            logger.removeHandler(handler)
        for logger, level in changed:
            logger.setLevel(level)
        logging.disable(disabled)
        logging.setLogRecordFactory(factory)


def _log_text(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # noqa: BLE001  (a bad format string: look at its parts)
        text = f"{record.msg} {record.args}"
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        text += "\n" + record.exc_text
    if record.stack_info:
        text += "\n" + record.stack_info
    return text


# -- the kit -------------------------------------------------------------------------------------


def _as_routes(routes: Any, agency: str) -> list[Route]:
    if routes is None:
        from hub.config import load_settings, routes_path

        routes = routes_path(load_settings())
    if isinstance(routes, (str, Path)):
        loaded = load_routes(Path(routes))
    else:
        loaded = []
        for item in routes:
            if isinstance(item, Route):
                loaded.append(item)
                continue
            data = RouteSchema().load(dict(item))
            loaded.append(Route(name=data["name"], type=data["type"], to=data["to"], kind=data["kind"],
                                fields=tuple(data["fields"]), mask=tuple(data["mask"]), extra=dict(data["extra"]),
                                when=dict(data["when"]), params=dict(data["params"]), hold=data["hold"]))
    return [r for r in loaded if r.to == agency]


def load_routes_text(text: str) -> list[dict[str, Any]]:
    """``[[routes]]`` tables from TOML text, for a plugin that keeps its routes in a string."""
    return list(tomllib.loads(text).get("routes", []))
