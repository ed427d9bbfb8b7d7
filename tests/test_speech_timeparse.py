"""Tests for speech.timeparse and the opening hours behind it (core.hours)."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from speech.timeparse import OpeningHours, parse_callback_time

ROME = ZoneInfo("Europe/Rome")
HOURS = OpeningHours.from_settings({})  # Mon-Fri 9-13 14-18, Sat 9-13, Italian holidays
THURSDAY = datetime(2025, 3, 13, 10, 20, tzinfo=ROME)


def local(window):
    return (window.start.astimezone(ROME).strftime("%a %H:%M"),
            window.end.astimezone(ROME).strftime("%a %H:%M"))


@pytest.mark.parametrize(
    ("text", "lang", "start", "end"),
    [
        ("domani mattina", "it", "Fri 09:00", "Fri 12:00"),
        ("dopo pranzo", "it", "Thu 14:00", "Thu 16:00"),
        ("nel pomeriggio", "it", "Thu 14:00", "Thu 18:00"),
        ("stasera", "it", "Thu 17:00", "Thu 18:00"),
        ("lunedì alle 10", "it", "Mon 10:00", "Mon 11:00"),
        ("verso le quattro", "it", "Thu 15:30", "Thu 16:30"),
        ("domani alle tre e mezza", "it", "Fri 15:30", "Fri 16:30"),
        ("tomorrow after three", "en", "Fri 15:00", "Fri 18:00"),
        ("in the afternoon", "en", "Thu 14:00", "Thu 18:00"),
        ("between two and four", "en", "Thu 14:00", "Thu 16:00"),
        ("at 3 pm", "en", "Thu 15:00", "Thu 16:00"),
        ("March 18th in the morning", "en", "Tue 09:00", "Tue 12:00"),
        ("il 14 marzo dopo pranzo", "it", "Fri 14:00", "Fri 16:00"),
    ],
)
def test_callback_times_in_the_callers_words(text, lang, start, end):
    window = parse_callback_time(text, lang, THURSDAY, HOURS)
    assert window is not None
    assert local(window) == (start, end)
    assert window.start.tzinfo == UTC and window.start < window.end


def test_as_soon_as_possible_is_now_until_the_current_opening_ends():
    window = parse_callback_time("as soon as possible", "en", THURSDAY, HOURS)
    assert local(window) == ("Thu 10:20", "Thu 13:00") and window.kind == "asap"
    saturday_night = datetime(2025, 3, 15, 21, 0, tzinfo=ROME)
    window = parse_callback_time("il prima possibile", "it", saturday_night, HOURS)
    assert local(window) == ("Mon 09:00", "Mon 13:00")


def test_a_closed_day_moves_to_the_next_open_day_and_says_so():
    window = parse_callback_time("sabato pomeriggio", "it", THURSDAY, HOURS)
    assert local(window) == ("Mon 14:00", "Mon 18:00")
    assert window.adjusted


def test_public_holidays_are_closed():
    assert HOURS.is_holiday(date(2025, 4, 25))  # Festa della Liberazione (a Friday)
    window = parse_callback_time("il 25 aprile", "it", THURSDAY, HOURS)
    assert window.start.astimezone(ROME).date() == date(2025, 4, 26)
    assert window.adjusted


def test_a_period_already_past_today_means_the_next_open_day():
    evening = datetime(2025, 3, 13, 19, 0, tzinfo=ROME)
    window = parse_callback_time("in the afternoon", "en", evening, HOURS)
    assert local(window) == ("Fri 14:00", "Fri 18:00")


def test_never_at_night_whatever_the_caller_says():
    for text in ("stanotte alle tre", "at 2 am", "alle 23", "domenica sera"):
        window = parse_callback_time(text, "it" if "alle" in text or "stanotte" in text
                                     or "domenica" in text else "en", THURSDAY, HOURS)
        if window is not None:
            assert HOURS.is_open(window.start)
            assert 9 <= window.start.astimezone(ROME).hour < 18


def test_callers_time_zone_is_honoured():
    new_york = ZoneInfo("America/New_York")
    now = datetime(2025, 3, 13, 6, 0, tzinfo=new_york)
    window = parse_callback_time("domani mattina", "it", now, HOURS, tz="America/New_York")
    # New York 9-12 is Rome 14-17 on that day: within the afternoon opening.
    assert local(window) == ("Fri 14:00", "Fri 17:00")


def test_no_time_in_the_text_gives_none():
    for text in ("non lo so", "la bolletta", ""):
        assert parse_callback_time(text, "it", THURSDAY, HOURS) is None


def test_opening_hours_from_flow_settings():
    hours = OpeningHours.from_settings({
        "timezone": "Europe/Rome", "holidays": None, "extra_closed_days": ["2025-03-14"],
        "opening_hours": {"mon": ["08:00-20:00"], "fri": ["08:00-20:00"]}})
    assert hours.is_open(datetime(2025, 3, 17, 19, 30, tzinfo=ROME))
    assert not hours.is_open(datetime(2025, 3, 14, 10, 0, tzinfo=ROME))  # closed day
    assert hours.next_open(THURSDAY) == datetime(2025, 3, 17, 8, 0, tzinfo=ROME)
    window = parse_callback_time("stasera", "it", datetime(2025, 3, 17, 9, 0, tzinfo=ROME),
                                 hours)
    assert local(window) == ("Mon 17:00", "Mon 20:00")


def test_bad_opening_interval_is_rejected():
    with pytest.raises(ValueError):
        OpeningHours.from_settings({"opening_hours": {"mon": ["18:00-09:00"]}})
