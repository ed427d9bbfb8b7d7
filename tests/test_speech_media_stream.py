"""Media Streams events parsed exactly as Twilio documents them; session logic offline."""

from __future__ import annotations

import base64
import json

import pytest

from speech.media_stream import (
    PROMPT_MARK,
    Connected,
    Dtmf,
    ListenPlan,
    Mark,
    Media,
    ProtocolError,
    Start,
    Stop,
    StreamSession,
    clear_message,
    media_messages,
    parse_event,
)
from speech.models import ModelRegistry
from speech.recognizer import ListenSettings

START = {"event": "start", "sequenceNumber": "1", "streamSid": "MZ1",
         "start": {"accountSid": "AC1", "streamSid": "MZ1", "callSid": "CA1",
                   "tracks": ["inbound"], "customParameters": {"step": "menu"},
                   "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                   "channels": 1}}}


def test_every_documented_event_parses():
    assert parse_event(json.dumps({"event": "connected", "protocol": "Call",
                                   "version": "1.0.0"})) == Connected("Call")
    assert parse_event(json.dumps(START)) == Start("MZ1", "CA1", ["inbound"], {"step": "menu"},
                                                   "audio/x-mulaw", 8000)
    payload = base64.b64encode(b"\xff" * 160).decode()
    assert parse_event(json.dumps({"event": "media", "streamSid": "MZ1", "media": {
        "track": "inbound", "chunk": "2", "timestamp": "20", "payload": payload}})) == \
        Media("inbound", b"\xff" * 160)
    assert parse_event('{"event":"mark","streamSid":"MZ1","mark":{"name":"x"}}') == Mark("x")
    assert parse_event('{"event":"dtmf","dtmf":{"track":"inbound_track","digit":"5"}}') == \
        Dtmf("5")
    assert parse_event('{"event":"stop","stop":{"accountSid":"AC1","callSid":"CA1"}}') == \
        Stop("CA1")


@pytest.mark.parametrize("frame", [
    "{oops", "[1, 2]", '{"event": "party"}', b"\x00\x01",
    '{"event": "media", "media": {"payload": "@@@"}}', '{"event": "media"}',
    '{"event": "start", "start": {"streamSid": "MZ1"}}'])
def test_malformed_frames_raise_protocol_error(frame):
    with pytest.raises(ProtocolError):
        parse_event(frame)


def test_outbound_messages_follow_the_bidirectional_protocol():
    messages = [json.loads(m) for m in media_messages("MZ1", b"\x7f" * 12000)]
    assert [len(base64.b64decode(m["media"]["payload"])) for m in messages] == [8000, 4000]
    assert all(m["event"] == "media" and m["streamSid"] == "MZ1" for m in messages)
    assert json.loads(clear_message("MZ1")) == {"event": "clear", "streamSid": "MZ1"}


def test_session_with_an_unconfigured_language_ends_with_an_error_result():
    session = StreamSession(lambda sid, p: ListenPlan("fr", None, ListenSettings()),
                            ModelRegistry({}))
    assert session.handle(parse_event(json.dumps(START))) == []
    assert session.done and session.result is not None and session.result.reason == "error"


def test_session_ignores_media_before_start_and_stop_without_start_reports_nothing():
    session = StreamSession(lambda sid, p: ListenPlan("ko", None, ListenSettings()),
                            ModelRegistry({}))
    assert session.handle(Media("inbound", b"\xff" * 160)) == []
    session.handle(Stop(""))
    assert session.result is None and session.start is None


@pytest.mark.slow
def test_session_plays_the_prompt_then_marks_its_end():
    from speech.models import discover_packages

    plan = ListenPlan("ko", ["네"], ListenSettings(), prompt_ulaw=b"\xff" * 8000)
    session = StreamSession(lambda sid, p: plan, ModelRegistry(discover_packages()))
    replies = [json.loads(m) for m in session.handle(parse_event(json.dumps(START)))]
    assert [m["event"] for m in replies] == ["media", "mark"]
    assert replies[1]["mark"]["name"] == PROMPT_MARK
    assert session.handle(Dtmf("1")) == [clear_message("MZ1")]
    assert session.result is not None and session.result.digits == "1"
