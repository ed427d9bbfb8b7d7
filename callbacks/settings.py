"""Queue settings an admin can see and tune: priority weights, rules, opening hours.

Defaults live here; an admin's changes are rows in `callback_settings` (one JSON value per
section) and win over the defaults. Domain code reads them with `load(session)`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from callbacks.models import CallbackSetting

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Weights:
    """Priority weights, in "minutes of waiting" units.

    effective score = urgent_bonus (if urgent: an emergency) + not_digital_bonus (if not
                      digital) + age_per_minute * minutes waited
                      + deadline_per_minute * minutes past (or minus minutes before) the
                      promise + manual boost
    """

    not_digital_bonus: float = 240.0
    urgent_bonus: float = 100000.0  # about ten weeks of waiting: an emergency goes first
    age_per_minute: float = 1.0
    deadline_per_minute: float = 1.0


@dataclass(frozen=True)
class Rules:
    """Rules that infer "not digital" from behaviour; each can be switched off."""

    repeat_call_enabled: bool = True
    repeat_call_days: int = 7
    keypad_only_enabled: bool = True
    keypad_only_min_calls: int = 2
    asked_human_enabled: bool = True
    asked_human_times: int = 2
    human_intents: tuple[str, ...] = ("operator", "human", "agent", "operatore")


@dataclass(frozen=True)
class Hours:
    """When the hotline calls people back (local time), and how it promises."""

    timezone: str = "Europe/Rome"
    country: str = "IT"
    # weekday (0=Monday) -> (open "HH:MM", close "HH:MM"); missing days are closed
    opening: dict[int, tuple[str, str]] = field(default_factory=lambda: {
        0: ("08:30", "19:00"), 1: ("08:30", "19:00"), 2: ("08:30", "19:00"),
        3: ("08:30", "19:00"), 4: ("08:30", "19:00"), 5: ("09:00", "13:00")})
    lease_minutes: int = 10
    default_handling_minutes: float = 8.0


@dataclass(frozen=True)
class QueueSettings:
    """All tunable settings of the callback queue."""

    weights: Weights = field(default_factory=Weights)
    rules: Rules = field(default_factory=Rules)
    hours: Hours = field(default_factory=Hours)


SECTIONS = {"weights": Weights, "rules": Rules, "hours": Hours}


def _coerce(cls: type, values: dict[str, Any]) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown {cls.__name__.lower()} setting(s): {', '.join(sorted(unknown))}")
    base = cls()
    clean: dict[str, Any] = {}
    for name, value in values.items():
        try:
            default = getattr(base, name)
            if name == "opening":
                clean[name] = {int(day): (str(span[0]), str(span[1]))
                               for day, span in value.items()}
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
                clean[name] = value
            elif isinstance(default, tuple):
                clean[name] = tuple(str(v) for v in value)
            elif isinstance(default, int | float) and not isinstance(value, bool):
                clean[name] = type(default)(value)
            else:
                clean[name] = type(default)(value)
        except (TypeError, AttributeError, IndexError, KeyError):
            raise ValueError(f"{name} has the wrong shape") from None
    result = replace(base, **clean)
    if isinstance(result, Hours):
        _check_hours(result)
    return result


def _check_hours(hours: Hours) -> None:
    """Refuse hours that would break the queue for everyone once saved."""
    try:
        ZoneInfo(hours.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {hours.timezone!r} is not a known time zone "
                         "(use an IANA name such as Europe/Rome)") from None
    for day, (opens, closes) in hours.opening.items():
        if not 0 <= day <= 6:
            raise ValueError(f"opening day {day} must be 0 (Monday) to 6 (Sunday)")
        for value in (opens, closes):
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
                raise ValueError(f"opening time {value!r} must be HH:MM (00:00 to 23:59)")
    if hours.lease_minutes < 1 or hours.default_handling_minutes <= 0:
        raise ValueError("lease_minutes and default_handling_minutes must be positive")


_CACHE_KEY = "callbacks.settings"


def load(session: Session) -> QueueSettings:
    """The current settings: defaults overridden by what an admin saved.

    Read once per session (one web request or job), since a booking needs them several
    times; a change saved elsewhere is seen by the next request.
    """
    cached: QueueSettings | None = session.info.get(_CACHE_KEY)
    if cached is not None:
        return cached
    rows = {row.key: json.loads(row.value) for row in session.scalars(select(CallbackSetting))}
    parts = {name: _load_section(name, cls, rows.get(name, {})) for name, cls in SECTIONS.items()}
    settings = QueueSettings(**parts)
    session.info[_CACHE_KEY] = settings
    return settings


def _load_section(name: str, cls: type, values: dict[str, Any]) -> Any:
    # A section saved before validation existed must not break the queue for everyone.
    try:
        return _coerce(cls, values)
    except ValueError as exc:
        log.warning("saved %s settings ignored (defaults used): %s", name, exc)
        return cls()


def as_dict(settings: QueueSettings) -> dict[str, Any]:
    """The settings as JSON-ready data (for the API and the console)."""
    data = asdict(settings)
    data["rules"]["human_intents"] = list(settings.rules.human_intents)
    data["hours"]["opening"] = {str(d): list(s) for d, s in settings.hours.opening.items()}
    return data


def save(session: Session, section: str, values: dict[str, Any], now: datetime) -> QueueSettings:
    """Change one section (merging with what is saved); raises ValueError on bad input.

    Changing the weights re-ranks every open request so the queue order follows at once.
    """
    if section not in SECTIONS:
        raise ValueError(f"unknown settings section {section!r}")
    row = session.get(CallbackSetting, section)
    merged = {**(json.loads(row.value) if row else {}), **values}
    _coerce(SECTIONS[section], merged)  # validate before saving
    if row is None:
        row = CallbackSetting(key=section, value="{}")
        session.add(row)
    row.value = json.dumps(merged)
    row.updated_at = now
    session.flush()
    session.info.pop(_CACHE_KEY, None)
    settings = load(session)
    if section == "weights":
        from callbacks.priority import rerank_open_requests

        rerank_open_requests(session, settings.weights)
    return settings
