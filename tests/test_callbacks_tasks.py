"""Placing callback calls through the official Twilio client and the local REST stand-in.

The stand-in (localtwilio) runs on a real port; it reaches the hotline's webhooks through
the Flask test client, signed like Twilio. Jobs run on the in-process queue.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from callbacks import queue, tasks
from callbacks.models import CallAttempt, CallbackRequest
from core.clock import FrozenClock
from localtwilio import FlaskClientTransport, Signer
from localtwilio.callee import Callee
from localtwilio.rest import StandIn
from tests.conftest import TWILIO_TOKEN
from tests.test_callbacks_support import (  # noqa: F401  (stand_in is a fixture)
    AGENT,
    CUSTOMER,
    TUESDAY_10,
    book,
    claimed_request,
    make_agent,
    stand_in_fixture,
)


@pytest.fixture
def hotline(make_app: Any, stand_in: tuple[StandIn, str]) -> tuple[Flask, StandIn, FrozenClock]:
    state, base_url = stand_in
    clock = FrozenClock(TUESDAY_10)
    app = make_app(CLOCK=clock, TWILIO_API_BASE_URL=base_url, CALLBACKS_RECONCILE_SECONDS=0)
    state.transport = FlaskClientTransport(app.test_client())
    return app, state, clock


def _claimed_request(app: Flask, phone: str = CUSTOMER, **kwargs: Any) -> tuple[int, int]:
    with app.extensions["db"].transaction() as session:
        agent = make_agent(session, phone=AGENT)
        booking = book(session, phone, TUESDAY_10 - timedelta(minutes=10), **kwargs)
    with app.extensions["db"].session_factory() as session:
        claimed = queue.claim_next(session, agent.id, TUESDAY_10)
        assert claimed is not None and claimed.id == booking.request_id
    return booking.request_id, agent.id


def _call(app: Flask, state: StandIn, request_id: int, agent_id: int,
          mode: str = "agent_first") -> int:
    with app.extensions["db"].session_factory() as session:
        attempt = tasks.start_call(session, app.extensions["jobs"], request_id, agent_id,
                                   app.extensions["clock"].now(), mode=mode)
    _settle(app, state)
    return attempt.id


def _settle(app: Flask, state: StandIn) -> None:
    for _ in range(2):
        assert app.extensions["jobs"].wait_idle(20)
        state.wait_idle()


def _load(app: Flask, request_id: int) -> tuple[CallbackRequest, list[CallAttempt]]:
    with app.extensions["db"].session_factory() as session:
        request = session.get(CallbackRequest, request_id)
        attempts = list(session.scalars(select(CallAttempt).where(
            CallAttempt.request_id == request_id).order_by(CallAttempt.id)))
        session.expunge_all()
    return request, attempts


def test_agent_first_bridge_connects_the_callback_and_awaits_the_agents_outcome(hotline):
    app, state, _ = hotline
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id)
    request, attempts = _load(app, request_id)
    # the simulated callee answered: the request is not resolved until the agent says so
    assert request.status == "connected" and request.connected_at is not None
    assert request.completed_at is None and request.promise_kept is None
    assert [(a.status, a.callee_status) for a in attempts] == [("completed", "completed")]
    placed = list(state.calls.values())
    assert placed[0].to == AGENT and placed[0].from_ == app.config["TWILIO_CALLER_ID"]
    assert [c.to for c in placed].count(CUSTOMER) == 1  # the <Dial> leg to the caller
    events = [c.params["CallStatus"] for c in state.callbacks_for(placed[0].sid)]
    assert events == ["initiated", "ringing", "in-progress", "completed"]
    assert all(c.status == 204 for c in state.callbacks_for(placed[0].sid))


@pytest.mark.parametrize("answer", ["no-answer", "busy"])
def test_unanswered_caller_is_retried_later_within_opening_hours(hotline, answer):
    app, state, _ = hotline
    state.callees.set(CUSTOMER, Callee(answer=answer))
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id)
    request, attempts = _load(app, request_id)
    assert request.status == "retry_scheduled"
    assert request.not_before == TUESDAY_10 + timedelta(minutes=15)
    assert attempts[0].callee_status == answer and request.attempts_made == 1


def test_caller_first_announces_and_an_answering_machine_gets_a_message(hotline):
    app, state, _ = hotline
    state.callees.set(CUSTOMER, Callee(answer="machine"))
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id, mode="caller_first")
    request, attempts = _load(app, request_id)
    call = next(iter(state.calls.values()))
    assert call.to == CUSTOMER and call.machine_detection == "DetectMessageEnd"
    assert call.async_amd  # the caller hears us at once; the verdict comes on its own
    assert attempts[0].answered_by == "machine_end_beep"
    assert attempts[0].callee_status == "machine"
    assert request.status == "retry_scheduled" and request.last_error == "answering machine"
    assert any("riproveremo" in p.lower() for p in call.transcript.prompts)


def test_caller_first_human_hears_who_is_calling_then_reaches_the_agent(hotline):
    app, state, _ = hotline
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id, mode="caller_first")
    request, attempts = _load(app, request_id)
    call = next(iter(state.calls.values()))
    assert any("la richiamiamo dal servizio clienti come promesso" in p.lower()
               for p in call.transcript.prompts)
    assert call.transcript.notices == []  # said by a voice that speaks Italian
    assert request.status == "connected" and attempts[0].callee_status == "completed"


def test_not_digital_caller_gets_a_patient_policy(hotline):
    app, state, clock = hotline
    state.callees.set(CUSTOMER, Callee(answer="no-answer"))
    request_id, agent_id = _claimed_request(app, not_digital_cue="non ho internet")
    _call(app, state, request_id, agent_id)
    request, attempts = _load(app, request_id)
    assert attempts[0].ring_timeout == 45
    assert request.not_before == TUESDAY_10 + timedelta(minutes=10)


def test_retries_stop_after_the_policy_maximum(hotline):
    app, state, clock = hotline
    state.callees.set(CUSTOMER, Callee(answer="busy"))
    request_id, agent_id = _claimed_request(app)
    for round_ in range(3):
        if round_:
            with app.extensions["db"].transaction() as session:
                assert queue.promote_due(session, clock.now()) == 1
            with app.extensions["db"].session_factory() as session:
                assert queue.claim_next(session, agent_id, clock.now()).id == request_id
        _call(app, state, request_id, agent_id)
        clock.set(_load(app, request_id)[0].not_before)
    request, attempts = _load(app, request_id)
    assert request.attempts_made == 3 and len(attempts) == 3
    # no more automatic tries, but only a person closes the request
    assert request.status == "queued" and "not reached after 3 attempts" in request.last_error


def test_duplicate_and_out_of_order_status_callbacks_change_nothing(hotline):
    app, state, _ = hotline
    state.faults.callbacks.duplicate = True
    state.faults.callbacks.out_of_order = True
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id)
    request, attempts = _load(app, request_id)
    assert request.status == "connected" and request.attempts_made == 1
    assert attempts[0].status == "completed" and attempts[0].last_sequence == 3
    sid = attempts[0].call_sid
    assert [c.params["CallStatus"] for c in state.callbacks_for(sid)][:2] == [
        "completed", "completed"]


def test_a_stale_status_callback_sent_by_hand_is_ignored(hotline):
    app, state, _ = hotline
    request_id, agent_id = _claimed_request(app)
    attempt_id = _call(app, state, request_id, agent_id)
    url = f"http://hotline.test/callbacks/twilio/status/{attempt_id}"
    params = {"CallSid": "CAx", "CallStatus": "ringing", "SequenceNumber": "1"}
    client = app.test_client()
    reply = client.post(url, data=params, headers=Signer(TWILIO_TOKEN).headers(url, params))
    assert reply.status_code == 204
    assert _load(app, request_id)[1][0].status == "completed"
    forged = client.post(url, data=params, headers={"X-Twilio-Signature": "nope"})
    assert forged.status_code == 403


def test_twilio_server_error_is_retried_and_the_call_placed_once(hotline):
    app, state, clock = hotline
    state.faults.fail_next(1, 503)
    request_id, agent_id = _claimed_request(app)
    attempt_id = _call(app, state, request_id, agent_id)
    request, attempts = _load(app, request_id)
    assert attempts[0].status == "pending" and "503" in attempts[0].error
    clock.advance(timedelta(seconds=31))
    _settle(app, state)
    request, attempts = _load(app, request_id)
    assert request.status == "connected" and attempts[0].id == attempt_id
    assert len([c for c in state.calls.values() if c.to == AGENT]) == 1


def test_twilio_refusal_goes_back_to_the_agent_with_the_error(hotline):
    app, state, _ = hotline
    request_id, agent_id = _claimed_request(app)
    with app.extensions["db"].transaction() as session:
        from core.models import User

        session.get(User, agent_id).phone_number = "12345"  # Twilio answers 21211
    _call(app, state, request_id, agent_id)
    request, attempts = _load(app, request_id)
    assert attempts[0].status == "failed"
    assert request.status == "claimed" and request.claimed_by == agent_id  # still open
    assert "21211" in request.last_error


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_retried_after_a_jittered_back_off(hotline, status):
    app, state, clock = hotline
    state.faults.fail_next(1, status)
    request_id, agent_id = _claimed_request(app)
    attempt_id = _call(app, state, request_id, agent_id)
    request, attempts = _load(app, request_id)
    assert attempts[0].status == "pending" and str(status) in attempts[0].error
    assert request.status == "dialling" and "retrying" in request.last_error
    clock.advance(timedelta(seconds=14))  # the first retry comes 15 to 30 s later
    _settle(app, state)
    assert _load(app, request_id)[1][0].status == "pending"
    clock.advance(timedelta(seconds=17))
    _settle(app, state)
    request, attempts = _load(app, request_id)
    assert request.status == "connected" and attempts[0].id == attempt_id
    assert len([c for c in state.calls.values() if c.to == AGENT]) == 1


def test_the_reconciler_waits_out_the_back_off_and_probes_one_try_a_pass(hotline):
    from callbacks.reconcile import reconcile_now

    app, state, clock = hotline
    state.faults.fail_next(3, 503)
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id)
    clock.advance(timedelta(seconds=31))  # first retry (15-30 s): 503 again
    _settle(app, state)
    assert state.faults.arrived == 2
    # the second wait is 30-60 s; the reconciler runs meanwhile: it re-enqueues nothing
    # (the back-off holds) but tries one backing-off attempt early, to see if Twilio is back
    clock.advance(timedelta(seconds=29))
    counts = reconcile_now(app, clock.now())
    assert (counts["reenqueued"], counts["probed"]) == (0, 1)
    _settle(app, state)
    assert state.faults.arrived == 3 and _load(app, request_id)[1][0].status == "pending"
    clock.advance(timedelta(seconds=60))  # the next pass: Twilio is back, the probe places it
    counts = reconcile_now(app, clock.now())
    assert (counts["reenqueued"], counts["probed"]) == (0, 1)
    _settle(app, state)
    assert state.faults.arrived == 4
    assert _load(app, request_id)[1][0].status not in ("pending", "requesting")


def test_twilio_taking_a_call_releases_every_attempt_backing_off(hotline):
    app, state, clock = hotline
    state.faults.fail_next(2, 429)
    held = []
    for n in range(2):
        with app.extensions["db"].transaction() as session:
            agent = make_agent(session, name=f"agent{n}", phone=f"+39021111110{n}")
            book(session, f"+39333000000{n}", TUESDAY_10 - timedelta(minutes=10))
        with app.extensions["db"].session_factory() as session:
            claimed = queue.claim_next(session, agent.id, TUESDAY_10)
            assert claimed is not None
        held.append(_call(app, state, claimed.id, agent.id))  # refused: backing off
    assert state.faults.arrived == 2
    clock.advance(timedelta(seconds=1))  # long before either back-off (15-30 s) ends
    app.extensions["jobs"].enqueue(tasks.place_call, held[0], True, queue="calls")  # a probe
    _settle(app, state)
    with app.extensions["db"].session_factory() as session:
        statuses = [session.get(CallAttempt, attempt_id).status for attempt_id in held]
    assert "pending" not in statuses and "requesting" not in statuses  # both placed now
    assert state.faults.arrived == 4


def test_an_outage_is_retried_for_hours_then_the_request_returns_to_its_agent(hotline):
    app, state, clock = hotline
    state.faults.fail_next(200, 503)
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id)
    waits = []
    for _ in range(60):
        attempt = _load(app, request_id)[1][0]
        if attempt.status != "pending":
            break
        before = state.faults.arrived
        waits.append(tasks.longest_delay(attempt.dispatch_tries))
        clock.advance(waits[-1])
        _settle(app, state)
        assert state.faults.arrived == before + 1  # one try per back-off, never a burst
    request, attempts = _load(app, request_id)
    assert attempts[0].status == "failed" and "unreachable" in attempts[0].error
    assert clock.now() - TUESDAY_10 >= tasks.DISPATCH_BUDGET
    assert waits[:4] == [timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert max(waits) == tasks.LONGEST_RETRY
    assert request.status == "claimed" and "unreachable" in request.last_error


def test_retry_delays_grow_with_jitter_and_a_ceiling():
    assert tasks.retry_delay(1, lambda low, high: low) == timedelta(seconds=15)
    assert tasks.retry_delay(1, lambda low, high: high) == timedelta(seconds=30)
    assert tasks.retry_delay(3, lambda low, high: high) == timedelta(minutes=2)
    assert tasks.retry_delay(30, lambda low, high: high) == tasks.LONGEST_RETRY
    draws = {tasks.retry_delay(4) for _ in range(20)}
    assert len(draws) > 1 and all(timedelta(minutes=2) <= d <= timedelta(minutes=4)
                                  for d in draws)


def test_running_the_job_twice_dials_once(hotline):
    app, state, _ = hotline
    request_id, agent_id = _claimed_request(app)
    attempt_id = _call(app, state, request_id, agent_id)
    with app.app_context():
        assert tasks.place_call(attempt_id) == "skipped"
    state.wait_idle()
    assert len([c for c in state.calls.values() if c.to == AGENT]) == 1


def test_an_agents_voicemail_is_screened_out_and_the_caller_never_dialled(hotline):
    app, state, _ = hotline
    state.callees.set(AGENT, Callee(answer="machine"))  # answers, never presses 1
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id)
    request, attempts = _load(app, request_id)
    assert [c.to for c in state.calls.values()] == [AGENT]  # the caller was not disturbed
    assert attempts[0].agent_accepted_at is None and attempts[0].callee_status is None
    assert request.status == "claimed" and "not taken" in request.last_error


def test_caller_first_with_the_agent_on_voicemail_is_not_counted_done(hotline):
    app, state, _ = hotline
    state.callees.set(AGENT, Callee(answer="machine"))
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id, mode="caller_first")
    request, attempts = _load(app, request_id)
    [dial] = [r for c in state.calls.values() if c.transcript
              for r in c.transcript.requests_to("/dial-result/")]
    assert dial.params["DialCallStatus"] == "completed"  # Twilio's word: not enough
    assert dial.params["DialBridged"] == "false"
    assert attempts[0].callee_status == "agent-unreached"
    assert request.status == "queued" and request.completed_at is None


def test_agent_first_reaching_the_callers_answering_machine_is_retried(hotline):
    app, state, _ = hotline
    state.callees.set(CUSTOMER, Callee(answer="machine"))
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id)
    request, attempts = _load(app, request_id)
    assert attempts[0].agent_accepted_at is not None  # the agent took it...
    assert attempts[0].answered_by == "machine_start"  # ...and reached a voicemail
    assert attempts[0].callee_status == "machine" and request.status == "retry_scheduled"


def test_a_callback_is_done_only_when_people_answered_on_both_sides(hotline):
    app, state, _ = hotline
    request_id, agent_id = _claimed_request(app)
    _call(app, state, request_id, agent_id, mode="caller_first")
    request, attempts = _load(app, request_id)
    assert attempts[0].agent_accepted_at is not None  # pressed 1 at the whisper
    assert attempts[0].answered_by == "human"  # the asynchronous AMD verdict
    assert request.status == "connected"
    caller_leg = next(c for c in state.calls.values() if c.to == CUSTOMER)
    assert "AnsweredBy" not in caller_leg.transcript.requests[0].params  # asynchronous
    assert [c.event for c in state.callbacks if c.event == "amd"] == ["amd"]
