"""Health, readiness, metrics and the OpenAPI document: open to anyone."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from hub import metrics
from hub.store.models import DeadLetter, Outbox

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
    hub = current_app.extensions["wagehub"]
    try:
        with hub.store.sessions() as session:
            metrics.OUTBOX_PENDING.set(session.execute(
                select(func.count()).select_from(Outbox).where(Outbox.status == "pending")).scalar())
            metrics.DEAD_LETTERS_OPEN.set(session.execute(
                select(func.count()).select_from(DeadLetter).where(DeadLetter.status == "open")).scalar())
    except Exception:  # noqa: BLE001  (metrics still answer while the database is down)
        pass
    return Response(generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})  # its charset once


@bp.get("/openapi.json")
def openapi():
    from hub.web.openapi import build_spec

    return jsonify(build_spec())
