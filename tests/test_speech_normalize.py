"""Tests for speech.normalize."""

import pytest

from speech.normalize import clean, normalize, spoken_form, strip_accents, tokens


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Ehm, allora... la BOLLETTA è sbagliata!", "it", "la bolletta e sbagliata"),
        ("Well, so, I don't have a smartphone.", "en", "i dont have a smartphone"),
        ("L'operatore, per favore", "it", "l operatore per favore"),
        ("  cioè   tipo   il contratto ", "it", "il contratto"),
        ("요금이 너무 많이 나왔어요", "ko", "요금이 너무 많이 나왔어요"),
        ("", "it", ""),
    ],
)
def test_normalize_lowercases_strips_accents_punctuation_and_fillers(text, lang, expected):
    assert normalize(text, lang) == expected


def test_an_utterance_made_only_of_fillers_is_kept_rather_than_emptied():
    assert normalize("Allora...", "it") == "allora"


def test_italian_so_is_not_an_english_filler():
    assert tokens("non lo so", "it") == ["non", "lo", "so"]
    assert tokens("so I can't pay", "en") == ["i", "cant", "pay"]


def test_hangul_survives_accent_stripping_unchanged():
    assert strip_accents("예약하고 싶어요") == "예약하고 싶어요"
    assert strip_accents("lunedì perché") == "lunedi perche"


def test_clean_keeps_fillers_and_plus_sign():
    assert clean("Ehm, +39 333", "it") == "ehm +39 333"


def test_spoken_form_keeps_accents_for_the_recogniser():
    assert spoken_form("Sì, lunedì! That's right.") == "sì lunedì that's right"
