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

from flask import Flask, Response

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


def init_app(app: Flask, settings: Mapping[str, Any]) -> None:
    """Apply the cookie attributes (unless given in `settings`) and add the headers."""
    for key, value in cookie_settings(settings).items():
        if key not in settings:
            app.config[key] = value

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
