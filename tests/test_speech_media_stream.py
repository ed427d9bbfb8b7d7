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

AC, CA, MZ = "AC" + "a1" * 16, "CA" + "c1" * 16, "MZ" + "f1" * 16
START = {"event": "start", "sequenceNumber": "1", "streamSid": MZ,
         "start": {"accountSid": AC, "streamSid": MZ, "callSid": CA,
                   "tracks": ["inbound"], "customParameters": {"step": "menu"},
                   "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000,
                                   "channels": 1}}}


def test_every_documented_event_parses():
    assert parse_event(json.dumps({"event": "connected", "protocol": "Call",
                                   "version": "1.0.0"})) == Connected("Call")
    assert parse_event(json.dumps(START)) == Start(MZ, CA, ["inbound"], {"step": "menu"},
                                                   "audio/x-mulaw", 8000)
    payload = base64.b64encode(b"\xff" * 160).decode()
    media = parse_event(json.dumps({"event": "media", "sequenceNumber": "2", "streamSid": MZ,
                                    "media": {"track": "inbound", "chunk": "2",
                                              "timestamp": "20", "payload": payload}}))
    assert media == Media("inbound", b"\xff" * 160) and media.stream_sid == MZ
    assert parse_event(json.dumps({"event": "mark", "streamSid": MZ,
                                   "mark": {"name": "x"}})) == Mark("x")
    assert parse_event('{"event":"dtmf","dtmf":{"track":"inbound_track","digit":"5"}}') == \
        Dtmf("5")
    assert parse_event(json.dumps({"event": "stop", "stop": {"accountSid": AC,
                                                             "callSid": CA}})) == Stop(CA)


@pytest.mark.parametrize("frame", [
    "{oops", "[1, 2]", '{"event": "party"}', b"\x00\x01",
    '{"event": "media", "media": {"payload": "@@@"}}', '{"event": "media"}',
    '{"event": "start", "start": {"streamSid": "MZ1"}}'])
def test_malformed_frames_raise_protocol_error(frame):
    with pytest.raises(ProtocolError):
        parse_event(frame)


def _start(**changes: object) -> str:
    """START with fields of its `start` (or, dotted, of `start.mediaFormat`) changed."""
    frame = json.loads(json.dumps(START))
    for key, value in changes.items():
        section = frame["start"]
        if key.startswith("format_"):
            section, key = section["mediaFormat"], key[len("format_"):]
        if value is ...:
            del section[key]
        else:
            section[key] = value
    return json.dumps(frame)


def _media(**changes: object) -> str:
    media = {"track": "inbound", "chunk": "1", "timestamp": "0",
             "payload": base64.b64encode(b"\xff" * 160).decode()}
    media.update(changes)  # type: ignore[arg-type]
    return json.dumps({"event": "media", "streamSid": MZ, "media": media})


@pytest.mark.parametrize("frame", [
    # the start frame that aborted the process (a Kaldi assertion), and its relatives
    _start(format_sampleRate=-8000), _start(format_sampleRate=16000),
    _start(format_sampleRate="8000"), _start(format_sampleRate=8000.5),
    _start(format_sampleRate=10 ** 30), _start(format_sampleRate=None),
    _start(format_encoding="audio/l16"), _start(format_encoding=...),
    _start(format_channels=2), _start(format_channels=True), _start(mediaFormat=...),
    _start(mediaFormat="8000"),
    _start(callSid="CA1"), _start(callSid=7), _start(callSid="CA" + "z" * 32),
    _start(streamSid="MZ" + "0" * 31), _start(accountSid=None),
    _start(tracks="inbound"), _start(tracks=[]), _start(tracks=["sideways"]),
    _start(tracks=["inbound"] * 3),
    _start(customParameters={"step": 1}), _start(customParameters=["step"]),
    _start(customParameters={f"p{i}": "x" for i in range(21)}),
    _start(customParameters={"step": "x" * 501}),
    json.dumps({**START, "sequenceNumber": -1}), json.dumps({**START, "sequenceNumber": "x"}),
    json.dumps({**START, "streamSid": "MZ" + "0" * 32}),
    _media(payload=""), _media(payload="/w" * 2000), _media(payload=123),
    _media(track="sideways"), _media(chunk=5), _media(timestamp="-20"),
    json.dumps({"event": "dtmf", "dtmf": {"digit": "55"}}),
    json.dumps({"event": "dtmf", "dtmf": {"digit": "x"}}),
    json.dumps({"event": "dtmf", "dtmf": {"digit": 5}}),
    json.dumps({"event": "mark", "mark": {"name": 5}}),
    json.dumps({"event": "mark", "mark": {"name": "x" * 300}}),
    json.dumps({"event": "stop", "stop": {"callSid": "nope"}}),
    json.dumps({"event": "stop"}), json.dumps({"event": ["start"]}),
    "[" * 100_000, " " * 20_000 + "{}",
])
def test_every_field_of_every_frame_is_checked(frame: str) -> None:
    with pytest.raises(ProtocolError):
        parse_event(frame)


