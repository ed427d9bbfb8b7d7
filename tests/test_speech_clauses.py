"""`focus`: a topic the caller denies never decides the intent; the need itself stays."""

from __future__ import annotations

import pytest

from speech.clauses import denied, focus
from speech.normalize import normalize


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("non è per il gas, è la luce che non va", "it", "e la luce che non va"),
    ("non si tratta della bolletta ma del contratto", "it", "ma del contratto"),
    ("non riguarda la fattura volevo spostare l'appuntamento", "it",
     "volevo spostare l appuntamento"),
    ("la bolletta, anzi no, il contratto", "it", "il contratto"),
    ("it's not about my bill, I want to pay in instalments", "en",
     "i want to pay in instalments"),
    ("this isn't about the bill but the engineer never came", "en",
     "but the engineer never came"),
])
def test_a_denied_topic_is_dropped_and_the_real_need_kept(text: str, lang: str,
                                                         expected: str) -> None:
    assert focus(normalize(text, lang), lang) == expected


@pytest.mark.parametrize(("text", "lang"), [
    ("non ho la luce da stamattina", "it"),
    ("non arriva l'acqua", "it"),
    ("I have no water", "en"),
    ("the heating is not working", "en"),
])
def test_a_denied_supply_is_the_need_itself_and_is_kept(text: str, lang: str) -> None:
    assert focus(normalize(text, lang), lang) == normalize(text, lang)


def test_a_caller_who_only_says_what_it_is_not_keeps_the_whole_sentence() -> None:
    text = normalize("this is not about the bill", "en")
    assert focus(text, "en") == text
    assert denied(text, "en") == [text]


def test_empty_text_stays_empty() -> None:
    assert focus("", "it") == ""
