"""Whole calls recognised by the real Korean Vosk model over the Media Streams socket."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from callbacks.models import CallbackRequest
from ivr.flow_store import import_default_flows, import_file
from ivr.models import Call
from localtwilio import LocalCall, PlayAudio, Press, RequestsTransport, SayText, Signer, Silence
from localtwilio.server import serve_in_thread
from localtwilio.stream import MediaStreamClient
from localtwilio.twiml import Stream
from tests.audio import telephone_ulaw
from tests.conftest import TWILIO_SID, TWILIO_TOKEN

pytestmark = pytest.mark.slow
KO_FLOW = Path(__file__).parent / "data" / "flows" / "ko_flow.yaml"
KO_CALLER = "+821012345678"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live(make_app: Any) -> Any:
    port = _free_port()
    app = make_app(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", SPEECH_INPUT="auto")
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
        import_file(session, KO_FLOW)
    # Load the model before the call: a cold load inside the first webhook can outlast the
    # caller's 15 s patience on a loaded 2-core machine (the app loads it once per process).
    app.extensions["speech"].get("ko")
    base, stop = serve_in_thread(app, port=port)
    yield app, base
    stop()


def _call(app: Any, base: str, script: list[Any]) -> Any:
    call = LocalCall(RequestsTransport(), f"{base}/voice/incoming", from_=KO_CALLER,
                     to="+820000000000", signer=Signer(TWILIO_TOKEN),
                     status_callback=f"{base}/voice/status")
    return call.run(script)


def test_korean_caller_is_understood_by_vosk_and_booked(live: Any, session: Any) -> None:
    app, base = live
    yes = Press("1")  # espeak's 네 comes out as 예 at 0.16 confidence: not a usable "yes"
    wait = Silence(8)  # listen to the next question before answering it
    t = _call(app, base, [SayText("요금 문의", voice="ko"), wait, yes, wait, yes, wait, yes])
    call = session.scalar(select(Call).where(Call.call_sid == t.call_sid))
    need = next(e for e in call.events if e.step == "ask_need")
    assert need.source == "vosk" and need.words.startswith("요금 문의")
    assert need.asr_confidence is not None and need.detail["reason"] == "speech"
    assert call.intent == "billing" and call.outcome == "callback_booked"
    assert any(e.step == "offer_callback" and e.digits == "1" for e in call.events)
    request = session.scalar(select(CallbackRequest))
    assert request.words == need.words and request.phone == KO_CALLER


def test_keys_pressed_on_the_stream_reach_a_human(live: Any, session: Any) -> None:
    app, base = live
    t = _call(app, base, [Press("0")])
    assert t.outcome == "transferred:+390299999999"
    call = session.scalar(select(Call).where(Call.call_sid == t.call_sid))
    need = next(e for e in call.events if e.step == "ask_need")
    assert (need.digits, need.source, need.decision) == ("0", "dtmf", "human")


def test_noise_after_the_caller_stops_talking_is_not_taken_as_yes(live: Any,
                                                                  session: Any) -> None:
    app, base = live
    t = _call(app, base, [SayText("요금 문의", voice="ko"), Silence(6), Silence(6)])
    call = session.scalar(select(Call).where(Call.call_sid == t.call_sid))
    answers = [e.decision for e in call.events if e.step in ("offer_callback", "confirm_need")]
    assert "yes" not in answers


def _signed_post(base: str, path: str, form: dict[str, str]) -> ET.Element:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(base + path, form)
    reply = requests.post(base + path, data=form, timeout=10,
                          headers={"X-Twilio-Signature": signature})
    return ET.fromstring(reply.text)


def test_a_stream_that_goes_quiet_is_closed_and_the_call_moves_on(live: Any,
                                                                   session: Any) -> None:
    app, base = live
    app.config["STREAM_IDLE_SECONDS"] = 1.0
    sid = "CA" + "9" * 32
    form = {"CallSid": sid, "From": KO_CALLER, "To": "+820000000000", "CallStatus": "ringing"}
    connect = _signed_post(base, "/voice/incoming", form).find("Connect")
    assert connect is not None and connect.find("Stream") is not None
    stream = connect.find("Stream")
    client = MediaStreamClient(
        Stream(url=stream.get("url", ""),
               parameters={p.get("name", ""): p.get("value", "")
                           for p in stream.findall("Parameter")}),
        account_sid=TWILIO_SID, call_sid=sid, signer=Signer(TWILIO_TOKEN))
    client.open()
    client.send_silence(0.3)  # then nothing more: a stream gone quiet
    assert client.closed.wait(6), "the quiet stream was never closed"
    # Twilio, once the socket closes, requests the <Connect action>: the call goes on
    following = _signed_post(base, connect.get("action", "").removeprefix(base), form)
    parameters = {p.get("name"): p.get("value") for p in following.iter("Parameter")}
    assert parameters["step"] == "ask_need" and parameters["attempt"] == "1"
    call = session.scalar(select(Call).where(Call.call_sid == sid))
    need = next(e for e in call.events if e.step == "ask_need" and e.attempt == 0)
    assert need.detail["reason"] == "timeout"


# Sentences the grammar-only recogniser turned into confident, wrong answers that the
# engine acted on (dev set of bench.phone_audio, voice, speed, pitch, line noise).
# Not here: "나이가 많아서 인터넷을 못 해요" (ko, 132 wpm, pitch 43, 1.45% noise), which the
# garbage path lets through as billing in some runs (Vosk is not exactly repeatable): a
# known gap, counted by bench.phone_audio, not hidden by a test that passes by luck.
GARBLED = [("요금 때문에 전화했어요", "ko+m3", 132, 41, 0.0041),   # was: appointment
           ("여보세요 거기 어디예요", "ko+f2", 160, 71, 0.0065)]   # was: appointment


@pytest.mark.parametrize(("sentence", "voice", "speed", "pitch", "noise"), GARBLED)
def test_garbled_audio_is_never_acted_on_without_confirmation(
        live: Any, session: Any, tmp_path: Path, sentence: str, voice: str, speed: int,
        pitch: int, noise: float) -> None:
    app, base = live
    clip = tmp_path / "caller.ulaw"
    clip.write_bytes(telephone_ulaw(sentence, voice=voice, speed=speed, pitch=pitch,
                                    noise=noise, lead_seconds=0.4, trail_seconds=2.0))
    t = _call(app, base, [PlayAudio(clip)])
    call = session.scalar(select(Call).where(Call.call_sid == t.call_sid))
    need = next(e for e in call.events if e.step == "ask_need" and e.attempt == 0)
    assert need.decision in ("confirm", "reprompt")
    if need.words:  # words came out of the grammar: the recogniser said it doubts them
        assert need.detail["doubt"] == "garbage" and need.detail["heard"] is False
        assert need.asr_confidence is not None and need.asr_confidence < 0.6
