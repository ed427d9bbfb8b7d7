"""A callback time in the caller's own words, resolved to a window within opening hours.

"domani mattina", "dopo pranzo", "lunedì alle 10", "tomorrow after three", "as soon as
possible": we find a day (today, tomorrow, a weekday, an explicit date parsed by
dateparser), a part of the day (our own rules for vague periods) or a clock time, and
turn them into a local range in the caller's time zone. The range is then clamped to the
centre's opening hours: the window never starts before now, never falls on a holiday or
at night, and when the requested slot is closed it moves to the next open day (the
result says `adjusted=True`, so the hotline can say so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dateparser

from core.hours import OpeningHours
from speech.normalize import clean
from speech.numbers import number_tokens

__all__ = ["OpeningHours", "TimeWindow", "parse_callback_time"]

END_OF_DAY = time(23, 59)
SEARCH_DAYS = 14

ASAP = {"it": r"\b(?:prima possibile|appena possibile|quanto prima|subito|adesso|ora stesso|"
              r"quando volete|quando vuole|quando potete|in qualsiasi momento|sempre)\b",
        "en": r"\b(?:as soon as possible|asap|right away|straight away|now|any ?time|"
              r"whenever|soon as you can)\b"}
PERIODS: dict[str, list[tuple[str, time, time]]] = {
    "it": [(r"\bdopo ?pranzo\b|\bprimo pomeriggio\b", time(14), time(16)),
           (r"\b(?:sta)?sera\b|\bserata\b|\btardo pomeriggio\b", time(17), END_OF_DAY),
           (r"\bpomeriggio\b", time(14), time(18)),
           (r"\b(?:sta)?mattin[ao]\b|\bmattinata\b", time(9), time(12)),
           (r"\b(?:ora di |in pausa )?pranzo\b|\bmezzogiorno\b", time(12), time(14))],
    "en": [(r"\bafter lunch\b|\bearly afternoon\b", time(14), time(16)),
           (r"\bevening\b|\btonight\b|\blate afternoon\b", time(17), END_OF_DAY),
           (r"\bafternoon\b", time(14), time(18)),
           (r"\bmorning\b", time(9), time(12)),
           (r"\blunch ?time\b|\blunch\b|\bnoon\b|\bmidday\b", time(12), time(14))],
}
RELATIVE_DAYS = {"it": [(r"\bdopodomani\b", 2), (r"\bdomani\b", 1),
                        (r"\boggi\b|\bstamattina\b|\bstasera\b", 0)],
                 "en": [(r"\bday after tomorrow\b", 2), (r"\btomorrow\b", 1),
                        (r"\btoday\b|\btonight\b|\bthis (?:morning|afternoon|evening)\b", 0)]}
WEEKDAYS = {"it": ["lunedi", "martedi", "mercoledi", "giovedi", "venerdi", "sabato", "domenica"],
            "en": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                   "sunday"]}
MONTHS = {"it": r"gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|"
                r"ottobre|novembre|dicembre",
          "en": r"january|february|march|april|may|june|july|august|september|october|"
                r"november|december"}
_H = r"(\d{1,2})(?: (\d{2}))?(?: (am|pm|e mezz[ao]|e un quarto|o clock|in punto))?"
CLOCK = {"it": [("range", rf"\b(?:tra|fra|dalle) (?:le )?{_H} (?:e|alle) (?:le )?{_H}"),
                ("after", rf"\b(?:dopo|dalle|a partire dalle) (?:le )?{_H}"),
                ("before", rf"\b(?:prima|entro) (?:delle|le) {_H}"),
                ("around", rf"\b(?:verso|intorno alle|sulle) (?:le )?{_H}"),
                ("at", rf"\b(?:alle|per le|all) {_H}")],
         "en": [("range", rf"\b(?:between|from) {_H} (?:and|to|till|until) {_H}"),
                ("after", rf"\b(?:after|from) {_H}"),
                ("before", rf"\b(?:before|by) {_H}"),
                ("around", rf"\b(?:around|about|ish) {_H}"),
                ("at", rf"\bat {_H}")]}
RELATIVE_HOURS = {"it": r"\b(?:tra|fra) (un|una|mezz|\d+) or[ae]\b",
                  "en": r"\bin (an|a|half an|\d+) hours?\b"}


@dataclass(frozen=True)
class TimeWindow:
    """When to call back: aware UTC start and end, what kind of wish, and whether moved."""

    start: datetime
    end: datetime
    kind: str  # "asap" | "relative" | "time" | "period" | "day"
    adjusted: bool = False


def _hour(groups: tuple[str | None, ...], period_start: time | None) -> time:
    hour, minute_text, suffix = int(groups[0] or 0), groups[1], groups[2] or ""
    minute = int(minute_text) if minute_text and int(minute_text) < 60 else 0
    if "mezz" in suffix:
        minute = 30
    elif "quarto" in suffix:
        minute = 15
    if suffix == "pm" and hour < 12:
        hour += 12
    elif suffix != "am" and 1 <= hour <= 7 and not (period_start and period_start < time(12)):
        hour += 12  # "alle tre" is 15:00: the centre is closed at 3 am
    return time(min(hour, 23), minute)


def _clock_range(text: str, lang: str, period: tuple[time, time] | None
                 ) -> tuple[time, time] | None:
    period_start = period[0] if period else None
    for kind, pattern in CLOCK.get(lang, []):
        match = re.search(pattern, text)
        if not match:
            continue
        first = _hour(match.groups()[:3], period_start)
        at = datetime.combine(date.min, first)
        if kind == "range":
            return first, _hour(match.groups()[3:6], period_start)
        if kind == "after":
            return first, END_OF_DAY
        if kind == "before":
            return time(0), first
        if kind == "around":
            return (at - timedelta(minutes=30)).time(), (at + timedelta(minutes=30)).time()
        return first, (at + timedelta(hours=1)).time() if first.hour < 23 else END_OF_DAY
    return None


def _explicit_date(text: str, lang: str, local_now: datetime) -> date | None:
    months = MONTHS.get(lang)
    if not months:
        return None
    patterns = (rf"\b\d{{1,2}} (?:{months})\b", rf"\b(?:{months}) \d{{1,2}}(?:st|nd|rd|th)?\b")
    for pattern in patterns:
        match = re.search(pattern, text)
        if match:
            parsed = dateparser.parse(match.group(0), languages=[lang], settings={
                "PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY",
                "RELATIVE_BASE": local_now.replace(tzinfo=None)})
            if parsed is not None:
                return parsed.date()
    return None


def _day(text: str, lang: str, local_now: datetime) -> tuple[date | None, bool]:
    """The requested calendar day and whether it was named exactly (weekday, date)."""
    for pattern, offset in RELATIVE_DAYS.get(lang, []):
        if re.search(pattern, text):
            return local_now.date() + timedelta(days=offset), True
    explicit = _explicit_date(text, lang, local_now)
    if explicit is not None:
        return explicit, True
    for index, name in enumerate(WEEKDAYS.get(lang, [])):
        if re.search(rf"\b{name}\b", text):
            ahead = (index - local_now.weekday()) % 7
            if ahead == 0 and re.search(r"\b(?:prossimo|next)\b", text):
                ahead = 7
            return local_now.date() + timedelta(days=ahead), True
    return None, False


def _clamp(hours: OpeningHours, start: datetime, end: datetime, now: datetime
           ) -> tuple[datetime, datetime] | None:
    """Hull of the open time within [start, end] on the centre's first open day there."""
    pieces: list[tuple[datetime, datetime]] = []
    first = start.astimezone(hours.zone).date()
    last = end.astimezone(hours.zone).date()
    for offset in range((last - first).days + 1):
        for open_at, close_at in hours.intervals(first + timedelta(days=offset)):
            lo, hi = max(open_at, start, now), min(close_at, end)
            if lo < hi:
                pieces.append((lo, hi))
    if not pieces:
        return None
    day = pieces[0][0].astimezone(hours.zone).date()
    same_day = [p for p in pieces if p[0].astimezone(hours.zone).date() == day]
    return same_day[0][0], same_day[-1][1]


