"""Browser-facing hardening: the session cookie's attributes and the security headers.

Flask already defines SESSION_COOKIE_* and PERMANENT_SESSION_LIFETIME, so defaults must be
assigned, not `setdefault`-ed (that silently kept Flask's 31 days and no SameSite). A value
handed to create_app still wins.

The content security policy allows scripts and styles from our own origin only. The one
inline handler left (the analytics page's `onchange="this.form.submit()"`) is allowed by its
hash, not by 'unsafe-inline', so an injected script or handler never runs.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response
from werkzeug.routing import IntegerConverter

SESSION_HOURS = 9  # a working day and a bit: a forgotten console does not stay open for weeks
ALLOWED_INLINE_HANDLERS = ("this.form.submit()",)


def _source_hash(code: str) -> str:
    digest = hashlib.sha256(code.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self' 'unsafe-hashes' " + " ".join(map(_source_hash, ALLOWED_INLINE_HANDLERS)),
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def cookie_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The session cookie's attributes: Lax, HttpOnly, 9 hours, Secure behind https."""
    secure = settings["PUBLIC_BASE_URL"].startswith("https://") or bool(settings["PRODUCTION"])
    return {
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=SESSION_HOURS),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead
    }


class DatabaseIntConverter(IntegerConverter):
    """`<int:...>` in any route: only ids a database column can hold (else 404, not a 500
    from the driver's overflow)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def safe_local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (never `//host`, `/\\host`, a scheme).

    Browsers drop tabs and newlines and read a backslash as a slash, so those refuse too.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 32 or c == "\x7f" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def init_app(app: Flask, settings: Mapping[str, Any]) -> None:
    """Apply the cookie attributes (unless given in `settings`), bound `<int:>` route
    arguments, and add the headers to every response."""
    app.url_map.converters["int"] = DatabaseIntConverter
    for key, value in cookie_settings(settings).items():
        if key not in settings:
            app.config[key] = value

    headers = dict(SECURITY_HEADERS)
    if app.config["SESSION_COOKIE_SECURE"]:  # served over https: browsers must stay on it
        headers["Strict-Transport-Security"] = "max-age=31536000"

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
