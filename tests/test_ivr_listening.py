"""Stream mode: the engine's listen plans and result sink for the speech WebSocket."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from callbacks.models import CallbackRequest
from ivr.models import Call, CallEvent
from speech.media_stream import StreamRefused
from speech.recognizer import Utterance
from tests.ivr_support import CALLER, HOTLINE, hotline, signed_post, twiml

SID = "CA" + "b" * 32
START = {"CallSid": SID, "From": CALLER, "To": HOTLINE, "CallStatus": "ringing"}


def _stream_call(make_app: Any, from_: str = CALLER) -> tuple[Any, Any, Any]:
    app = hotline(make_app, SPEECH_INPUT="stream")
    client = app.test_client()
    root = twiml(signed_post(client, "/voice/incoming", {**START, "From": from_}).data)
    return app, client, root


def test_stream_mode_connects_the_media_stream_for_the_question(make_app: Any) -> None:
    _, _, root = _stream_call(make_app)
    connect = root.find("Connect")
    assert connect is not None and root.find("Gather") is None
    assert connect.get("action") == f"http://hotline.test/voice/step/{SID}/ask_need/0"
    stream = connect.find("Stream")
    assert stream.get("url") == "ws://hotline.test/media-stream"
    parameters = {p.get("name"): p.get("value") for p in stream.findall("Parameter")}
    assert parameters == {"call": SID, "step": "ask_need", "attempt": "0",
                          "expecting": "intent"}


def test_listen_plan_uses_the_flow_phrases_and_the_call_language(make_app: Any) -> None:
    app, _, root = _stream_call(make_app)
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    plan = app.extensions["speech.listen_plan"](SID, parameters)
    assert plan.lang == "it"
    assert "bolletta" in plan.phrases and "operatore" in plan.phrases
    assert plan.settings.patience == 1.0 and plan.settings.max_digits == 1
    assert plan.settings.first_word_pause_seconds is None  # a lone "네" ends as quickly


def test_listen_plan_is_more_patient_with_callers_not_digital(make_app: Any,
                                                              session: Any) -> None:
    app, _, _ = _stream_call(make_app)
    call = session.scalar(select(Call))
    call.not_digital = True
    call.current_step = "callback_number.ask"
    session.commit()
    plan = app.extensions["speech.listen_plan"](SID, {"call": SID, "step": "callback_number.ask",
                                                      "attempt": "0", "expecting": "phone"})
    assert plan.settings.patience > 1.0 and plan.settings.max_digits == 15
    # a slow caller's first word may be heard as a one-word answer: wait for the rest
    assert plan.settings.first_word_pause_seconds is not None
    assert plan.settings.first_word_pause_seconds > plan.settings.complete_pause_seconds
    assert "tre" in plan.phrases


def test_stored_utterance_drives_the_connect_action(make_app: Any, session: Any) -> None:
    app, client, root = _stream_call(make_app)
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    words = "ho un problema con la bolletta"
    app.extensions["speech.result_sink"](
        SID, parameters, Utterance(words, 0.81, [(words, 0.81)], "speech",
                                   duration_seconds=2.4))
    reply = signed_post(client, f"/voice/step/{SID}/ask_need/0", START)
    root = twiml(reply.data)
    assert "la bolletta" in root.find("Say").text  # the callback offer names the need
    event = session.scalar(select(CallEvent).where(CallEvent.step == "ask_need"))
    assert event.words == words and event.source == "vosk" and event.asr_confidence == 0.81
    assert event.intent == "billing" and event.detail["reason"] == "speech"


def test_keys_pressed_during_the_stream_are_an_answer(make_app: Any, session: Any) -> None:
    app, client, root = _stream_call(make_app)
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    app.extensions["speech.result_sink"](SID, parameters,
                                         Utterance("", 0.0, [], "dtmf", digits="2"))
    signed_post(client, f"/voice/step/{SID}/ask_need/0", START)
    session.expire_all()
    assert session.scalar(select(Call)).intent == "payment"


def test_words_arriving_after_the_hang_up_still_book_a_callback(make_app: Any,
                                                                session: Any) -> None:
    app, client, root = _stream_call(make_app)
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    signed_post(client, "/voice/status", {**START, "CallStatus": "completed"})
    words = "non ho più il gas da ieri"
    app.extensions["speech.result_sink"](SID, parameters,
                                         Utterance(words, 0.7, [], "hangup"))
    session.expire_all()
    call = session.scalar(select(Call))
    assert call.outcome == "hangup_callback" and call.words == words
    request = session.scalar(select(CallbackRequest))
    assert request.words == words and request.phone == CALLER


@pytest.mark.parametrize(("change", "reason"), [
    ({"attempt": "1"}, "not waiting at 'ask_need'/'1'"),
    ({"step": "confirm_need"}, "not waiting at 'confirm_need'/'0'"),
    ({"step": "welcome", "attempt": "0"}, "not waiting"),
    ({"call": "CA" + "e" * 32}, "name another call"),
    ({"call": None}, "name another call"),
])
def test_a_stream_is_refused_unless_its_call_waits_at_that_step(
        make_app: Any, change: dict[str, Any], reason: str) -> None:
    app, _, root = _stream_call(make_app)
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    parameters.update(change)
    parameters = {k: v for k, v in parameters.items() if v is not None}
    with pytest.raises(StreamRefused, match=reason):
        app.extensions["speech.listen_plan"](SID, parameters)


def test_a_stream_for_an_unknown_ended_or_answered_call_is_refused(make_app: Any) -> None:
    app, client, root = _stream_call(make_app)
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    plans = app.extensions["speech.listen_plan"]
    with pytest.raises(StreamRefused, match="no such call"):
        plans("CA" + "e" * 32, {**parameters, "call": "CA" + "e" * 32})
    app.extensions["speech.result_sink"](SID, parameters, Utterance("", 0.0, [], "dtmf",
                                                                    digits="2"))
    with pytest.raises(StreamRefused, match="already answered"):
        plans(SID, parameters)
    signed_post(client, "/voice/status", {**START, "CallStatus": "completed"})
    with pytest.raises(StreamRefused, match="the call has ended"):
        plans(SID, parameters)


def test_doubtful_words_from_the_stream_are_confirmed_not_accepted(make_app: Any,
                                                                    session: Any) -> None:
    app, client, root = _stream_call(make_app)
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    words = "bolletta"  # a keyword: accepted at once when really heard
    app.extensions["speech.result_sink"](
        SID, parameters, Utterance(words, 0.45, [(words, 0.9)], "speech", heard=False,
                                   doubt="garbage", coverage=0.45))
    signed_post(client, f"/voice/step/{SID}/ask_need/0", START)
    event = session.scalar(select(CallEvent).where(CallEvent.step == "ask_need"))
    assert event.decision == "confirm" and event.intent == "billing"
    assert event.asr_confidence == 0.45
    assert event.detail["doubt"] == "garbage" and event.detail["heard"] is False


def test_a_doubtful_yes_is_asked_again(make_app: Any, session: Any) -> None:
    app, client, root = _stream_call(make_app)
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    sink = app.extensions["speech.result_sink"]
    sink(SID, parameters, Utterance("bolletta", 0.9, [], "speech"))
    root = twiml(signed_post(client, f"/voice/step/{SID}/ask_need/0", START).data)
    step = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    assert step["expecting"] == "yes_no"
    sink(SID, step, Utterance("sì", 0.5, [], "speech", heard=False, doubt="garbage",
                              coverage=0.5))
    signed_post(client, f"/voice/step/{SID}/{step['step']}/0", START)
    session.expire_all()
    event = session.scalar(select(CallEvent).where(CallEvent.step == step["step"]))
    assert event.decision == "reprompt" and event.detail["ignored"] == "doubtful_hearing"


def test_doubtful_words_that_would_be_an_emergency_are_asked_about(make_app: Any,
                                                                   session: Any) -> None:
    app, client, root = _stream_call(make_app)
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    words = "fuga di gas"  # an emergency keyword: acted on at once when really heard
    app.extensions["speech.result_sink"](
        SID, parameters, Utterance(words, 0.45, [(words, 0.9)], "speech", heard=False,
                                   doubt="garbage", coverage=0.45))
    answer = twiml(signed_post(client, f"/voice/step/{SID}/ask_need/0", START).data)
    event = session.scalar(select(CallEvent).where(CallEvent.step == "ask_need"))
    assert event.decision == "emergency_doubt" and event.intent == "emergency"
    said = " ".join(s.text or "" for s in answer.iter("Say"))
    assert "È un'emergenza" in said and "112" not in said  # asked, not acted on
    step = {p.get("name"): p.get("value") for p in answer.findall(".//Parameter")}
    assert step["step"] == "ask_need.emergency" and step["expecting"] == "yes_no"


def test_a_caller_whose_number_does_not_decide_is_heard_in_every_language_until_the_need(
        make_app: Any, session: Any) -> None:
    app, client, root = _stream_call(make_app, from_="+4915112345678")
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    plan = app.extensions["speech.listen_plan"](SID, parameters)
    assert plan.lang == "it" and list(plan.also) == ["en"] and "agent" in plan.also["en"]
    assert plan.vocabularies is not None and "bill" in plan.vocabularies["en"]
    words = "I have a problem with the bill"
    app.extensions["speech.result_sink"](
        SID, parameters, Utterance(words, 0.9, [(words, 0.9)], "speech", lang="en"))
    answer = twiml(signed_post(client, f"/voice/step/{SID}/ask_need/0",
                               {**START, "From": "+4915112345678"}).data)
    event = session.scalar(select(CallEvent).where(CallEvent.step == "ask_need"))
    assert event.detail["heard_in"] == "en" and event.detail["language"] == "en"
    assert {say.get("language") for say in answer.iter("Say")} == {"en-GB"}
    step = {p.get("name"): p.get("value") for p in answer.findall(".//Parameter")}
    later = app.extensions["speech.listen_plan"](SID, step)
    assert later.lang == "en" and later.also == {}  # decided: one recogniser from now on


def test_a_caller_whose_number_decides_is_heard_in_that_language_only(make_app: Any) -> None:
    app, _, root = _stream_call(make_app)
    parameters = {p.get("name"): p.get("value") for p in root.findall(".//Parameter")}
    plan = app.extensions["speech.listen_plan"](SID, parameters)
    assert plan.lang == "it" and plan.also == {}
