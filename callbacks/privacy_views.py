"""Admin page for one caller's data: export it (JSON download) or erase it, on request."""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    render_template,
    request,
)

from callbacks import privacy
from callbacks.profiles import InvalidPhone
from core.auth import login_required

bp = Blueprint("privacy", __name__, url_prefix="/console/privacy", template_folder="templates")


@bp.get("")
@login_required("admin")
def page() -> Any:
    """The form: a number, then export or erase."""
    return render_template("console/privacy.html", counts=None)


@bp.post("/export")
@login_required("admin")
def export() -> Any:
    """Everything held about the caller, as a JSON file to hand over."""
    session = current_app.extensions["db"].session
    try:
        data = privacy.export_caller(session, request.form.get("number", ""))
    except (InvalidPhone, ValueError):
        flash("privacy.bad_number")
        return render_template("console/privacy.html", counts=None), 400
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=caller-data.json",
                             "Cache-Control": "no-store"})


@bp.post("/erase")
@login_required("admin")
def erase() -> Any:
    """Erase the caller's data (the form asks to type the number twice)."""
    number = request.form.get("number", "")
    if not number or number != request.form.get("confirm", ""):
        flash("privacy.confirm_mismatch")
        return render_template("console/privacy.html", counts=None), 400
    session = current_app.extensions["db"].session
    try:
        counts = privacy.erase_caller(session, number,
                                      privacy.deleter_for_app(current_app),
                                      actor=f"user:{g.user.id}")
    except (InvalidPhone, ValueError):
        session.rollback()
        flash("privacy.bad_number")
        return render_template("console/privacy.html", counts=None), 400
    except RuntimeError:
        session.rollback()
        flash("privacy.twilio_failed")
        return render_template("console/privacy.html", counts=None), 502
    session.commit()
    flash("privacy.erased")
    return render_template("console/privacy.html", counts=counts)
