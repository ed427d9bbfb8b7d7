"""Did the recogniser really hear it? Vosk results in, words and a fused judgement out.

A grammar makes Vosk pick the grammar phrase closest to whatever it heard, and its own
scores only compare grammar phrases with each other: garbled speech forced into the
grammar comes out as confident words ("안 돼요" heard as an outage at 0.97). Measured on
generated Korean phone audio (`python -m bench.phone_audio`, docs/benchmarks.md), neither
the n-best posterior nor Vosk's MBR word confidences (`SetWords`) separate right from
wrong hearings: wrong ones score 1.0 as often as right ones.

What separates them better is a competitor for the grammar: a second grammar pass over the
same audio whose grammar also holds a *garbage path*, every open Korean syllable in the
model's vocabulary ("가", "너", "뢰", ...) as one-word phrases. Speech that really is a
grammar phrase keeps its words; speech the grammar only approximates falls on syllables.
`coverage` is the share of the recognised speech time that stayed on grammar words; a
hearing is trusted (`heard`) only when it reaches `HEARD_COVERAGE`. The model has no
`[unk]` word, so the syllables play its part; they live only in the check pass and never
reach the caller's words. (On a model that has `[unk]`, the grammar module adds it to both
grammars.) The price, on espeak-ng audio: short clean words ("네", "환불") also lose to
similar syllables and are doubted, i.e. confirmed or asked again.

A FREE-FORM pass (the model's own language model, no grammar) can vote as well: its text
must resemble the grammar pass's at the level of Korean letters (jamo). It is off by
default: on this model and phone audio its transcripts are noise (the right sentence and
a wrong one resemble it equally, 0.1-0.45) and it costs 17 times the CPU of a grammar pass.

`[unk]` never leaves this module: `strip_unknown` removes it from texts and word lists, so
stored words, agents, bookings and the intent classifier never see it; a turn of only
`[unk]` is a turn with no words (the flow's silence / no-match path).
"""

from __future__ import annotations

import difflib
import json
import math
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from speech.grammar import UNKNOWN, find_word

HEARD_COVERAGE = 0.6
"""Share of the speech time that must stay on grammar words against the garbage path."""
FREE_FORM_AGREEMENT = 0.5
"""Least jamo similarity between the free-form and grammar texts (when that pass runs)."""
GARBAGE_RATIO = 0.16
"""Weight of the grammar phrases against the garbage syllables in the garbage-path grammar:
Vosk estimates a bigram model from the phrase list, so each phrase is repeated until the
phrases count for this share of the syllables (at least once). Tuned on the dev set: the
Korean test flow's 21 intent phrases are then counted 3 times against 397 syllables."""

_FIRST, _LAST = 0xAC00, 0xD7A3  # Hangul syllables
_INITIALS, _VOWELS, _FINALS = 19, 21, 28


@dataclass(frozen=True)
class Word:
    """One recognised word with Vosk's timing and (MBR) confidence."""

    word: str
    start: float
    end: float
    conf: float = 1.0


@dataclass(frozen=True)
class Segment:
    """One Vosk result: n-best texts with posteriors (best first) and the best's words."""

    alternatives: list[tuple[str, float]]
    words: list[Word]
    silence: float = 0.0  # posterior of "nothing was said" (empty or [unk]-only n-best texts)

    @property
    def text(self) -> str:
        """The best text ("" when nothing but [unk] was heard)."""
        return self.alternatives[0][0] if self.alternatives else ""


@dataclass(frozen=True)
class Hearing:
    """The fused judgement on one answer."""

    confidence: float  # 0..1, what the engine stores as asr_confidence
    heard: bool        # False: confirm or ask again, never act on it
    doubt: str         # "" when heard; else why not ("garbage", "free_form", "unknown_only")
    coverage: float | None = None


def strip_unknown(text: str) -> str:
    """`text` without `[unk]` tokens (Vosk's word for speech outside the grammar)."""
    return " ".join(w for w in (text or "").split() if w != UNKNOWN)


