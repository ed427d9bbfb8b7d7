"""Connect/Stream and Start/Stream against a tiny flask-sock Media Streams server."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, abort, request
from flask_sock import Sock
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import Connect, Gather, Start, VoiceResponse

from localtwilio import HangUp, LocalCall, PlayAudio, Press, RequestsTransport, SayText, Signer
from localtwilio.server import serve_in_thread
from localtwilio.stream import MediaStreamClient
from localtwilio.twiml import Stream
from tests.test_localtwilio_runner import tone_wav

ITALIAN = {"language": "it-IT", "voice": "Polly.Bianca-Neural"}  # a voice that speaks it

TOKEN = "stream-test-token"
CALLER = "+393331234567"


def make_media_app() -> Flask:
    """A voice app whose TwiML streams to its own WebSocket endpoints."""
    app = Flask(__name__)
    sock = Sock(app)
    validator = RequestValidator(TOKEN)
    app.config.update(MESSAGES=[], FORK=[], AFTER=[], HANDSHAKE_OK=[])

    def ws_base() -> str:
        return request.host_url.replace("http://", "ws://").rstrip("/")

    @app.before_request
    def check_signature() -> None:
        if request.path in {"/media", "/media-wait", "/media-play", "/fork"}:
            app.config["HANDSHAKE_OK"].append(validator.validate(
                request.url.replace("http://", "ws://"), {},
                request.headers.get("X-Twilio-Signature", "")))
            return
        if not validator.validate(request.url, request.form.to_dict(),
                                  request.headers.get("X-Twilio-Signature", "")):
            abort(403)

    @app.post("/voice")
    def voice() -> Response:
        r = VoiceResponse()
        connect = Connect(action="/after")
        stream = connect.stream(url=ws_base() + request.args.get("ws", "/media"))
        stream.parameter(name="lang", value="it")
        r.append(connect)
        r.say("dopo lo stream")
        return Response(str(r), mimetype="text/xml")

    @app.post("/after")
    def after() -> Response:
        app.config["AFTER"].append(request.form.to_dict())
        r = VoiceResponse()
        r.say("Grazie, arrivederci.", **ITALIAN)
        return Response(str(r), mimetype="text/xml")

    @sock.route("/media")
    def media(ws: Any) -> None:
        """Read until the caller presses 5; answer with audio and a mark; then hang up."""
        while True:
            message = json.loads(ws.receive())
            app.config["MESSAGES"].append(message)
            if message["event"] == "start":
                ws.send(json.dumps({"event": "media", "streamSid": message["streamSid"],
                                    "media": {"payload": base64.b64encode(b"\xff" * 160)
                                              .decode()}}))
                ws.send(json.dumps({"event": "mark", "streamSid": message["streamSid"],
                                    "mark": {"name": "greeting"}}))
            if message["event"] == "dtmf" and message["dtmf"]["digit"] == "5":
                # close once our mark has been echoed (it may come before or after the key)
                while not any(m["event"] == "mark" for m in app.config["MESSAGES"]):
                    app.config["MESSAGES"].append(json.loads(ws.receive()))
                return

    @sock.route("/media-wait")
    def media_wait(ws: Any) -> None:
        """Never closes: only the caller hanging up ends this stream."""
        while True:
            message = json.loads(ws.receive())
            app.config["MESSAGES"].append(message)
            if message["event"] == "stop":
                return

    @sock.route("/media-play")
    def media_play(ws: Any) -> None:
        """Play 1 s (or 2 s with ?seconds=2) then a mark; `clear` when the caller presses 1."""
        while True:
            message = json.loads(ws.receive())
            app.config["MESSAGES"].append(message)
            sid = message.get("streamSid")
            if message["event"] == "start":
                seconds = int(message["start"]["customParameters"].get("seconds", "1"))
                for _ in range(seconds):
                    ws.send(json.dumps({"event": "media", "streamSid": sid, "media": {
                        "payload": base64.b64encode(b"\x00" * 8000).decode()}}))
                ws.send(json.dumps({"event": "mark", "streamSid": sid,
                                    "mark": {"name": "prompt"}}))
            elif message["event"] == "dtmf":
                ws.send(json.dumps({"event": "clear", "streamSid": sid}))
            elif message["event"] in ("mark", "stop"):
                return

    @app.post("/fork-voice")
    def fork_voice() -> Response:
        r = VoiceResponse()
        start = Start()
        start.stream(url=ws_base() + "/fork", name="listener")
        r.append(start)
        gather = Gather(input="speech", action="/after", language="it-IT")
        gather.say("Mi dica.", **ITALIAN)
        r.append(gather)
        return Response(str(r), mimetype="text/xml")

    @sock.route("/fork")
    def fork(ws: Any) -> None:
        while True:
            message = json.loads(ws.receive())
            app.config["FORK"].append(message)
            if message["event"] == "stop":
                return

    return app


@pytest.fixture
def media_app() -> Iterator[tuple[Flask, str]]:
    app = make_media_app()
    base_url, stop = serve_in_thread(app)
    yield app, base_url
    stop()


def call(base_url: str, path: str = "/voice", **kw: Any) -> LocalCall:
    return LocalCall(RequestsTransport(), base_url + path, from_=CALLER, to="+390212345678",
                     signer=Signer(TOKEN), account_sid="AC" + "5" * 32,
                     status_callback=None, **kw)


def test_connect_stream_speaks_twilio_media_streams_then_follows_the_action(
        media_app: tuple[Flask, str], tmp_path: Path) -> None:
    app, base_url = media_app
    local = call(base_url)
    transcript = local.run([PlayAudio(tone_wav(tmp_path / "t.wav", 1.0)), Press("5")])

    messages = app.config["MESSAGES"]
    connected, start = messages[0], messages[1]
    assert connected == {"event": "connected", "protocol": "Call", "version": "1.0.0"}
    assert start["event"] == "start" and start["sequenceNumber"] == "1"
    body = start["start"]
    assert (body["accountSid"], body["callSid"]) == (local.account_sid, local.call_sid)
    assert body["streamSid"] == start["streamSid"] and body["streamSid"].startswith("MZ")
    assert body["tracks"] == ["inbound"] and body["customParameters"] == {"lang": "it"}
    assert body["mediaFormat"] == {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                   "channels": 1}
    media = [m for m in messages if m["event"] == "media"]
    frames = [base64.b64decode(m["media"]["payload"]) for m in media]
    assert all(len(frame) == 160 for frame in frames)
    # 1 s of tone in 20 ms frames, then silence while the caller waits for the server
    assert sum(frame != b"\xff" * 160 for frame in frames) == 50
    assert [m["media"]["chunk"] for m in media[:3]] == ["1", "2", "3"]
    assert [m["media"]["timestamp"] for m in media[:3]] == ["0", "20", "40"]
    assert {m["media"]["track"] for m in media} == {"inbound"}
    numbers = [int(m["sequenceNumber"]) for m in messages[1:]]
    assert numbers == list(range(1, len(numbers) + 1))
    assert any(m["event"] == "dtmf" and m["dtmf"]["digit"] == "5" for m in messages)
    assert {"event": "mark", "name": "greeting"} in [
        {"event": m["event"], "name": m.get("mark", {}).get("name")} for m in messages]
    assert all(app.config["HANDSHAKE_OK"])

    assert app.config["AFTER"][0]["CallSid"] == local.call_sid
    assert transcript.prompts == ["Grazie, arrivederci."]  # the action replaced the document
    assert "[streamed audio 20 ms]" in transcript.said_by("app")
    assert transcript.outcome == "completed"


def test_caller_hanging_up_mid_stream_sends_stop(media_app: tuple[Flask, str],
                                                 tmp_path: Path) -> None:
    app, base_url = media_app
    local = call(base_url, "/voice?ws=/media-wait")
    transcript = local.run([PlayAudio(tone_wav(tmp_path / "t.wav", 0.2)), HangUp()])
    stop = app.config["MESSAGES"][-1]
    assert stop["event"] == "stop"
    assert stop["stop"] == {"accountSid": local.account_sid, "callSid": local.call_sid}
    assert app.config["AFTER"] == []
    assert (transcript.outcome, transcript.hung_up_by) == ("hangup", "caller")


def test_caller_with_nothing_more_to_say_hangs_up_after_the_idle_timeout(
        media_app: tuple[Flask, str]) -> None:
    app, base_url = media_app
    transcript = call(base_url, "/voice?ws=/media-wait", stream_idle_timeout=0.3).run([])
    events = [m["event"] for m in app.config["MESSAGES"]]
    assert events[:2] == ["connected", "start"] and events[-1] == "stop"
    assert "media" in events  # silence was streamed while waiting
    assert transcript.hung_up_by == "caller"


@pytest.mark.slow
def test_spoken_text_is_synthesised_into_the_stream(media_app: tuple[Flask, str]) -> None:
    app, base_url = media_app
    call(base_url).run([SayText("buongiorno, ho un problema con la bolletta"), Press("5")])
    media = [m for m in app.config["MESSAGES"] if m["event"] == "media"]
    audio = b"".join(base64.b64decode(m["media"]["payload"]) for m in media)
    assert len(audio) > 8000  # more than a second of speech
    assert len(set(audio)) > 20  # real speech, not silence


def test_start_stream_forks_the_callers_audio_while_the_document_goes_on(
        media_app: tuple[Flask, str], tmp_path: Path) -> None:
    app, base_url = media_app
    wav = tone_wav(tmp_path / "t.wav", 0.4)
    transcript = call(base_url, "/fork-voice").run([PlayAudio(wav, transcript="la bolletta")])
    assert app.config["AFTER"][0]["SpeechResult"] == "la bolletta"
    events = [m["event"] for m in app.config["FORK"]]
    assert events[0:2] == ["connected", "start"] and events[-1] == "stop"
    assert events.count("media") == 20
    assert transcript.prompts == ["Mi dica.", "Grazie, arrivederci."]


def _playing_client(base_url: str, seconds: int = 1, realtime: bool = False
                    ) -> MediaStreamClient:
    """A stream to /media-play, returned once the server's audio has arrived."""
    stream = Stream(url=base_url.replace("http://", "ws://") + "/media-play",
                    parameters={"seconds": str(seconds)})
    client = MediaStreamClient(stream, account_sid="AC" + "5" * 32, call_sid="CA" + "6" * 32,
                               signer=Signer(TOKEN), realtime=realtime)
    client.open()
    deadline = time.monotonic() + 10
    while not any(m["event"] == "mark" for m in client.received):
        assert time.monotonic() < deadline, "the server's audio never arrived"
        time.sleep(0.01)
    return client


