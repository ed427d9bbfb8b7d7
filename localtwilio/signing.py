"""Sign webhook requests exactly as Twilio does (X-Twilio-Signature).

Twilio signs the full URL it requests followed by each POST parameter name and value,
sorted by name, with HMAC-SHA1 keyed by the account's auth token. We delegate the
computation to the official `RequestValidator.compute_signature`, so an app that checks
signatures with the official library accepts our requests and rejects forged ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"
USER_AGENT = "TwilioProxy/1.1"


class Signer:
    """Computes Twilio request signatures for one account's auth token."""

    def __init__(self, auth_token: str) -> None:
        self._validator = RequestValidator(auth_token)

    def signature(self, url: str, params: Mapping[str, str] | None = None) -> str:
        """The X-Twilio-Signature value for a request to `url` with form `params`.

        For GET requests Twilio signs the URL including its query string and no params.
        """
        return str(self._validator.compute_signature(url, dict(params or {})))

    def headers(self, url: str, params: Mapping[str, str] | None = None,
                idempotency_token: str | None = None) -> dict[str, str]:
        """The headers Twilio sends with a webhook: signature, idempotency token, agent."""
        return {
            SIGNATURE_HEADER: self.signature(url, params),
            IDEMPOTENCY_HEADER: idempotency_token or uuid.uuid4().hex,
            "User-Agent": USER_AGENT,
        }

    def is_valid(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        """True when `signature` is what Twilio would send for this request."""
        return bool(self._validator.validate(url, dict(params), signature))
