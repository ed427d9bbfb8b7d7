"""A `<Dial><Number>` to a number a phone page registered rings that page (phone_bridge).

The app runs on a real port with the local phone; "pages" are Python clients over a real
WebSocket; "Call now" is the JSON API's call endpoint (the console's view calls the same
`callbacks.tasks.start_call`), placed by the in-process job queue through the app's Twilio
client into the REST stand-in mounted in the app.
"""

from __future__ import annotations

import base64
import queue
import time
from collections.abc import Callable
from typing import Any

import requests
from sqlalchemy import select

from callbacks.models import CallAttempt, CallbackRequest
from core.users import create_user, issue_token
from localtwilio.callee import Callee
from localtwilio.calls import CallRecord
from localtwilio.phone import LOCAL_AGENT_NUMBER
from localtwilio.phone_bridge import MAX_AUDIO_FRAME_BYTES
from tests.browser import LiveServer
from tests.test_localtwilio_phone import (  # noqa: F401  (phone_server is a fixture)
    PhonePage,
    _answer_until_ended,
    phone_server,
)

CALLER = "+393331234567"
AGENT_PHONE = "+393470000001"
SIMULATED = "+390000000009"  # no page: the stand-in's simulated callee answers


def book_by_typing(live: LiveServer, number: str = CALLER) -> tuple[PhonePage, int]:
    """A page calls the hotline, types its need and keys yes until a callback is booked."""
    page = PhonePage(live)
    page.send(type="register", number=number)
    page.expect("registered")
    page.send(type="dial", **{"from": number})
    ended = _answer_until_ended(page, [
        {"type": "say", "text": "ho un problema con la bolletta"},
        {"type": "digits", "digits": "1"}, {"type": "digits", "digits": "1"},
        {"type": "digits", "digits": "1"}])
    assert ended["outcome"] == "hangup", page.prompts()
    with live.app.extensions["db"].transaction() as session:
        request = session.scalar(select(CallbackRequest).where(CallbackRequest.phone == number))
        assert request is not None, page.prompts()
        return page, request.id


