"""The live path, end to end over real HTTP: a caller's words become a booked callback,
an agent sees it through the API, claims it, and the callback is placed through RQ on real
Redis and Twilio's REST stand-in. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from rq import SimpleWorker

from core.clock import FrozenClock
from core.users import issue_token
from ivr.flow_store import import_default_flows
from localtwilio import LocalCall, RequestsTransport, SayText, Signer
from localtwilio.rest import StandIn
from localtwilio.server import serve_in_thread
from tests.conftest import TWILIO_TOKEN
from tests.ivr_support import CALLER, HOTLINE, OPEN
from tests.test_callbacks_support import make_agent, stand_in_fixture  # noqa: F401

AGENT_PHONE = "+390211111111"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live(make_app: Any, redis_url: str, stand_in: tuple[StandIn, str]) -> Iterator[Any]:
    """The hotline on a real port, jobs on RQ/Redis, REST calls to the Twilio stand-in."""
    state, twilio_base = stand_in
    public = f"http://127.0.0.1:{_free_port()}"
    app: Flask = make_app(PUBLIC_BASE_URL=public, REDIS_URL=redis_url, CLOCK=FrozenClock(OPEN),
                          TWILIO_API_BASE_URL=twilio_base, CALLBACKS_RECONCILE_SECONDS=0)
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
        agent = make_agent(session, "thin-path-agent", phone=AGENT_PHONE)
        token = issue_token(session, agent)
    base_url, stop = serve_in_thread(app, port=int(public.rsplit(":", 1)[1]))
    assert base_url == public
    state.transport = RequestsTransport()
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    yield app, state, public, http
    stop()


def test_a_spoken_need_becomes_a_callback_that_an_agent_places(live: Any) -> None:
    app, state, public, http = live
    call = LocalCall(RequestsTransport(), public + "/voice/incoming", from_=CALLER, to=HOTLINE,
                     signer=Signer(TWILIO_TOKEN), status_callback=public + "/voice/status")
    transcript = call.run([SayText("ho un problema con la bolletta"), SayText("sì"),
                           SayText("sì")])
    assert "la richiameremo" in " ".join(transcript.prompts).lower()
    assert all(r.status < 300 for r in transcript.requests), "every webhook was accepted"

    queue = http.get(public + "/api/callbacks").json()
    [waiting] = [item for item in queue["items"] if item["phone"] == CALLER]
    assert waiting["words"] == "ho un problema con la bolletta"
    assert waiting["intent"] == "billing" and waiting["status"] == "queued"

    claimed = http.post(public + "/api/callbacks/claim")
    assert claimed.status_code == 200 and claimed.json()["id"] == waiting["id"]
    placing = http.post(public + f"/api/callbacks/{waiting['id']}/call", json={})
    assert placing.status_code == 202, placing.text

    jobs = app.extensions["jobs"]
    assert jobs.queues["calls"].count == 1  # the job waits in Redis, not in this process
    with app.app_context():
        SimpleWorker([jobs.queues["calls"]], connection=jobs.connection).work(burst=True)
    state.wait_idle()
    done = http.get(public + f"/api/callbacks/{waiting['id']}").json()
    assert done["status"] == "connected" and done["awaits_outcome"] is True
    assert [a["status"] for a in done["attempts"]] == ["completed"]
    [agent_leg] = [c for c in state.calls.values() if c.to == AGENT_PHONE]
    assert agent_leg.status == "completed"
    # only the agent's outcome closes the request
    closed = http.post(public + f"/api/callbacks/{waiting['id']}/outcome",
                       json={"outcome": "completed", "note": "bill explained"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "completed" and closed.json()["awaits_outcome"] is False


def test_a_forged_webhook_books_nothing(live: Any) -> None:
    _app, _state, public, http = live
    response = requests.post(public + "/voice/incoming",
                             data={"CallSid": "CA" + "f" * 32, "From": CALLER, "To": HOTLINE},
                             headers={"X-Twilio-Signature": "forged"})
    assert response.status_code == 403
    assert http.get(public + "/api/callbacks").json()["items"] == []
