"""speech.language: which of a flow's languages an utterance is in, from the flow's words."""

from __future__ import annotations

import pytest

from ivr.flowdoc import default_flow_files, load_file
from speech.language import best_transcript, detect_language, vocabularies

[FLOW_FILE] = default_flow_files()
VOCAB = vocabularies(load_file(FLOW_FILE))


@pytest.mark.parametrize(("words", "lang"), [
    ("I have a problem with my bill", "en"),
    ("ho un problema con la bolletta", "it"),
    ("I can smell gas in the kitchen", "en"),
    ("c'è odore di gas", "it"),
    ("agent", "en"),
    ("operatore", "it"),
    ("yes", "en"),
    ("sì", "it"),
    ("hello?", "en"),
])
def test_the_words_of_one_language_decide(words: str, lang: str) -> None:
    guess = detect_language(words, VOCAB)
    assert guess is not None and guess.lang == lang and 0 < guess.share <= 1


@pytest.mark.parametrize("words", ["no", "gas", "ehm mah", ""])
def test_words_both_languages_share_or_none_decide_nothing(words: str) -> None:
    assert detect_language(words, VOCAB) is None


def test_the_vocabulary_is_the_flows_own_words() -> None:
    assert {"bolletta", "operatore"} <= VOCAB["it"] and {"bill", "agent"} <= VOCAB["en"]
    assert "bolletta" not in VOCAB["en"]


def test_of_two_recognisers_the_transcript_that_reads_as_its_own_language_wins() -> None:
    heard = {"it": ("ai ev a problema uid mai bil", 0.6),
             "en": ("I have a problem with my bill", 0.8)}
    assert best_transcript(heard, VOCAB) == ("en", "I have a problem with my bill")
    heard = {"it": ("ho un problema con la bolletta", 0.7), "en": ("oh noon problem a con", 0.7)}
    assert best_transcript(heard, VOCAB) == ("it", "ho un problema con la bolletta")
    assert best_transcript({"it": ("", 0.0), "en": ("", 0.0)}, VOCAB) is None
