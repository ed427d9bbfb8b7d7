"""A `<Dial><Number>` to a number a phone page registered rings that page (phone_bridge).

The app runs on a real port with the local phone; "pages" are Python clients over a real
WebSocket; "Call now" is the JSON API's call endpoint (the console's view calls the same
`callbacks.tasks.start_call`), placed by the in-process job queue through the app's Twilio
client into the REST stand-in mounted in the app.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests
from sqlalchemy import select

from callbacks.models import CallAttempt, CallbackRequest
from core.users import create_user, issue_token
from localtwilio.callee import Callee
from localtwilio.calls import CallRecord
from localtwilio.phone import LOCAL_AGENT_NUMBER
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
    assert (request.status, attempt.callee_status) == ("completed", "completed")


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
    assert agent_page.expect("prompt")["text"].startswith("Richiamata per")  # the intro
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
    assert (request.status, attempt.callee_status) == ("completed", "completed")
