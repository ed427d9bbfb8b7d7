"""The agent console through Flask's test client (SQLite and PostgreSQL): pages, actions,
CSRF, sessions and languages. The browser-driven checks are in test_browser_console.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from callbacks.booking import book_callback
from callbacks.models import CallAttempt, CallbackRequest, Caller, DigitalProfileChange
from callbacks.queue import NOTES_WINDOW
from core.clock import FrozenClock
from core.users import create_user
from ivr.models import Call, CallEvent, Flow, FlowVersion
from tests.ivr_support import signed_post

TUESDAY_10 = datetime(2025, 3, 11, 9, 0, tzinfo=UTC)  # 10:00 in Rome, the hotline is open
PASSWORD = "correct-horse-battery"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(TUESDAY_10)


@pytest.fixture
def console_app(make_app: Any, clock: FrozenClock) -> Flask:
    """The app on a frozen Tuesday morning; jobs are queued but not run (no worker)."""
    app: Flask = make_app(CLOCK=clock, START_IN_PROCESS_WORKER=False,
                          CALLBACKS_RECONCILE_SECONDS=0)
    with app.extensions["db"].transaction() as session:
        create_user(session, "anna", PASSWORD, "agent", display_name="Anna", language="en")
        create_user(session, "bruno", PASSWORD, "agent", display_name="Bruno")
        session.flush()
    return app


def book(app: Flask, phone: str, minutes_ago: int, *, cue: str | None = None,
         words: str = "ho un problema con la bolletta", intent: str = "billing",
         call_sid: str | None = None) -> int:
    """Book a callback as the flow engine would, `minutes_ago` before the frozen now."""
    with app.extensions["db"].transaction() as session:
        booking = book_callback(
            session, phone=phone, call_sid=call_sid or f"CA{phone[-8:]}{minutes_ago:024d}",
            intent=intent, words=words, language="it", window_start=None, window_end=None,
            not_digital_cue=cue, source="speech",
            now=TUESDAY_10 - timedelta(minutes=minutes_ago))
        return booking.request_id


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: Any, username: str = "anna") -> str:
    """Sign in through the form (an English browser); returns this session's CSRF token."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-GB,en;q=0.9"
    token = csrf_from(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"username": username, "password": PASSWORD,
                                         "csrf_token": token})
    assert answer.status_code == 302
    return csrf_from(client.get("/console").get_data(as_text=True))


def request_row(app: Flask, request_id: int) -> CallbackRequest:
    with app.extensions["db"].session_factory() as session:
        row = session.get(CallbackRequest, request_id)
        assert row is not None
        return row


def waiting_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="req-(\d+)"', html)]


def test_console_needs_a_login(console_app: Flask) -> None:
    answer = console_app.test_client().get("/console")
    assert answer.status_code == 302
    assert "/login" in answer.headers["Location"]
    state = console_app.test_client().get("/console/state")
    assert state.status_code == 302


