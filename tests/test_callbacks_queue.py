"""Claiming: priority order, leases, release, outcomes, and many agents at once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from callbacks import console_queries, desk, queue
from callbacks.models import CallAttempt, CallbackRequest
from callbacks.outcomes import apply_status, callee_result
from callbacks.promise import average_handling_minutes
from tests.test_callbacks_support import TUESDAY_10, book, make_agent


def _numbers(count: int) -> list[str]:
    return [f"+39333{1000000 + i:07d}" for i in range(count)]


def test_claim_gives_the_highest_priority_request_and_a_lease(session):
    agent = make_agent(session)
    book(session, "+393331000001", TUESDAY_10)
    nd = book(session, "+393331000002", TUESDAY_10 + timedelta(minutes=5),
              not_digital_cue="non ho il computer")
    session.commit()
    claimed = queue.claim_next(session, agent.id, TUESDAY_10 + timedelta(minutes=6))
    assert claimed is not None and claimed.id == nd.request_id
    assert claimed.status == "claimed" and claimed.claimed_by == agent.id
    assert claimed.lease_expires_at == TUESDAY_10 + timedelta(minutes=16)


def test_expired_lease_returns_the_request_to_the_queue(session):
    anna, bruno = make_agent(session, "anna"), make_agent(session, "bruno")
    booking = book(session, "+393331000001", TUESDAY_10)
    session.commit()
    assert queue.claim_next(session, anna.id, TUESDAY_10).id == booking.request_id
    assert queue.claim_next(session, bruno.id, TUESDAY_10 + timedelta(minutes=5)) is None
    later = TUESDAY_10 + timedelta(minutes=11)
    assert queue.promote_due(session, later) == 1
    session.commit()
    assert queue.claim_next(session, bruno.id, later).claimed_by == bruno.id


def test_renewed_lease_is_kept(session):
    anna, bruno = make_agent(session, "anna"), make_agent(session, "bruno")
    booking = book(session, "+393331000001", TUESDAY_10)
    session.commit()
    queue.claim_next(session, anna.id, TUESDAY_10)
    queue.renew_lease(session, booking.request_id, anna.id, TUESDAY_10 + timedelta(minutes=8))
    session.commit()
    assert queue.promote_due(session, TUESDAY_10 + timedelta(minutes=11)) == 0
    assert queue.claim_next(session, bruno.id, TUESDAY_10 + timedelta(minutes=11)) is None


def test_release_keeps_the_place_and_outcome_completes(session):
    anna = make_agent(session)
    booking = book(session, "+393331000001", TUESDAY_10)
    session.commit()
    queue.claim_next(session, anna.id, TUESDAY_10)
    queue.release(session, booking.request_id, anna.id, TUESDAY_10)
    session.commit()
    again = queue.claim_next(session, anna.id, TUESDAY_10)
    done = queue.record_agent_outcome(session, again.id, anna.id, "completed",
                                      TUESDAY_10 + timedelta(minutes=3), note="sorted")
    assert done.status == "completed" and done.promise_kept is True


def test_another_agent_cannot_release_or_close_a_claimed_request(session):
    anna, bruno = make_agent(session, "anna"), make_agent(session, "bruno")
    booking = book(session, "+393331000001", TUESDAY_10)
    session.commit()
    queue.claim_next(session, anna.id, TUESDAY_10)
    for action in (lambda: queue.release(session, booking.request_id, bruno.id, TUESDAY_10),
                   lambda: queue.record_agent_outcome(session, booking.request_id, bruno.id,
                                                      "completed", TUESDAY_10)):
        try:
            action()
        except queue.QueueError:
            continue
        raise AssertionError("another agent changed a claimed request")


def test_requests_without_a_number_or_before_their_window_are_not_claimed(session):
    anna = make_agent(session)
    book(session, None, TUESDAY_10, call_sid="CA-anon")
    book(session, "+393331000001", TUESDAY_10, window_start=TUESDAY_10 + timedelta(hours=2),
         window_end=TUESDAY_10 + timedelta(hours=3))
    session.commit()
    assert queue.claim_next(session, anna.id, TUESDAY_10) is None
    assert queue.claim_next(session, anna.id, TUESDAY_10 + timedelta(hours=2)) is not None


def test_queue_listing_explains_each_position(session):
    book(session, "+393331000001", TUESDAY_10)
    book(session, "+393331000002", TUESDAY_10 + timedelta(minutes=30),
         not_digital_cue="non ho internet")
    session.commit()
    entries = queue.list_queue(session, TUESDAY_10 + timedelta(minutes=42), lang="en")
    assert [e.position for e in entries] == [1, 2]
    assert entries[0].explanation.startswith("not digital, waiting 12 minutes, promised by")
    assert entries[1].explanation == "waiting 42 minutes, promise missed at 10:15"
    assert entries[0].score > entries[1].score


def test_two_agents_claiming_at_once_never_get_the_same_request(db, session):
    agents = [make_agent(session, f"agent{i}").id for i in range(8)]
    for number in _numbers(40):
        book(session, number, TUESDAY_10)
    session.commit()
    claims: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(agents))
    lock = threading.Lock()

    def work(agent_id: int) -> None:
        barrier.wait()
        with db.session_factory() as own:
            try:
                while (claimed := queue.claim_next(own, agent_id, TUESDAY_10)) is not None:
                    with lock:
                        claims.append(claimed.id)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert len(claims) == 40
    assert not [rid for rid, n in Counter(claims).items() if n > 1]
    owners = session.execute(select(CallbackRequest.claimed_by)).scalars().all()
    assert None not in owners


def _connected(session, agent_id: int, phone: str = "+393331000001"):  # type: ignore[no-untyped-def]
    """A request whose callback connected: the agent's call reached the caller at 10:05."""
    booking = book(session, phone, TUESDAY_10)
    session.commit()
    request = queue.claim_next(session, agent_id, TUESDAY_10)
    assert request is not None
    request.status = "dialling"  # as tasks.start_call leaves it
    attempt = CallAttempt(request=request, agent_id=agent_id, number="+390211111111",
                          status="in-progress", call_sid=f"CA{request.id:032d}",
                          agent_accepted_at=TUESDAY_10, created_at=TUESDAY_10,
                          updated_at=TUESDAY_10)
    session.add(attempt)
    session.flush()
    callee_result(session, attempt, "completed", TUESDAY_10 + timedelta(minutes=5))
    session.commit()
    return booking.request_id


