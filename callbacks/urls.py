"""Public webhook URLs (what Twilio requests, and signs) and signature checks.

Twilio signs the exact URL it requests, so we build and check URLs against
PUBLIC_BASE_URL, never against the Host header of a proxied request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from twilio.request_validator import RequestValidator


def public_url(app: Flask, endpoint: str, **values: Any) -> str:
    """The absolute public URL of one of our endpoints (works outside a request)."""
    base = urlsplit(app.config["PUBLIC_BASE_URL"])
    adapter = app.url_map.bind(base.netloc, script_name=base.path or "/",
                               url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)


def signature_is_valid(app: Flask, path_and_query: str, form: Mapping[str, str],
                       signature: str) -> bool:
    """Whether X-Twilio-Signature matches what Twilio would send for this request."""
    if not app.config.get("TWILIO_VALIDATE_SIGNATURES", True):
        return True
    url = app.config["PUBLIC_BASE_URL"] + path_and_query
    validator = RequestValidator(app.config["TWILIO_AUTH_TOKEN"])
    return bool(validator.validate(url, dict(form), signature))