def test_queue_shows_position_reason_badge_words_and_promise(console_app: Flask) -> None:
    plain = book(console_app, "+393331111111", minutes_ago=40)
    offline = book(console_app, "+393332222222", minutes_ago=5, cue="non ho internet",
                   words="non ho internet e devo pagare", intent="payment")
    client = console_app.test_client()
    login(client)
    html = client.get("/console", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert waiting_ids(html) == [offline, plain]  # not digital first, despite waiting less
    first = html[html.index(f'id="req-{offline}"'):html.index(f'id="req-{plain}"')]
    assert ">1</td>" in first
    assert "not digital, waiting 5 minutes" in first
    assert "Not digital · caller said so" in first
    assert "non ho internet e devo pagare" in first
    assert re.search(r"\d+ min left", first)
    assert 'aria-live="polite"' in html
    assert "<kbd>n</kbd>" in html and 'aria-keyshortcuts="n"' in html


def test_queue_speaks_italian_to_an_italian_browser(console_app: Flask) -> None:
    book(console_app, "+393331111111", minutes_ago=12)
    client = console_app.test_client()
    login(client)
    html = client.get("/console", headers={"Accept-Language": "it-IT,it;q=0.9"}).get_data(
        as_text=True)
    assert "Coda delle richiamate" in html
    assert "in attesa da 12 minuti" in html
    assert "Prendi il prossimo" in html


def test_state_sends_new_html_only_when_the_list_changed(console_app: Flask) -> None:
    client = console_app.test_client()
    login(client)
    first = client.get("/console/state").get_json()
    assert first["changed"] is True and first["waiting"] == 0
    same = client.get(f"/console/state?v={first['version']}").get_json()
    assert same == {"version": first["version"], "waiting": 0, "in_hand": 0, "changed": False,
                    "mine": "", "calls": {}}
    new_id = book(console_app, "+393331111111", minutes_ago=1)
    changed = client.get(f"/console/state?v={first['version']}").get_json()
    assert changed["changed"] is True and changed["ids"] == [new_id]
    assert f'id="req-{new_id}"' in changed["html"]


def test_take_next_claims_the_most_urgent_and_shows_it_in_hand(console_app: Flask) -> None:
    older = book(console_app, "+393331111111", minutes_ago=50)
    book(console_app, "+393332222222", minutes_ago=3)
    client = console_app.test_client()
    token = login(client)
    answer = client.post("/console/take", data={"csrf_token": token})
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/console#claim-{older}")
    row = request_row(console_app, older)
    assert row.status == "claimed"
    html = client.get("/console").get_data(as_text=True)
    assert f'id="claim-{older}"' in html
    assert older not in waiting_ids(html)


def test_two_agents_never_get_the_same_request(console_app: Flask) -> None:
    first = book(console_app, "+393331111111", minutes_ago=20)
    second = book(console_app, "+393332222222", minutes_ago=10)
    anna, bruno = console_app.test_client(), console_app.test_client()
    anna_token, bruno_token = login(anna, "anna"), login(bruno, "bruno")
    anna.post("/console/take", data={"csrf_token": anna_token})
    bruno.post("/console/take", data={"csrf_token": bruno_token})
    claims = {request_row(console_app, i).claimed_by for i in (first, second)}
    assert len(claims) == 2 and None not in claims
    # One request at a time: anna is told to finish hers, not handed another.
    again = anna.post("/console/take", data={"csrf_token": anna_token},
                      follow_redirects=True)
    assert "Finish the request in your hands first" in again.get_data(as_text=True)


def test_resolved_outcome_closes_the_request_with_notes(console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20)
    client = console_app.test_client()
    token = login(client)
    client.post("/console/take", data={"csrf_token": token})
    client.post(f"/console/requests/{request_id}/outcome",
                data={"csrf_token": token, "outcome": "resolved", "notes": "bill explained"})
    row = request_row(console_app, request_id)
    assert (row.status, row.outcome_note) == ("completed", "bill explained")
    assert row.completed_at == TUESDAY_10
    assert request_id not in waiting_ids(client.get("/console").get_data(as_text=True))


def test_call_again_needs_a_future_time_and_schedules_it(console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20)
    client = console_app.test_client()
    token = login(client)
    client.post("/console/take", data={"csrf_token": token})
    url = f"/console/requests/{request_id}/outcome"
    refused = client.post(url, data={"csrf_token": token, "outcome": "call_again",
                                     "retry_at": "2025-03-11T09:00"}, follow_redirects=True)
    assert "Choose a time in the future" in refused.get_data(as_text=True)
    assert request_row(console_app, request_id).status == "claimed"
    client.post(url, data={"csrf_token": token, "outcome": "call_again",
                           "retry_at": "2025-03-11T15:30", "notes": "after work"})
    row = request_row(console_app, request_id)
    assert row.status == "retry_scheduled"
    assert row.not_before == datetime(2025, 3, 11, 14, 30, tzinfo=UTC)  # 15:30 in Rome


def test_wrong_number_keeps_the_reason_in_the_notes(console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20)
    client = console_app.test_client()
    token = login(client)
    client.post("/console/take", data={"csrf_token": token})
    client.post(f"/console/requests/{request_id}/outcome",
                data={"csrf_token": token, "outcome": "wrong_number", "notes": "a shop"})
    row = request_row(console_app, request_id)
    assert (row.status, row.outcome_note) == ("failed", "wrong number: a shop")


def test_a_request_closed_as_wrong_number_can_be_reopened_from_the_callers_page(
        console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20)
    caller_id = request_row(console_app, request_id).caller_id
    client = console_app.test_client()
    token = login(client)
    client.post("/console/take", data={"csrf_token": token})
    client.post(f"/console/requests/{request_id}/outcome",
                data={"csrf_token": token, "outcome": "wrong_number", "notes": "a shop"})
    page = client.get(f"/console/callers/{caller_id}").get_data(as_text=True)
    assert f"/console/requests/{request_id}/reopen" in page
    answer = client.post(f"/console/requests/{request_id}/reopen",
                         data={"csrf_token": token}, follow_redirects=True)
    assert "back in the queue" in answer.get_data(as_text=True)
    assert request_row(console_app, request_id).status == "queued"
    again = client.post(f"/console/requests/{request_id}/reopen",
                        data={"csrf_token": token}, follow_redirects=True)
    assert "cannot be reopened" in again.get_data(as_text=True)


def test_an_agent_cannot_close_another_agents_request(console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20)
    anna, bruno = console_app.test_client(), console_app.test_client()
    anna_token, bruno_token = login(anna, "anna"), login(bruno, "bruno")
    anna.post("/console/take", data={"csrf_token": anna_token})
    answer = bruno.post(f"/console/requests/{request_id}/outcome",
                        data={"csrf_token": bruno_token, "outcome": "resolved"},
                        follow_redirects=True)
    assert "not in your hands" in answer.get_data(as_text=True)
    assert request_row(console_app, request_id).status == "claimed"


def test_release_gives_the_request_back(console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20)
    client = console_app.test_client()
    token = login(client)
    client.post("/console/take", data={"csrf_token": token})
    client.post(f"/console/requests/{request_id}/release", data={"csrf_token": token})
    row = request_row(console_app, request_id)
    assert (row.status, row.claimed_by) == ("queued", None)


def test_call_now_records_an_attempt_and_queues_the_call(console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20)
    with console_app.extensions["db"].transaction() as session:
        from core.models import User

        anna = session.scalar(select(User).where(User.username == "anna"))
        assert anna is not None
        anna.phone_number = "+390211111111"
    client = console_app.test_client()
    token = login(client)
    client.post("/console/take", data={"csrf_token": token})
    answer = client.post(f"/console/requests/{request_id}/call", data={"csrf_token": token},
                         follow_redirects=True)
    assert "your phone rings first" in answer.get_data(as_text=True)
    row = request_row(console_app, request_id)
    assert row.status == "dialling"
    with console_app.extensions["db"].session_factory() as session:
        attempt = session.scalar(select(CallAttempt).where(CallAttempt.request_id == request_id))
        assert attempt is not None
        assert (attempt.mode, attempt.number, attempt.status) == (
            "agent_first", "+390211111111", "pending")
    assert console_app.extensions["jobs"].pending() == 1


def test_a_connected_call_stays_in_hand_until_an_outcome_is_chosen(
        console_app: Flask, clock: FrozenClock) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=2)
    with console_app.extensions["db"].transaction() as session:
        from core.models import User

        for user in session.scalars(select(User)):
            user.phone_number = "+390211111111"
    anna, bruno = console_app.test_client(), console_app.test_client()
    anna_token, bruno_token = login(anna, "anna"), login(bruno, "bruno")
    anna.post("/console/take", data={"csrf_token": anna_token})
    anna.post(f"/console/requests/{request_id}/call", data={"csrf_token": anna_token})
    with console_app.extensions["db"].session_factory() as session:
        attempt_id = session.scalar(select(CallAttempt.id).where(
            CallAttempt.request_id == request_id))
    twilio = console_app.test_client()  # Twilio's webhooks: anna pressed 1, the caller answered
    call = {"CallSid": "CA" + "5" * 32, "AccountSid": "AC" + "1" * 32}
    signed_post(twilio, f"/callbacks/twilio/bridge-accept/{attempt_id}", {**call, "Digits": "1"})
    signed_post(twilio, f"/callbacks/twilio/dial-result/{attempt_id}",
                {**call, "DialCallStatus": "completed"})
    assert request_row(console_app, request_id).status == "connected"
    page = anna.get("/console").get_data(as_text=True)
    claim = page[page.index(f'id="claim-{request_id}"'):]
    assert "connected: outcome needed" in claim and "choose the outcome" in claim
    assert "counted as not resolved" in claim
    refused = anna.post(f"/console/requests/{request_id}/outcome",
                        data={"csrf_token": anna_token, "notes": "explained"})
    assert refused.status_code == 422 and "Choose an outcome first" in refused.get_data(
        as_text=True)
    taken = anna.post("/console/take", data={"csrf_token": anna_token}, follow_redirects=True)
    assert "Finish the request in your hands first" in taken.get_data(as_text=True)
    assert bruno.post(f"/console/requests/{request_id}/take-over",
                      data={"csrf_token": bruno_token}).status_code == 303
    assert request_row(console_app, request_id).claimed_by != _user_id(console_app, "bruno")
    # the notes window passes: still connected, still anna's, and now others see it
    clock.advance(NOTES_WINDOW + timedelta(minutes=1))
    assert request_row(console_app, request_id).status == "connected"
    assert "The outcome is overdue" in anna.get("/console").get_data(as_text=True)
    seen = bruno.get("/console").get_data(as_text=True)
    in_hand = seen[seen.index(f'id="in-hand-{request_id}"'):]
    assert "outcome needed since 11/03 10:" in in_hand and "Take over" in in_hand
    bruno.post(f"/console/requests/{request_id}/take-over", data={"csrf_token": bruno_token})
    assert f'id="claim-{request_id}"' in bruno.get("/console").get_data(as_text=True)
    bruno.post(f"/console/requests/{request_id}/outcome",
               data={"csrf_token": bruno_token, "outcome": "resolved", "notes": "done"})
    row = request_row(console_app, request_id)
    assert (row.status, row.claimed_by, row.outcome_note) == (
        "completed", _user_id(console_app, "bruno"), "done")
    assert row.promise_kept is True  # judged on the call, at 10:00, not on bruno's notes


