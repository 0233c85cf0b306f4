"""The Flask application factory."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from hub.contract.errors import HubError

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None, *, hub=None) -> Flask:
    """Build the app: settings (defaults, file, env, then ``config``), store, plugins, routes.

    ``hub`` passes an already built :class:`hub.runtime.Hub` (``wagehub run`` shares one
    between the web server and the workers).
    """
    from hub.config import load_settings
    from hub.runtime import Hub

    if hub is None:
        # A server process building its own hub (``gunicorn 'hub.web.app:create_app()'``): its
        # log lines go to stderr, redacted, as under ``wagehub run``.
        from hub.logs import setup_logging

        setup_logging(os.environ.get("WAGEHUB_LOG_LEVEL", "INFO"), os.environ.get("WAGEHUB_LOG_FORMAT", "text"))
        # Workers starting together migrate an empty database one at a time (the lock is
        # in ``Store.ensure_schema``).
        hub = Hub(load_settings(config))
        hub.log_start()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = hub.settings["hub"]["secret_key"]
    app.config["MAX_CONTENT_LENGTH"] = hub.settings["api"]["max_body"]
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["wagehub"] = hub
    from hub.web.limits import FailureLimiter

    app.extensions["wagehub.failures"] = FailureLimiter(hub.settings["auth"])
    app.before_request(lambda: app.extensions["wagehub.failures"].report_due(hub.store))

    from hub.web import api, health, reports  # noqa: F401  (reports registers its routes on the api blueprint)

    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    from hub.web import console  # the web console for people (docs/console.md)

    app.register_blueprint(console.bp, url_prefix="/console")
    register_error_handlers(app)
    return app


def register_error_handlers(app: Flask) -> None:
    """Every error is the contract's JSON error: never an HTML page or a stack trace."""

    @app.errorhandler(HubError)
    def _hub_error(exc: HubError):
        return jsonify(exc.to_dict()), exc.status, getattr(exc, "headers", None) or {}

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        body = {"error": {"code": code, "message": exc.description or exc.name, "details": {}}}
        response = jsonify(body)
        response.status_code = exc.code or 500
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.error("unhandled %s in request", type(exc).__name__, exc_info=exc)
        body = {"error": {"code": "internal_error", "message": "internal error; see the hub's log", "details": {}}}
        return jsonify(body), 500
