"""The console's blueprint, its cookie and the rule every page's path is held to."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static")


@bp.record_once
def _session_cookie(state) -> None:
    """The console's cookie: not readable by scripts, not sent on cross-site requests."""
    state.app.config["SESSION_COOKIE_HTTPONLY"] = True
    state.app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    state.app.config["SESSION_COOKIE_NAME"] = "wagehub_console"


@bp.before_request
def _refuse_nul() -> None:
    """A path or query value with a NUL character is a bad request (PostgreSQL text cannot hold one)."""
    from flask import request

    from hub.web.api.routing import refuse_nul  # the API's rule, on the console's paths too

    refuse_nul(request.view_args or {})
