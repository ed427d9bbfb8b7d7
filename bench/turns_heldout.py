"""A held-out corpus for turn ending: other sentences, voices, speeds and pauses.

    python -m bench.turns --corpus heldout

`bench.turns`' own corpus (two phrases, four voices, five pauses) is what the turn-ending
rule was tuned on; a rule can fit it and still cut other callers off. This corpus is never
tuned on: written before the rule was changed, drawn once from a fixed seed, with its own
grammar (a booking/orders question, none of the tuning phrases but "아니요"), its own
espeak-ng voices (variants not used for tuning), speeds 85-135 wpm, pitches, and a pause
after *each* word of a phrase (0.45-1.6 s, drawn per gap), so three- and four-word answers
are cut at every place a slow caller might stop. Korean words only from the model's
vocabulary (`speech.grammar.missing_words` is empty for the grammar).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.audio import noise_ulaw, telephone_ulaw

SEED = 1414
GRAMMAR = ["예", "아니요", "그렇습니다", "처음으로", "예약 취소", "예약 변경", "주문 취소",
           "배송 조회", "요금 문의", "카드 분실 신고", "주소 변경 신청", "오늘 오후 세 시",
           "다시 한번 말해 주세요"]
SLOW_PHRASES = ["예약 취소", "주문 취소", "배송 조회", "카드 분실 신고", "주소 변경 신청",
                "오늘 오후 세 시", "다시 한번 말해 주세요"]
BREATH_PHRASES = ["예", "아니요", "그렇습니다", "처음으로", "예약 취소", "배송 조회",
                  "카드 분실 신고"]
VOICES = ["ko+f1", "ko+f4", "ko+m1", "ko+m5", "ko+m7", "ko+f5"]
SLOW_PER_PHRASE = 8
BREATH_VOICES = 4


@dataclass(frozen=True)
class Clip:
    """One caller's answer: the phrase, its audio, and where its last word begins (s)."""

    phrase: str
    ulaw: bytes
    last_word: float
    voice: str
    speed: int
    pauses: tuple[float, ...] = ()
    grammar: tuple[str, ...] = ()  # the clip's own grammar ("": the corpus')


def _slow(phrase: str, voice: str, speed: int, pitch: int, pauses: list[float]) -> Clip:
    words = phrase.split()
    audio = b""
    last = 0.0
    for index, word in enumerate(words):
        if index:
            audio += noise_ulaw(pauses[index - 1])
        last = len(audio) / 8000
        audio += telephone_ulaw(word, voice=voice, speed=speed, pitch=pitch,
                                lead_seconds=0.4 if not index else 0.0,
                                trail_seconds=3.0 if index == len(words) - 1 else 0.0)
    return Clip(phrase, audio, last, voice, speed, tuple(pauses))


def heldout_corpus() -> tuple[list[Clip], list[Clip]]:
    """(slow clips with pauses between words, one-breath clips), the same on every run."""
    rng = random.Random(SEED)
    slow = []
    for phrase in SLOW_PHRASES:
        for _ in range(SLOW_PER_PHRASE):
            voice, speed, pitch = rng.choice(VOICES), rng.randrange(85, 136, 5), \
                rng.randrange(30, 71, 5)
            pauses = [round(rng.uniform(0.45, 1.6), 2) for _ in phrase.split()[1:]]
            slow.append(_slow(phrase, voice, speed, pitch, pauses))
    breaths = []
    for phrase in BREATH_PHRASES:
        for voice in rng.sample(VOICES, BREATH_VOICES):
            speed, pitch = rng.randrange(100, 161, 10), rng.randrange(30, 71, 5)
            breaths.append(Clip(phrase, telephone_ulaw(phrase, voice=voice, speed=speed,
                                                       pitch=pitch, trail_seconds=3.0),
                                0.0, voice, speed))
    return slow, breaths


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.turns_heldout`: bench.turns on this corpus (for `python -m bench`)."""
    from bench.turns import main as turns

    return turns(["--corpus", "heldout", *(argv or [])])


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
