"""The local phone's socket, driven by a Python "page" over a real WebSocket.

The app runs on a real port with PUBLIC_BASE_URL set to that port, so the phone's calls
are signed webhooks and a real Media Stream into /media-stream, as from Twilio.
"""

from __future__ import annotations

import base64
import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket
from flask import Flask
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from app import create_app
from callbacks.models import CallbackRequest
from core.clock import FrozenClock
from core.users import create_user
from ivr.flow_store import import_default_flows, import_file
from ivr.models import Call
from localtwilio import Signer
from speech.models import discover_packages
from tests.audio import frames, telephone_ulaw
from tests.browser import ROOT, LiveServer
from tests.conftest import base_config
from tests.ivr_support import OPEN

KO_FLOW = ROOT / "tests" / "data" / "flows" / "ko_flow.yaml"
KO_HOTLINE = "+820000000000"


def start_phone_server(database_url: str, **overrides: Any) -> LiveServer:
    """The app with the local phone on a real port; PUBLIC_BASE_URL is that port."""
    server = make_server("127.0.0.1", 0, Flask("placeholder"), threaded=True)
    config = base_config(database_url)
    config.update({"PUBLIC_BASE_URL": f"http://127.0.0.1:{server.server_port}",
                   "LOCAL_TELEPHONY": True, "CLOCK": FrozenClock(OPEN)})
    config.update(overrides)
    app = create_app(config)
    server.app = app  # type: ignore[attr-defined]
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
        import_file(session, KO_FLOW)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    return LiveServer(app=app, server=server, thread=thread)


@pytest.fixture
def phone_server(database_url: str) -> Iterator[Callable[..., LiveServer]]:
    """Start phone-enabled live servers; stopped after the test."""
    started: list[LiveServer] = []

    def factory(**overrides: Any) -> LiveServer:
        live = start_phone_server(database_url, **overrides)
        started.append(live)
        return live

    yield factory
    for live in started:
        live.stop()


