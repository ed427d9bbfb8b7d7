"""The "not digital" inference rules (`callbacks.profiles.apply_rules`), through booking.

Each call books (or updates) a callback with `book_callback`, which runs the rules, as the
voice flow does. Rules: called again within 7 days about the same need; only ever used the
keypad (at least 2 calls); asked for a person at least twice. A person's decision is never
overridden; every change leaves an audit row.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from callbacks import settings as queue_settings
from callbacks.models import CallbackRequest, Caller, DigitalProfileChange
from callbacks.profiles import apply_rules, find_caller, set_not_digital
from tests.test_callbacks_support import TUESDAY_10, book

PHONE = "+393331234567"
HUMAN = "voglio parlare con un operatore"


def close_all(session) -> None:
    """The agent called back: every open request of the caller is completed."""
    for request in session.scalars(select(CallbackRequest)):
        request.status = "completed"
    session.flush()


def caller(session) -> Caller:
    found = find_caller(session, PHONE)
    assert found is not None
    return found


def rule_rows(session) -> list[DigitalProfileChange]:
    return list(session.scalars(select(DigitalProfileChange).where(
        DigitalProfileChange.source == "rule")))


def test_one_call_is_no_evidence(session):
    book(session, PHONE, TUESDAY_10)
    assert not caller(session).not_digital


def test_calling_again_about_the_same_need_within_a_week_flags_the_caller(session):
    book(session, PHONE, TUESDAY_10, call_sid="CA1")
    close_all(session)
    booking = book(session, PHONE, TUESDAY_10 + timedelta(days=6), call_sid="CA2")
    person = caller(session)
    assert person.not_digital and person.not_digital_source == "rule"
    assert "7 days" in person.not_digital_reason
    assert booking.not_digital  # the new request is served first at once
    [change] = rule_rows(session)
    assert (change.actor, change.from_value, change.to_value) == ("rule:repeat_call", False,
                                                                  True)


def test_calling_again_while_the_request_is_open_counts_as_a_repeat(session):
    book(session, PHONE, TUESDAY_10, call_sid="CA1")
    book(session, PHONE, TUESDAY_10 + timedelta(hours=3), call_sid="CA2")
    assert caller(session).not_digital_source == "rule"
    assert rule_rows(session)[0].actor == "rule:repeat_call"


@pytest.mark.parametrize("days, intents", [(8, ("billing", "billing")),
                                           (2, ("billing", "moving"))])
def test_a_repeat_after_a_week_or_about_another_need_is_not_evidence(session, days, intents):
    book(session, PHONE, TUESDAY_10, call_sid="CA1", intent=intents[0])
    close_all(session)
    book(session, PHONE, TUESDAY_10 + timedelta(days=days), call_sid="CA2", intent=intents[1])
    assert not caller(session).not_digital


def test_a_switched_off_rule_does_not_fire(session):
    queue_settings.save(session, "rules", {"repeat_call_enabled": False}, TUESDAY_10)
    book(session, PHONE, TUESDAY_10, call_sid="CA1")
    book(session, PHONE, TUESDAY_10 + timedelta(hours=1), call_sid="CA2")
    assert not caller(session).not_digital


def test_only_ever_using_the_keypad_flags_the_caller(session):
    book(session, PHONE, TUESDAY_10, call_sid="CA1", intent="billing", source="keypad")
    close_all(session)
    book(session, PHONE, TUESDAY_10 + timedelta(days=1), call_sid="CA2", intent="moving",
         source="keypad")
    assert caller(session).not_digital
    assert rule_rows(session)[0].actor == "rule:keypad_only"
    assert "2 calls" in caller(session).not_digital_reason


def test_two_keypad_calls_about_one_open_request_are_two_calls(session):
    queue_settings.save(session, "rules", {"repeat_call_enabled": False}, TUESDAY_10)
    book(session, PHONE, TUESDAY_10, call_sid="CA1", source="keypad")
    book(session, PHONE, TUESDAY_10 + timedelta(hours=1), call_sid="CA2", source="keypad")
    assert rule_rows(session)[0].actor == "rule:keypad_only"


@pytest.mark.parametrize("same_request", [False, True])
def test_a_caller_who_also_spoke_is_not_keypad_only(session, same_request):
    queue_settings.save(session, "rules", {"repeat_call_enabled": False}, TUESDAY_10)
    book(session, PHONE, TUESDAY_10, call_sid="CA1", source="keypad")
    if not same_request:
        close_all(session)
    book(session, PHONE, TUESDAY_10 + timedelta(hours=1), call_sid="CA2", source="speech")
    book(session, PHONE, TUESDAY_10 + timedelta(hours=2), call_sid="CA3", source="keypad")
    assert not caller(session).not_digital


def test_asking_for_a_person_twice_flags_the_caller(session):
    book(session, PHONE, TUESDAY_10, call_sid="CA1", intent=None, words=HUMAN)
    assert not caller(session).not_digital  # once is not enough
    close_all(session)
    book(session, PHONE, TUESDAY_10 + timedelta(days=20), call_sid="CA2", intent=None,
         words="mi passi una persona")
    assert rule_rows(session)[0].actor == "rule:asked_human"


def test_asking_for_a_person_on_two_calls_about_one_open_request_counts_twice(session):
    queue_settings.save(session, "rules", {"repeat_call_enabled": False}, TUESDAY_10)
    book(session, PHONE, TUESDAY_10, call_sid="CA1", words=HUMAN)
    book(session, PHONE, TUESDAY_10 + timedelta(hours=1), call_sid="CA2", words=HUMAN)
    assert rule_rows(session)[0].actor == "rule:asked_human"


def test_a_human_intent_counts_as_asking_for_a_person(session):
    book(session, PHONE, TUESDAY_10, call_sid="CA1", intent="operator", words="boh")
    close_all(session)
    book(session, PHONE, TUESDAY_10 + timedelta(days=10), call_sid="CA2", intent="operator",
         words="boh")
    assert rule_rows(session)[0].actor == "rule:asked_human"


def test_rules_never_override_a_persons_decision(session):
    book(session, PHONE, TUESDAY_10, call_sid="CA1")
    set_not_digital(session, caller(session), False, source="admin", actor="user:1",
                    reason="uses the app daily", now=TUESDAY_10)
    book(session, PHONE, TUESDAY_10 + timedelta(hours=1), call_sid="CA2")
    person = caller(session)
    assert not person.not_digital and person.not_digital_source == "admin"
    assert rule_rows(session) == []


def test_apply_rules_does_nothing_for_a_caller_already_flagged(session):
    book(session, PHONE, TUESDAY_10, call_sid="CA1", not_digital_cue="non ho internet")
    book(session, PHONE, TUESDAY_10 + timedelta(hours=1), call_sid="CA2")
    assert apply_rules(session, caller(session), TUESDAY_10 + timedelta(hours=2)) is None
    assert caller(session).not_digital_source == "caller"
    assert rule_rows(session) == []
