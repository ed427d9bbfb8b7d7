"""Booking a callback: numbers, anonymous callers, repeat calls, cues and promises."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from callbacks.models import CallbackRequest, Caller
from callbacks.profiles import is_not_digital
from tests.test_callbacks_support import TUESDAY_10, book


def test_booking_records_the_need_and_promises_a_time(session):
    booking = book(session, "333 123 4567", TUESDAY_10)
    session.commit()
    request = session.get(CallbackRequest, booking.request_id)
    assert request.phone == "+393331234567"
    assert request.intent == "billing"
    assert request.words == "ho un problema con la bolletta"
    assert request.status == "queued"
    assert request.promised_by > TUESDAY_10
    assert booking.promise("it").startswith("La richiameremo entro circa")
    assert booking.promise("en").startswith("We will call you back within about")


def test_same_caller_calling_again_updates_the_open_request(session):
    first = book(session, "+393331234567", TUESDAY_10, call_sid="CA1")
    second = book(session, "3331234567", TUESDAY_10 + timedelta(minutes=20), call_sid="CA2",
                  words="ancora la bolletta")
    session.commit()
    assert second.request_id == first.request_id and second.updated
    assert session.scalar(select(func.count()).select_from(CallbackRequest)) == 1
    request = session.get(CallbackRequest, first.request_id)
    assert request.times_requested == 2
    assert "ancora la bolletta" in request.words
    assert request.created_at == TUESDAY_10  # keeps its place in the queue


def test_the_same_call_booking_twice_is_idempotent(session):
    first = book(session, "+393331234567", TUESDAY_10, call_sid="CA1")
    again = book(session, "+393331234567", TUESDAY_10, call_sid="CA1")
    assert again.request_id == first.request_id
    assert session.get(CallbackRequest, first.request_id).times_requested == 1


@pytest.mark.parametrize("phone", [None, "anonymous", "+266696687", "Restricted"])
def test_anonymous_caller_is_recorded_but_needs_a_number(session, phone):
    booking = book(session, phone, TUESDAY_10, call_sid="CA-anon")
    request = session.get(CallbackRequest, booking.request_id)
    assert booking.needs_number and request.needs_number
    assert request.number_problem == "anonymous"
    assert request.phone is None and request.caller_id is None
    assert session.scalar(select(func.count()).select_from(Caller)) == 0


@pytest.mark.parametrize("phone", ["12", "+39 000", "not a number", "+1 555 0100"])
def test_invalid_number_is_flagged_not_dialled(session, phone):
    booking = book(session, phone, TUESDAY_10, call_sid="CA-bad")
    request = session.get(CallbackRequest, booking.request_id)
    assert request.needs_number and request.number_problem == "invalid"


def test_not_digital_cue_marks_the_caller_with_the_evidence(session):
    book(session, "+393331234567", TUESDAY_10, not_digital_cue="non ho internet",
         words="non ho internet e devo pagare la bolletta")
    session.commit()
    caller = session.scalar(select(Caller))
    assert caller.not_digital and caller.not_digital_source == "caller"
    assert caller.not_digital_reason == "non ho internet"
    assert is_not_digital(session, "333 123 4567")
    assert not is_not_digital(session, "+393339999999")
    assert not is_not_digital(session, None)


def test_window_booking_promises_the_window(session):
    start = TUESDAY_10 + timedelta(days=1, hours=5)
    booking = book(session, "+393331234567", TUESDAY_10, window_start=start,
                   window_end=start + timedelta(hours=2))
    request = session.get(CallbackRequest, booking.request_id)
    assert request.not_before == start and request.promised_by == start + timedelta(hours=2)
    assert booking.promise("it") == (
        "La richiameremo domani tra le 15:00 e le 17:00, come ha chiesto.")


def test_an_urgent_booking_promises_no_minutes(session):
    booking = book(session, "+393331234567", TUESDAY_10, intent="emergency",
                   words="c'è una fuga di gas", urgent=True)
    request = session.get(CallbackRequest, booking.request_id)
    assert request.promise_kind == "urgent" and request.promise_minutes is None
    for lang in ("it", "en"):
        said = booking.promise(lang)
        assert "minut" not in said and said
    assert booking.promise("en") == ("Your call is first in the queue: the first free agent "
                                     "will call you back.")


def test_an_urgent_request_stays_urgent_when_the_caller_calls_again(session):
    first = book(session, "+393331234567", TUESDAY_10, call_sid="CA1", intent="emergency",
                 urgent=True)
    again = book(session, "+393331234567", TUESDAY_10 + timedelta(minutes=5), call_sid="CA2",
                 words="ancora io")
    assert again.request_id == first.request_id
    assert session.get(CallbackRequest, first.request_id).promise_kind == "urgent"
    assert "minut" not in again.promise("it")
