"""When and how persistently we call people back: opening hours, holidays and retries.

Calls are only placed inside opening hours (local time, national holidays closed), so a
retry computed at 18:55 lands on the next morning, never at night. Not-digital callers get
a more patient policy: more attempts and longer ringing, because they may take longer to
reach the phone and cannot fall back on a website.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from callbacks.settings import Hours


@dataclass(frozen=True)
class CallPolicy:
    """How many times we try, how long the phone rings, and the wait between tries."""

    name: str
    max_attempts: int
    ring_timeout: int  # seconds
    backoff_minutes: tuple[int, ...]  # wait after attempt 1, 2, ... (last value repeats)

    def backoff(self, attempts_made: int) -> timedelta:
        """The wait before the next attempt, after `attempts_made` failed ones."""
        index = min(max(attempts_made, 1), len(self.backoff_minutes)) - 1
        return timedelta(minutes=self.backoff_minutes[index])


STANDARD = CallPolicy("standard", max_attempts=3, ring_timeout=25, backoff_minutes=(15, 60))
PATIENT = CallPolicy("patient", max_attempts=5, ring_timeout=45,
                     backoff_minutes=(10, 30, 60, 120))


def policy_for(not_digital: bool) -> CallPolicy:
    """The retry policy for a caller: patient for not-digital callers."""
    return PATIENT if not_digital else STANDARD


@lru_cache(maxsize=16)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def _parse(hhmm: str) -> time:
    hours, _, mins = hhmm.partition(":")
    return time(int(hours), int(mins or 0))


class OpeningHours:
    """The hotline's calling hours in local time, with national holidays closed."""

    def __init__(self, hours: Hours) -> None:
        self.zone = ZoneInfo(hours.timezone)
        self.country = hours.country
        self.spans = {day: (_parse(a), _parse(b)) for day, (a, b) in hours.opening.items()}

    def is_holiday(self, day: date) -> bool:
        """True on a public holiday of the configured country."""
        return day in _holidays(self.country, day.year)

    def span(self, day: date) -> tuple[datetime, datetime] | None:
        """Opening and closing moments (UTC) of a local date, or None when closed."""
        if self.is_holiday(day) or day.weekday() not in self.spans:
            return None
        start, end = self.spans[day.weekday()]
        return (datetime.combine(day, start, self.zone).astimezone(UTC),
                datetime.combine(day, end, self.zone).astimezone(UTC))

    def is_open(self, moment: datetime) -> bool:
        """Whether we may call someone at this moment."""
        span = self.span(moment.astimezone(self.zone).date())
        return span is not None and span[0] <= moment < span[1]

    def next_open(self, moment: datetime) -> datetime:
        """`moment` if open, else the next opening time (looks up to 30 days ahead)."""
        local_day = moment.astimezone(self.zone).date()
        for offset in range(31):
            span = self.span(local_day + timedelta(days=offset))
            if span is None:
                continue
            if moment < span[1]:
                return max(moment, span[0])
        raise ValueError("the hotline has no opening hours in the next 30 days")

    def add_open_time(self, moment: datetime, work: timedelta) -> datetime:
        """The moment when `work` of open time has passed after `moment`."""
        current = self.next_open(moment)
        remaining = work
        while True:
            span = self.span(current.astimezone(self.zone).date())
            assert span is not None  # next_open only returns open moments
            available = span[1] - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = self.next_open(span[1])


def next_attempt_time(hours: OpeningHours, policy: CallPolicy, attempts_made: int,
                      after: datetime) -> datetime | None:
    """When to try again after a failed attempt, or None when we should stop trying.

    Stops after the policy's maximum attempts; the time is always inside opening hours.
    """
    if attempts_made >= policy.max_attempts:
        return None
    return hours.next_open(after + policy.backoff(attempts_made))
