"""Opening hours and Italian public holidays from a flow's settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ivr.hours import holiday_name, is_open

SETTINGS = {"timezone": "Europe/Rome", "holidays": "IT",
            "opening_hours": {d: ["08:30-19:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
            | {"sat": ["09:00-13:00"]}}


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2026, 11, 24, 10, 0, tzinfo=UTC), True),    # Tuesday 11:00 in Rome
    (datetime(2026, 11, 24, 7, 29, tzinfo=UTC), False),   # 08:29 in Rome
    (datetime(2026, 11, 24, 7, 30, tzinfo=UTC), True),    # 08:30 opens
    (datetime(2026, 11, 24, 18, 0, tzinfo=UTC), False),   # 19:00 closes
    (datetime(2026, 11, 28, 11, 0, tzinfo=UTC), True),    # Saturday 12:00
    (datetime(2026, 11, 28, 12, 0, tzinfo=UTC), False),   # Saturday 13:00
    (datetime(2026, 11, 29, 10, 0, tzinfo=UTC), False),   # Sunday
    (datetime(2026, 12, 25, 10, 0, tzinfo=UTC), False),   # Christmas, a Friday
    (datetime(2026, 4, 25, 8, 0, tzinfo=UTC), False),     # Liberation Day, a Saturday
    (datetime(2026, 6, 2, 8, 0, tzinfo=UTC), False),      # Republic Day, a Tuesday
    (datetime(2026, 6, 3, 8, 0, tzinfo=UTC), True),
])
def test_opening_hours_follow_rome_time_and_italian_holidays(moment: datetime,
                                                              expected: bool) -> None:
    assert is_open(SETTINGS, moment) is expected


def test_summer_time_is_taken_into_account() -> None:
    # 06:45 UTC is 08:45 in Rome in July (UTC+2) but 07:45 in January (UTC+1)
    assert is_open(SETTINGS, datetime(2026, 7, 7, 6, 45, tzinfo=UTC))
    assert not is_open(SETTINGS, datetime(2026, 1, 13, 6, 45, tzinfo=UTC))


def test_extra_closed_days_and_no_holiday_calendar() -> None:
    settings = {**SETTINGS, "extra_closed_days": ["2026-11-24"]}
    assert not is_open(settings, datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
    assert holiday_name({**SETTINGS, "holidays": None}, datetime(2026, 12, 25).date()) is None
    assert holiday_name(SETTINGS, datetime(2026, 12, 25).date())


def test_no_hours_means_always_open_except_holidays() -> None:
    settings = {"holidays": "IT", "timezone": "Europe/Rome"}
    assert is_open(settings, datetime(2026, 11, 29, 2, 0, tzinfo=UTC))
    assert not is_open(settings, datetime(2026, 1, 1, 12, 0, tzinfo=UTC))
