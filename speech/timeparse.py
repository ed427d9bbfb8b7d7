"""A callback time in the caller's own words, resolved to a window within opening hours.

"domani mattina", "tra un'oretta", "lunedì alle 10", "any time after lunch", "early next
week", "at three... actually make it four": speech.timewords reads what was asked for (a
day or span of days, a time of day, a delay, "as soon as possible"); this module turns it
into a local range in the caller's time zone and clamps it to the centre's opening hours.
The window never starts before now, never falls on a holiday or at night, and when the
requested slot is closed it moves to the same slot on the next open day (`adjusted=True`,
so the hotline can say so).

Conventions (the case sets in tests/data/eval/{dev,heldout}/times.yaml follow them):

- clock time "alle dieci" / "at ten": 10:00-11:00; a bare 1-7 is afternoon ("alle tre" =
  15:00); "verso le X" / "around X": X-30 min to X+30 min; "tra le X e le Y": X to Y;
  "dopo le X", "non prima delle X", "not before X": X to closing; "prima delle X",
  "entro le X", "not after X": opening (or now) to X.
- periods: mattina/morning 09-12, prima mattina/a prima ora/appena aprite/early morning/first
  thing 08-10, a fine giornata/at the end of the day 17 to closing, tarda mattinata/
  late morning 11-13, pranzo/lunch/mezzogiorno 12-14, dopo pranzo/primo pomeriggio/
  pomeriggio presto/early afternoon 14-16, pomeriggio/afternoon 14-18, tardo pomeriggio/
  late afternoon 16-18, metà mattinata/mid morning 10-12, metà pomeriggio/mid afternoon
  15-17, sera/serata/verso sera/sul tardi/evening/tonight 17 to closing; "non la
  mattina" / "not in the morning": 12:00 to closing. "Quando volete" / "any time" with a
  period runs from its start to closing; alone it means as soon as possible.
- a day alone ("domani", "Monday", "il 3 dicembre"): the whole open day. A weekday named
  on that same weekday is today if the requested slot has not started, else a week later.
- delays: "tra un'oretta" / "in twenty minutes": now+delay for one hour (un paio d'ore /
  a couple of hours = 2 h); "entro un'ora" / "within an hour": now to now+1 h. When that
  hour is closed: the first hour of the next opening.
- "entro venerdì" / "by Friday": today to Friday ("before Friday": to Thursday); a day
  already past ("ieri", "last Monday") with nothing else said gives None.
- spans: "early next week" = next Mon-Tue, "next week" = next Mon-Fri, "fine settimana" /
  "weekend" = the coming Sat-Sun, "this week" = today to Friday, "end of the week" / "alla
  fine della settimana" = Friday, "più tardi" / "later today" = the rest of today; the
  window runs from the first to the last open moment of the span.
- corrections ("no", "anzi", "meglio", "actually", "I mean", "make it"): the last one
  wins for what it names, the rest is kept ("domani mattina, anzi giovedì" = Thursday
  morning); one that names nothing ("domani, anzi no") gives None.
- None, so the hotline asks again: no time said, fillers only, more than 30 words (or
  400 characters), time words of the other language ("domani at three"), a correction
  naming nothing, a clock time at which the centre is never open ("stasera alle 8").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.hours import OpeningHours
from speech.normalize import clean
from speech.timevocab import END_OF_DAY
from speech.timewords import (
    MAX_CHARS,
    MAX_WORDS,
    Wish,
    is_mixed,
    join_split_words,
    read_wish,
    spoken_text,
)

__all__ = ["OpeningHours", "TimeWindow", "parse_callback_time"]

SEARCH_DAYS = 14
Span = tuple[datetime, datetime]


@dataclass(frozen=True)
class TimeWindow:
    """When to call back: aware UTC start and end, what kind of wish, and whether moved."""

    start: datetime
    end: datetime
    kind: str  # "asap" | "relative" | "time" | "period" | "day"
    adjusted: bool = False


def _open_hull(hours: OpeningHours, ranges: list[Span], not_before: datetime) -> Span | None:
    """First to last open moment within the ranges, none of it before `not_before`."""
    pieces: list[Span] = []
    for start, end in ranges:
        day, last = start.astimezone(hours.zone).date(), end.astimezone(hours.zone).date()
        while day <= last:
            for open_at, close_at in hours.intervals(day):
                lo, hi = max(open_at, start, not_before), min(close_at, end)
                if lo < hi:
                    pieces.append((lo, hi))
            day += timedelta(days=1)
    return (pieces[0][0], pieces[-1][1]) if pieces else None


def _utc(span: Span, kind: str, adjusted: bool) -> TimeWindow:
    return TimeWindow(span[0].astimezone(UTC), span[1].astimezone(UTC), kind, adjusted)


def _asap(hours: OpeningHours, now: datetime) -> TimeWindow | None:
    start = hours.next_open(now)
    interval = hours.interval_at(start) if start else None
    if start is None or interval is None:
        return None
    return _utc((start, interval[1]), "asap", False)


def _after_delay(hours: OpeningHours, now: datetime, offset: timedelta, length: timedelta
                 ) -> TimeWindow | None:
    start = now + offset
    found = _open_hull(hours, [(start, start + length)], now)
    if found is not None:
        return _utc(found, "relative", False)
    opens = hours.next_open(start)  # closed then: the first hour of the next opening
    interval = hours.interval_at(opens) if opens else None
    if opens is None or interval is None:
        return None
    return _utc((opens, min(opens + timedelta(hours=1), interval[1])), "relative", True)


def _resolve(wish: Wish, hours: OpeningHours, now: datetime, local_now: datetime
             ) -> TimeWindow | None:
    zone = local_now.tzinfo
    lo, hi = (wish.tod.lo, wish.tod.hi) if wish.tod else (time(0), END_OF_DAY)
    kind = wish.tod.kind if wish.tod else "day"
    first, last = (wish.day.first, wish.day.last) if wish.day else (local_now.date(),) * 2

    def ranges(shift: int) -> list[Span]:
        days = [first + timedelta(days=shift + n) for n in range((last - first).days + 1)]
        return [(datetime.combine(d, lo, zone), datetime.combine(d, hi, zone)) for d in days]

    if wish.day and wish.day.rolls:  # "lunedì" said on a Monday: today if still to come
        slot = _open_hull(hours, ranges(0), datetime.min.replace(tzinfo=UTC))
        if slot is None or slot[0] <= now:
            first, last = first + timedelta(days=7), last + timedelta(days=7)
    for shift in range(SEARCH_DAYS):
        asked = ranges(shift)
        found = _open_hull(hours, asked, now)
        if found is not None:
            adjusted = (shift > 0 and wish.day is not None) or (  # "alle 8" -> 08:30
                kind == "time" and lo > time(0) and found[0] > max(asked[0][0], now))
            return _utc(found, kind, adjusted)
    return None


def parse_callback_time(text: str, lang: str, now: datetime, hours: OpeningHours,
                        tz: str = "Europe/Rome") -> TimeWindow | None:
    """Window (UTC) for a callback the caller asked for in words, or None: ask again."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local_now = now.astimezone(ZoneInfo(tz))
    if len(text or "") > MAX_CHARS:
        return None
    words = join_split_words(clean(text or "", lang).split(), lang)
    if not words or len(words) > MAX_WORDS or is_mixed(words, lang):
        return None
    wish = read_wish(spoken_text(words, lang), lang, local_now.date())
    if wish is None:
        return None
    if wish.delay is not None:
        return _after_delay(hours, now, *wish.delay)
    if wish.day is None and wish.tod is None:
        return _asap(hours, now)
    return _resolve(wish, hours, now, local_now)
