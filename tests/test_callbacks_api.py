"""The callbacks JSON API: queue listing, claim, release, outcome, digital profile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callbacks.models import CallbackRequest
from core.clock import FrozenClock
from core.users import create_user, issue_token
from tests.test_callbacks_support import TUESDAY_10, book


@pytest.fixture
def clock():
    return FrozenClock(TUESDAY_10)


@pytest.fixture
def api(make_app, clock):
    app = make_app(CLOCK=clock, CALLBACKS_RECONCILE_SECONDS=0)
    db = app.extensions["db"]
    with db.transaction() as session:
        tokens = {}
        for name, role in (("anna", "agent"), ("bruno", "agent"), ("admin", "admin")):
            user = create_user(session, name, "a-long-pass-123", role)
            user.phone_number = "+390211111111"
            tokens[name] = {"Authorization": f"Bearer {issue_token(session, user)}"}
        book(session, "+393331000001", TUESDAY_10 - timedelta(minutes=30))
        book(session, "+393331000002", TUESDAY_10 - timedelta(minutes=5),
             not_digital_cue="non ho internet")
    return app, app.test_client(), tokens


def test_queue_lists_in_priority_order_with_explanations(api):
    _, client, tokens = api
    reply = client.get("/api/callbacks?lang=en", headers=tokens["anna"])
    assert reply.status_code == 200
    items = reply.get_json()["items"]
    assert [i["phone"] for i in items] == ["+393331000002", "+393331000001"]
    assert items[0]["explanation"].startswith("not digital, waiting 5 minutes")
    assert items[0]["promise"]["it"].startswith("La richiameremo")


def test_api_needs_a_token_and_known_statuses(api):
    _, client, tokens = api
    assert client.get("/api/callbacks").status_code == 401
    assert client.get("/api/callbacks?status=bogus", headers=tokens["anna"]).status_code == 400


def test_claim_release_and_outcome(api):
    _, client, tokens = api
    first = client.post("/api/callbacks/claim", headers=tokens["anna"]).get_json()
    assert first["phone"] == "+393331000002" and first["status"] == "claimed"
    second = client.post("/api/callbacks/claim", headers=tokens["bruno"]).get_json()
    assert second["phone"] == "+393331000001"
    assert client.post("/api/callbacks/claim", headers=tokens["bruno"]).status_code == 204
    stolen = client.post(f"/api/callbacks/{first['id']}/release", headers=tokens["bruno"])
    assert stolen.status_code == 409
    released = client.post(f"/api/callbacks/{first['id']}/release", headers=tokens["anna"])
    assert released.get_json()["status"] == "queued"
    again = client.post("/api/callbacks/claim", headers=tokens["anna"]).get_json()
    done = client.post(f"/api/callbacks/{again['id']}/outcome", headers=tokens["anna"],
                       json={"outcome": "completed", "note": "bill explained"})
    assert done.status_code == 200
    assert done.get_json()["status"] == "completed" and done.get_json()["promise_kept"] is True
    bad = client.post(f"/api/callbacks/{second['id']}/outcome", headers=tokens["bruno"],
                      json={"outcome": "maybe"})
    assert bad.status_code == 400


def test_an_agent_reopens_a_failed_request(api):
    _, client, tokens = api
    claimed = client.post("/api/callbacks/claim", headers=tokens["anna"]).get_json()
    url = f"/api/callbacks/{claimed['id']}"
    assert client.post(url + "/reopen", headers=tokens["anna"]).status_code == 409  # open
    client.post(url + "/outcome", headers=tokens["anna"], json={"outcome": "failed"})
    reopened = client.post(url + "/reopen", headers=tokens["bruno"], json={"note": "new number"})
    assert reopened.status_code == 200
    assert reopened.get_json()["status"] == "queued"
    listed = client.get("/api/callbacks", headers=tokens["bruno"]).get_json()["items"]
    assert claimed["id"] in [item["id"] for item in listed]  # waiting in the queue again


def test_call_is_refused_at_night(api, clock):
    _, client, tokens = api
    claimed = client.post("/api/callbacks/claim", headers=tokens["anna"]).get_json()
    clock.advance(timedelta(hours=12))  # 22:00 in Rome
    reply = client.post(f"/api/callbacks/{claimed['id']}/call", headers=tokens["anna"])
    assert reply.status_code == 409
    assert "outside calling hours" in reply.get_json()["error"]["message"]


def test_digital_profile_mark_unmark_with_audit_trail(api):
    _, client, tokens = api
    number = "+393331000001"
    assert client.get(f"/api/callers/{number}/digital-profile",
                      headers=tokens["anna"]).get_json()["not_digital"] is False
    marked = client.post(f"/api/callers/{number}/digital-profile", headers=tokens["anna"],
                         json={"not_digital": True, "reason": "no smartphone, told me"})
    assert marked.status_code == 200 and marked.get_json()["source"] == "agent"
    unmarked = client.post(f"/api/callers/{number}/digital-profile", headers=tokens["admin"],
                           json={"not_digital": False, "reason": "uses the app now"}).get_json()
    assert unmarked["not_digital"] is False
    assert [(h["from"], h["to"], h["source"]) for h in unmarked["history"]] == [
        (False, True, "agent"), (True, False, "admin")]
    assert client.post(f"/api/callers/{number}/digital-profile", headers=tokens["anna"],
                       json={"not_digital": True}).status_code == 400
    assert client.post("/api/callers/12/digital-profile", headers=tokens["anna"],
                       json={"not_digital": True, "reason": "x"}).status_code == 400
    assert client.get("/api/callers/+393339999999/digital-profile",
                      headers=tokens["anna"]).status_code == 404


def test_weights_changed_by_an_admin_reorder_the_queue(api):
    _, client, tokens = api
    assert client.put("/api/callbacks/settings/weights", headers=tokens["anna"],
                      json={"not_digital_bonus": 0}).status_code == 403
    reply = client.put("/api/callbacks/settings/weights", headers=tokens["admin"],
                       json={"not_digital_bonus": 0})
    assert reply.status_code == 200
    items = client.get("/api/callbacks", headers=tokens["anna"]).get_json()["items"]
    assert [i["phone"] for i in items] == ["+393331000001", "+393331000002"]
    assert client.put("/api/callbacks/settings/weights", headers=tokens["admin"],
                      json={"bogus": 1}).status_code == 400


def test_openapi_describes_the_callback_routes(api):
    _, client, _ = api
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "/api/callbacks/claim" in paths and "/api/callers/{number}/digital-profile" in paths


def test_a_recorded_message_shows_its_transcript_state_but_never_the_twilio_url(api):
    app, client, tokens = api
    with app.extensions["db"].transaction() as session:
        request = session.query(CallbackRequest).filter_by(phone="+393331000001").one()
        request.recording_url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
        request.recording_duration = 12
        request.transcript_status = "pending"
        request_id = request.id
    reply = client.get(f"/api/callbacks/{request_id}", headers=tokens["anna"]).get_json()
    assert reply["has_recording"] is True and reply["recording_duration"] == 12
    assert reply["transcript_status"] == "pending" and reply["transcript"] is None
    assert "api.twilio.com" not in str(reply)


def test_call_now_while_redis_is_down_answers_503_and_leaves_nothing_half_made(
        make_app, clock, tmp_path):
    """Redis down: a clear 503 and the request back in the agent's hands (it used to be
    a 500, then 409 "it is dialling" forever); once Redis is back the same click works."""
    import shutil

    from callbacks.models import CallAttempt
    from tests.test_core_supervise import ThrowawayRedis, _free_port

    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server for a throwaway Redis")
    server = ThrowawayRedis(_free_port())  # not started yet: Redis is down
    app = make_app(CLOCK=clock, CALLBACKS_RECONCILE_SECONDS=0, REDIS_URL=server.url,
                   RQ_QUEUE_PREFIX="outage")
    with app.extensions["db"].transaction() as session:
        user = create_user(session, "anna", "a-long-pass-123", "agent")
        user.phone_number = "+390211111111"
        token = {"Authorization": f"Bearer {issue_token(session, user)}"}
        book(session, "+393331000001", TUESDAY_10 - timedelta(minutes=30))
    client = app.test_client()
    claimed = client.post("/api/callbacks/claim", headers=token).get_json()
    try:
        for _ in range(2):  # and again: not 409
            reply = client.post(f"/api/callbacks/{claimed['id']}/call", headers=token)
            assert reply.status_code == 503, reply.get_json()
            assert "job queue unavailable" in reply.get_json()["error"]["message"]
        with app.extensions["db"].session_factory() as session:
            request = session.get(CallbackRequest, claimed["id"])
            assert request.status == "claimed" and request.claimed_by == user.id
            assert {a.status for a in session.query(CallAttempt)} == {"failed"}
        server.start()
        reply = client.post(f"/api/callbacks/{claimed['id']}/call", headers=token)
        assert reply.status_code == 202
        assert app.extensions["jobs"].queues["calls"].count == 1
    finally:
        server.stop()
