"""Twilio's view of our URLs: the one public-URL builder and the one signature check.

Twilio signs the exact URL it requested with the POST fields. That URL is the one we gave
it (in TwiML, in a REST call or in the console), so both sides follow one rule:

    public URL = PUBLIC_BASE_URL + the endpoint's path inside the app (+ its query)

PUBLIC_BASE_URL carries any path prefix the app is deployed under
(`https://example.org/hotline`). Whether a proxy strips that prefix or passes it on as
SCRIPT_NAME, neither the Host header nor the request's script root takes part, so a URL we
built and the URL we check are the same string. Builders work outside a request (RQ jobs).

`TWILIO_VALIDATE_SIGNATURES=false` turns the check off for local experiments only, with a
loud warning at start-up and on every request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Flask, abort, current_app, request
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
_PATH_SAFE = "/!$&'()*+,:;=@-._~"  # what werkzeug's URL building leaves unquoted


def public_url(app: Flask, endpoint: str, **values: Any) -> str:
    """The absolute public URL of one of our endpoints (wss:// for a WebSocket route)."""
    base = urlsplit(app.config["PUBLIC_BASE_URL"])
    adapter = app.url_map.bind(base.netloc, script_name=base.path.rstrip("/") or "/",
                               url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def requested_url(base_url: str, path: str, query: str = "") -> str:
    """The URL Twilio requested (and signed) for `path` inside the app and `query`."""
    url = base_url.rstrip("/") + quote(path, safe=_PATH_SAFE)
    return f"{url}?{query}" if query else url


def is_signed(config: Mapping[str, Any], url: str, params: Mapping[str, Any],
              signature: str | None) -> bool:
    """True if `signature` is Twilio's signature of `url` and `params` with our token."""
    if not config.get("TWILIO_VALIDATE_SIGNATURES", True):
        log.warning("TWILIO_VALIDATE_SIGNATURES is off: accepting an UNSIGNED webhook %s", url)
        return True
    token = config.get("TWILIO_AUTH_TOKEN") or ""
    if not token or not signature:
        return False
    return bool(RequestValidator(token).validate(url, params, signature))


def stream_url(base_url: str, full_path: str) -> str:
    """The URL Twilio signed when opening a Media Stream: the requested URL as ws(s)://.

    Twilio signs the WebSocket upgrade like a webhook, on the wss:// URL (ws:// on an http
    base) with no parameters.
    """
    path, _, query = full_path.partition("?")
    scheme, _, rest = requested_url(base_url, path, query).partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def stream_upgrade_refusal(config: Mapping[str, Any], full_path: str,
                           headers: Mapping[str, str]) -> str | None:
    """Why a Media Streams upgrade request must be refused, or None if it is Twilio's.

    Twilio opens the socket from its servers: no browser Origin, and X-Twilio-Signature of
    the stream URL. An Origin other than our own is a page in someone's browser.
    """
    origin = headers.get("Origin")
    if origin and origin.lower().rstrip("/") != _origin(config["PUBLIC_BASE_URL"]):
        return "a browser page from another origin"
    url = stream_url(config["PUBLIC_BASE_URL"], full_path)
    if not is_signed(config, url, {}, headers.get(SIGNATURE_HEADER)):
        return "missing or forged X-Twilio-Signature"
    return None


def check_signature() -> None:
    """`before_request` hook of every Twilio webhook blueprint: 403 unless Twilio signed it."""
    config = current_app.config
    url = requested_url(config["PUBLIC_BASE_URL"], request.path,
                        request.query_string.decode("latin-1"))
    params = request.form if request.method == "POST" else {}
    if not is_signed(config, url, params, request.headers.get(SIGNATURE_HEADER)):
        log.warning("rejected webhook with a missing or forged signature: %s", request.path)
        abort(403)


def warn_if_disabled(config: Mapping[str, Any]) -> None:
    """Start-up warning when webhook signatures are not checked."""
    if not config.get("TWILIO_VALIDATE_SIGNATURES", True):
        log.warning("!!! TWILIO_VALIDATE_SIGNATURES=false: anyone can post to /voice/* and "
                    "drive calls. Never run like this in production. !!!")
