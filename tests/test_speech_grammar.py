"""Grammar building and the vocabulary check against the real Korean model."""

from __future__ import annotations

import json

import pytest

from speech.grammar import (
    find_word,
    grammar_json,
    grammar_phrases,
    missing_words,
    normalize_phrase,
    words_of,
)
from speech.models import ModelRegistry, discover_packages


@pytest.fixture(scope="module")
def model():
    return ModelRegistry(discover_packages()).get("ko")


def test_phrases_are_normalised_like_vosk_words():
    assert normalize_phrase("  Sì, grazie!  ") == "sì grazie"
    assert words_of(["네, 맞아요", "네"]) == ["네", "맞아요"]


def test_grammar_json_keeps_hangul_readable():
    assert json.loads(grammar_json(["네", "[unk]"])) == ["네", "[unk]"]
    assert "네" in grammar_json(["네"])


@pytest.mark.slow
def test_korean_model_knows_hangul_words_but_not_unk(model):
    assert find_word(model, "네") >= 0 and find_word(model, "상담원") >= 0
    assert find_word(model, "[unk]") == -1
    assert find_word(model, "블라블라쿵") == -1


@pytest.mark.slow
def test_phrases_with_unknown_words_are_dropped_and_reported(model):
    phrases = ["네", "요금이 너무 많이 나왔어요", "상담원 연결", "네"]
    assert grammar_phrases(model, phrases) == ["네", "상담원 연결"]
    assert missing_words(model, phrases) == ["나왔어요"]