def call_now(live: LiveServer, request_id: int, phone_number: str | None = None) -> None:
    """An agent presses "Call now" (agent first) through the JSON API."""
    with live.app.extensions["db"].transaction() as session:
        user = create_user(session, "anna", "correct-horse-battery", "agent")
        user.phone_number = phone_number
        token = issue_token(session, user)
    reply = requests.post(live.url(f"/api/callbacks/{request_id}/call"), json={},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert reply.status_code == 202, reply.text


def legs(live: LiveServer) -> list[CallRecord]:
    """Every call the stand-in has seen (API-created and dialled legs), oldest first."""
    calls = live.app.extensions["localtwilio.stand_in"].calls.values()
    return sorted(calls, key=lambda call: call.date_created)


def dial_action(call: CallRecord) -> dict[str, str]:
    """The parameters of the `<Dial action>` request the agent's leg made."""
    assert call.transcript is not None
    actions = [r.params for r in call.transcript.requests
               if r.kind == "action" and "DialCallStatus" in r.params]
    assert actions, [r.url for r in call.transcript.requests]
    return dict(actions[-1])


def stored(live: LiveServer, request_id: int) -> tuple[CallbackRequest, CallAttempt]:
    with live.app.extensions["db"].transaction() as session:
        request = session.get(CallbackRequest, request_id)
        attempt = session.scalar(select(CallAttempt).where(CallAttempt.request_id == request_id))
        assert request is not None and attempt is not None
        session.expunge_all()
        return request, attempt


def wait_done(live: LiveServer) -> None:
    assert live.app.extensions["jobs"].wait_idle(timeout=20)
    live.app.extensions["localtwilio.stand_in"].wait_idle(60)


def test_call_now_rings_the_callers_page_which_answers_and_hangs_up(
        phone_server: Callable[..., Any]) -> None:  # noqa: F811
    live = phone_server()
    page, request_id = book_by_typing(live)
    call_now(live, request_id)
    incoming = page.expect("incoming")
    assert incoming["from"] == live.app.config["TWILIO_CALLER_ID"] and incoming["to"] == CALLER
    page.send(type="answer")
    connected = page.expect("connected")
    assert connected["direction"] == "outbound-dial"
    page.send(type="hangup")
    assert page.expect("ended")["outcome"] == "hangup"
    page.close()
    wait_done(live)
    agent_leg, caller_leg = legs(live)
    assert agent_leg.to == LOCAL_AGENT_NUMBER and agent_leg.status == "completed"
    assert (caller_leg.to, caller_leg.status, caller_leg.parent_call_sid) == (
        CALLER, "completed", agent_leg.sid)
    assert caller_leg.sid == incoming["call_sid"]
    assert dial_action(agent_leg)["DialCallStatus"] == "completed"
    request, attempt = stored(live, request_id)
    # connected: the call reached the caller; the agent still records the outcome
    assert (request.status, attempt.callee_status) == ("connected", "completed")


def test_a_declined_call_is_busy_and_the_callback_is_retried(
        phone_server: Callable[..., Any]) -> None:  # noqa: F811
    live = phone_server()
    page, request_id = book_by_typing(live)
    call_now(live, request_id)
    page.expect("incoming")
    page.send(type="decline")
    assert page.expect("ended")["outcome"] == "decline"
    page.close()
    wait_done(live)
    agent_leg, caller_leg = legs(live)
    assert caller_leg.status == "busy"
    assert dial_action(agent_leg)["DialCallStatus"] == "busy"
    request, attempt = stored(live, request_id)
    assert attempt.callee_status == "busy"
    assert request.status != "completed" and request.last_error == "busy"


def test_an_unanswered_page_is_no_answer_and_a_simulated_far_end_hangs_up(
        phone_server: Callable[..., Any]) -> None:  # noqa: F811
    live = phone_server()
    page = PhonePage(live)
    page.send(type="register", number=CALLER)
    page.expect("registered")
    client = live.app.extensions["twilio"]
    stand_in = live.app.extensions["localtwilio.stand_in"]
    stand_in.callees.set(SIMULATED, Callee(talk_seconds=1))
    twiml = f'<Response><Dial timeout="1"><Number>{CALLER}</Number></Dial></Response>'
    unanswered = client.calls.create(to=SIMULATED, from_="+390000000000", twiml=twiml)
    page.expect("incoming")
    assert page.expect("ended")["outcome"] == "no-answer"  # nobody pressed Answer
    stand_in.wait_idle(20)
    answered = client.calls.create(to=SIMULATED, from_="+390000000000", twiml=twiml)
    page.expect("incoming")
    page.send(type="answer")
    page.expect("connected")
    ended = page.expect("ended", timeout=10)  # the simulated far end talks 1 s, hangs up
    assert ended["outcome"] == "completed" and ended["duration"] >= 1
    page.close()
    stand_in.wait_idle(20)
    by_parent = {call.parent_call_sid: call for call in legs(live) if call.parent_call_sid}
    assert by_parent[unanswered.sid].status == "no-answer"
    assert by_parent[answered.sid].status == "completed"
    assert client.calls(answered.sid).fetch().status == "completed"


def test_an_agent_page_rings_first_then_the_caller_page_and_typed_words_cross(
        phone_server: Callable[..., Any]) -> None:  # noqa: F811
    live = phone_server()
    caller_page, request_id = book_by_typing(live)
    agent_page = PhonePage(live)
    agent_page.send(type="register", number=AGENT_PHONE)
    agent_page.expect("registered")
    call_now(live, request_id, phone_number=AGENT_PHONE)
    assert agent_page.expect("incoming")["to"] == AGENT_PHONE
    agent_page.send(type="answer")
    assert agent_page.expect("prompt")["text"].startswith("Richiamata per")  # the screening
    agent_page.expect("listening")
    agent_page.send(type="digits", digits="1")  # the agent takes the call
    caller_page.expect("incoming")
    caller_page.send(type="answer")
    caller_page.expect("connected")
    assert agent_page.expect("bridged")["to"] == CALLER
    caller_page.send(type="say", text="pronto, chi parla?")
    assert agent_page.expect("remote")["text"] == "pronto, chi parla?"
    agent_page.send(type="say", text="il servizio clienti, come promesso")
    assert caller_page.expect("remote")["text"] == "il servizio clienti, come promesso"
    agent_page.send(type="hangup")
    assert caller_page.expect("ended")["outcome"] == "completed"
    assert agent_page.expect("ended")["outcome"].startswith("transferred:")
    for page in (agent_page, caller_page):
        page.close()
    wait_done(live)
    request, attempt = stored(live, request_id)
    # connected: the call reached the caller; the agent still records the outcome
    assert (request.status, attempt.callee_status) == ("connected", "completed")


def bridged_pages(live: LiveServer, after_dial: str = "") -> tuple[PhonePage, PhonePage]:
    """The agent's page answers a call whose `<Dial>` rings the caller's page, which answers.

    `after_dial` is TwiML the agent's call runs once the Dial is over.
    """
    agent, caller = PhonePage(live), PhonePage(live)
    for page, number in ((agent, AGENT_PHONE), (caller, CALLER)):
        page.send(type="register", number=number)
        page.expect("registered")
    twiml = (f'<Response><Dial timeout="10"><Number>{CALLER}</Number></Dial>'
             f"{after_dial}</Response>")
    live.app.extensions["twilio"].calls.create(to=AGENT_PHONE, from_="+390000000000",
                                               twiml=twiml)
    agent.expect("incoming")
    agent.send(type="answer")
    assert agent.expect("connected")["direction"] == "outbound-api"
    caller.expect("incoming")
    caller.send(type="answer")
    assert caller.expect("connected")["direction"] == "outbound-dial"
    assert agent.expect("bridged")["to"] == CALLER
    return agent, caller


def speak(page: PhonePage, *frames: bytes) -> None:
    """Microphone frames from `page`, as its AudioWorklet sends them."""
    for frame in frames:
        page.send(type="audio", payload=base64.b64encode(frame).decode("ascii"))


def heard(page: PhonePage, count: int) -> list[bytes]:
    """The next `count` frames of the other side's voice `page` was sent to play."""
    return [base64.b64decode(page.expect("remote_audio", timeout=10)["audio"], validate=True)
            for _ in range(count)]


def received(page: PhonePage, seconds: float) -> list[dict[str, Any]]:
    """Everything `page` is sent in the next `seconds`."""
    deadline, messages = time.monotonic() + seconds, []
    while (left := deadline - time.monotonic()) > 0:
        try:
            messages.append(page.messages.get(timeout=left))
        except queue.Empty:
            break
    return messages


def frame(seed: int, size: int = 160) -> bytes:
    """A distinct 20 ms mu-law frame (each seed gives other bytes)."""
    return bytes((seed * 37 + i * 11) % 256 for i in range(size))


def test_while_bridged_each_pages_microphone_reaches_the_other_byte_for_byte(
        phone_server: Callable[..., Any]) -> None:  # noqa: F811
    live = phone_server()
    agent, caller = bridged_pages(live)
    agent_voice = [frame(seed) for seed in range(1, 26)]  # half a second
    speak(agent, *agent_voice)
    assert heard(caller, len(agent_voice)) == agent_voice
    caller_voice = [frame(seed) for seed in range(100, 110)]
    speak(caller, *caller_voice)
    assert heard(agent, len(caller_voice)) == caller_voice
    # Both at once, as in a conversation: each side hears the other, in order.
    speak(agent, agent_voice[0])
    speak(caller, caller_voice[0])
    speak(agent, agent_voice[1])
    assert heard(caller, 2) == agent_voice[:2] and heard(agent, 1) == caller_voice[:1]
    assert not [m for m in agent.seen if m["type"] == "remote_audio"
                and base64.b64decode(m["audio"]) in agent_voice]  # nobody hears themselves
    caller.send(type="hangup")
    caller.expect("ended")
    agent.expect("ended")


def test_junk_audio_frames_are_dropped_and_the_bridge_goes_on(
        phone_server: Callable[..., Any]) -> None:  # noqa: F811
    live = phone_server()
    agent, caller = bridged_pages(live)
    longest = frame(7, MAX_AUDIO_FRAME_BYTES)  # one second: still a frame
    for junk in ("not base64!", "QUJ", "QU JD", "", None, 42,
                 base64.b64encode(frame(9, MAX_AUDIO_FRAME_BYTES + 1)).decode("ascii")):
        agent.send(type="audio", payload=junk)
    agent.send(type="audio")
    speak(agent, frame(1), longest)
    assert heard(caller, 2) == [frame(1), longest]  # the first relayed are the good ones
    agent.send(type="say", text="mi sente?")
    assert caller.expect("remote")["text"] == "mi sente?"
    speak(caller, frame(2))
    assert heard(agent, 1) == [frame(2)]
    assert not [m for m in received(caller, 0.3) if m["type"] == "remote_audio"]
    agent.send(type="hangup")
    assert caller.expect("ended")["outcome"] == "completed"


def test_after_a_hang_up_no_voice_crosses(phone_server: Callable[..., Any]) -> None:  # noqa: F811
    live = phone_server()
    agent, caller = bridged_pages(
        live, after_dial='<Say language="it-IT" voice="Polly.Bianca-Neural">Grazie.</Say>')
    speak(caller, frame(1))
    assert heard(agent, 1) == [frame(1)]
    heard_before = len(agent.seen)
    caller.send(type="hangup")
    assert caller.expect("ended")["outcome"] == "hangup"
    speak(caller, frame(2))  # a page that is slow to stop its microphone
    speak(agent, frame(3))   # the agent's call goes on, saying goodbye
    assert agent.expect("prompt")["text"] == "Grazie."
    speak(agent, frame(4))
    agent.expect("ended")
    after = agent.seen[heard_before:] + received(agent, 0.1) + received(caller, 0.5)
    assert [m["type"] for m in after if m["type"] in {"prompt", "ended"}] == ["prompt", "ended"]
    assert not [m for m in after if m["type"] == "remote_audio"], after


def test_the_simulated_far_end_sends_no_voice_and_typed_words_go_nowhere(
        phone_server: Callable[..., Any]) -> None:  # noqa: F811
    live = phone_server()
    page = PhonePage(live)
    page.send(type="register", number=CALLER)
    page.expect("registered")
    live.app.extensions["localtwilio.stand_in"].callees.set(SIMULATED, Callee(talk_seconds=1))
    twiml = f'<Response><Dial timeout="5"><Number>{CALLER}</Number></Dial></Response>'
    live.app.extensions["twilio"].calls.create(to=SIMULATED, from_="+390000000000",
                                               twiml=twiml)
    page.expect("incoming")
    page.send(type="answer")
    page.expect("connected")
    speak(page, frame(1), frame(2))
    page.send(type="say", text="pronto?")
    ended = page.expect("ended", timeout=10)
    assert ended["outcome"] == "completed"
    assert not [m for m in page.seen if m["type"] in {"remote_audio", "remote"}], page.seen
