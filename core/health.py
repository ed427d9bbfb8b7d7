"""`/healthz`: can the hotline take calls right now? Database, job queue, speech models."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def check_health(app: Any) -> dict[str, Any]:
    """Each part's status; `ok` is false when calls cannot be served as designed."""
    report: dict[str, Any] = {}
    try:
        app.extensions["db"].ping()
        report["database"] = {"ok": True, "backend": app.extensions["db"].engine.dialect.name}
    except Exception as exc:  # reported, not raised
        log.warning("health: database unreachable: %s", type(exc).__name__)
        report["database"] = {"ok": False, "error": f"{type(exc).__name__}: unreachable"}
    report["queue"] = app.extensions["jobs"].status()
    speech = app.extensions.get("speech")
    if speech is not None:
        models = speech.status()
        # No model only means keypad fallback: degraded, not down.
        report["speech"] = {"ok": any(m.get("ok") for m in models.values()) if models else False,
                            "models": models}
    spool = app.extensions.get("spool")
    if spool is not None:  # callers kept on disk while the database was away, not yet booked
        try:
            report["spool"] = {"waiting": spool.pending()}
        except OSError as exc:
            report["spool"] = {"error": type(exc).__name__}
    report["ok"] = report["database"]["ok"] and report["queue"]["ok"]
    return report


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Machine-readable health; 503 when the database or the queue is down."""
    report = check_health(current_app)
    return jsonify(report), 200 if report["ok"] else 503
