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


def spoken(pieces: list[str], pauses: list[float], voice: str, speed: int, pitch: int | None,
           phrase: str, grammar: tuple[str, ...] = ()) -> Clip:
    """`pieces` (words, or a first word and the rest) with `pauses` of line noise between;
    the cut-off mark is where the last piece begins (the caller's last start after a pause).
    `pitch` None: the voice's own; `grammar`: the clip's own, if not the corpus'."""
    audio, last = b"", 0.0
    for index, piece in enumerate(pieces):
        if index:
            audio += noise_ulaw(pauses[index - 1])
        last = len(audio) / 8000
        audio += telephone_ulaw(piece, voice=voice, speed=speed, pitch=pitch,
                                lead_seconds=0.4 if not index else 0.0,
                                trail_seconds=3.0 if index == len(pieces) - 1 else 0.0)
    return Clip(phrase, audio, last, voice, speed, tuple(pauses), grammar)


def breath_clips(rng: random.Random, phrases: list[str], voices: list[str], per_phrase: int,
                 speeds: range, pitches: range) -> list[Clip]:
    """Each phrase said in one breath by `per_phrase` of the voices, speed and pitch drawn
    from the ranges (in this order from `rng`, so a corpus stays the same on every run)."""
    clips = []
    for phrase in phrases:
        for voice in rng.sample(voices, per_phrase):
            speed = rng.randrange(speeds.start, speeds.stop, speeds.step)
            pitch = rng.randrange(pitches.start, pitches.stop, pitches.step)
            clips.append(Clip(phrase, telephone_ulaw(phrase, voice=voice, speed=speed,
                                                     pitch=pitch, trail_seconds=3.0),
                              0.0, voice, speed))
    return clips


def heldout_corpus() -> tuple[list[Clip], list[Clip]]:
    """(slow clips with pauses between words, one-breath clips), the same on every run."""
    rng = random.Random(SEED)
    slow = []
    for phrase in SLOW_PHRASES:
        for _ in range(SLOW_PER_PHRASE):
            voice, speed, pitch = rng.choice(VOICES), rng.randrange(85, 136, 5), \
                rng.randrange(30, 71, 5)
            pauses = [round(rng.uniform(0.45, 1.6), 2) for _ in phrase.split()[1:]]
            slow.append(spoken(phrase.split(), pauses, voice, speed, pitch, phrase))
    return slow, breath_clips(rng, BREATH_PHRASES, VOICES, BREATH_VOICES,
                              range(100, 161, 10), range(30, 71, 5))


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.turns_heldout`: bench.turns on this corpus (for `python -m bench`)."""
    from bench.turns import main as turns

    return turns(["--corpus", "heldout", *(argv or [])])


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
