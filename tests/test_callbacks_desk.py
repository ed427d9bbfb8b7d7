"""The agent's desk: one request at a time, after-call work, availability in the promise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callbacks import desk, queue
from callbacks.models import AWAY, BUSY, Shift
from callbacks.promise import agents_available
from tests.test_callbacks_support import TUESDAY_10, book, make_agent


def test_an_agent_holding_a_request_is_not_given_another(session):
    anna = make_agent(session)
    first = book(session, "+393331000001", TUESDAY_10)
    book(session, "+393331000002", TUESDAY_10)
    session.commit()
    taken = desk.take_next(session, anna.id, TUESDAY_10)
    assert taken is not None and taken.id == first.request_id
    with pytest.raises(desk.DeskError) as refused:
        desk.take_next(session, anna.id, TUESDAY_10)
    assert refused.value.reason == "console.flash.finish_first"
    assert refused.value.request_id == first.request_id
    assert desk.desk(session, anna.id, TUESDAY_10).availability == BUSY


def test_wrap_up_blocks_the_next_take_until_it_ends_or_the_agent_is_ready(session):
    anna = make_agent(session)
    request = book(session, "+393331000001", TUESDAY_10)
    book(session, "+393331000002", TUESDAY_10)
    session.commit()
    desk.take_next(session, anna.id, TUESDAY_10)
    queue.record_agent_outcome(session, request.request_id, anna.id, "no_answer", TUESDAY_10)
    desk.start_wrap_up(session, anna.id, TUESDAY_10, timedelta(seconds=60))
    session.commit()
    with pytest.raises(desk.DeskError, match="wrapping_up"):
        desk.take_next(session, anna.id, TUESDAY_10 + timedelta(seconds=30))
    assert desk.desk(session, anna.id, TUESDAY_10 + timedelta(seconds=61)).can_take
    desk.end_wrap_up(session, anna.id, TUESDAY_10)
    assert desk.take_next(session, anna.id, TUESDAY_10 + timedelta(seconds=1)) is not None


def test_nothing_waiting_gives_none_and_away_gives_nothing(session):
    anna = make_agent(session)
    session.commit()
    assert desk.take_next(session, anna.id, TUESDAY_10) is None
    desk.set_availability(session, anna.id, AWAY, TUESDAY_10)
    book(session, "+393331000001", TUESDAY_10)
    session.commit()
    with pytest.raises(desk.DeskError, match="away"):
        desk.take_next(session, anna.id, TUESDAY_10)
    with pytest.raises(ValueError):
        desk.set_availability(session, anna.id, "lunch", TUESDAY_10)


def test_the_promise_counts_agents_who_are_not_away(session):
    anna, bruno = make_agent(session, "anna"), make_agent(session, "bruno", phone=None)
    for agent in (anna, bruno):
        session.add(Shift(user_id=agent.id, starts_at=TUESDAY_10 - timedelta(hours=1),
                          ends_at=TUESDAY_10 + timedelta(hours=4)))
    session.commit()
    assert agents_available(session, TUESDAY_10) == 2
    desk.set_availability(session, bruno.id, AWAY, TUESDAY_10)
    session.commit()
    assert agents_available(session, TUESDAY_10) == 1


def test_without_shifts_agents_who_said_they_are_here_count(session):
    anna, bruno = make_agent(session, "anna"), make_agent(session, "bruno", phone=None)
    carla = make_agent(session, "carla", phone=None)
    session.commit()
    assert agents_available(session, TUESDAY_10) == 1  # nobody known: one, never zero
    desk.set_availability(session, anna.id, "available", TUESDAY_10)
    desk.set_availability(session, bruno.id, BUSY, TUESDAY_10)
    desk.set_availability(session, carla.id, AWAY, TUESDAY_10)
    session.commit()
    assert agents_available(session, TUESDAY_10) == 2
