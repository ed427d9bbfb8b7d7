"""TwiML parsing: documents built with twilio.twiml.voice_response come back as verbs."""

from __future__ import annotations

import pytest
from twilio.twiml.voice_response import Connect, Dial, Gather, Start, VoiceResponse

from localtwilio import twiml as tw


def test_gather_attributes_and_nested_prompts_are_read() -> None:
    r = VoiceResponse()
    gather = Gather(input="speech dtmf", action="/next", method="GET", timeout=7,
                    speech_timeout="auto", num_digits=2, finish_on_key="*", language="it-IT",
                    hints="bolletta, guasto", action_on_empty_result=True)
    gather.say("Mi dica", language="it-IT", loop=2)
    gather.pause(length=2)
    gather.play("http://x.test/beep.wav")
    r.append(gather)
    [verb] = tw.parse_twiml(str(r))
    assert isinstance(verb, tw.Gather)
    assert verb.input == {"speech", "dtmf"}
    assert (verb.action, verb.method, verb.timeout, verb.speech_timeout) == (
        "/next", "GET", 7, "auto")
    assert (verb.num_digits, verb.finish_on_key, verb.language) == (2, "*", "it-IT")
    assert verb.hints == ("bolletta", "guasto") and verb.action_on_empty_result
    assert verb.children == (tw.Say("Mi dica", None, "it-IT", 2), tw.Pause(2),
                             tw.Play("http://x.test/beep.wav"))


def test_defaults_follow_twilio() -> None:
    r = VoiceResponse()
    r.gather()
    r.say("hi")
    r.record()
    r.dial("+390212345678")
    gather, say, record, dial = tw.parse_twiml(str(r))
    assert gather == tw.Gather()
    assert gather.input == {"dtmf"} and gather.finish_on_key == "#" and gather.timeout == 5
    assert say == tw.Say("hi", None, "en-US", 1)
    assert record == tw.Record() and record.play_beep and record.max_length == 3600
    assert isinstance(dial, tw.Dial) and dial.timeout == 30
    assert dial.targets == (tw.DialTarget("number", "+390212345678"),)


def test_dial_numbers_clients_and_callbacks() -> None:
    r = VoiceResponse()
    dial = Dial(action="/done", caller_id="+390200000000", timeout=12, record="record-from-answer")
    dial.number("+393331112222", status_callback="/leg", status_callback_event="ringing answered")
    dial.client("agent-7")
    r.append(dial)
    [verb] = tw.parse_twiml(str(r))
    assert isinstance(verb, tw.Dial)
    assert (verb.action, verb.caller_id, verb.timeout, verb.record) == (
        "/done", "+390200000000", 12, "record-from-answer")
    number, client = verb.targets
    assert (number.kind, number.value, number.status_callback) == ("number", "+393331112222",
                                                                  "/leg")
    assert number.status_callback_event == ("ringing", "answered")
    assert (client.kind, client.value) == ("client", "agent-7")


def test_connect_and_start_streams_with_parameters() -> None:
    r = VoiceResponse()
    connect = Connect(action="/after")
    stream = connect.stream(url="wss://h.test/media", name="asr")
    stream.parameter(name="flow", value="main")
    r.append(connect)
    start = Start()
    start.stream(url="wss://h.test/fork", track="both_tracks")
    r.append(start)
    r.stop().stream(name="asr")
    connect_verb, start_verb, stop_verb = tw.parse_twiml(str(r))
    assert isinstance(connect_verb, tw.Connect) and connect_verb.action == "/after"
    assert connect_verb.stream == tw.Stream("wss://h.test/media", "asr", "inbound_track",
                                            {"flow": "main"})
    assert isinstance(start_verb, tw.Start) and start_verb.stream.track == "both_tracks"
    assert stop_verb == tw.StopStream("asr")


def test_redirect_hangup_reject() -> None:
    r = VoiceResponse()
    r.redirect("/again", method="GET")
    r.hangup()
    r.reject(reason="busy")
    assert tw.parse_twiml(str(r)) == [tw.Redirect("/again", "GET"), tw.Hangup(),
                                      tw.Reject("busy")]


@pytest.mark.parametrize("build", [
    lambda r: r.enqueue("support"), lambda r: r.leave(), lambda r: r.pay(),
])
def test_known_but_unsimulated_verbs_are_reported_unsupported(build) -> None:  # type: ignore[no-untyped-def]
    r = VoiceResponse()
    build(r)
    [verb] = tw.parse_twiml(str(r))
    assert isinstance(verb, tw.Unsupported)


@pytest.mark.parametrize(("document", "code"), [
    ("<Response><Say>unclosed", 12100),
    ("not xml at all", 12100),
    ("<Document><Say>hi</Say></Document>", 12200),
    ("<Response><Dance/></Response>", 12200),
    ("<Response><Gather><Dial>1</Dial></Gather></Response>", 12200),
    ("<Response><Pause length='x'/></Response>", 12200),
])
def test_invalid_documents_raise_with_twilio_error_codes(document: str, code: int) -> None:
    with pytest.raises(tw.TwimlError) as failure:
        tw.parse_twiml(document)
    assert failure.value.code == code


def test_ssml_inside_say_is_read_as_words_with_its_prosody_rate() -> None:
    r = VoiceResponse()
    say = r.say(voice="Polly.Bianca-Neural", language="it-IT")
    say.prosody("Parlo piano.", rate="85%")
    [verb] = tw.parse_twiml(str(r))
    assert isinstance(verb, tw.Say)
    assert (verb.text, verb.voice, verb.rate, verb.ssml) == (
        "Parlo piano.", "Polly.Bianca-Neural", "85%", ("prosody",))
