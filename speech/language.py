"""Which of a flow's languages a caller speaks, from the words of one utterance.

A caller whose number does not decide the language (a foreign or hidden number) is greeted
in the flow's default language; the words of their first answer decide the rest of the
call. Each language's vocabulary is the flow's own phrases (intent examples, keywords and
labels, yes/no, number and time words, the escape phrases, greetings), so an admin who adds
examples teaches this as well. Only words known in one language count: "gas" or "ok"
are heard in both and say nothing, and an utterance with no telling word (or a tie) keeps
the language the call has.

With one recogniser per language (two Vosk models, it and en) the same first utterance
yields one transcript each; `best_transcript` keeps the one that reads most like its own
language, weighted by the recogniser's confidence: a recogniser made to hear the wrong
language produces words of its own language that make no sentence, and few of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from speech.cues import ESCAPE_PHRASES
from speech.normalize import GREETINGS, normalize
from speech.phrases import NUMBER_WORDS, TIME_WORDS, YES_NO_WORDS, intent_phrases
from speech.understanding import flow_languages

Vocabularies = Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class LanguageGuess:
    """The language an utterance is in: `telling` words known only in it, of `words`."""

    lang: str
    telling: int
    words: int

    @property
    def share(self) -> float:
        """How much of the utterance speaks for the language (0..1)."""
        return self.telling / self.words if self.words else 0.0


def vocabularies(flow_doc: Mapping) -> dict[str, frozenset[str]]:
    """Each of the flow's languages: every word its phrases use (normalised form)."""
    found: dict[str, frozenset[str]] = {}
    for lang in flow_languages(flow_doc):
        phrases = [*intent_phrases(flow_doc, lang), *YES_NO_WORDS.get(lang, ()),
                   *NUMBER_WORDS.get(lang, ()), *TIME_WORDS.get(lang, ()),
                   *ESCAPE_PHRASES.get(lang, ()), *GREETINGS.get(lang, ())]
        found[lang] = frozenset(word for phrase in phrases
                                for word in normalize(phrase, lang).split())
    return found


def detect_language(text: str, vocab: Vocabularies) -> LanguageGuess | None:
    """The language whose own words `text` uses most, or None (no telling word, or a tie)."""
    guesses = _guesses(text, vocab)
    if not guesses or guesses[0].telling == 0 \
            or (len(guesses) > 1 and guesses[1].telling == guesses[0].telling):
        return None
    return guesses[0]


def best_transcript(candidates: Mapping[str, tuple[str, float]],
                    vocab: Vocabularies) -> tuple[str, str] | None:
    """(lang, text) of the best of one utterance's transcripts, one per recogniser language
    (`candidates`: lang -> (text, recogniser confidence)); None when none reads as its own
    language."""
    scored: list[tuple[float, str, str]] = []
    for lang, (text, confidence) in candidates.items():
        guess = next((g for g in _guesses(text, vocab) if g.lang == lang), None)
        if guess is not None and guess.telling:
            scored.append((guess.share * max(confidence, 0.01), lang, text))
    if not scored:
        return None
    _, lang, text = max(scored)
    return lang, text


def _guesses(text: str, vocab: Vocabularies) -> Sequence[LanguageGuess]:
    counts: list[LanguageGuess] = []
    for lang, words in vocab.items():
        tokens = normalize(text, lang).split()
        others = [v for other, v in vocab.items() if other != lang]
        telling = sum(1 for t in tokens if t in words and not any(t in v for v in others))
        counts.append(LanguageGuess(lang, telling, len(tokens)))
    return sorted(counts, key=lambda g: g.telling, reverse=True)

