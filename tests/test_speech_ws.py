"""The /media-stream endpoint end to end: real server, real Korean Vosk model, espeak audio.

Phrases chosen because espeak-ng's Korean voice + this model recognise them under a
grammar (see docs/benchmarks.md, "Speech"): 네, 아니요, 상담원 연결, 바로 연결해 주세요, 환불.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
import websocket
from flask import Flask

from localtwilio.stream import MediaStreamClient
from localtwilio.twiml import Stream
from speech import ws
from speech.media_server import serve_in_thread
from speech.media_stream import PROMPT_MARK, ListenPlan, StreamRefused
from speech.models import ModelRegistry, discover_packages
from speech.recognizer import ListenSettings, Utterance
from tests.audio import noise_ulaw, telephone_ulaw
from tests.speech_streams import TwilioStream, serve

# Every test runs against both transports of /media-stream: the Flask route (speech.ws, the
# embedded `./hotline run`) and the event-loop server (speech.media_server, production).
TRANSPORTS = {"flask": serve, "asyncio": serve_in_thread}

pytestmark = pytest.mark.slow

GRAMMAR = ["네", "아니요", "상담원 연결", "바로 연결해 주세요", "환불"]
FAST = ListenSettings(no_input_seconds=2.0, end_silence_seconds=1.0, max_seconds=12.0)


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    """The real Korean model, loaded once for the module."""
    reg = ModelRegistry(discover_packages())
    reg.get("ko")
    return reg


class Calls:
    """Test flow engine: a fixed plan per call, and a record of what the sink received."""

    def __init__(self, plan: ListenPlan) -> None:
        self.plan = plan
        self.results: dict[str, tuple[dict[str, str], Utterance]] = {}
        self.sink_calls = 0
        self.lock = threading.Lock()

    def listen_plan(self, call_sid: str, params: dict[str, str]) -> ListenPlan:
        return self.plan

    def sink(self, call_sid: str, params: dict[str, str], utterance: Utterance) -> None:
        with self.lock:
            self.sink_calls += 1
            self.results[call_sid] = (params, utterance)


def make_app(registry: ModelRegistry, calls: Calls, **config: Any) -> Flask:
    """A bare speech app; every upgrade accepted (ivr's signature check is tested there)."""
    app = Flask(__name__)
    app.config.update(config)
    app.extensions["speech"] = registry
    app.extensions["speech.listen_plan"] = calls.listen_plan
    app.extensions["speech.result_sink"] = calls.sink
    app.extensions["speech.upgrade_check"] = lambda request: None
    ws.init_app(app)
    return app


@pytest.fixture
def calls() -> Calls:
    return Calls(ListenPlan("ko", GRAMMAR, FAST))


@pytest.fixture(params=sorted(TRANSPORTS))
def serving(request):
    """The function that serves an app's /media-stream, once per transport."""
    return TRANSPORTS[request.param]


@pytest.fixture
def url(registry: ModelRegistry, calls: Calls, serving):
    with serving(make_app(registry, calls)) as address:
        yield address


def wait_for_result(calls: Calls, call_sid: str, timeout: float = 10.0) -> Utterance:
    deadline = time.monotonic() + timeout
    while call_sid not in calls.results:
        assert time.monotonic() < deadline, "result sink was never called"
        time.sleep(0.01)
    return calls.results[call_sid][1]


@pytest.mark.parametrize("phrase", ["네", "아니요", "상담원 연결", "환불"])
def test_answer_is_recognised_handed_to_the_sink_and_the_socket_closed(url, calls, phrase):
    stream = TwilioStream(url, parameters={"step": "ask_reason"})
    stream.start()
    stream.play(telephone_ulaw(phrase, trail_seconds=3.0), speedup=8)
    stream.wait_closed()
    params, utterance = calls.results[stream.call_sid]
    assert params == {"step": "ask_reason"}
    assert (utterance.reason, utterance.text) == ("speech", phrase)
    assert utterance.alternatives[0][0] == phrase
    assert utterance.alternatives[0][1] > 0.3  # the grammar pass's own posterior
    # the fused judgement (speech.hearing) travels with it: espeak's short words often
    # lose to the garbage syllables, and are then to be confirmed, not acted on
    assert 0.0 <= utterance.confidence <= utterance.alternatives[0][1]
    assert utterance.heard == (utterance.doubt == "") and utterance.coverage is not None
    assert calls.sink_calls == 1


def test_real_time_prompt_is_cleared_when_the_caller_barges_in(url, calls):
    calls.plan = ListenPlan("ko", GRAMMAR, FAST, prompt_ulaw=noise_ulaw(3.0, noise=0.3))
    stream = TwilioStream(url)
    stream.start()
    stream.play(telephone_ulaw("아니요", lead_seconds=0.6, trail_seconds=2.5), realtime=True)
    stream.wait_closed()
    assert len(stream.events("media")) == 3  # the 3 s prompt, one message per second
    assert stream.events("mark")[0]["mark"]["name"] == PROMPT_MARK
    assert stream.events("clear") == [{"event": "clear", "streamSid": stream.stream_sid}]
    assert stream.received.index(stream.events("clear")[0]) > 0
    assert wait_for_result(calls, stream.call_sid).text == "아니요"


def test_caller_hanging_up_mid_phrase_reports_hangup_with_the_words_so_far(url, calls):
    audio = telephone_ulaw("바로 연결해 주세요", trail_seconds=0.0)
    stream = TwilioStream(url)
    stream.start()
    stream.play(audio[: int(len(audio) * 0.6)], speedup=8)
    stream.stop()
    stream.wait_closed()
    utterance = wait_for_result(calls, stream.call_sid)
    assert utterance.reason == "hangup"
    assert utterance.text.startswith("바로")
    assert utterance.text != "바로 연결해 주세요"


def test_socket_dropped_without_stop_is_a_hangup(url, calls):
    stream = TwilioStream(url)
    stream.start()
    stream.play(noise_ulaw(0.5), speedup=8)
    stream.ws.close()
    assert wait_for_result(calls, stream.call_sid).reason == "hangup"


def test_caller_who_never_speaks_gets_silence_after_the_no_input_timeout(url, calls):
    stream = TwilioStream(url)
    stream.start()
    stream.play(noise_ulaw(8.0), speedup=8)
    stream.wait_closed()
    utterance = calls.results[stream.call_sid][1]
    assert (utterance.reason, utterance.text) == ("silence", "")
    assert 2.0 <= utterance.duration_seconds < 3.5


def test_garbage_frames_are_logged_and_ignored(url, calls, caplog):
    caplog.set_level(logging.WARNING, logger="speech")
    stream = TwilioStream(url)
    stream.ws.send("{not json")
    stream.ws.send_binary(b"\x00\x01\x02")
    stream.start()
    stream.send_json({"event": "sparkle", "streamSid": stream.stream_sid})
    stream.send_json({"event": "media", "media": {"payload": "***not base64***"}})
    stream.play(telephone_ulaw("네", trail_seconds=3.0), speedup=8)
    stream.wait_closed()
    assert calls.results[stream.call_sid][1].text == "네"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for reason in ("invalid JSON", "binary frame", "unknown event 'sparkle'", "base64"):
        assert reason in logged


def test_stop_without_start_closes_without_reporting(url, calls):
    stream = TwilioStream(url)
    stream.stop()
    stream.wait_closed(timeout=5)
    assert calls.sink_calls == 0


def test_two_simultaneous_calls_share_one_model(url, calls):
    first, second = TwilioStream(url), TwilioStream(url)
    first.start()
    second.start()
    players = [threading.Thread(target=s.play, args=(telephone_ulaw(p, trail_seconds=3.0),),
                                kwargs={"speedup": 4})
               for s, p in ((first, "네"), (second, "상담원 연결"))]
    for player in players:
        player.start()
    for player in players:
        player.join()
    first.wait_closed()
    second.wait_closed()
    assert calls.results[first.call_sid][1].text == "네"
    assert calls.results[second.call_sid][1].text == "상담원 연결"


def test_keypad_press_during_listening_ends_with_the_digit(url, calls):
    stream = TwilioStream(url)
    stream.start()
    stream.play(noise_ulaw(0.5), speedup=8)
    stream.dtmf("2")
    stream.wait_closed()
    utterance = calls.results[stream.call_sid][1]
    assert (utterance.reason, utterance.digits, utterance.text) == ("dtmf", "2", "")


def test_missing_model_reports_an_error_result_so_the_flow_can_use_the_keypad(tmp_path, serving):
    registry = ModelRegistry({"it": str(tmp_path / "no-such-model")})
    calls = Calls(ListenPlan("it", ["sì", "no"], FAST))
    with serving(make_app(registry, calls)) as address:
        stream = TwilioStream(address)
        stream.start()
        stream.play(noise_ulaw(0.5))
        stream.wait_closed()
    assert calls.results[stream.call_sid][1].reason == "error"
    status = registry.status()["it"]
    assert status["ok"] is False and "does not exist" in status["error"]


class Partials:
    """A partial sink recording (call_sid, text, whether the result was known yet)."""

    def __init__(self, calls: Calls) -> None:
        self.calls = calls
        self.seen: list[tuple[str, str, bool]] = []

    def __call__(self, call_sid: str, text: str) -> None:
        self.seen.append((call_sid, text, call_sid in self.calls.results))


def test_partial_words_reach_the_partial_sink_before_the_result(registry, calls, serving):
    app = make_app(registry, calls)
    partials = Partials(calls)
    app.extensions["speech.partial_sink"] = partials
    with serving(app) as address:
        stream = TwilioStream(address)
        stream.start()
        stream.play(telephone_ulaw("상담원 연결", trail_seconds=3.0), realtime=True)
        stream.wait_closed()
    assert wait_for_result(calls, stream.call_sid).text == "상담원 연결"
    assert partials.seen, "no partial result was reported"
    assert all(sid == stream.call_sid and not done for sid, _, done in partials.seen)
    texts = [text for _, text, _ in partials.seen]
    assert len(set(texts)) == len(texts)  # only changes are reported
    assert "상담원" in texts[-1]


def test_partial_reports_are_rate_limited_and_a_failing_sink_is_survived(caplog):
    now = [0.0]
    got: list[str] = []

    def sink(call_sid: str, text: str) -> None:
        got.append(text)
        if text == "c":
            raise RuntimeError("page gone")

    reporter = ws.PartialReporter(sink, interval=0.25, clock=lambda: now[0])
    for at, text in [(0.0, "a"), (0.1, "b"), (0.2, "b"), (0.3, "b"), (0.35, "c"),
                     (0.6, ""), (0.7, "c"), (0.8, "d"), (1.0, "d")]:
        now[0] = at
        reporter.update("CA1", text)
    assert got == ["a", "b", "c", "d"]
    assert "partial sink failed" in caplog.text


# ---------------------------------------------------------------- who may stream, and bounds
def _stand_in_stream(address: str, parameters: dict[str, str] | None = None) -> MediaStreamClient:
    """The local Twilio stand-in's side of a stream to `address`, opened (connected+start)."""
    client = MediaStreamClient(Stream(url=address, parameters=parameters or {}),
                               account_sid="AC" + "0" * 32, call_sid="CA" + "7" * 32)
    client.open()
    return client


def test_without_an_upgrade_check_every_stream_is_refused(registry, calls, serving):
    app = make_app(registry, calls)
    del app.extensions["speech.upgrade_check"]
    with serving(app) as address:
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(address, timeout=5)
    assert refused.value.status_code == 403


def test_a_stream_the_plan_provider_refuses_is_closed_and_nothing_is_reported(
        registry, calls, caplog, serving):
    caplog.set_level(logging.WARNING, logger="speech")

    def refuse(call_sid: str, params: dict[str, str]) -> ListenPlan:
        raise StreamRefused(f"call {call_sid} is not waiting at step 'menu'")

    app = make_app(registry, calls)
    app.extensions["speech.listen_plan"] = refuse
    with serving(app) as address:
        client = _stand_in_stream(address, {"step": "menu"})
        assert client.closed.wait(5), "the refused stream was left open"
    time.sleep(0.2)
    assert calls.sink_calls == 0
    assert "media stream refused: call CA777" in caplog.text
    assert "not waiting at step 'menu'" in caplog.text


def test_refusals_are_logged_at_most_once_per_interval_with_a_count(caplog):
    caplog.set_level(logging.WARNING, logger="speech")
    now = [0.0]
    refusals = ws.RefusalLog(interval=10.0, clock=lambda: now[0])
    for at in (0.0, 1.0, 2.0, 3.0, 10.5, 11.0):
        now[0] = at
        refusals.refused("upgrade from 192.0.2.1", "missing or forged X-Twilio-Signature")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert "(3 more refused since the last report)" in lines[1]


def test_a_message_over_the_size_limit_closes_the_socket(registry, calls, serving):
    with serving(make_app(registry, calls)) as address:
        client = _stand_in_stream(address)
        client.send_raw(json.dumps({"event": "media", "media": {
            "payload": "A" * (ws.MAX_MESSAGE_BYTES + 1)}}))
        assert client.closed.wait(5), "a message over MAX_MESSAGE_BYTES was accepted"
    assert wait_for_result(calls, client.call_sid).reason == "hangup"


def test_a_stream_without_frames_is_ended_with_a_timeout_and_closed(registry, calls, serving,
                                                                    caplog):
    # Which bound closed it is read from the log, not from a stopwatch (timings: bench/).
    with serving(make_app(registry, calls, STREAM_IDLE_SECONDS=1.0)) as address:
        client = _stand_in_stream(address)
        client.send_silence(0.2)
        assert client.closed.wait(5), "an idle stream was left open"
    assert wait_for_result(calls, client.call_sid).reason == "timeout"
    closing = [r.getMessage() for r in caplog.records if "closing it" in r.getMessage()]
    assert closing == ["media stream idle for 1 s: closing it"]


def test_a_stream_trickling_frames_is_ended_at_the_maximum_duration(registry, calls, serving,
                                                                     caplog):
    config = {"STREAM_IDLE_SECONDS": 1.0, "STREAM_MAX_SECONDS": 2.0}
    with serving(make_app(registry, calls, **config)) as address:
        client = _stand_in_stream(address)
        started = time.monotonic()
        while not client.closed.wait(0.5):  # one 20 ms frame every 0.5 s: never idle
            client.send_silence(0.02)
            assert time.monotonic() - started < 6, "a trickling stream was never closed"
    assert wait_for_result(calls, client.call_sid).reason == "timeout"
    closing = [r.getMessage() for r in caplog.records if "closing it" in r.getMessage()]
    assert closing == ["media stream open too long: closing it"]


def test_a_socket_that_never_starts_is_closed_after_the_idle_timeout(registry, calls, serving):
    with serving(make_app(registry, calls, STREAM_IDLE_SECONDS=0.5)) as address:
        quiet = websocket.create_connection(address, timeout=5)
        opcode, _ = quiet.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert calls.sink_calls == 0


def test_the_server_pings_the_peer(registry, calls, serving):
    with serving(make_app(registry, calls, STREAM_PING_SECONDS=0.3)) as address:
        peer = websocket.create_connection(address, timeout=3)
        opcode, _ = peer.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_PING
        peer.close()


CHILD = """
import sys
from flask import Flask
from speech import ws
from speech.media_server import serve_in_thread
from speech.media_stream import ListenPlan
from speech.models import ModelRegistry, discover_packages
from speech.recognizer import ListenSettings
from werkzeug.serving import make_server

registry = ModelRegistry(discover_packages())
registry.get("ko")
app = Flask("child")
app.extensions.update({
    "speech": registry, "speech.upgrade_check": lambda request: None,
    "speech.listen_plan": lambda sid, p: ListenPlan("ko", ["네"], ListenSettings()),
    "speech.result_sink": lambda sid, p, u: print("result", sid, u.reason, flush=True)})
if sys.argv[1] == "asyncio":
    from speech.media_server import serve_in_thread
    with serve_in_thread(app) as url:
        print(url.split(":")[2].split("/")[0], flush=True)
        sys.stdin.read()
ws.init_app(app)
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


@pytest.mark.parametrize("transport", sorted(TRANSPORTS))
def test_a_start_frame_with_a_negative_sample_rate_does_not_take_the_process_down(transport):
    """It used to reach Kaldi, whose assertion aborts the whole web process (or, fed 20 ms
    frames, the recogniser spun forever on a chunk of -800 bytes, holding its thread)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.Popen([sys.executable, "-c", CHILD, transport], cwd=root, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    try:
        assert child.stdout is not None
        address = f"ws://127.0.0.1:{int(child.stdout.readline())}/media-stream"
        attacker = TwilioStream(address)
        attacker.send_json({"event": "start", "start": {
            "accountSid": "AC" + "0" * 32, "streamSid": attacker.stream_sid,
            "callSid": attacker.call_sid, "tracks": ["inbound"], "customParameters": {},
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": -8000,
                            "channels": 1}}})
        attacker.media(b"\xff" * 1600)  # 200 ms: Kaldi's assertion fires at once
        attacker.play(noise_ulaw(0.2))  # 20 ms frames: the decoder loop never ends
        time.sleep(0.5)
        assert child.poll() is None, f"the server process died ({child.returncode})"
        caller = _stand_in_stream(address)
        caller.send_dtmf("1")
        assert caller.closed.wait(10)
        assert child.stdout.readline().split() == ["result", caller.call_sid, "dtmf"]
    finally:
        child.kill()
        child.wait()


def test_a_flood_of_malformed_frames_logs_a_few_lines_not_one_each(url, calls, caplog):
    caplog.set_level(logging.WARNING, logger="speech")
    stream = TwilioStream(url)
    for _ in range(500):
        stream.ws.send("{not json")
    stream.start()
    stream.play(telephone_ulaw("네", trail_seconds=3.0), speedup=8)
    stream.wait_closed()
    assert calls.results[stream.call_sid][1].text == "네"
    ignored = [r for r in caplog.records if "frame ignored" in r.getMessage()]
    assert 1 <= len(ignored) <= 11
