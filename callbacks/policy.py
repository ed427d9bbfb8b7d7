"""When and how persistently we call people back: opening hours, holidays and retries.

Calls are only placed inside opening hours (local time, national holidays closed), so a
retry computed at 18:55 lands on the next morning, never at night. Not-digital callers get
a more patient policy: more attempts and longer ringing, because they may take longer to
reach the phone and cannot fall back on a website.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from callbacks.settings import Hours
from core.hours import OpeningHours


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


def calling_hours(hours: Hours) -> OpeningHours:
    """The hours we may call people back, from the queue's settings."""
    days = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    week = {days[day]: [f"{start}-{end}"] for day, (start, end) in hours.opening.items()}
    return OpeningHours.from_settings({"opening_hours": week, "timezone": hours.timezone,
                                       "holidays": hours.country})


def next_attempt_time(hours: OpeningHours, policy: CallPolicy, attempts_made: int,
                      after: datetime) -> datetime | None:
    """When to try again after a failed attempt, or None when we should stop trying.

    Stops after the policy's maximum attempts; the time is always inside opening hours.
    """
    if attempts_made >= policy.max_attempts:
        return None
    return hours.next_open(after + policy.backoff(attempts_made))
