"""The reconciler's clocks: no callback waits long in "requesting" or "dialling".

A worker killed between "requesting" and the REST request is placed again within a
minute; a placed call whose status callbacks were lost (Twilio does not retry a webhook
that failed) is asked about within two passes and its request leaves "dialling".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from callbacks import tasks
from callbacks.models import CallAttempt, CallbackRequest
from callbacks.reconcile import reconcile_now
from core.clock import FrozenClock
from localtwilio import FlaskClientTransport
from localtwilio.rest import StandIn
from localtwilio.transport import HttpReply, Transport
from tests.test_callbacks_support import (  # noqa: F401  (stand_in is a fixture)
    AGENT,
    CUSTOMER,
    TUESDAY_10,
    book,
    claimed_request,
    make_agent,
    stand_in_fixture,
)


class LosingTransport:
    """Delivers Twilio's webhooks, except those `lose` picks: they never arrive (a 502
    from a proxy, a web process restarting), and Twilio does not send them again."""

    def __init__(self, inner: Transport, lose: Callable[[str, Mapping[str, str]], bool]) -> None:
        self.inner, self.lose, self.lost = inner, lose, 0

    def request(self, method: str, url: str, params: Mapping[str, str],
                headers: Mapping[str, str]) -> HttpReply:
        if self.lose(url, params):
            self.lost += 1
            return HttpReply(502, b"", "text/plain")
        return self.inner.request(method, url, params, headers)


def _load(app: Flask, request_id: int) -> tuple[CallbackRequest, list[CallAttempt]]:
    with app.extensions["db"].session_factory() as session:
        request = session.get(CallbackRequest, request_id)
        attempts = list(session.scalars(select(CallAttempt).where(
            CallAttempt.request_id == request_id).order_by(CallAttempt.id)))
        session.expunge_all()
    return request, attempts


def test_an_attempt_left_requesting_by_a_dead_worker_is_placed_again_within_a_minute(
        make_app: Any) -> None:
    clock = FrozenClock(TUESDAY_10)
    app = make_app(CLOCK=clock, CALLBACKS_RECONCILE_SECONDS=0, START_IN_PROCESS_WORKER=False)
    request_id, agent_id = claimed_request(app)
    with app.extensions["db"].session_factory() as session:
        attempt = tasks.start_call(session, app.extensions["jobs"], request_id, agent_id,
                                   TUESDAY_10)
    with app.extensions["db"].transaction() as session:  # the worker died right after this
        session.execute(update(CallAttempt).where(CallAttempt.id == attempt.id).values(
            status="requesting", dispatch_tries=1, updated_at=TUESDAY_10))
    assert reconcile_now(app, TUESDAY_10 + timedelta(seconds=20))["recovered"] == 0
    counts = reconcile_now(app, TUESDAY_10 + timedelta(seconds=60))
    assert counts["recovered"] == 1 and counts["reenqueued"] == 1
    assert _load(app, request_id)[1][0].status == "pending"


@pytest.fixture
def lossy_hotline(make_app: Any, stand_in: tuple[StandIn, str]) -> Any:
    state, base_url = stand_in
    clock = FrozenClock(TUESDAY_10)
    app = make_app(CLOCK=clock, TWILIO_API_BASE_URL=base_url, CALLBACKS_RECONCILE_SECONDS=0)

    def lose(url: str, params: Mapping[str, str]) -> bool:  # every word about the call's end
        return "/callbacks/twilio/status/" in url or "/callbacks/twilio/dial-result/" in url

    transport = LosingTransport(FlaskClientTransport(app.test_client()), lose)
    state.transport = transport
    return app, state, clock, transport


def test_a_call_whose_status_callbacks_were_lost_leaves_dialling_within_two_minutes(
        lossy_hotline: Any) -> None:
    app, state, clock, transport = lossy_hotline
    request_id, agent_id = claimed_request(app)
    with app.extensions["db"].session_factory() as session:
        tasks.start_call(session, app.extensions["jobs"], request_id, agent_id, TUESDAY_10)
    for _ in range(2):
        assert app.extensions["jobs"].wait_idle(20)
        state.wait_idle()
    assert transport.lost >= 2
    request, attempts = _load(app, request_id)
    assert request.status == "dialling" and attempts[0].status == "queued"
    reconcile_now(app, TUESDAY_10 + timedelta(seconds=50))
    assert _load(app, request_id)[0].status == "dialling"  # not asked yet: may be ringing
    counts = reconcile_now(app, TUESDAY_10 + timedelta(minutes=2))
    assert counts["refreshed"] == 1
    request, attempts = _load(app, request_id)
    assert attempts[0].status == "completed" and request.status != "dialling"


def test_a_request_left_dialling_without_a_live_attempt_goes_back_to_its_agent(
        make_app: Any) -> None:
    app = make_app(CLOCK=FrozenClock(TUESDAY_10), CALLBACKS_RECONCILE_SECONDS=0,
                   START_IN_PROCESS_WORKER=False)
    request_id, agent_id = claimed_request(app)
    with app.extensions["db"].session_factory() as session:
        attempt = tasks.start_call(session, app.extensions["jobs"], request_id, agent_id,
                                   TUESDAY_10)
    with app.extensions["db"].transaction() as session:  # ended, but the request not told
        session.execute(update(CallAttempt).where(CallAttempt.id == attempt.id).values(
            status="failed", ended_at=TUESDAY_10))
    assert reconcile_now(app, TUESDAY_10 + timedelta(minutes=2))["released"] == 1
    request = _load(app, request_id)[0]
    assert request.status == "claimed" and request.claimed_by == agent_id
