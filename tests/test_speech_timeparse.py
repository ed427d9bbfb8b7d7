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


# --- Callback-time capabilities on the hotline's own hours (Mon-Fri 08:30-19:00, Sat 9-13) ---

LONG_HOURS = OpeningHours.from_settings({"opening_hours": {
    **{day: ["08:30-19:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
    "sat": ["09:00-13:00"]}})
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=ROME)  # Tue 2026-12-08 is a holiday


def window_at(text, lang, now=MONDAY):
    window = parse_callback_time(text, lang, now, LONG_HOURS)
    if window is None:
        return None
    return (window.start.astimezone(ROME).strftime("%a %d %H:%M"),
            window.end.astimezone(ROME).strftime("%a %d %H:%M"))


@pytest.mark.parametrize(
    ("text", "lang", "start", "end"),
    [
        ("tra un'oretta", "it", "Mon 30 11:00", "Mon 30 12:00"),
        ("fra mezz'ora", "it", "Mon 30 10:30", "Mon 30 11:30"),
        ("tra un quarto d'ora", "it", "Mon 30 10:15", "Mon 30 11:15"),
        ("tra un paio d'ore", "it", "Mon 30 12:00", "Mon 30 13:00"),
        ("tra 2 ore e 30 minuti", "it", "Mon 30 12:30", "Mon 30 13:30"),
        ("in a couple of hours", "en", "Mon 30 12:00", "Mon 30 13:00"),
        ("in twenty minutes", "en", "Mon 30 10:20", "Mon 30 11:20"),
        ("in an hour and a half", "en", "Mon 30 11:30", "Mon 30 12:30"),
        ("twenty minutes from now", "en", "Mon 30 10:20", "Mon 30 11:20"),
        ("entro un'ora", "it", "Mon 30 10:00", "Mon 30 11:00"),
        ("within the next half hour", "en", "Mon 30 10:00", "Mon 30 10:30"),
        ("in the next hour", "en", "Mon 30 10:00", "Mon 30 11:00"),
    ],
)
def test_a_delay_is_counted_from_now(text, lang, start, end):
    assert window_at(text, lang) == (start, end)
    assert parse_callback_time(text, lang, MONDAY, LONG_HOURS).kind == "relative"


def test_a_delay_that_lands_after_closing_gets_the_first_hour_of_the_next_opening():
    evening = datetime(2026, 12, 2, 18, 30, tzinfo=ROME)
    window = parse_callback_time("fra mezz'ora", "it", evening, LONG_HOURS)
    assert window_at("fra mezz'ora", "it", evening) == ("Thu 03 08:30", "Thu 03 09:30")
    assert window.adjusted


@pytest.mark.parametrize(
    ("text", "lang", "start", "end"),
    [
        ("verso sera", "it", "Mon 30 17:00", "Mon 30 19:00"),
        ("in serata", "it", "Mon 30 17:00", "Mon 30 19:00"),
        ("nel pomeriggio presto", "it", "Mon 30 14:00", "Mon 30 16:00"),
        ("in tarda mattinata", "it", "Mon 30 11:00", "Mon 30 13:00"),
        ("late afternoon", "en", "Mon 30 16:00", "Mon 30 18:00"),
        ("any time after lunch", "en", "Mon 30 14:00", "Mon 30 19:00"),
        ("domani pomeriggio quando volete", "it", "Tue 01 14:00", "Tue 01 19:00"),
        ("non la mattina", "it", "Mon 30 12:00", "Mon 30 19:00"),
        ("early next week", "en", "Mon 07 08:30", "Mon 07 19:00"),  # Tuesday is a holiday
        ("la settimana prossima", "it", "Mon 07 08:30", "Fri 11 19:00"),
        ("nel fine settimana", "it", "Sat 05 09:00", "Sat 05 13:00"),
        ("entro mercoledì", "it", "Mon 30 10:00", "Wed 02 19:00"),
        ("before Wednesday", "en", "Mon 30 10:00", "Tue 01 19:00"),
        ("martedì della settimana prossima", "it", "Wed 09 08:30", "Wed 09 19:00"),
        ("a metà mattinata", "it", "Mon 30 10:00", "Mon 30 12:00"),
        ("più tardi", "it", "Mon 30 10:00", "Mon 30 19:00"),
        ("domani o dopodomani", "it", "Tue 01 08:30", "Tue 01 19:00"),  # the first one said
        ("domani appena aprite", "it", "Tue 01 08:30", "Tue 01 10:00"),
        ("at the end of the day", "en", "Mon 30 17:00", "Mon 30 19:00"),
        ("by the end of the day", "en", "Mon 30 10:00", "Mon 30 19:00"),
    ],
)
def test_vague_periods_and_spans_of_days_have_fixed_windows(text, lang, start, end):
    assert window_at(text, lang) == (start, end)


@pytest.mark.parametrize(
    ("text", "lang", "hour", "start", "end"),
    [
        ("lunedì alle dieci", "it", 8, "Mon 30 10:00", "Mon 30 11:00"),
        ("lunedì alle dieci", "it", 11, "Mon 07 10:00", "Mon 07 11:00"),
        ("Monday afternoon", "en", 11, "Mon 30 14:00", "Mon 30 18:00"),
        ("Monday morning", "en", 11, "Mon 07 09:00", "Mon 07 12:00"),
        ("lunedì", "it", 11, "Mon 07 08:30", "Mon 07 19:00"),
        ("lunedì prossimo", "it", 8, "Mon 07 08:30", "Mon 07 19:00"),
    ],
)
def test_a_weekday_said_on_that_weekday_is_today_only_while_the_slot_is_ahead(
        text, lang, hour, start, end):
    now = MONDAY.replace(hour=hour)
    assert window_at(text, lang, now) == (start, end)


@pytest.mark.parametrize(
    ("text", "lang", "start", "end"),
    [
        ("domani mattina, no anzi meglio giovedì", "it", "Thu 03 09:00", "Thu 03 12:00"),
        ("no, meglio giovedì", "it", "Thu 03 08:30", "Thu 03 19:00"),
        ("at three... actually make it four", "en", "Mon 30 16:00", "Mon 30 17:00"),
        ("mercoledì alle undici, anzi no, alle due", "it", "Wed 02 14:00", "Wed 02 15:00"),
        ("tomorrow, sorry, I mean Wednesday", "en", "Wed 02 08:30", "Wed 02 19:00"),
        ("oggi pomeriggio... no, domani", "it", "Tue 01 14:00", "Tue 01 18:00"),
        ("alle dieci, anzi undici", "it", "Mon 30 11:00", "Mon 30 12:00"),
        ("tra un'ora, anzi domani mattina", "it", "Tue 01 09:00", "Tue 01 12:00"),
    ],
)
def test_a_correction_replaces_what_it_names_and_keeps_the_rest(text, lang, start, end):
    assert window_at(text, lang) == (start, end)


@pytest.mark.parametrize(
    ("text", "lang", "start", "end"),
    [
        ("giovedì pome riggio", "it", "Thu 03 14:00", "Thu 03 18:00"),
        ("doma ni verso le dieci", "it", "Tue 01 09:30", "Tue 01 10:30"),
        ("to morrow morning", "en", "Tue 01 09:00", "Tue 01 12:00"),
        # each half a time word of its own: "after noon" is after 12, not the afternoon
        ("after noon", "en", "Mon 30 12:00", "Mon 30 19:00"),
    ],
)
def test_a_time_word_the_recogniser_split_in_two_is_read_whole(text, lang, start, end):
    assert window_at(text, lang) == (start, end)


@pytest.mark.parametrize(
    ("text", "lang", "start", "end"),
    [
        ("non prima delle undici", "it", "Mon 30 11:00", "Mon 30 19:00"),
        ("not before noon", "en", "Mon 30 12:00", "Mon 30 19:00"),
        ("not until 3", "en", "Mon 30 15:00", "Mon 30 19:00"),
        ("domani, non dopo le undici", "it", "Tue 01 08:30", "Tue 01 11:00"),
        ("no later than 3", "en", "Mon 30 10:00", "Mon 30 15:00"),
        ("dopo le 10 ma prima delle 12", "it", "Mon 30 10:00", "Mon 30 12:00"),
        ("lunedì mattina però non prima delle undici", "it", "Mon 30 11:00", "Mon 30 12:00"),
    ],
)
def test_negative_preferences_bound_the_window(text, lang, start, end):
    assert window_at(text, lang) == (start, end)


@pytest.mark.parametrize(
    ("text", "lang", "start", "end"),
    [
        ("il 3 dicembre verso le 11", "it", "Thu 03 10:30", "Thu 03 11:30"),
        ("on the 10th of December at 9", "en", "Thu 10 09:00", "Thu 10 10:00"),
        ("the twenty first of december", "en", "Mon 21 08:30", "Mon 21 19:00"),
        ("on the 9th", "en", "Wed 09 08:30", "Wed 09 19:00"),
        ("l'8 dicembre", "it", "Wed 09 08:30", "Wed 09 19:00"),  # a holiday: the next day
        ("alle quattro meno un quarto", "it", "Mon 30 15:45", "Mon 30 16:45"),
        ("half past two", "en", "Mon 30 14:30", "Mon 30 15:30"),
        ("at ten to four", "en", "Mon 30 15:50", "Mon 30 16:50"),
        ("le tre", "it", "Mon 30 15:00", "Mon 30 16:00"),
        ("eleven fifteen tomorrow", "en", "Tue 01 11:15", "Tue 01 12:15"),
        ("at half three", "en", "Mon 30 15:30", "Mon 30 16:30"),
        ("10:30", "en", "Mon 30 10:30", "Mon 30 11:30"),
        ("alle 17.30", "it", "Mon 30 17:30", "Mon 30 18:30"),
        ("this evening at 6", "en", "Mon 30 18:00", "Mon 30 19:00"),
    ],
)
def test_dates_and_clock_phrases(text, lang, start, end):
    assert window_at(text, lang) == (start, end)


@pytest.mark.parametrize("text", ["stasera alle 8", "domani mattina alle 7 e mezza"])
def test_a_clock_time_when_the_centre_is_closed_gives_no_window(text):
    assert parse_callback_time(text, "it", MONDAY, LONG_HOURS) is None


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("", "it"),
        ("   ", "en"),
        ("ehm allora boh", "it"),
        ("um, er, well", "en"),
        ("domani at three o'clock", "it"),
        ("tomorrow mattina", "en"),
        ("lunedì morning", "it"),
        ("the bill is wrong", "en"),
        ("domani, anzi no", "it"),
        ("tomorrow... no, not tomorrow", "en"),
        ("mercoledì... anzi no, un attimo", "it"),  # a correction naming only a hesitation
        ("non oggi", "it"),
        ("lunedì scorso", "it"),
        ("yesterday", "en"),
        (" ".join(["domani mattina"] * 16), "it"),  # 32 words: a ramble, not an answer
    ],
)
def test_bad_input_gives_no_window_so_the_caller_is_asked_again(text, lang):
    assert parse_callback_time(text, lang, MONDAY, LONG_HOURS) is None


@pytest.mark.parametrize("name", ["dev", "dev2"])
def test_the_dev_sets_of_callback_times_stay_above_their_floor(name):
    from bench.times import SETS, accuracy, evaluate

    results = evaluate(SETS[name])
    failures = [(r.case.text, r.case.expected, r.got) for r in results if not r.right]
    assert len(results) >= 40
    assert accuracy(results) >= 0.9, failures
