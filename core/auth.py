"""Who is asking: session login for the consoles, bearer tokens for the JSON API."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from core.errors import ApiError
from core.models import User
from core.security import safe_local_path
from core.throttle import LoginThrottle
from core.users import authenticate, end_sessions, user_for_token

bp = Blueprint("auth", __name__, template_folder="templates")

F = TypeVar("F", bound=Callable[..., Any])


def init_app(app: Any) -> None:
    """Who is asking, on every request; the login pages; the login throttle."""
    from core import account

    app.extensions["login_throttle"] = app.config.get("LOGIN_THROTTLE") or LoginThrottle()
    app.before_request(load_user)
    app.register_blueprint(bp)
    app.register_blueprint(account.bp)


def _db_session() -> Any:
    return current_app.extensions["db"].session


def load_user() -> None:
    """Before each request: put the logged-in user (if any) in g.user."""
    g.user = None
    user_id = session.get("user_id")
    if user_id is not None:
        user = _db_session().get(User, user_id)
        if (user is not None and user.active and session.get("pw") == user.password_hash[-16:]
                and session.get("epoch", 0) == user.session_epoch):  # 0: signed in before epochs
            g.user = user
        else:
            session.clear()


def login_required(role: str = "agent") -> Callable[[F], F]:
    """Guard a console view: log in first; a user without the role gets 403."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.get("user") is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if not g.user.has_role(role):
                return render_template("forbidden.html"), 403
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def token_required(role: str = "agent") -> Callable[[F], F]:
    """Guard an API view: a valid bearer token (or console session) with the role.

    A console session may only change things with the page's CSRF token in an X-CSRFToken
    header: the browser sends the cookie with any site's form, never that header.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            header = request.headers.get("Authorization", "")
            if header:
                scheme, _, token = header.partition(" ")
                user = None
                if scheme.lower() == "bearer" and token.strip():
                    user = user_for_token(_db_session(), token.strip())
                    _db_session().commit()
            elif user is not None and request.method not in SAFE_METHODS:
                _check_csrf_header()
            if user is None:
                raise ApiError(401, "a valid API token is required (Authorization: Bearer ...)")
            if not user.has_role(role):
                raise ApiError(403, f"this needs the {role} role")
            g.api_user = user
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _check_csrf_header() -> None:
    try:
        validate_csrf(request.headers.get("X-CSRFToken", ""))
    except ValidationError:
        raise ApiError(403, "a console session needs its CSRF token in the X-CSRFToken "
                            "header (or use Authorization: Bearer ...)") from None


def _safe_next(target: str | None) -> str:
    local = safe_local_path(target)
    return local.rstrip("?") if local else url_for("home")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Console login form."""
    if request.method == "POST":
        username = request.form.get("username", "")
        address = request.remote_addr or "unknown"
        throttle: LoginThrottle = current_app.extensions["login_throttle"]
        wait = throttle.wait_seconds(username, address)
        if wait > 0:
            flash("login.throttled")
            return (render_template("login.html"), 429,
                    {"Retry-After": str(max(1, math.ceil(wait)))})
        user = authenticate(_db_session(), username, request.form.get("password", ""))
        if user is None:
            throttle.failed(username, address)
            flash("login.failed")
            return render_template("login.html"), 401
        throttle.succeeded(username)
        _db_session().commit()
        session.clear()
        session.permanent = True
        session["user_id"] = user.id
        session["pw"] = user.password_hash[-16:]  # a password change ends old sessions
        session["epoch"] = user.session_epoch
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html")


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    """End the console session, and every other session of the same user."""
    if g.get("user") is not None:
        end_sessions(g.user)
        _db_session().commit()
    session.clear()
    return redirect(url_for("auth.login"))
