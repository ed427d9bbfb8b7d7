"""Account pages: a user changes their own password; an admin deactivates or reactivates users.

Thin views over core.users; the domain functions end the user's sessions where it matters.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from core.auth import login_required
from core.models import User
from core.users import UserError, change_password, set_active

bp = Blueprint("account", __name__, url_prefix="/account", template_folder="templates")


def _db_session() -> Any:
    return current_app.extensions["db"].session


@bp.route("/password", methods=["GET", "POST"])
@login_required("agent")
def password() -> Any:
    """The signed-in user changes their password (their other sessions end)."""
    if request.method == "GET":
        return render_template("account_password.html", error=None)
    new = request.form.get("new", "")
    try:
        if new != request.form.get("confirm", ""):
            raise UserError("the two new passwords differ", "account.mismatch")
        change_password(_db_session(), g.user, request.form.get("current", ""), new)
    except UserError as exc:
        _db_session().rollback()
        return render_template("account_password.html", error=exc.key), 400
    _db_session().commit()
    return redirect(url_for("auth.login"))


@bp.get("/users")
@login_required("admin")
def users() -> Any:
    """Every agent and admin, with a button to deactivate or reactivate them."""
    people = _db_session().scalars(select(User).order_by(User.username)).all()
    return render_template("account_users.html", people=people)


@bp.post("/users/<int:user_id>/active")
@login_required("admin")
def set_user_active(user_id: int) -> Any:
    """Deactivate (sessions and tokens stop at once) or reactivate a user."""
    user = _db_session().get(User, user_id)
    if user is None:
        return render_template("forbidden.html"), 404
    active = request.form.get("active") == "1"
    if not active and user.id == g.user.id:
        flash("account.not_yourself")
        return redirect(url_for("account.users"))
    set_active(_db_session(), user, active)
    _db_session().commit()
    flash("account.saved")
    return redirect(url_for("account.users"))
