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


_WEEKDAYS = {"it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato",
                    "domenica"),
             "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                    "Sunday")}


def reopening_words(settings: Mapping[str, Any], moment: datetime, lang: str) -> str:
    """When the centre opens next, as said to a caller: "domani alle 8:30", "on Monday at
    9:00" ("" when it does not open in the next three weeks)."""
    hours = opening_hours(settings)
    opens = hours.next_open(moment)
    if opens is None:
        return ""
    lang = lang if lang in _WEEKDAYS else "en"
    local, today = opens.astimezone(hours.zone), moment.astimezone(hours.zone).date()
    clock = f"{local.hour}:{local.minute:02d}"
    days = (local.date() - today).days
    if lang == "it":
        day = "oggi" if days == 0 else "domani" if days == 1 else _WEEKDAYS["it"][local.weekday()]
        return f"{day} alle {clock}"
    day = "today" if days == 0 else "tomorrow" if days == 1 else \
        f"on {_WEEKDAYS['en'][local.weekday()]}"
    return f"{day} at {clock}"
