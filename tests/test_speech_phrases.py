"""Tests for speech.phrases: phrase lists for the recogniser, derived from the flow."""

from pathlib import Path

import pytest
import yaml

from speech.phrases import expected_phrases

ROOT = Path(__file__).resolve().parents[1]
FLOW = yaml.safe_load((ROOT / "ivr/flows/main.yaml").read_text())
KOREAN = yaml.safe_load((ROOT / "tests/data/flows/ko_intents.yaml").read_text())


def test_intent_phrases_are_the_flows_examples_and_keywords_in_spoken_form():
    phrases = expected_phrases(FLOW, "it", "intent")
    assert "ho un problema con la bolletta" in phrases
    assert "mi è arrivata una bolletta sbagliata" in phrases  # accents kept for the recogniser
    assert "guasto" in phrases
    assert not any(p != p.lower() or "," in p for p in phrases)
    assert len(phrases) == len(set(phrases))
    assert "I have no power".lower() not in phrases  # English stays out of Italian


@pytest.mark.parametrize("expecting", ["intent", "yes_no", "phone", "time"])
@pytest.mark.parametrize("lang", ["it", "en"])
def test_every_restricted_list_includes_the_escape_words(expecting, lang):
    phrases = expected_phrases(FLOW, lang, expecting)
    assert ("operatore" if lang == "it" else "operator") in phrases


def test_yes_no_phone_and_time_lists():
    assert {"sì", "no", "non lo so"} <= set(expected_phrases(FLOW, "it", "yes_no"))
    assert {"double", "oh", "twenty"} <= set(expected_phrases(FLOW, "en", "phone"))
    assert {"domani", "mattina", "dopo pranzo"} <= set(expected_phrases(FLOW, "it", "time"))


def test_free_speech_has_no_phrase_list():
    assert expected_phrases(FLOW, "it", "free") == []


def test_korean_flow_phrases():
    phrases = expected_phrases(KOREAN, "ko", "intent")
    assert "요금" in phrases and "예약" in phrases and "상담원" in phrases


def test_unknown_expectation_is_an_error():
    with pytest.raises(ValueError):
        expected_phrases(FLOW, "it", "colour")
