"""Signatures made by the stand-in are the ones Twilio's official validator expects."""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from localtwilio.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, Signer

URL = "https://hotline.example/voice/incoming?flow=main"
PARAMS = {"CallSid": "CA" + "1" * 32, "From": "+393331234567", "SpeechResult": "la bolletta"}


def test_signed_request_passes_the_official_validator() -> None:
    headers = Signer("secret").headers(URL, PARAMS)
    assert RequestValidator("secret").validate(URL, PARAMS, headers[SIGNATURE_HEADER])
    assert len(headers[IDEMPOTENCY_HEADER]) == 32


@pytest.mark.parametrize(("url", "params", "token"), [
    (URL, {**PARAMS, "SpeechResult": "un guasto"}, "secret"),  # tampered body
    (URL.replace("main", "other"), PARAMS, "secret"),  # another URL
    (URL, PARAMS, "another-token"),  # another account
])
def test_any_change_breaks_the_signature(url: str, params: dict[str, str], token: str) -> None:
    signature = Signer("secret").signature(URL, PARAMS)
    assert not RequestValidator(token).validate(url, params, signature)


def test_known_vector_from_twilio_docs_algorithm() -> None:
    # HMAC-SHA1 over URL + sorted name/value pairs, base64: computed independently here
    import base64
    import hashlib
    import hmac

    data = URL + "".join(k + PARAMS[k] for k in sorted(PARAMS))
    expected = base64.b64encode(hmac.new(b"secret", data.encode(), hashlib.sha1).digest())
    assert Signer("secret").signature(URL, PARAMS) == expected.decode()
    assert Signer("secret").is_valid(URL, PARAMS, expected.decode())
