"""How the stand-in reaches the app: real HTTP (requests) or a Flask test client.

Both adapters expose one method, `request(method, url, params, headers) -> HttpReply`,
so the runner and the REST stand-in never care whether the app runs on a port or
in-process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests


@dataclass
class HttpReply:
    """What the app answered to one request."""

    status: int
    body: bytes
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (TwiML is UTF-8)."""
        return self.body.decode("utf-8", errors="replace")


class Transport(Protocol):
    """Anything that can send a Twilio webhook request and return the reply."""

    def request(self, method: str, url: str, params: Mapping[str, str],
                headers: Mapping[str, str]) -> HttpReply: ...


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` appended to its query string (how Twilio sends GET webhooks)."""
    if not params:
        return url
    parts = urlsplit(url)
    query = "&".join(filter(None, [parts.query, urlencode(dict(params))]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class RequestsTransport:
    """Sends webhooks over real HTTP with a `requests.Session`."""

    def __init__(self, session: requests.Session | None = None, timeout: float = 15.0) -> None:
        self.session = session or requests.Session()
        self.timeout = timeout  # Twilio gives up on a webhook after 15 s

    def request(self, method: str, url: str, params: Mapping[str, str],
                headers: Mapping[str, str]) -> HttpReply:
        """POST form params, or GET with them in the query string."""
        try:
            if method.upper() == "GET":
                response = self.session.get(url, headers=dict(headers), timeout=self.timeout)
            else:
                response = self.session.post(url, data=dict(params), headers=dict(headers),
                                             timeout=self.timeout)
        except requests.RequestException as exc:
            return HttpReply(599, str(exc).encode(), "text/plain")
        return HttpReply(response.status_code, response.content,
                         response.headers.get("Content-Type", ""), dict(response.headers))


class FlaskClientTransport:
    """Sends webhooks to a Flask app in-process through its test client."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def request(self, method: str, url: str, params: Mapping[str, str],
                headers: Mapping[str, str]) -> HttpReply:
        """Same contract as RequestsTransport; the absolute URL sets the Host header."""
        if method.upper() == "GET":
            response = self.client.get(url, headers=dict(headers))
        else:
            response = self.client.post(url, data=dict(params), headers=dict(headers))
        return HttpReply(response.status_code, response.get_data(),
                         response.headers.get("Content-Type", ""), dict(response.headers))
