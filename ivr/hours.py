"""Opening hours and public holidays, from a flow's settings.

`opening_hours` maps weekdays (mon..sun) to "HH:MM-HH:MM" ranges in the flow's timezone;
a missing day is closed, and an empty mapping means always open. Public holidays come from
the `holidays` package (Italian by default, `holidays: IT`), plus `extra_closed_days`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse_range(text: str) -> tuple[time, time]:
    start, _, end = text.partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


@lru_cache(maxsize=16)
def _holiday_calendar(country: str, year: int) -> holidays_lib.HolidayBase:
    return holidays_lib.country_holidays(country, years=year)


def holiday_name(settings: Mapping[str, Any], day: date) -> str | None:
    """The name of the public holiday on `day` (or "closed" for an extra day), else None."""
    if day.isoformat() in (settings.get("extra_closed_days") or []):
        return "closed"
    country = settings.get("holidays")
    if not country:
        return None
    name = _holiday_calendar(str(country), day.year).get(day)
    return str(name) if name else None


def is_open(settings: Mapping[str, Any], moment: datetime) -> bool:
    """True if agents are working at `moment` (an aware datetime) under these settings."""
    hours: Mapping[str, list[str]] = settings.get("opening_hours") or {}
    local = moment.astimezone(ZoneInfo(str(settings.get("timezone") or "Europe/Rome")))
    if holiday_name(settings, local.date()) is not None:
        return False
    if not hours:
        return True
    now = local.time().replace(tzinfo=None)
    for text in hours.get(WEEKDAYS[local.weekday()], []):
        start, end = _parse_range(text)
        if start <= now < end:
            return True
    return False
