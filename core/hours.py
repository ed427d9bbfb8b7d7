"""Opening hours: weekly intervals, public holidays, time zone.

One implementation for every package: the flow engine asks whether the centre is open,
the understanding code clamps a caller's "tomorrow morning" to open times, and the
callback queue never dials at night. Built from a flow's settings:

```yaml
settings:
  timezone: Europe/Rome
  opening_hours: {mon: ["09:00-13:00", "14:00-18:00"], ..., sat: ["09:00-13:00"]}
  holidays: IT              # country for the `holidays` package; null for none
  extra_closed_days: ["2025-08-14"]
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holidays_lib

DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Interval = tuple[time, time]
DEFAULT_WEEK: dict[str, list[str]] = {
    **{day: ["09:00-13:00", "14:00-18:00"] for day in DAY_KEYS[:5]},
    "sat": ["09:00-13:00"],
}


def _parse_interval(text: str) -> Interval:
    start, end = (part.strip() for part in text.split("-"))
    opening, closing = time.fromisoformat(start), time.fromisoformat(end)
    if closing <= opening:
        raise ValueError(f"opening interval {text!r} must end after it starts")
    return opening, closing


@dataclass(frozen=True)
class OpeningHours:
    """When the centre answers: weekday (0 = Monday) -> intervals, holidays, time zone."""

    weekly: Mapping[int, tuple[Interval, ...]]
    tz: str = "Europe/Rome"
    country: str | None = "IT"
    closed_dates: frozenset[date] = frozenset()
    _holiday_years: dict[int, frozenset[date]] = field(default_factory=dict, compare=False,
                                                       hash=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Mapping | None) -> OpeningHours:
        """Opening hours from a flow's `settings` (defaults: Mon-Fri 9-13 14-18, Sat 9-13)."""
        settings = settings or {}
        week = settings.get("opening_hours") or DEFAULT_WEEK
        weekly = {index: tuple(_parse_interval(item) for item in week.get(key, []))
                  for index, key in enumerate(DAY_KEYS)}
        closed = frozenset(date.fromisoformat(str(d))
                           for d in settings.get("extra_closed_days") or [])
        country = settings.get("holidays", "IT")
        return cls(weekly, str(settings.get("timezone", "Europe/Rome")), country, closed)

    @property
    def zone(self) -> ZoneInfo:
        """The centre's time zone."""
        return ZoneInfo(self.tz)

    def is_holiday(self, day: date) -> bool:
        """Public holiday in the centre's country, or a date closed by the admins."""
        if day in self.closed_dates:
            return True
        if not self.country:
            return False
        if day.year not in self._holiday_years:
            found = holidays_lib.country_holidays(self.country, years=day.year)
            self._holiday_years[day.year] = frozenset(found.keys())
        return day in self._holiday_years[day.year]

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """Open intervals of a local calendar day as aware datetimes in the centre's zone."""
        if self.is_holiday(day):
            return []
        zone = self.zone
        return [(datetime.combine(day, start, zone), datetime.combine(day, end, zone))
                for start, end in self.weekly.get(day.weekday(), ())]

    def is_open(self, moment: datetime) -> bool:
        """Whether the centre is open at an aware moment."""
        local = moment.astimezone(self.zone)
        return any(start <= local < end for start, end in self.intervals(local.date()))

    def next_open(self, moment: datetime, horizon_days: int = 21) -> datetime | None:
        """The first open moment at or after `moment` (in the centre's zone), if any soon."""
        local = moment.astimezone(self.zone)
        for offset in range(horizon_days + 1):
            for start, end in self.intervals(local.date() + timedelta(days=offset)):
                if end > local:
                    return max(start, local)
        return None

    def interval_at(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The open interval containing an aware moment, if the centre is open then."""
        local = moment.astimezone(self.zone)
        for start, end in self.intervals(local.date()):
            if start <= local < end:
                return start, end
        return None

    def add_open_time(self, moment: datetime, work: timedelta) -> datetime | None:
        """The moment when `work` of open time has passed after `moment` (None: not soon)."""
        current = self.next_open(moment)
        remaining = work
        while current is not None:
            interval = self.interval_at(current)
            assert interval is not None  # next_open only returns open moments
            available = interval[1] - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = self.next_open(interval[1])
        return None