def parse_result(raw: str, fillers: frozenset[str] = frozenset()) -> Segment:
    """Vosk result JSON -> Segment; `[unk]` and `fillers` are dropped from texts and words.

    With `SetMaxAlternatives(n > 0)` Vosk returns {"alternatives": [{"text", "confidence"
    (a log-likelihood), "result": [{"word", "start", "end"}]}]}: a softmax over the
    log-likelihoods gives each alternative's posterior, and "nothing was said" counts in
    it, so a text that only narrowly beat silence keeps a low posterior (`Segment.silence` is
the posterior of "nothing": when it is the largest, the decoder's best was no words). With
    `SetMaxAlternatives(0)` it returns {"text", "result": [{"word", "start", "end",
    "conf"}]} (MBR word confidences, with `SetWords(True)`); the text's confidence is then
    its lowest word confidence. Texts left empty by the stripping are left out.
    """
    result = json.loads(raw)
    dropped = fillers | {UNKNOWN}
    if "alternatives" in result:
        entries = result["alternatives"] or []
        if not entries:
            return Segment([], [])
        scores = [float(a.get("confidence", 0.0)) for a in entries]
        best = max(scores)
        weights = [math.exp(score - best) for score in scores]
        total = sum(weights)
        alternatives: list[tuple[str, float]] = []
        silence = 0.0
        for entry, weight in zip(entries, weights, strict=True):
            text = " ".join(w for w in entry.get("text", "").split() if w not in dropped)
            if text:
                alternatives.append((text, weight / total))
            else:
                silence += weight / total
        words = [_word(w) for w in entries[0].get("result", []) if w.get("word") not in dropped]
        return Segment(alternatives, words, silence)
    words = [_word(w) for w in result.get("result", []) if w.get("word") not in dropped]
    text = " ".join(w for w in result.get("text", "").split() if w not in dropped)
    confidence = min((w.conf for w in words), default=1.0)
    return Segment([(text, confidence)] if text else [], words)


def _word(data: dict[str, Any]) -> Word:
    return Word(str(data.get("word", "")), float(data.get("start", 0.0)),
                float(data.get("end", 0.0)), float(data.get("conf", 1.0)))


def coverage(words: list[tuple[str, float, float]], grammar_words: set[str]) -> float:
    """Share of the time of `words` (word, start, end) spent on `grammar_words`."""
    total = sum(max(0.0, end - start) for _, start, end in words)
    if total <= 0.0:
        return 0.0
    kept = sum(max(0.0, end - start) for word, start, end in words if word in grammar_words)
    return kept / total


def jamo(text: str) -> list[str]:
    """Korean text as its letters (initial, vowel, final), other letters kept, spaces out."""
    letters: list[str] = []
    for char in text:
        code = ord(char) - _FIRST
        if 0 <= code <= _LAST - _FIRST:
            letters += [chr(0x1100 + code // (_VOWELS * _FINALS)),
                        chr(0x1161 + (code % (_VOWELS * _FINALS)) // _FINALS)]
            if code % _FINALS:
                letters.append(chr(0x11A7 + code % _FINALS))
        elif char.isalnum():
            letters.append(char)
    return letters


def agreement(grammar_text: str, free_text: str) -> float:
    """How much the free-form transcript sounds like the grammar one (0..1, jamo level)."""
    a, b = jamo(grammar_text), jamo(free_text)
    if not a or not b:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / max(len(a), len(b))


def judge(text: str, posterior: float, *, coverage: float | None = None,
          free_text: str | None = None, heard_coverage: float = HEARD_COVERAGE) -> Hearing:
    """Fuse the grammar pass's posterior with the garbage-path coverage and, when given,
    the free-form pass's agreement into one confidence and a heard / doubt verdict."""
    if not text:
        return Hearing(0.0, False, "unknown_only", coverage)
    confidence = posterior if coverage is None else min(posterior, coverage)
    doubt = ""
    if coverage is not None and coverage < heard_coverage:
        doubt = "garbage"
    elif free_text is not None and agreement(text, free_text) < FREE_FORM_AGREEMENT:
        doubt = "free_form"
    return Hearing(round(confidence, 4), not doubt, doubt,
                   None if coverage is None else round(coverage, 4))


_SYLLABLES: weakref.WeakKeyDictionary[Any, frozenset[str]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def garbage_syllables(model: Any) -> frozenset[str]:
    """Open Korean syllables (no final consonant) the model knows, looked up once per model
    (399 `find_word` calls, about a millisecond). Empty for models without Hangul words,
    which then get no garbage path."""
    with _LOCK:
        cached = _SYLLABLES.get(model)
    if cached is not None:
        return cached
    syllables = (chr(_FIRST + (initial * _VOWELS + vowel) * _FINALS)
                 for initial in range(_INITIALS) for vowel in range(_VOWELS))
    found = frozenset(s for s in syllables if find_word(model, s) >= 0)
    with _LOCK:
        _SYLLABLES[model] = found
    return found


def garbage_grammar(phrases: list[str], syllables: frozenset[str],
                    ratio: float = GARBAGE_RATIO) -> tuple[list[str], frozenset[str]]:
    """The garbage-path grammar for `phrases` (see GARBAGE_RATIO), and the syllables used
    as garbage (those that are not a word of the phrases)."""
    grammar_words = {w for p in phrases for w in p.split()}
    garbage = frozenset(s for s in syllables if s not in grammar_words)
    weight = max(1, round(ratio * len(garbage) / max(1, len(phrases))))
    return [*phrases * weight, *sorted(garbage)], garbage
