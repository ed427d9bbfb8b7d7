"""Who may open the Media Streams socket: Twilio's signed upgrade, for a call waiting there.

The hotline runs on a real port; the local Twilio stand-in (`localtwilio.stream`) opens
the streams, signing its upgrade as Twilio does. No Vosk model is configured, so a stream
that is accepted ends at once with an "error" answer stored on the step (the flow then
offers the keypad); a refused one is closed with nothing stored.
"""

from __future__ import annotations

import logging
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import websocket
from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app import create_app
from core import webhooks as security
from core.clock import FrozenClock
from ivr.flow_store import import_default_flows
from ivr.models import Call, CallEvent
from localtwilio import Signer
from localtwilio.server import serve_in_thread
from localtwilio.stream import MediaStreamClient
from localtwilio.twiml import Stream
from tests.conftest import TWILIO_SID, TWILIO_TOKEN, base_config
from tests.ivr_support import CALLER, HOTLINE, OPEN

SID = "CA" + "d" * 32
OTHER_SID = "CA" + "e" * 32
TWILIO = Signer(TWILIO_TOKEN)  # how the stand-in signs, as Twilio does


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live(sqlite_url: str) -> Iterator[tuple[Flask, str]]:
    """The hotline on a real port, listening over Media Streams, with no speech model."""
    port = _free_port()
    config = base_config(sqlite_url)
    config.update(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", SPEECH_INPUT="stream",
                  CLOCK=FrozenClock(OPEN))
    app = create_app(config)
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
    base, stop = serve_in_thread(app, port=port)
    yield app, base
    stop()
    app.extensions["jobs"].close()
    app.extensions["db"].dispose()


def _post(base: str, path: str, form: dict[str, str]) -> requests.Response:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(base + path, form)
    return requests.post(base + path, data=form, timeout=10,
                         headers={"X-Twilio-Signature": signature})


def _incoming(base: str, call_sid: str = SID) -> Stream:
    """Start a call; return the <Stream> its first question listens on."""
    reply = _post(base, "/voice/incoming", {"CallSid": call_sid, "From": CALLER,
                                            "To": HOTLINE, "CallStatus": "ringing"})
    stream = ET.fromstring(reply.text).find("Connect/Stream")
    assert stream is not None
    parameters = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
    return Stream(url=stream.get("url", ""), parameters=parameters)


def _client(stream: Stream, signer: Signer | None = TWILIO,
            call_sid: str = SID) -> MediaStreamClient:
    return MediaStreamClient(stream, account_sid=TWILIO_SID, call_sid=call_sid,
                             signer=signer, timeout=5)


def _answers(app: Flask) -> list[tuple[str, int, str | None]]:
    with app.extensions["db"].transaction() as session:
        events = session.scalars(select(CallEvent).join(Call).where(
            Call.call_sid == SID, CallEvent.detail.is_not(None)))
        return [(e.step, e.attempt, (e.detail or {}).get("reason")) for e in events]


def test_the_stand_ins_signed_stream_for_a_waiting_call_is_accepted(live: Any) -> None:
    app, base = live
    stream = _incoming(base)
    assert stream.url == base.replace("http://", "ws://") + "/media-stream"
    client = _client(stream)
    client.open()
    assert client.closed.wait(10)
    assert _answers(app) == [("ask_need", 0, "error")]  # accepted: no model, so "error"


@pytest.mark.parametrize("signer", [None, Signer("not-the-token")], ids=["unsigned", "forged"])
def test_an_unsigned_or_forged_upgrade_is_refused_before_the_handshake(
        live: Any, signer: Signer | None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="speech")
    app, base = live
    client = _client(_incoming(base), signer=signer)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        client.open()
    assert refused.value.status_code == 403
    assert _answers(app) == []
    assert "media stream refused: upgrade from 127.0.0.1: missing or forged " \
           "X-Twilio-Signature" in caplog.text


def test_a_browser_page_from_another_origin_is_refused_even_with_a_signature(
        live: Any) -> None:
    app, base = live
    stream = _incoming(base)
    signature = TWILIO.signature(stream.url, {})
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(stream.url, timeout=5, origin="https://evil.example",
                                    header=[f"X-Twilio-Signature: {signature}"])
    assert refused.value.status_code == 403
    assert _answers(app) == []


@pytest.mark.parametrize(("call_sid", "change", "reason"), [
    (SID, {"attempt": "1"}, "is not waiting at 'ask_need'/'1'"),
    (SID, {"step": "confirm_need"}, "is not waiting at 'confirm_need'/'0'"),
    (SID, {"call": OTHER_SID}, "parameters name another call"),
    (OTHER_SID, {"call": OTHER_SID}, "no such call"),
])
def test_a_replayed_signature_opens_nothing_unless_the_call_waits_at_that_step(
        live: Any, call_sid: str, change: dict[str, str], reason: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="speech")
    app, base = live
    stream = _incoming(base)
    forged = Stream(url=stream.url, parameters={**stream.parameters, **change})
    client = _client(forged, call_sid=call_sid)
    client.open()  # the signature of the stream URL is always the same: it can be replayed
    assert client.closed.wait(10), "a stream for no waiting call was kept open"
    assert _answers(app) == []
    assert f"media stream refused: call {call_sid}: " in caplog.text and reason in caplog.text
    assert CALLER not in caplog.text and CALLER[-7:] not in caplog.text


def test_a_second_stream_for_an_answered_step_is_refused(
        live: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="speech")
    _, base = live
    stream = _incoming(base)
    first = _client(stream)
    first.open()
    assert first.closed.wait(10)
    second = _client(stream)
    second.open()
    assert second.closed.wait(10)
    assert f"call {SID}: 'ask_need'/0 is already answered" in caplog.text


def test_a_stream_for_a_call_that_has_ended_is_refused(
        live: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="speech")
    app, base = live
    stream = _incoming(base)
    _post(base, "/voice/status", {"CallSid": SID, "From": CALLER, "To": HOTLINE,
                                  "CallStatus": "completed"})
    client = _client(stream)
    client.open()
    assert client.closed.wait(10)
    assert f"call {SID}: the call has ended" in caplog.text
    assert _answers(app) == []


@pytest.mark.parametrize(("base", "path", "url"), [
    ("https://hotline.example.com", "/media-stream?", "wss://hotline.example.com/media-stream"),
    ("http://127.0.0.1:5000/", "/media-stream?", "ws://127.0.0.1:5000/media-stream"),
])
def test_the_stream_url_signed_is_the_public_ws_url(base: str, path: str, url: str) -> None:
    assert security.stream_url(base, path) == url


def test_the_upgrade_is_checked_with_the_webhooks_validator_and_its_switch() -> None:
    config = {"PUBLIC_BASE_URL": "https://hotline.example.com", "TWILIO_AUTH_TOKEN": "t",
              "TWILIO_VALIDATE_SIGNATURES": True}
    signed = RequestValidator("t").compute_signature("wss://hotline.example.com/media-stream",
                                                     {})
    assert security.stream_upgrade_refusal(config, "/media-stream?",
                                           {"X-Twilio-Signature": signed}) is None
    assert security.stream_upgrade_refusal(
        config, "/media-stream?", {"X-Twilio-Signature": signed,
                                   "Origin": "https://hotline.example.com"}) is None
    assert security.stream_upgrade_refusal(config, "/media-stream?", {}) is not None
    off = {**config, "TWILIO_VALIDATE_SIGNATURES": False}
    assert security.stream_upgrade_refusal(off, "/media-stream?", {}) is None
