"""Callback webhooks under duplicates, lost results and a dropped database connection."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import create_engine, event, text, update

from app import create_app
from callbacks import queue, tasks
from callbacks.models import CallAttempt, CallbackRequest
from callbacks.reconcile import reconcile_now
from core.clock import FrozenClock
from core.db import Database
from tests.conftest import POSTGRES_ADMIN_URL, base_config
from tests.ivr_support import signed_post, twiml
from tests.test_callbacks_support import TUESDAY_10, claimed_request

CALL_SID = "CA" + "7" * 32


def _placed(app: Flask, mode: str = "agent_first", **values: Any) -> tuple[int, int]:
    """A request being dialled and its attempt, as after Twilio took the call."""
    request_id, agent_id = claimed_request(app)
    with app.extensions["db"].session_factory() as session:
        attempt = tasks.start_call(session, app.extensions["jobs"], request_id, agent_id,
                                   TUESDAY_10, mode=mode)
    with app.extensions["db"].transaction() as session:
        session.execute(update(CallAttempt).where(CallAttempt.id == attempt.id).values(
            status="in-progress", call_sid=CALL_SID, dispatch_tries=1, **values))
    return request_id, attempt.id


def _request(app: Flask, request_id: int) -> CallbackRequest:
    with app.extensions["db"].session_factory() as session:
        request = session.get(CallbackRequest, request_id)
        session.expunge_all()
    assert request is not None
    return request


def _quiet_app(make_app: Any) -> Flask:
    return make_app(CLOCK=FrozenClock(TUESDAY_10), CALLBACKS_RECONCILE_SECONDS=0,
                    START_IN_PROCESS_WORKER=False)


def test_the_same_dial_result_twice_at_once_counts_the_attempt_once(make_app: Any) -> None:
    app = _quiet_app(make_app)
    request_id, attempt_id = _placed(app, agent_accepted_at=TUESDAY_10)
    path = f"/callbacks/twilio/dial-result/{attempt_id}"
    form = {"CallSid": CALL_SID, "DialCallStatus": "no-answer", "AccountSid": "AC" + "1" * 32}
    # The first duplicate to read the request waits until the other has answered (or 3 s):
    # without a lock both have read "no result yet" by then, and both apply it.
    finished, first = threading.Event(), []
    guard = threading.Lock()

    def hold_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM callback_requests" not in statement:
            return
        if not threading.current_thread().name.startswith("duplicate"):
            return
        with guard:
            is_first = not first
            first.append(1)
        if is_first:
            finished.wait(3)

    engine = app.extensions["db"].engine
    event.listen(engine, "before_cursor_execute", hold_first)
    replies: list[Any] = []

    def post() -> None:
        replies.append(signed_post(app.test_client(), path, form))
        finished.set()

    threads = [threading.Thread(target=post, name=f"duplicate-{n}") for n in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        event.remove(engine, "before_cursor_execute", hold_first)
    assert [reply.status_code for reply in replies] == [200, 200]
    assert all(twiml(reply.data).find("Hangup") is not None for reply in replies)
    request = _request(app, request_id)
    assert request.attempts_made == 1 and request.status == "retry_scheduled"


def test_a_lost_dial_result_never_requeues_a_caller_who_was_connected(make_app: Any) -> None:
    app = _quiet_app(make_app)
    request_id, attempt_id = _placed(app, mode="caller_first", agent_accepted_at=TUESDAY_10)
    reply = signed_post(app.test_client(), f"/callbacks/twilio/status/{attempt_id}",
                        {"CallSid": CALL_SID, "CallStatus": "completed", "SequenceNumber": "3",
                         "CallDuration": "240", "AccountSid": "AC" + "1" * 32})
    assert reply.status_code == 204
    request = _request(app, request_id)
    assert request.status == "connected" and request.attempts_made == 1


def test_a_lost_dial_result_of_an_agent_first_call_the_caller_answered(make_app: Any) -> None:
    app = _quiet_app(make_app)
    request_id, attempt_id = _placed(app, agent_accepted_at=TUESDAY_10, answered_by="human")
    signed_post(app.test_client(), f"/callbacks/twilio/status/{attempt_id}",
                {"CallSid": CALL_SID, "CallStatus": "completed", "SequenceNumber": "3",
                 "AccountSid": "AC" + "1" * 32})
    assert _request(app, request_id).status == "connected"


def test_a_connected_call_awaits_the_outcome_whatever_twilio_and_time_say(
        make_app: Any) -> None:
    app = _quiet_app(make_app)
    request_id, attempt_id = _placed(app, agent_accepted_at=TUESDAY_10)
    client, account = app.test_client(), {"CallSid": CALL_SID, "AccountSid": "AC" + "1" * 32}
    status_path = f"/callbacks/twilio/status/{attempt_id}"
    signed_post(client, status_path, {**account, "CallStatus": "in-progress",
                                      "SequenceNumber": "2"})
    assert _request(app, request_id).status == "dialling"  # still ringing the caller
    reply = signed_post(client, f"/callbacks/twilio/dial-result/{attempt_id}",
                        {**account, "DialCallStatus": "completed", "DialCallDuration": "180"})
    assert reply.status_code == 200
    for sequence in ("3", "3"):  # the call's end, sent twice
        signed_post(client, status_path, {**account, "CallStatus": "completed",
                                          "SequenceNumber": sequence, "CallDuration": "200"})
    request = _request(app, request_id)
    assert request.status == "connected" and request.connected_at == TUESDAY_10
    assert request.completed_at is None and request.promise_kept is None
    assert request.attempts_made == 1
    # hours later, with the notes window long gone, the reconciler leaves it as it is
    late = TUESDAY_10 + queue.NOTES_WINDOW + timedelta(hours=3)
    counts = reconcile_now(app, late)
    assert counts["promoted"] == counts["released"] == 0
    assert _request(app, request_id).status == "connected"
    with app.extensions["db"].transaction() as session:
        queue.record_agent_outcome(session, request_id, request.claimed_by or 0, "completed",
                                   late, note="explained the bill")
    done = _request(app, request_id)
    assert (done.status, done.completed_at, done.promise_kept) == ("completed", late, True)


def test_a_caller_first_call_nobody_took_still_goes_back_to_the_queue(make_app: Any) -> None:
    app = _quiet_app(make_app)
    request_id, attempt_id = _placed(app, mode="caller_first")
    signed_post(app.test_client(), f"/callbacks/twilio/status/{attempt_id}",
                {"CallSid": CALL_SID, "CallStatus": "completed", "SequenceNumber": "3",
                 "AccountSid": "AC" + "1" * 32})
    request = _request(app, request_id)
    assert request.status == "queued" and request.attempts_made == 0


def _kill_connections(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        killed = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name}).scalar()
    admin.dispose()
    assert killed


def test_a_status_callback_that_meets_a_dropped_connection_is_applied(postgres_url: str) -> None:
    db = Database(postgres_url, ping_after_idle=3600)  # a dead pooled connection is met
    app = create_app({**base_config(postgres_url), "DATABASE": db,
                      "CLOCK": FrozenClock(TUESDAY_10), "CALLBACKS_RECONCILE_SECONDS": 0,
                      "START_IN_PROCESS_WORKER": False})
    try:
        request_id, attempt_id = _placed(app)
        db.session.execute(text("SELECT 1"))  # leave one connection in the pool
        db.session.commit()
        db.session.remove()
        _kill_connections(postgres_url)
        reply = signed_post(app.test_client(), f"/callbacks/twilio/status/{attempt_id}",
                            {"CallSid": CALL_SID, "CallStatus": "busy", "SequenceNumber": "3",
                             "AccountSid": "AC" + "1" * 32})
        assert reply.status_code == 204
        with db.session_factory() as session:
            assert session.get(CallAttempt, attempt_id).status == "busy"  # type: ignore[union-attr]
        assert _request(app, request_id).status == "claimed"
    finally:
        app.extensions["jobs"].close()
        db.dispose()


def test_a_twiml_webhook_that_fails_answers_an_apology_not_an_error(
        make_app: Any, tmp_path: Any) -> None:
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}",
                   CALLBACKS_RECONCILE_SECONDS=0, START_IN_PROCESS_WORKER=False)
    reply = signed_post(app.test_client(), "/callbacks/twilio/dial-result/1",
                        {"CallSid": CALL_SID, "DialCallStatus": "completed"})
    assert reply.status_code == 200
    root = twiml(reply.data)
    assert root.find("Say") is not None and root.find("Hangup") is not None
    status = signed_post(app.test_client(), "/callbacks/twilio/status/1",
                         {"CallSid": CALL_SID, "CallStatus": "completed"})
    assert status.status_code == 500
