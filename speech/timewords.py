"""What a caller's words ask for, before opening hours: days, times of day, delays.

`read_wish` turns one utterance into a `Wish`: a day (today, a date, a weekday, a span
such as "early next week"), a time of day (a clock time, a range, a vague period), a delay
("tra un'oretta"), "as soon as possible", or nothing. It works on cleaned text with the
numbers as digits (`spoken_text`) and knows nothing of opening hours or of the clock:
speech.timeparse turns a wish into a window. The vocabulary is in speech.timevocab, so
this module is the grammar: which phrase wins, and how a correction ("domani mattina, no
anzi giovedì") replaces what it names and keeps the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, time, timedelta

from speech.normalize import only_filler
from speech.numbers import number_tokens
from speech.timevocab import (
    ANYTIME,
    ASAP,
    CANCEL_WORDS,
    CLOCK,
    CLOCK_ALONE,
    CORRECTION,
    DATES,
    DAY_OF_MONTH,
    DELAY,
    END_OF_DAY,
    FOREIGN,
    MONTHS,
    NEGATED_PERIOD,
    ORDINALS,
    PERIODS,
    RELATIVE_DAYS,
    SPANS,
    WEEKDAYS,
    WORDS,
    clock_time,
    delay_minutes,
)

MAX_WORDS = 30
MAX_CHARS = 400
"""Longer answers are rambles: ask again rather than pick one of their times."""


@dataclass(frozen=True)
class Day:
    """Calendar days asked for; `rolls` when a weekday was named on that same weekday."""

    first: date
    last: date
    rolls: bool = False


@dataclass(frozen=True)
class TimeOfDay:
    """A local time range within a day, from a clock phrase ("time") or a period."""

    lo: time
    hi: time
    kind: str  # "time" | "period"


@dataclass(frozen=True)
class Wish:
    """What one utterance asks for; empty fields were not said."""

    day: Day | None = None
    tod: TimeOfDay | None = None
    delay: tuple[timedelta, timedelta] | None = None  # (from now, length of the window)
    asap: bool = False
    anytime: bool = False
    clock: str | None = None  # the clock phrase kind, for a bare hour in a correction
    cancelled: bool = False  # a day named only to refuse it ("non domani")

    @property
    def names_something(self) -> bool:
        """Whether any time was asked for."""
        return bool(self.day or self.tod or self.delay or self.asap or self.anytime)


def _take(pattern: str, text: str) -> tuple[re.Match[str] | None, str]:
    """The first match of `pattern` and the text with that match blanked out."""
    match = re.search(pattern, text)
    if not match:
        return None, text
    return match, f"{text[:match.start()]} {text[match.end():]}"


def spoken_text(words: list[str], lang: str) -> str:
    """Cleaned words with numbers as digits, "o clock" as one word, ordinals as "21st"."""
    text = re.sub(r"\bo clock\b", "oclock", " ".join(words))
    if lang == "en":
        text = re.sub(r"\b(twenty|thirty) (first|second|third|fourth|fifth|sixth|seventh|"
                      r"eighth|ninth)\b", lambda m: f"{m.group(1)}{m.group(2)}", text)
        text = " ".join(ORDINALS.get(word, word) for word in text.split())
    return " ".join(number_tokens(text.split(), lang))


def join_split_words(words: list[str], lang: str) -> list[str]:
    """Time words the recogniser split in two put back together ("dopo pran zo" -> "dopo
    pranzo", "to morrow" -> "tomorrow"). Two words that are each a time word stay apart:
    "after noon" is not "afternoon"."""
    known = WORDS.get(lang, frozenset())
    joined: list[str] = []
    index = 0
    while index < len(words):
        pair = words[index:index + 2]
        whole = "".join(pair)
        if (len(pair) == 2 and whole in known and len(whole) >= 6
                and not (pair[0] in known and pair[1] in known)):
            joined.append(whole)
            index += 2
        else:
            joined.append(words[index])
            index += 1
    return joined


def is_mixed(words: list[str], lang: str) -> bool:
    """Whether the utterance uses the other language's time words ("domani at three")."""
    foreign = FOREIGN.get(lang, frozenset())
    return any(word in foreign for word in words)


def _day_number(text: str) -> int:
    return 1 if text == "primo" else int(re.sub(r"\D", "", text) or 0)


def _day(text: str, lang: str, today: date) -> tuple[Day | None, str]:
    for pattern, (first, last) in SPANS.get(lang, []):
        match, text = _take(pattern, text)
        if match:
            span = _span(first, last, today)
            for index, name in enumerate(WEEKDAYS[lang]):  # "martedì della settimana prossima"
                named, rest = _take(rf"\b{name}\b", text)
                if named:
                    day = span.first + timedelta(days=(index - span.first.weekday()) % 7)
                    return Day(day, day), rest
            return span, text
    said = [(found.start(), offset) for pattern, offset in RELATIVE_DAYS.get(lang, [])
            for found in re.finditer(pattern, text)]
    if said:  # the first one said ("domani o dopodomani"); not taken: "stasera" is a period
        day = today + timedelta(days=min(said)[1])
        return Day(day, day), text
    for pattern in DATES.get(lang, []):
        match, rest = _take(pattern, text)
        if match:
            found = _date(match, lang, today)
            if found is not None:
                return Day(found, found), rest
    match, rest = _take(DAY_OF_MONTH.get(lang, r"$^"), text)
    if match:
        found = _month_day(_day_number(match.group("d")), today)
        if found is not None:
            return Day(found, found), rest
    for index, name in enumerate(WEEKDAYS.get(lang, [])):
        match, rest = _take(rf"\b(?:(?:il |this |on )?(?:prossim[oa] |next ))?"
                            rf"(?:(?P<by>entro|by|before|prima di) )?{name}"
                            rf"(?: prossim[oa]| next)?\b", text)
        if match:
            ahead = (index - today.weekday()) % 7
            said_next = bool(re.search(r"\b(?:prossim[oa]|next)\b", match.group(0)))
            if ahead == 0 and (said_next or match.group("by")):
                ahead = 7
            day = today + timedelta(days=ahead)
            if match.group("by"):  # "entro venerdì": from today until then
                before = match.group("by") in ("before", "prima di")
                return Day(today, max(today, day - timedelta(days=int(before)))), rest
            return Day(day, day, rolls=ahead == 0), rest
    return None, text


def _span(first: str, last: str, today: date) -> Day:
    """Days of a span: "next_mon"+n, "sat", "today", "fri" relative to today."""
    monday = today + timedelta(days=7 - today.weekday())
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)

    def at(name: str) -> date:
        if name.startswith("next_mon"):
            return monday + timedelta(days=int(name[8:] or 0))
        if name == "sat":
            return saturday
        if name == "sun":
            return saturday + timedelta(days=1)
        if name == "fri":
            return max(today, today + timedelta(days=4 - today.weekday()))
        return today

    return Day(at(first), max(at(first), at(last)))


