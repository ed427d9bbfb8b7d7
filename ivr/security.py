"""Every Twilio webhook is checked with Twilio's own RequestValidator.

Twilio signs the URL it requested (our PUBLIC_BASE_URL + path + query, which is what we put
in the TwiML and the console) and the POST fields; a missing or forged X-Twilio-Signature
gets 403. TWILIO_VALIDATE_SIGNATURES=false turns the check off for local experiments only,
with a loud warning at start-up and on every request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)


def public_url(base_url: str, full_path: str) -> str:
    """The URL Twilio signed: the public base plus the path and query we were asked for."""
    return base_url.rstrip("/") + (full_path[:-1] if full_path.endswith("?") else full_path)


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


def warn_if_disabled(config: Mapping[str, Any]) -> None:
    """Start-up warning when webhook signatures are not checked."""
    if not config.get("TWILIO_VALIDATE_SIGNATURES", True):
        log.warning("!!! TWILIO_VALIDATE_SIGNATURES=false: anyone can post to /voice/* and "
                    "drive calls. Never run like this in production. !!!")
