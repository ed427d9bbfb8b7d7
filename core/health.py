"""`/healthz`: can the hotline take calls right now? Database, job queue, speech models."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from core.users import user_for_token

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


def public_view(report: dict[str, Any]) -> dict[str, Any]:
    """The report without model paths and error texts (they can name files on the server):
    what a load balancer or an anonymous visitor needs is which part is ok."""
    public = {key: value for key, value in report.items() if key != "speech"}
    public["queue"] = {k: v for k, v in report["queue"].items() if k != "error"}
    public["database"] = {k: v for k, v in report["database"].items() if k != "error"}
    if "speech" in report:
        public["speech"] = {"ok": report["speech"]["ok"],
                            "models": {lang: {"ok": m.get("ok"), "loaded": m.get("loaded")}
                                       for lang, m in report["speech"]["models"].items()}}
    return public


def _is_admin() -> bool:
    user = g.get("user")
    header = request.headers.get("Authorization", "")
    if user is None and header.lower().startswith("bearer "):
        user = user_for_token(current_app.extensions["db"].session, header[7:].strip())
    return user is not None and user.has_role("admin")


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Machine-readable health; 503 when the database or the queue is down. Details (model
    paths, errors) are for admins (session or bearer token)."""
    report = check_health(current_app)
    body = report if _is_admin() else public_view(report)
    return jsonify(body), 200 if report["ok"] else 503