def _date(match: re.Match[str], lang: str, today: date) -> date | None:
    month = MONTHS[lang].index(match.group("m")) + 1
    day = _day_number(match.group("d"))
    for year in (today.year, today.year + 1):
        try:
            found = date(year, month, day)
        except ValueError:
            return None
        if found >= today:
            return found
    return None


def _month_day(day: int, today: date) -> date | None:
    """The next date with this day of the month ("il 16", "the 16th")."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            found = date(year, month, day)
        except ValueError:
            found = None
        if found is not None and found >= today:
            return found
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _clock(text: str, lang: str, part: str | None, bare: str | None
           ) -> tuple[tuple[str, time, time] | None, str]:
    """(kind, first, second) of the first clock phrase, and the text without it."""
    # a clock time alone: "le tre"; in a correction it keeps the kind it corrects
    patterns = [*CLOCK.get(lang, []), (bare or "at", CLOCK_ALONE.get(lang, r"$^"))]
    for kind, pattern in patterns:
        match, rest = _take(pattern, text)
        if not match:
            continue
        first = clock_time(match.group(1), lang, part)
        if first is None:
            continue
        second = first
        if kind == "range":
            second = clock_time(match.group(2), lang, part) or first
        elif kind == "after":  # "dopo le 10 ma prima delle 12"
            until, later = _clock(rest, lang, part, None)
            if until is not None and until[0] == "before" and until[1] > first:
                return ("range", first, until[1]), later
        return (kind, first, second), rest
    return None, text


def _clock_range(kind: str, first: time, second: time,
                 period: tuple[time, time] | None) -> tuple[time, time]:
    moment = timedelta(hours=first.hour, minutes=first.minute)
    if kind == "range":
        return first, second
    if kind == "after":
        return first, period[1] if period and period[1] > first else END_OF_DAY
    if kind == "before":
        return period[0] if period and period[0] < first else time(0), first
    if kind == "around":
        lo, hi = moment - timedelta(minutes=30), moment + timedelta(minutes=30)
    else:
        lo, hi = moment, moment + timedelta(hours=1)
    return _as_time(lo), _as_time(hi)


def _as_time(delta: timedelta) -> time:
    minutes = max(0, min(int(delta.total_seconds() // 60), 23 * 60 + 59))
    return time(minutes // 60, minutes % 60)


def _period(text: str, lang: str) -> tuple[tuple[time, time] | None, str]:
    for pattern, lo, hi in PERIODS.get(lang, []):
        match, rest = _take(pattern, text)
        if match:
            return (lo, hi), rest
    return None, text


def read_segment(text: str, lang: str, today: date, bare: str | None = None) -> Wish:
    """The wish in one stretch of words (no corrections inside)."""
    cancelled, text = _take(CANCEL_WORDS.get(lang, r"$^"), text)
    for pattern in DELAY.get(lang, []):
        delay_match, text = _take(pattern, text)
        if delay_match:
            offset, length = delay_minutes(delay_match)
            return Wish(delay=(timedelta(minutes=offset), timedelta(minutes=length)))
    asap, text = _take(ASAP.get(lang, r"$^"), text)
    anytime, text = _take(ANYTIME.get(lang, r"$^"), text)
    day, text = _day(text, lang, today)
    negated, text = _take(NEGATED_PERIOD.get(lang, r"$^"), text)
    context, _ = _period(text, lang)  # "domani mattina alle 7", "stasera alle 8"
    part = None if context is None else "am" if context[1] <= time(13) else (
        "pm" if context[0] >= time(14) else None)
    clock, text = _clock(text, lang, part, bare)
    period, text = _period(text, lang)
    tod = None
    if clock:
        lo, hi = _clock_range(*clock, period)
        tod = TimeOfDay(lo, hi, "time")
    elif period:
        tod = TimeOfDay(period[0], period[1], "period")
    elif negated:
        lo, hi = _negated(negated.group("p"))
        tod = TimeOfDay(lo, hi, "period")
    if tod and anytime and tod.kind == "period":
        tod = TimeOfDay(tod.lo, END_OF_DAY, tod.kind)
    return Wish(day=day, tod=tod, asap=bool(asap), anytime=bool(anytime),
                clock=clock[0] if clock else None, cancelled=bool(cancelled))


def _negated(word: str) -> tuple[time, time]:
    """The rest of the day around a refused period: "non la mattina" -> 12:00 onwards."""
    if word.startswith(("mattin", "morning")):
        return time(12), END_OF_DAY
    if word.startswith(("pomeriggio", "afternoon")):
        return time(0), time(14)
    return time(0), time(17)


def _merge(old: Wish, new: Wish) -> Wish:
    """A correction replaces what it names and keeps the rest."""
    if new.delay or ((new.asap or new.anytime) and not (new.day or new.tod)):
        return new
    return replace(old, day=new.day or old.day, tod=new.tod or old.tod, delay=None,
                   asap=False, anytime=new.anytime or old.anytime,
                   clock=new.clock or old.clock, cancelled=new.cancelled)


def _nothing_said(text: str, lang: str) -> bool:
    return not text.strip() or only_filler(text, lang)


def read_wish(spoken: str, lang: str, today: date) -> Wish | None:
    """The caller's final wish, corrections applied; None when a correction names nothing."""
    pieces = re.split(f"({CORRECTION.get(lang, r'$^')})", spoken)
    wish = read_segment(pieces[0], lang, today)
    for marker, text in zip(pieces[1::2], pieces[2::2], strict=True):
        new = read_segment(text, lang, today, bare=wish.clock)
        if new.names_something:
            wish = _merge(wish, new)
        elif new.cancelled or (_nothing_said(text, lang) and re.search(r"\bno\b", marker)
                               and marker.strip() != "no"):
            return None  # "domani, anzi no", "tomorrow... sorry, no, hang on"
    return wish if wish.names_something else None