def _user_id(app: Flask, username: str) -> int:
    from core.models import User

    with app.extensions["db"].session_factory() as session:
        found = session.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return found


def test_call_now_explains_why_it_cannot_call(console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20)
    client = console_app.test_client()
    token = login(client)
    client.post("/console/take", data={"csrf_token": token})
    answer = client.post(f"/console/requests/{request_id}/call", data={"csrf_token": token},
                         follow_redirects=True)
    html = answer.get_data(as_text=True)
    assert "The call could not be placed." in html
    assert "no phone number for the agent" in html
    assert request_row(console_app, request_id).status == "claimed"


def test_marking_not_digital_needs_a_reason_and_is_audited(console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20)
    caller_id = request_row(console_app, request_id).caller_id
    client = console_app.test_client()
    token = login(client)
    url = f"/console/callers/{caller_id}/not-digital"
    refused = client.post(url, data={"csrf_token": token, "value": "1", "reason": " "},
                          follow_redirects=True)
    assert "Say why" in refused.get_data(as_text=True)
    client.post(url, data={"csrf_token": token, "value": "1", "reason": "no smartphone"})
    with console_app.extensions["db"].session_factory() as session:
        person = session.get(Caller, caller_id)
        assert person is not None and person.not_digital
        assert person.not_digital_source == "agent"
        change = session.scalar(select(DigitalProfileChange))
        assert change is not None and change.reason == "no smartphone"
    assert request_row(console_app, request_id).not_digital
    page = client.get(f"/console/callers/{caller_id}").get_data(as_text=True)
    assert "marked not digital" in page and "no smartphone" in page and "Anna" in page
    client.post(url, data={"csrf_token": token, "value": "0", "reason": "uses the app now"})
    assert not request_row(console_app, request_id).not_digital