def _window(hours: OpeningHours, start: datetime, end: datetime, now: datetime, kind: str,
            day_fixed: bool) -> TimeWindow | None:
    for shift in range(SEARCH_DAYS):
        moved = _clamp(hours, start + timedelta(days=shift), end + timedelta(days=shift), now)
        if moved is not None:
            adjusted = (shift > 0 and day_fixed) or (
                kind == "time" and moved[0] > max(start + timedelta(days=shift), now))
            return TimeWindow(moved[0].astimezone(UTC), moved[1].astimezone(UTC), kind,
                              adjusted)
    return None


def parse_callback_time(text: str, lang: str, now: datetime, hours: OpeningHours,
                        tz: str = "Europe/Rome") -> TimeWindow | None:
    """Window (UTC) for a callback the caller asked for in words, or None if no time given."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    words = clean(text or "", lang).split()
    spoken = " ".join(number_tokens(words, lang))
    if not spoken:
        return None
    relative = re.search(RELATIVE_HOURS.get(lang, r"$^"), spoken)
    if relative:
        amount = relative.group(1)
        delta = timedelta(minutes=30) if amount in ("mezz", "half an") else timedelta(
            hours=int(amount) if amount.isdigit() else 1)
        return _window(hours, now + delta, now + delta + timedelta(hours=1), now,
                       "relative", False)
    if re.search(ASAP.get(lang, r"$^"), spoken):
        start = hours.next_open(now)
        interval = hours.interval_at(start) if start else None
        if start is None or interval is None:
            return None
        return TimeWindow(start.astimezone(UTC), interval[1].astimezone(UTC), "asap")
    period = next(((lo, hi) for pattern, lo, hi in PERIODS.get(lang, [])
                   if re.search(pattern, spoken)), None)
    clock = _clock_range(spoken, lang, period)
    day, day_fixed = _day(spoken, lang, local_now)
    if clock is None and period is None and day is None:
        return None
    lo, hi = clock or period or (time(0), END_OF_DAY)
    kind = "time" if clock else "period" if period else "day"
    base = day or local_now.date()
    start = datetime.combine(base, lo, zone)
    end = datetime.combine(base, hi, zone)
    return _window(hours, start, end, now, kind, day_fixed)