class UntouchableRegistry(ModelRegistry):
    """A model registry that fails the test if anything asks it for a model."""

    def __init__(self) -> None:
        super().__init__({})

    def get(self, lang: str):  # type: ignore[override]
        raise AssertionError("Vosk was reached")


def test_a_bad_start_frame_is_rejected_before_the_session_or_vosk_see_it() -> None:
    session = StreamSession(lambda sid, p: ListenPlan("ko", None, ListenSettings()),
                            UntouchableRegistry())
    with pytest.raises(ProtocolError, match="sampleRate"):
        session.handle(parse_event(_start(format_sampleRate=-8000)))
    assert session.start is None and not session.done


def test_frames_of_another_stream_are_ignored() -> None:
    session = StreamSession(lambda sid, p: ListenPlan("fr", None, ListenSettings()),
                            ModelRegistry({}))
    session.start = parse_event(json.dumps(START))  # type: ignore[assignment]
    assert session.handle(Stop(CA, stream_sid="MZ" + "0" * 32)) == []
    assert not session.done
    session.handle(Stop(CA, stream_sid=MZ))
    assert session.done


def test_outbound_messages_follow_the_bidirectional_protocol():
    messages = [json.loads(m) for m in media_messages(MZ, b"\x7f" * 12000)]
    assert [len(base64.b64decode(m["media"]["payload"])) for m in messages] == [8000, 4000]
    assert all(m["event"] == "media" and m["streamSid"] == MZ for m in messages)
    assert json.loads(clear_message(MZ)) == {"event": "clear", "streamSid": MZ}


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
    assert session.handle(Dtmf("1")) == [clear_message(MZ)]
    assert session.result is not None and session.result.digits == "1"


@pytest.mark.slow
def test_an_open_language_is_heard_by_a_recogniser_per_language_and_the_own_words_win():
    """The call is in "en", the caller speaks Korean: the same audio goes to a second
    recogniser ("ko", with its phrases), and its transcript, which reads as Korean, is the
    answer, marked with its language. (Only the Korean model is installable here, so it
    stands behind both languages; the English one hears Korean sounds, no English word.)"""
    from speech.models import discover_packages
    from tests.audio import frames, telephone_ulaw

    korean = discover_packages()["ko"]
    plan = ListenPlan("en", None, ListenSettings(),
                      also={"ko": ["환불", "상담원 연결", "네", "아니요"]},
                      vocabularies={"ko": frozenset({"환불", "상담원", "연결", "네", "아니요"}),
                                    "en": frozenset({"refund", "agent", "yes", "no"})})
    session = StreamSession(lambda sid, p: plan, ModelRegistry({"en": korean, "ko": korean}))
    session.handle(parse_event(json.dumps(START)))
    for frame in frames(telephone_ulaw("환불", trail_seconds=2.0)):
        session.handle(Media("inbound", frame))
        if session.done:
            break
    session.hangup()
    assert session.result is not None
    assert session.result.lang == "ko" and session.result.text == "환불"
