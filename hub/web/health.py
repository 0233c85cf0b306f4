"""Health, readiness, metrics and the OpenAPI document: open to anyone."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from hub import metrics

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    hub = current_app.extensions["wagehub"]
    checks = {}
    try:
        hub.store.ping()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001  (any failure means not ready)
        checks["database"] = f"down: {type(exc).__name__}"
    conn = hub.connection()
    try:
        conn.ensure_connection(max_retries=1, timeout=3)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["broker"] = f"down: {type(exc).__name__}"
    finally:
        conn.release()
    ready = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ready" if ready else "not ready", "checks": checks}), 200 if ready else 503


@bp.get("/metrics")
def prometheus():
    body, content_type = metrics.exposition(current_app.extensions["wagehub"])
    return Response(body, headers={"Content-Type": content_type})  # its charset once


@bp.get("/openapi.json")
def openapi():
    from hub.web.openapi import build_spec

    return jsonify(build_spec())
