"""The pure TwiML builders: elements and attributes, parsed with ElementTree."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ivr.twiml import Hangup, Listen, RecordMessage, Speak, Transfer, apology, render

ACTION = "http://hotline.test/voice/step/CA1/ask_need/0"


def parse(verbs: list) -> ET.Element:
    root = ET.fromstring(render(verbs))
    assert root.tag == "Response"
    return root


def test_gather_listens_to_speech_and_keys_with_the_prompt_inside() -> None:
    root = parse([Speak("Buongiorno", "it-IT"),
                  Listen(ACTION, [Speak("Mi dica", "it-IT")], timeout=7, language="it-IT",
                         hints=["bolletta", "guasto"])])
    assert [child.tag for child in root] == ["Say", "Gather", "Redirect"]
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("input") == "speech dtmf"
    assert gather.get("action") == ACTION and gather.get("method") == "POST"
    assert gather.get("timeout") == "7" and gather.get("numDigits") == "1"
    assert gather.get("actionOnEmptyResult") == "true"
    assert gather.get("hints") == "bolletta, guasto"
    assert gather.find("Say").text == "Mi dica"
    assert gather.find("Say").get("language") == "it-IT"
    assert root.find("Redirect").text == ACTION


def test_phone_number_gather_takes_many_digits_until_hash() -> None:
    gather = parse([Listen(ACTION, [Speak("Il numero?", "it-IT")], num_digits=None)]).find(
        "Gather")
    assert gather.get("numDigits") is None and gather.get("finishOnKey") == "#"


def test_stream_mode_connects_the_media_stream_with_the_step_as_parameters() -> None:
    root = parse([Listen(ACTION, [Speak("Mi dica", "it-IT")], mode="stream",
                         stream_url="wss://hotline.test/media-stream",
                         parameters={"call": "CA1", "step": "ask_need", "attempt": "0"})])
    assert [child.tag for child in root] == ["Say", "Connect"]
    connect = root.find("Connect")
    assert connect.get("action") == ACTION
    stream = connect.find("Stream")
    assert stream.get("url") == "wss://hotline.test/media-stream"
    assert {p.get("name"): p.get("value") for p in stream.findall("Parameter")} == {
        "call": "CA1", "step": "ask_need", "attempt": "0"}


def test_slow_speech_uses_ssml_prosody_and_a_pause() -> None:
    root = parse([Speak("Piano", "it-IT", voice="Polly.Bianca-Neural", rate="85%",
                        pause_after=1)])
    assert root.find("Say").get("voice") == "Polly.Bianca-Neural"
    prosody = root.find("Say/prosody")
    assert prosody is not None and prosody.get("rate") == "85%" and prosody.text == "Piano"
    assert root.find("Pause").get("length") == "1"


@pytest.mark.parametrize("voice", [None, "man", "woman", "alice"])
def test_basic_voices_get_plain_text_never_ssml(voice: str | None) -> None:
    root = parse([Speak("Slowly", "en-GB", voice=voice, rate="85%", pause_after=1)])
    assert root.find("Say/prosody") is None and root.find("Say").text == "Slowly"
    assert root.find("Pause").get("length") == "1"  # the pause still gives them time


def test_transfer_dials_the_number_and_reports_to_the_action() -> None:
    root = parse([Transfer("+390299999999", ACTION, timeout=20, caller_id="+390200000000")])
    dial = root.find("Dial")
    assert dial.get("action") == ACTION and dial.get("timeout") == "20"
    assert dial.get("callerId") == "+390200000000"
    assert dial.find("Number").text == "+390299999999"


def test_record_and_hangup() -> None:
    root = parse([RecordMessage(ACTION, max_length=60), Hangup()])
    assert root.find("Record").get("maxLength") == "60"
    assert root.find("Record").get("playBeep") == "true"
    assert root[-1].tag == "Hangup"


def test_an_empty_recording_falls_through_to_a_redirect_to_the_action() -> None:
    root = parse([RecordMessage(ACTION)])
    assert [child.tag for child in root] == ["Record", "Redirect"]
    assert root.find("Redirect").text == ACTION
    assert root.find("Redirect").get("method") == "POST"


def test_apology_transfers_to_the_fallback_number_when_there_is_one() -> None:
    root = ET.fromstring(apology("Ci scusi", "it-IT", "+390299999999"))
    assert [child.tag for child in root] == ["Say", "Dial", "Hangup"]
    assert root.find("Dial/Number").text == "+390299999999"
    assert root.find("Dial").get("action") is None
    root = ET.fromstring(apology("Ci scusi", "it-IT", None))
    assert [child.tag for child in root] == ["Say", "Hangup"]
