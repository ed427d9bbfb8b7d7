"""Is the centre open? The flow engine's view of core.hours, from a flow's settings.

The computation is core.hours.OpeningHours (one implementation for every package: weekly
"HH:MM-HH:MM" intervals in the flow's timezone, public holidays from the `holidays` package,
Italian by default, plus `extra_closed_days`). One difference, kept from the first flows:
a flow with no `opening_hours` at all is always open, apart from its holidays (core's
default week would otherwise close a test or 24/7 flow at night).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from core.hours import DAY_KEYS, OpeningHours

WEEKDAYS = DAY_KEYS
ALWAYS = ["00:00-23:59:59.999999"]


@lru_cache(maxsize=64)
def _hours(key: str) -> OpeningHours:
    settings = json.loads(key)
    if not settings.get("opening_hours"):
        settings["opening_hours"] = {day: ALWAYS for day in DAY_KEYS}
    return OpeningHours.from_settings(settings)


def opening_hours(settings: Mapping[str, Any]) -> OpeningHours:
    """The OpeningHours of a flow's settings (cached per distinct settings)."""
    relevant = {k: settings.get(k) for k in ("opening_hours", "timezone", "holidays",
                                             "extra_closed_days") if k in settings}
    return _hours(json.dumps(relevant, sort_keys=True, default=str))


def holiday_name(settings: Mapping[str, Any], day: date) -> str | None:
    """"holiday" when `day` is a public holiday or an extra closed day, else None."""
    return "holiday" if opening_hours(settings).is_holiday(day) else None


def is_open(settings: Mapping[str, Any], moment: datetime) -> bool:
    """True if agents are working at `moment` (an aware datetime) under these settings."""
    return opening_hours(settings).is_open(moment)
