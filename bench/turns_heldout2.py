"""A second held-out corpus for turn ending, written before the rule it measures.

    python -m bench.turns --corpus heldout2

`bench.turns_heldout` (seed 1414) was read while the sure-complete rule was changed (its
cut-offs showed the cause: a slow caller's first word heard as a one-word phrase), so it is
no longer unseen. This corpus was written and committed *before* that change and is never
tuned on: its own grammar (banking and appointments, with several one-word answers a first
word can be forced into), its own espeak-ng voices (none used by `bench.turns` or
`bench.turns_heldout`), speeds 80-140 wpm, pitches, and two ways of speaking slowly:

- word by word, a pause of 0.45-1.7 s (drawn per gap) after every word;
- a slow start: the first word, a pause of 0.6-1.8 s, then the rest in one breath.

Korean words only from the model's vocabulary (`speech.grammar.missing_words` is empty).
"""

from __future__ import annotations

import random

from bench.turns_heldout import Clip, breath_clips, spoken

SEED = 20261130
GRAMMAR = ["네", "아니요", "그래요", "됐어요", "좋습니다", "없어요", "상담 예약", "대출 상담",
           "이번 달 요금", "분실 카드 정지", "결제 취소 요청", "통장 재발급 신청",
           "내일 아침 열 시", "문자로 보내 주세요", "처음부터 다시 해 주세요"]
SLOW_PHRASES = ["상담 예약", "대출 상담", "이번 달 요금", "분실 카드 정지", "결제 취소 요청",
                "통장 재발급 신청", "내일 아침 열 시", "문자로 보내 주세요",
                "처음부터 다시 해 주세요"]
BREATH_PHRASES = ["네", "아니요", "그래요", "됐어요", "좋습니다", "없어요", "상담 예약",
                  "대출 상담", "이번 달 요금"]
VOICES = ["ko+m4", "ko+m6", "ko+m8", "ko+klatt3", "ko+Andy", "ko+female3"]
WORD_BY_WORD_PER_PHRASE = 5
SLOW_START_PER_PHRASE = 3
BREATH_VOICES = 4


def heldout2_corpus() -> tuple[list[Clip], list[Clip]]:
    """(slow clips, one-breath clips), the same on every run."""
    rng = random.Random(SEED)
    slow = []
    for phrase in SLOW_PHRASES:
        words = phrase.split()
        for _ in range(WORD_BY_WORD_PER_PHRASE):
            voice, speed, pitch = rng.choice(VOICES), rng.randrange(80, 141, 5), \
                rng.randrange(25, 76, 5)
            pauses = [round(rng.uniform(0.45, 1.7), 2) for _ in words[1:]]
            slow.append(spoken(words, pauses, voice, speed, pitch, phrase))
        for _ in range(SLOW_START_PER_PHRASE):
            voice, speed, pitch = rng.choice(VOICES), rng.randrange(80, 141, 5), \
                rng.randrange(25, 76, 5)
            pause = round(rng.uniform(0.6, 1.8), 2)
            slow.append(spoken([words[0], " ".join(words[1:])], [pause], voice, speed,
                                pitch, phrase))
    return slow, breath_clips(rng, BREATH_PHRASES, VOICES, BREATH_VOICES,
                              range(100, 171, 10), range(25, 76, 5))


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.turns_heldout2`: bench.turns on this corpus (for `python -m bench`)."""
    from bench.turns import main as turns

    return turns(["--corpus", "heldout2", *(argv or [])])


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