def test_caller_page_shows_each_step_in_the_callers_words(console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20, call_sid="CA" + "7" * 32)
    with console_app.extensions["db"].transaction() as session:
        flow = Flow(key="main", name="Main")
        version = FlowVersion(flow=flow, number=1, status="published", document={})
        call = Call(call_sid="CA" + "7" * 32, from_number="+393331111111", language="it",
                    flow_version=version, current_step="done", intent="billing",
                    outcome="hangup_callback", started_at=TUESDAY_10 - timedelta(minutes=21))
        call.events = [
            CallEvent(step="need", attempt=0, words="ho un problema con la bolletta"),
            CallEvent(step="confirm", attempt=0, digits="1"),
        ]
        session.add(call)
        request = session.get(CallbackRequest, request_id)
        assert request is not None
        request.recording_url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
        request.transcript_status, request.transcript = "done", "sono Maria, richiamatemi"
        request.transcript_confidence = 0.81
    caller_id = request_row(console_app, request_id).caller_id
    client = console_app.test_client()
    login(client)
    html = client.get(f"/console/callers/{caller_id}").get_data(as_text=True)
    assert "ho un problema con la bolletta" in html
    assert "keyed 1" in html
    assert "caller hung up, callback booked" in html and "hangup_callback" not in html
    player = f'<audio controls preload="none" src="/console/requests/{request_id}/recording.wav"'
    assert player in html and "sono Maria, richiamatemi" in html and "81%" in html
    queue_html = client.get("/console").get_data(as_text=True)
    assert player in queue_html  # the message is playable in the list, through the console
    assert "api.twilio.com" not in html + queue_html
    assert console_app.test_client().get(f"/console/callers/{caller_id}").status_code == 302
    assert client.get("/console/callers/999999").status_code == 404