def test_a_connected_call_awaits_the_agents_outcome_and_is_not_resolved(session):
    anna = make_agent(session)
    request_id = _connected(session, anna.id)
    request = session.get(CallbackRequest, request_id)
    assert request.status == "connected" and request.awaits_outcome
    assert request.connected_at == TUESDAY_10 + timedelta(minutes=5)
    assert request.completed_at is None and request.promise_kept is None
    assert not request.is_open and request.attempts_made == 1
    # Twilio's status callbacks of the same call, late or repeated, change nothing
    attempt = request.attempts[0]
    for status, sequence in (("in-progress", 2), ("completed", 3), ("completed", 3)):
        apply_status(session, attempt, status=status, sequence=sequence, duration=240,
                     now=TUESDAY_10 + timedelta(minutes=9))
    session.commit()
    assert attempt.status == "completed" and request.status == "connected"
    # nor does time passing: no promotion, and the agent still holds it, hours later
    late = TUESDAY_10 + queue.NOTES_WINDOW + timedelta(hours=20)
    assert queue.promote_due(session, late) == 0
    session.commit()
    assert session.get(CallbackRequest, request_id).status == "connected"
    assert [r.id for r in console_queries.my_claims(session, anna.id, late)] == [request_id]
    assert console_queries.outcome_overdue(request, late)
    with pytest.raises(desk.DeskError, match="finish_first"):  # the outcome comes first
        desk.take_next(session, anna.id, late)
    done = queue.record_agent_outcome(session, request_id, anna.id, "completed", late,
                                      note="explained the bill")
    session.commit()
    assert done.status == "completed" and done.completed_at == late
    assert done.promise_kept is True  # judged on the call, which came on time
    assert console_queries.my_claims(session, anna.id, late) == []


def test_a_forgotten_outcome_does_not_lengthen_the_waits_promised_to_callers(session):
    anna = make_agent(session)
    request_id = _connected(session, anna.id)  # claimed at 10:00, reached at 10:05
    late = TUESDAY_10 + timedelta(hours=5)
    queue.record_agent_outcome(session, request_id, anna.id, "completed", late)
    session.commit()
    assert average_handling_minutes(session, late, default=30.0) == 5.0


