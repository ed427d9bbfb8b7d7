"""The Twilio REST client, pointed at Twilio or at a local stand-in (TWILIO_API_BASE_URL).

The official client builds URLs such as https://api.twilio.com/2010-04-01/...; when a
different base is configured, the HTTP layer rewrites that origin, so the app's code and the
official library stay exactly as they are in production.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from core.config import TWILIO_DEFAULT_API_BASE


class RebasedHttpClient(TwilioHttpClient):
    """Sends every Twilio REST request to another origin (a local stand-in)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        parts = urlsplit(base_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc
        self._prefix = parts.path.rstrip("/")

    def rebase(self, url: str) -> str:
        """The same path and query on the configured origin."""
        parts = urlsplit(url)
        return urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, ""))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, self.rebase(url), *args, **kwargs)


def make_twilio_client(account_sid: str, auth_token: str,
                       api_base_url: str = TWILIO_DEFAULT_API_BASE) -> Client:
    """A Twilio client; requests go to `api_base_url` when it is not Twilio's own."""
    if api_base_url.rstrip("/") == TWILIO_DEFAULT_API_BASE:
        return Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=10.0))
    return Client(account_sid, auth_token, http_client=RebasedHttpClient(api_base_url))