def test_a_forged_form_without_csrf_token_changes_nothing(console_app: Flask) -> None:
    request_id = book(console_app, "+393331111111", minutes_ago=20)
    client = console_app.test_client()
    login(client)
    answer = client.post("/console/take")
    assert answer.status_code == 400
    forged = client.post("/console/take", data={"csrf_token": "forged"})
    assert forged.status_code == 400
    assert request_row(console_app, request_id).status == "queued"


def test_an_ended_session_shows_no_queue_data(console_app: Flask) -> None:
    book(console_app, "+393331111111", minutes_ago=20, words="parole riservate")
    client = console_app.test_client()
    token = login(client)
    client.post("/logout", data={"csrf_token": token})
    answer = client.get("/console")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
    assert "parole riservate" not in client.get("/console/state").get_data(as_text=True)


def test_a_returned_call_is_told_as_read_not_as_the_page_held_it(console_app: Flask) -> None:
    # Under load a status callback can commit between the console's two reads of one
    # request (its claims, then the returned calls): the notice once said "connected" for
    # a callee who had declined, and the page never reloaded (CI, session 9).
    from callbacks.call_status import returned_requests, word

    request_id = book(console_app, "+393331111111", minutes_ago=20)
    anna = _user_id(console_app, "anna")
    with console_app.extensions["db"].transaction() as session:
        attempt = CallAttempt(request_id=request_id, agent_id=anna, number="+390211111111",
                              status="in-progress", callee_status="completed",
                              created_at=TUESDAY_10, updated_at=TUESDAY_10)
        session.add(attempt)
        session.flush()
        attempt_id = attempt.id
    with console_app.extensions["db"].session_factory() as session:
        held = session.get(CallAttempt, attempt_id)
        assert held is not None and word(held) == "connected"
        session.execute(update(CallAttempt).where(CallAttempt.id == attempt_id)
                        .values(callee_status="busy"),
                        execution_options={"synchronize_session": False})
        returned = returned_requests(session, anna, TUESDAY_10)
        assert [(r.request.id, r.word) for r in returned] == [(request_id, "declined")]