def test_a_connected_call_offers_only_the_outcomes_that_make_sense(session):
    anna = make_agent(session)
    request_id = _connected(session, anna.id)
    for outcome in ("no_answer", "cancelled"):
        with pytest.raises(ValueError, match="after a connected call"):
            queue.record_agent_outcome(session, request_id, anna.id, outcome,
                                       TUESDAY_10 + timedelta(minutes=10))
    assert session.get(CallbackRequest, request_id).status == "connected"


def test_an_overdue_outcome_can_be_taken_over_by_another_agent(session):
    anna, bruno = make_agent(session, "anna"), make_agent(session, "bruno")
    request_id = _connected(session, anna.id)
    soon = TUESDAY_10 + timedelta(minutes=30)
    with pytest.raises(desk.DeskError, match="cannot_take_over"):  # anna still has time
        desk.take_over_outcome(session, bruno.id, request_id, soon)
    with pytest.raises(queue.QueueError, match="another agent"):
        queue.record_agent_outcome(session, request_id, bruno.id, "completed", soon)
    late = TUESDAY_10 + timedelta(minutes=5) + queue.NOTES_WINDOW
    taken = desk.take_over_outcome(session, bruno.id, request_id, late)
    session.commit()
    assert taken.claimed_by == bruno.id and taken.status == "connected"
    assert console_queries.my_claims(session, anna.id, late) == []
    assert [r.id for r in console_queries.my_claims(session, bruno.id, late)] == [request_id]
    queue.record_agent_outcome(session, request_id, bruno.id, "failed", late,
                               note="wrong number")
    session.commit()
    assert session.get(CallbackRequest, request_id).status == "failed"


def test_after_a_connected_call_a_follow_up_reopens_the_request_for_later(session):
    anna = make_agent(session)
    request_id = _connected(session, anna.id)
    later = TUESDAY_10 + timedelta(days=1)
    request = queue.follow_up_connected(session, request_id, anna.id, "retry_scheduled",
                                        TUESDAY_10 + timedelta(minutes=10),
                                        note="send the paper form first", retry_at=later)
    session.commit()
    assert request.status == "retry_scheduled" and request.not_before == later
    assert request.completed_at is None and request.claimed_by is None
    assert request.promise_kept is True  # the caller was reached when we said
    assert "paper form" in request.outcome_note


def test_after_a_connected_call_a_wrong_number_is_recorded_as_failed(session):
    anna = make_agent(session)
    request_id = _connected(session, anna.id)
    request = queue.follow_up_connected(session, request_id, anna.id, "failed",
                                        TUESDAY_10 + timedelta(minutes=10), note="wrong number")
    assert request.status == "failed"


def test_a_follow_up_needs_a_future_time_and_a_connected_call(session):
    anna = make_agent(session)
    request_id = _connected(session, anna.id)
    with pytest.raises(ValueError, match="future"):
        queue.follow_up_connected(session, request_id, anna.id, "retry_scheduled",
                                  TUESDAY_10 + timedelta(minutes=10), retry_at=TUESDAY_10)
    other = book(session, "+393331000009", TUESDAY_10)
    session.commit()
    with pytest.raises(queue.QueueError, match="not connected"):
        queue.follow_up_connected(session, other.request_id, anna.id, "completed",
                                  TUESDAY_10 + timedelta(minutes=10))


@pytest.mark.parametrize("closed", ["failed", "no_answer", "cancelled"])
def test_an_agent_reopens_a_closed_request_and_it_is_claimable_again(session, closed):
    anna, bruno = make_agent(session, "anna"), make_agent(session, "bruno")
    booking = book(session, "+393331000001", TUESDAY_10 - timedelta(minutes=5))
    assert queue.claim_next(session, anna.id, TUESDAY_10).id == booking.request_id
    queue.record_agent_outcome(session, booking.request_id, anna.id, closed, TUESDAY_10,
                               note="wrong number?")
    later = TUESDAY_10 + timedelta(days=1)
    request = queue.reopen(session, booking.request_id, bruno.id, later, note="right number")
    assert (request.status, request.claimed_by, request.not_before) == ("queued", None, later)
    assert request.outcome_note == "right number"
    session.commit()
    assert queue.claim_next(session, bruno.id, later).id == booking.request_id
    with pytest.raises(queue.QueueError):
        queue.reopen(session, booking.request_id, bruno.id, later)  # it is open already
