"""Tests for speech.intents: the default Italian/English intents and the Korean test flow."""

from __future__ import annotations

import copy
import time
from pathlib import Path

import pytest
import yaml

from speech.intents import IntentClassifier, classifier_for, intents_hash

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = yaml.safe_load((ROOT / "ivr/flows/main.yaml").read_text())["intents"]
KOREAN = yaml.safe_load((ROOT / "tests/data/flows/ko_intents.yaml").read_text())["intents"]


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    return IntentClassifier.train(DEFAULT, ["it", "en"])


def test_default_intents_have_six_intents_with_eight_examples_per_language():
    assert {"billing", "payment", "outage", "appointment", "contract", "documents"} <= set(
        DEFAULT)
    for spec in DEFAULT.values():
        assert len(spec["examples"]["it"]) >= 8 and len(spec["examples"]["en"]) >= 8


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [
        ("mi è arrivata una bolletta altissima", "it", "billing"),
        ("da stamattina non ho la corrente in casa", "it", "outage"),
        ("vorrei intestare la fornitura a mia moglie", "it", "contract"),
        ("my electricity isn't working", "en", "outage"),
        ("I want to reschedule the engineer's visit", "en", "appointment"),
        ("could you mail me a duplicate", "en", "documents"),
    ],
)
def test_held_out_phrasings_are_recognised_with_confidence(classifier, text, lang, intent):
    result = classifier.classify(text, lang)
    assert result.intent == intent
    assert result.confidence >= 0.6
    assert result.runner_up != intent


@pytest.mark.parametrize(
    ("text", "lang", "intent"),
    [("ehm allora la boletta è sbagliata", "it", "billing"),  # typo + fillers
     ("appuntamnto", "it", "appointment"),
     ("um well the bil is wrong", "en", "billing")],
)
def test_typos_and_fillers_are_tolerated(classifier, text, lang, intent):
    assert classifier.classify(text, lang).intent == intent


def test_one_word_answers_match_by_keyword(classifier):
    result = classifier.classify("Bolletta.", "it")
    assert (result.intent, result.matched_by) == ("billing", "keyword")
    assert result.confidence >= 0.9
    assert classifier.classify("payment", "en").intent == "payment"


def test_empty_and_filler_only_text_is_none(classifier):
    for text in ("", "   ", "ehm", "uhm..."):
        result = classifier.classify(text, "it")
        assert result.intent is None and result.matched_by == "none"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("che tempo fa domani a roma", "it"), ("mia nonna cucina benissimo", "it"),
     ("what's the weather like in london", "en"), ("who won the match yesterday", "en")],
)
def test_out_of_domain_text_gets_no_confident_intent(classifier, text, lang):
    result = classifier.classify(text, lang)
    assert result.intent is None or result.confidence < 0.3


def test_text_matching_two_intents_asks_for_confirmation(classifier):
    result = classifier.classify("ho un guasto e anche un problema con la bolletta", "it")
    assert {result.intent, result.runner_up} == {"outage", "billing"}
    assert 0.3 <= result.confidence < 0.7
    assert result.matched_by == "keyword"


def test_keyword_of_one_intent_does_not_override_a_clearly_different_request(classifier):
    # "fatture" is a billing keyword, but asking for copies is the documents intent.
    result = classifier.classify("mi servono le copie delle fatture dell'anno scorso", "it")
    assert result.confidence < 0.7
    assert {result.intent, result.runner_up} == {"documents", "billing"}


def test_very_long_answer_is_scored_on_its_relevant_part(classifier):
    story = ("buongiorno senta io la chiamo perché ieri sera tornando a casa dopo essere "
             "passata da mia sorella che abita dall'altra parte della città ho visto che "
             "era tutto buio e sono senza luce da ieri sera e non so cosa fare")
    result = classifier.classify(story, "it")
    assert result.intent == "outage"
    assert result.confidence >= 0.6


def test_mixed_language_utterance_is_understood(classifier):
    assert classifier.classify("ho un problema con il mio bill", "it").intent == "billing"
    assert classifier.classify("I need la copia della bolletta", "en").intent == "documents"


def test_korean_intents():
    korean = IntentClassifier.train(KOREAN, ["ko"])
    assert korean.classify("요금이 이상해요", "ko").intent == "billing"
    assert korean.classify("예약하고 싶습니다", "ko").intent == "appointment"
    assert korean.classify("전기가 안 들어옵니다", "ko").intent == "outage"
    weather = korean.classify("오늘 날씨 어때요", "ko")
    assert weather.intent is None or weather.confidence < 0.3


def test_classifier_is_cached_by_content_and_retrained_on_change():
    first = classifier_for(DEFAULT, ["it", "en"])
    started = time.perf_counter()
    again = classifier_for(copy.deepcopy(DEFAULT), ["it", "en"])
    assert again is first
    assert time.perf_counter() - started < 0.05
    edited = copy.deepcopy(DEFAULT)
    edited["billing"]["examples"]["it"].append("la bolletta della luce è arrivata doppia")
    assert intents_hash(edited, ["it", "en"]) != intents_hash(DEFAULT, ["it", "en"])
    assert classifier_for(edited, ["it", "en"]) is not first


def test_a_new_intent_is_learnt_after_an_edit():
    edited = copy.deepcopy(DEFAULT)
    edited["meter"] = {"label": {"it": "il contatore"},
                       "examples": {"it": ["voglio comunicare l'autolettura",
                                           "autolettura del contatore",
                                           "vi do la lettura del contatore"]}}
    result = classifier_for(edited, ["it", "en"]).classify("faccio l'autolettura", "it")
    assert result.intent == "meter"


def test_training_needs_examples():
    with pytest.raises(ValueError):
        IntentClassifier.train({"billing": {"label": {"it": "x"}}}, ["it"])
