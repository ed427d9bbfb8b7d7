"""Helpers for the ivr tests: a seeded hotline app and calls placed through localtwilio."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from twilio.request_validator import RequestValidator

from core.clock import FrozenClock
from ivr.flow_store import import_default_flows
from localtwilio import CallClock, CallTranscript, FlaskClientTransport, LocalCall, Signer
from tests.conftest import PUBLIC_BASE_URL, TWILIO_TOKEN

OPEN = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday, 11:00 in Rome
CLOSED = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)  # 21:30 in Rome
CHRISTMAS = datetime(2026, 12, 25, 10, 0, tzinfo=UTC)
CALLER = "+393331234567"
UK_CALLER = "+447400123456"
HOTLINE = "+390200000000"
VOICE_URL = PUBLIC_BASE_URL + "/voice/incoming"
STATUS_URL = PUBLIC_BASE_URL + "/voice/status"


def hotline(make_app: Any, at: datetime = OPEN, **overrides: Any) -> Flask:
    """The app with the default flows published and the clock held at `at`."""
    app: Flask = make_app(CLOCK=FrozenClock(at), **overrides)
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
    return app


def place_call(app: Flask, script: Sequence[Any], *, from_: str = CALLER,
               **options: Any) -> CallTranscript:
    """Call the hotline as Twilio would (signed webhooks, status callback at the end).

    An app whose clock is a `CallClock` sees the call's simulated time."""
    options.setdefault("status_callback", STATUS_URL)
    call = LocalCall(FlaskClientTransport(app.test_client()), VOICE_URL, from_=from_,
                     to=HOTLINE, signer=Signer(TWILIO_TOKEN), **options)
    clock = app.extensions["clock"]
    if isinstance(clock, CallClock):
        clock.follow(call)
    return call.run(list(script))


def signed_post(client: Any, path: str, form: dict[str, str],
                token: str = TWILIO_TOKEN) -> Any:
    """POST `form` to `path` with Twilio's signature for the public URL."""
    signature = RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, form)
    return client.post(path, data=form, headers={"X-Twilio-Signature": signature})


def twiml(text: str | bytes) -> ET.Element:
    """Parse a TwiML answer (fails the test if it is not XML with a <Response> root)."""
    root = ET.fromstring(text)
    assert root.tag == "Response"
    return root


def prompts_text(transcript: CallTranscript) -> str:
    """Everything the hotline said on a call, as one lower-case string."""
    return " ".join(transcript.prompts).lower()
