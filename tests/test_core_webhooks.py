"""One public-URL rule for Twilio: the URLs we hand out are the URLs whose signature we check.

The app is mounted under a path prefix (SCRIPT_NAME=/hotline, as a proxy or gunicorn's
--env SCRIPT_NAME does) with PUBLIC_BASE_URL=https://example.org/hotline; the local
stand-in follows the TwiML it gets back and signs every request like Twilio.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.test import Client

from core.webhooks import check_signature, public_url, requested_url
from localtwilio import FlaskClientTransport, LocalCall, Press, SayText, Signer
from tests.conftest import TWILIO_TOKEN
from tests.ivr_support import CALLER, HOTLINE, hotline, twiml

BASE = "https://example.org/hotline"


def _mounted(app: Flask) -> Client:
    """A client reaching `app` only under /hotline (SCRIPT_NAME), like a prefixed deploy."""
    return Client(DispatcherMiddleware(NotFound(), {"/hotline": app}))


def test_public_urls_carry_the_prefix_of_the_base_once(make_app: Any) -> None:
    app = make_app(PUBLIC_BASE_URL=BASE)
    assert public_url(app, "voice.incoming") == f"{BASE}/voice/incoming"
    assert public_url(app, "callbacks_twilio.status", attempt_id=7) == (
        f"{BASE}/callbacks/twilio/status/7")
    with app.test_request_context("/voice/incoming", base_url=BASE):  # inside a request too
        assert public_url(app, "voice.step", call_sid="CA1", step="ask_need", attempt=0) == (
            f"{BASE}/voice/step/CA1/ask_need/0")
    assert requested_url(BASE + "/", "/voice/status", "a=1&b=2") == (
        f"{BASE}/voice/status?a=1&b=2")


def test_a_call_to_an_app_under_a_prefix_is_signed_and_followed_end_to_end(
        make_app: Any) -> None:
    app = hotline(make_app, PUBLIC_BASE_URL=BASE)
    call = LocalCall(FlaskClientTransport(_mounted(app)), f"{BASE}/voice/incoming",
                     from_=CALLER, to=HOTLINE, signer=Signer(TWILIO_TOKEN),
                     status_callback=f"{BASE}/voice/status")
    t = call.run([SayText("ho un problema con la bolletta"), SayText("sì"), Press("1")])
    assert t.error is None
    assert [r.status for r in t.requests] == [200] * (len(t.requests) - 1) + [204]
    gather = twiml(t.requests[0].body).find("Gather")
    assert gather is not None
    assert gather.get("action") == f"{BASE}/voice/step/{t.call_sid}/ask_need/0"
    assert len(t.requests_to(f"{BASE}/voice/step/")) >= 2  # the actions were followed


def test_callback_webhooks_under_a_prefix_share_the_same_check(make_app: Any) -> None:
    app = make_app(PUBLIC_BASE_URL=BASE)
    client = _mounted(app)
    url = f"{BASE}/callbacks/twilio/status/999?leg=agent"
    params = {"CallSid": "CA" + "b" * 32, "CallStatus": "ringing"}
    signed = client.post(url, data=params, headers=Signer(TWILIO_TOKEN).headers(url, params))
    assert signed.status_code == 404  # past the signature check: no such attempt
    other = url.replace("leg=agent", "leg=caller")  # a signature for another URL
    forged = client.post(url, data=params, headers=Signer(TWILIO_TOKEN).headers(other, params))
    assert forged.status_code == 403
    assert app.before_request_funcs["callbacks_twilio"] == [check_signature]
    assert app.before_request_funcs["voice"] == [check_signature]