class PhonePage:
    """A page speaking the phone socket's protocol; acknowledges prompts as played."""

    def __init__(self, live: LiveServer) -> None:
        self.ws = websocket.create_connection(
            live.base_url.replace("http", "ws", 1) + "/phone/socket", timeout=30)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                raw = self.ws.recv()
            except (websocket.WebSocketException, OSError):
                return
            if not raw:  # the server closed the socket
                return
            message = json.loads(raw)
            if message["type"] == "prompt" and message.get("audio"):
                self.send(type="played", id=message["id"])
            self.messages.put(message)

    def send(self, **message: Any) -> None:
        self.ws.send(json.dumps(message))

    def expect(self, *types: str, timeout: float = 30.0) -> dict[str, Any]:
        """The next message of one of `types` (others are kept in `seen`)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
            self.seen.append(message)
            if message["type"] in types:
                return message

    def prompts(self) -> list[str]:
        return [m["text"] for m in self.seen if m["type"] == "prompt"]

    def close(self) -> None:
        self.ws.close()


def _answer_until_ended(page: PhonePage, answers: list[dict[str, Any]]) -> dict[str, Any]:
    """At each listening, send the next answer; return the `ended` message."""
    while True:
        message = page.expect("listening", "ended", timeout=60)
        if message["type"] == "ended":
            return message
        page.send(**answers.pop(0))


def test_typed_words_and_keys_book_a_callback_through_the_signed_webhooks(
        phone_server: Callable[..., LiveServer]) -> None:
    live = phone_server()
    page = PhonePage(live)
    page.send(type="dial", **{"from": "+393331234567"})
    assert page.expect("connected")["direction"] == "inbound"
    assert page.expect("prompt")["text"].startswith("Buongiorno")
    ended = _answer_until_ended(page, [
        {"type": "say", "text": "ho un problema con la bolletta"},
        {"type": "digits", "digits": "1"}, {"type": "digits", "digits": "1"},
        {"type": "digits", "digits": "1"}])
    page.close()
    assert ended["outcome"] == "hangup", page.prompts()
    assert any("bolletta" in text for text in page.prompts())
    assert page.prompts()[-1].startswith("Grazie per aver chiamato")
    with live.app.extensions["db"].transaction() as session:
        request = session.scalar(select(CallbackRequest))
        assert request is not None and request.phone == "+393331234567"
        call = session.scalar(select(Call).where(Call.call_sid == ended["call_sid"]))
        assert call is not None and call.outcome == "callback_booked"


def test_a_page_that_hangs_up_ends_the_call(phone_server: Callable[..., LiveServer]) -> None:
    live = phone_server()
    page = PhonePage(live)
    page.send(type="dial", **{"from": "+393331234567"})
    page.expect("listening")
    page.send(type="hangup")
    ended = page.expect("ended")
    page.close()
    assert ended["outcome"] == "hangup"
    with live.app.extensions["db"].transaction() as session:
        call = session.scalar(select(Call).where(Call.call_sid == ended["call_sid"]))
        assert call is not None and call.state == "ended"


def test_an_invalid_caller_number_is_refused(phone_server: Callable[..., LiveServer]) -> None:
    page = PhonePage(phone_server())
    page.send(type="dial", **{"from": "not a number"})
    assert page.expect("error")["message"] == "invalid number"
    page.close()


@pytest.mark.slow
def test_microphone_frames_reach_the_media_stream_and_vosk_recognises_them(
        phone_server: Callable[..., LiveServer]) -> None:
    live = phone_server(VOSK_MODEL_PATHS={"ko": str(discover_packages()["ko"])})
    page = PhonePage(live)
    page.send(type="dial", to=KO_HOTLINE, **{"from": "+821012345678"})
    listening = page.expect("listening")
    assert listening["kind"] == "stream"
    # espeak-ng's Korean "청구서 문의" (a bill enquiry) is heard as billing words by the model
    for frame in frames(telephone_ulaw("청구서 문의", trail_seconds=3.0)):  # 20 ms frames
        page.send(type="audio", payload=base64.b64encode(frame).decode("ascii"))
    recognised = page.expect("recognised", timeout=30)
    assert recognised["reason"] == "speech"
    assert {"요금", "청구서", "고지서"} & set(recognised["text"].split()), recognised
    ended = _answer_until_ended(page, [{"type": "digits", "digits": "1"}] * 4)
    page.close()
    assert any("요금" in text for text in page.prompts()[2:]), page.prompts()
    with live.app.extensions["db"].transaction() as session:
        request = session.scalar(select(CallbackRequest))
        assert request is not None and request.phone == "+821012345678"
    assert ended["outcome"] == "hangup"


def test_an_outbound_call_rings_the_registered_page_which_answers(
        phone_server: Callable[..., LiveServer]) -> None:
    live = phone_server()
    page = PhonePage(live)
    page.send(type="register", number="+393339998877")
    assert page.expect("registered")["number"] == "+393339998877"
    client = live.app.extensions["twilio"]
    twiml = ('<Response><Say language="it-IT" voice="Polly.Bianca-Neural">'
             'La richiamiamo come promesso.</Say>'
             '<Gather input="dtmf" numDigits="1" timeout="3"/></Response>')
    created = client.calls.create(to="+393339998877", from_="+390000000000", twiml=twiml)
    incoming = page.expect("incoming")
    assert incoming["call_sid"] == created.sid and incoming["from"] == "+390000000000"
    page.send(type="answer")
    assert page.expect("prompt")["text"] == "La richiamiamo come promesso."
    page.expect("listening")
    page.send(type="digits", digits="5")
    page.expect("ended")
    stand_in = live.app.extensions["localtwilio.stand_in"]
    stand_in.wait_idle(10)
    assert client.calls(created.sid).fetch().status == "completed"
    page.close()


def test_a_declined_outbound_call_is_busy(phone_server: Callable[..., LiveServer]) -> None:
    live = phone_server()
    page = PhonePage(live)
    page.send(type="register", number="+393339998877")
    page.expect("registered")
    client = live.app.extensions["twilio"]
    created = client.calls.create(to="+393339998877", from_="+390000000000",
                                  twiml="<Response><Say>Ciao</Say></Response>")
    page.expect("incoming")
    page.send(type="decline")
    assert page.expect("ended")["outcome"] == "decline"
    live.app.extensions["localtwilio.stand_in"].wait_idle(10)
    assert client.calls(created.sid).fetch().status == "busy"
    page.close()


@pytest.mark.parametrize("accept, words, script_ready, nav", [
    ("it-IT,it;q=0.9", ("Chiama il servizio clienti", "Rispondi", "Trascrizione"),
     "Pronto", "Telefono locale"),
    ("en-GB,en;q=0.9", ("Call the hotline", "Answer", "Transcript"), "Ready", "Local phone"),
])
def test_the_page_and_its_nav_link_follow_the_users_language(
        make_app: Callable[..., Flask], accept: str, words: tuple[str, ...],
        script_ready: str, nav: str) -> None:
    app = make_app(LOCAL_TELEPHONY=True, PUBLIC_BASE_URL="http://127.0.0.1:5000")
    with app.extensions["db"].transaction() as session:
        create_user(session, "anna", "correct-horse-battery", "agent")
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    html = client.get("/phone").get_data(as_text=True)
    for text in words:
        assert f">{text}<" in html
    script_text = re.search(r'<script type="application/json" id="phone-text">(.*?)</script>',
                            html, re.S)
    assert script_text is not None
    words_for_script = json.loads(script_text.group(1))
    assert words_for_script["ready"] == script_ready
    assert words_for_script["outcome.no-answer"] and "phone.js.ready" not in html
    token = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert token is not None
    client.post("/login", data={"username": "anna", "password": "correct-horse-battery",
                                "csrf_token": token.group(1)})
    page = client.get("/phone").get_data(as_text=True)
    assert f'href="/phone">{nav}</a>' in page


def _log_in(client: Any, username: str, password: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert token is not None
    client.post("/login", data={"username": username, "password": password,
                                "csrf_token": token.group(1)})


@pytest.mark.parametrize("path", ["/local-twilio/_localtwilio/calls",
                                  "/local-twilio/_localtwilio/callbacks"])
def test_the_stand_ins_call_list_needs_a_console_login(make_app: Callable[..., Flask],
                                                       path: str) -> None:
    app = make_app(LOCAL_TELEPHONY=True, PUBLIC_BASE_URL="http://127.0.0.1:5000")
    with app.extensions["db"].transaction() as session:
        create_user(session, "anna", "correct-horse-battery", "agent")
    client = app.test_client()
    assert client.get(path).status_code == 401
    _log_in(client, "anna", "wrong-password")
    assert client.get(path).status_code == 401
    _log_in(client, "anna", "correct-horse-battery")
    reply = client.get(path)
    assert reply.status_code == 200 and reply.get_json() == []


def test_the_local_phone_signs_with_a_token_of_its_own_not_a_default(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(LOCAL_TELEPHONY=True, PUBLIC_BASE_URL="http://127.0.0.1:5000",
                   TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    token = app.config["TWILIO_AUTH_TOKEN"]
    assert token not in ("", "local-phone-token")
    form = {"CallSid": "CA" + "f" * 32, "From": "+393331234567", "To": "+390000000000",
            "CallStatus": "ringing"}
    url = "http://127.0.0.1:5000/voice/incoming"
    client = app.test_client()
    for guess in ("local-phone-token", ""):
        signature = RequestValidator(guess).compute_signature(url, form)
        assert client.post("/voice/incoming", data=form,
                           headers={"X-Twilio-Signature": signature}).status_code == 403
    stand_in = app.extensions["localtwilio.stand_in"]
    assert stand_in.signer.is_valid(url, form, Signer(token).signature(url, form))
    signature = Signer(token).signature(url, form)
    assert client.post("/voice/incoming", data=form,
                       headers={"X-Twilio-Signature": signature}).status_code == 200


def _speak_into_the_microphone(page: PhonePage, ulaw: bytes) -> None:
    for frame in frames(ulaw):  # 20 ms frames, as the page's worklet posts them
        page.send(type="audio", payload=base64.b64encode(frame).decode("ascii"))


@pytest.mark.slow
def test_the_page_sees_the_words_live_before_the_final_result(
        phone_server: Callable[..., LiveServer]) -> None:
    live = phone_server(VOSK_MODEL_PATHS={"ko": str(discover_packages()["ko"])})
    page = PhonePage(live)
    page.send(type="dial", to=KO_HOTLINE, **{"from": "+821012345678"})
    assert page.expect("listening")["kind"] == "stream"
    _speak_into_the_microphone(page, telephone_ulaw("청구서 문의", trail_seconds=3.0))
    recognised = page.expect("recognised", timeout=30)
    partials = [m["text"] for m in page.seen if m["type"] == "partial"]
    page.send(type="hangup")
    page.close()
    assert recognised["reason"] == "speech" and recognised["text"]
    assert partials, "no live words before the final result"
    assert all(text for text in partials) and len(set(partials)) == len(partials)
    assert set(partials[-1].split()) & set(recognised["text"].split()), (partials, recognised)


@pytest.mark.slow
def test_with_barge_in_the_page_hears_the_question_on_the_stream_and_can_cut_it_off(
        phone_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    from tests.test_ivr_barge_in import BARGE_HOTLINE, barge_flow

    live = phone_server(VOSK_MODEL_PATHS={"ko": str(discover_packages()["ko"])},
                        TTS_CACHE_DIR=str(tmp_path / "tts"))
    with live.app.extensions["db"].transaction() as session:
        import_file(session, barge_flow(tmp_path / "ko_barge.yaml"))
    live.app.extensions["speech"].get("ko")
    page = PhonePage(live)
    page.send(type="dial", to=BARGE_HOTLINE, **{"from": "+821012345678"})
    page.expect("stream_audio")  # the question, played over the Media Stream
    _speak_into_the_microphone(page, telephone_ulaw("환불", trail_seconds=3.0))
    page.expect("stream_clear")  # the app cut the question off
    recognised = page.expect("recognised", timeout=30)
    page.send(type="hangup")
    page.close()
    assert recognised["text"] == "환불"
    prompts = [m["text"] for m in page.seen if m["type"] == "prompt"]
    assert "무엇을 도와드릴까요?" not in prompts  # not said with <Say>