def test_a_mark_is_echoed_when_the_audio_before_it_has_played_not_on_arrival(
        media_app: tuple[Flask, str]) -> None:
    _, base_url = media_app
    client = _playing_client(base_url)
    assert client.echoed_marks == [] and client.playing
    client.send_silence(0.6)  # the stream clock moves with the caller's audio
    assert client.echoed_marks == [] and len(client.audio_played) == 4800
    client.send_silence(0.6)
    assert client.echoed_marks == ["prompt"] and not client.playing
    assert client.mark_times["prompt"] == pytest.approx(1.0, abs=0.021)
    assert len(client.audio_played) == 8000
    assert client.closed.wait(5)  # the server ends the stream when the mark comes back


def test_clear_drops_the_unplayed_audio_and_echoes_the_pending_mark(
        media_app: tuple[Flask, str]) -> None:
    _, base_url = media_app
    client = _playing_client(base_url, seconds=2)
    client.send_silence(0.5)
    client.send_dtmf("1")  # the test server answers a key with `clear`
    assert client.closed.wait(5)
    assert client.clear_times == [pytest.approx(0.5, abs=0.021)]
    assert client.echoed_marks == ["prompt"] and not client.playing
    assert len(client.audio_played) == 4000 and len(client.audio_from_server) == 16000
    assert client.mark_times["prompt"] == pytest.approx(0.5, abs=0.021)


def test_a_real_time_stream_plays_on_the_wall_clock_without_caller_audio(
        media_app: tuple[Flask, str]) -> None:
    _, base_url = media_app
    client = _playing_client(base_url, realtime=True)
    assert client.closed.wait(5)
    assert client.echoed_marks == ["prompt"] and len(client.audio_played) == 8000
    assert client.mark_times["prompt"] >= 1.0
