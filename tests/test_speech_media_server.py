"""speech.media_server against peers that misbehave: floods of tiny frames and peers that
stop reading are bounded, logged, and leave the other calls alone. (Everything the Flask
route is tested for runs against this server too, in tests/test_speech_ws.py.)"""

from __future__ import annotations

import logging
import socket
import threading

import pytest

from speech.media_server import serve_in_thread
from speech.media_stream import ListenPlan
from speech.models import ModelRegistry, discover_packages
from tests.audio import telephone_ulaw
from tests.speech_streams import TwilioStream
from tests.test_speech_ws import FAST, GRAMMAR, Calls, make_app, wait_for_result

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    """The real Korean model, loaded once for the module."""
    reg = ModelRegistry(discover_packages())
    reg.get("ko")
    return reg


def _speak(url: str, phrase: str) -> TwilioStream:
    stream = TwilioStream(url)
    stream.start()
    stream.play(telephone_ulaw(phrase, trail_seconds=3.0), speedup=4)
    stream.wait_closed()
    return stream


def test_a_flood_of_tiny_frames_is_slowed_down_and_other_calls_are_heard(registry, caplog):
    caplog.set_level(logging.WARNING, logger="speech")
    calls = Calls(ListenPlan("ko", GRAMMAR, FAST))
    with serve_in_thread(make_app(registry, calls)) as url:
        flood = TwilioStream(url)
        flood.start()

        def flooding() -> None:
            for _ in range(4000):  # 1-byte frames, as fast as the socket takes them
                try:
                    flood.media(b"\xff")
                except Exception:
                    return

        flooder = threading.Thread(target=flooding)
        flooder.start()
        caller = _speak(url, "아니요")
        flooder.join()
        flood.ws.close()
    assert calls.results[caller.call_sid][1].text == "아니요"
    assert "frames a second: slowing it down" in caplog.text


def test_a_peer_that_stops_reading_is_dropped_and_other_calls_are_heard(registry, caplog):
    caplog.set_level(logging.WARNING, logger="speech")
    # a prompt far larger than the socket buffers, to a peer that never reads
    deaf_sid = "CA" + "d" * 32
    calls = Calls(ListenPlan("ko", GRAMMAR, FAST))
    plain = calls.listen_plan
    calls.listen_plan = lambda sid, params: (  # type: ignore[method-assign]
        ListenPlan("ko", GRAMMAR, FAST, prompt_ulaw=b"\xff" * 8000 * 300)
        if sid == deaf_sid else plain(sid, params))
    with serve_in_thread(make_app(registry, calls), send_timeout=1.0) as url:
        deaf = TwilioStream(url, call_sid=deaf_sid,
                            sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),))
        deaf.start()
        caller = _speak(url, "환불")
        wait_for_result(calls, deaf.call_sid)
    assert calls.results[caller.call_sid][1].text == "환불"
    assert calls.results[deaf.call_sid][1].reason == "hangup"
    assert "has not taken our replies" in caplog.text


def test_audio_from_a_socket_that_never_starts_is_dropped_with_one_log_line(registry, caplog):
    caplog.set_level(logging.WARNING, logger="speech")
    calls = Calls(ListenPlan("ko", GRAMMAR, FAST))
    with serve_in_thread(make_app(registry, calls, STREAM_IDLE_SECONDS=1.0)) as url:
        quiet = TwilioStream(url)
        for _ in range(500):
            quiet.media(b"\xff" * 160)
        quiet.wait_closed(timeout=10)  # closed at the idle limit
    assert calls.sink_calls == 0
    assert caplog.text.count("audio before start ignored") == 1
