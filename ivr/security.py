"""Every Twilio webhook, and the Media Streams upgrade, is checked with Twilio's own
RequestValidator.

Twilio signs the URL it requested (our PUBLIC_BASE_URL + path + query, which is what we put
in the TwiML and the console) and the POST fields; a missing or forged X-Twilio-Signature
gets 403. The WebSocket upgrade of a Media Stream is signed the same way, on the wss:// URL
of the stream (ws:// on an http base) with no parameters. TWILIO_VALIDATE_SIGNATURES=false
turns the check off for local experiments only, with a loud warning at start-up and on
every request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

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


def stream_url(base_url: str, full_path: str) -> str:
    """The URL Twilio signed when opening a Media Stream: the public URL as ws(s)://."""
    scheme, _, rest = public_url(base_url, full_path).partition("://")
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
    if not is_signed(config, url, {}, headers.get("X-Twilio-Signature")):
        return "missing or forged X-Twilio-Signature"
    return None


def warn_if_disabled(config: Mapping[str, Any]) -> None:
    """Start-up warning when webhook signatures are not checked."""
    if not config.get("TWILIO_VALIDATE_SIGNATURES", True):
        log.warning("!!! TWILIO_VALIDATE_SIGNATURES=false: anyone can post to /voice/* and "
                    "drive calls. Never run like this in production. !!!")
