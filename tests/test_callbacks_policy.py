"""Calling hours, holidays and retry back-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callbacks.policy import PATIENT, STANDARD, calling_hours, next_attempt_time, policy_for
from callbacks.settings import Hours

HOURS = calling_hours(Hours())


def rome(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo("Europe/Rome")).astimezone(UTC)


@pytest.mark.parametrize(("moment", "is_open"), [
    (rome(2025, 3, 11, 10), True),          # Tuesday morning
    (rome(2025, 3, 11, 8, 29), False),      # before opening
    (rome(2025, 3, 11, 19, 0), False),      # closing time
    (rome(2025, 3, 11, 23), False),         # night
    (rome(2025, 3, 15, 12), True),          # Saturday morning
    (rome(2025, 3, 15, 14), False),         # Saturday afternoon
    (rome(2025, 3, 16, 10), False),         # Sunday
    (rome(2025, 4, 25, 10), False),         # Festa della Liberazione (a Friday)
    (rome(2025, 12, 25, 10), False),        # Christmas
])
def test_calling_hours(moment, is_open):
    assert HOURS.is_open(moment) is is_open


def test_a_retry_late_in_the_day_lands_next_morning_never_at_night():
    after = rome(2025, 3, 11, 18, 50)
    retry = next_attempt_time(HOURS, STANDARD, 1, after)
    assert retry == rome(2025, 3, 12, 8, 30)


def test_a_retry_before_a_holiday_skips_it():
    after = rome(2025, 4, 24, 18, 55)  # Thursday evening; Friday 25 April is a holiday
    assert next_attempt_time(HOURS, STANDARD, 1, after) == rome(2025, 4, 26, 9, 0)


def test_back_off_grows_and_stops_at_the_maximum():
    start = rome(2025, 3, 11, 10)
    assert next_attempt_time(HOURS, STANDARD, 1, start) == start + timedelta(minutes=15)
    assert next_attempt_time(HOURS, STANDARD, 2, start) == start + timedelta(minutes=60)
    assert next_attempt_time(HOURS, STANDARD, 3, start) is None
    assert next_attempt_time(HOURS, PATIENT, 4, start) == start + timedelta(minutes=120)
    assert next_attempt_time(HOURS, PATIENT, 5, start) is None


def test_not_digital_callers_get_more_attempts_and_longer_ringing():
    assert policy_for(True).max_attempts > policy_for(False).max_attempts
    assert policy_for(True).ring_timeout > policy_for(False).ring_timeout


def test_open_time_is_counted_across_closing_time():
    start = rome(2025, 3, 11, 18, 30)
    assert HOURS.add_open_time(start, timedelta(hours=1)) == rome(2025, 3, 12, 9, 0)
