"""Slow speakers: premature cut-offs and the wait after a finished answer.

    python -m bench.turns [--corpus slow|heldout|heldout2] [--rule grammar ...] [--show]

Two corpora, made at run time as 8 kHz mu-law telephone audio (`tests.audio`):

- `slow` (the tuning corpus): each expected phrase of two or more words spoken word by
  word by espeak-ng (four voices and speeds), with a pause of 0.5-1.5 s of line noise
  between the words; and one-breath answers of short phrases in the same voices; plus
  *slow starts* (seed 77, their own grammar with four one-word answers): phrases whose
  first word a grammar can force into a one-word answer, word by word or the first word,
  a pause, then the rest in one breath; and those one-word answers in one breath;
- `heldout` (`bench.turns_heldout`, seed 1414): other sentences, grammar, voices, speeds
  and pauses, drawn from a fixed seed; its cut-offs were read to find their cause;
- `heldout2` (`bench.turns_heldout2`): yet other sentences, grammar, voices and pauses,
  written before the rule's sure-complete change and never tuned on.

Each clip goes through `StreamingRecognizer` (the real Korean model, the corpus' grammar)
in 20 ms frames on the audio clock, for each rule:

- `grammar`: the default ListenSettings (patience 1.0, a caller flagged digital);
- `not-digital`: the same with the patience of a caller flagged not digital (1.7) and
  their wait after a lone first word (1.2 s before patience), as `ivr.listening` sets;
- `decode-all`: `grammar` with every second decoded (`skip_silence=False`), as before
  `speech.recognizer` skipped silences;
- `fixed`: every answer waits the same silence (1.2 s, the old default), for reference.

`--lead S` puts S seconds of line noise before every clip: the caller answers after a
prompt has played (the clips themselves start 0.4 s before the voice).

Reported per rule: cut_off (the turn ended before the last word began: the caller was
interrupted), wrong (finished, but not with the phrase spoken), and for one-breath answers
the time from the end of the voice to the result: the wait on the audio clock plus the
processing time of the frame that ended the turn (its Vosk chunk, the final pass and the
hearing checks; wall clock on this machine), p50/p95 over the answers recognised as the
phrase spoken ("complete") and over all of them. The audio clock is not the wall clock
of a loaded server: see bench.media_scale for processing under load.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace
from typing import Any

from bench.media_scale import GRAMMAR, speech_end
from bench.turns_heldout import Clip, heldout_corpus, spoken
from speech.models import ModelRegistry, discover_packages
from speech.recognizer import ListenSettings, StreamingRecognizer
from tests.audio import noise_ulaw, telephone_ulaw

PHRASES = ["상담원 연결", "바로 연결해 주세요"]
SHORT = ["네", "아니요", "환불", "상담원 연결"]
PAUSES = [0.5, 0.75, 1.0, 1.25, 1.5]
VOICES = [("ko", 120), ("ko", 140), ("ko+f2", 120), ("ko+m3", 100)]
NOT_DIGITAL_PATIENCE = 1.7  # ivr.listening's
NOT_DIGITAL_FIRST_WORD_PAUSE = 1.2  # ivr.listening's
RULES = {"grammar": ListenSettings(),
         "not-digital": replace(ListenSettings(), patience=NOT_DIGITAL_PATIENCE,
                                first_word_pause_seconds=NOT_DIGITAL_FIRST_WORD_PAUSE),
         # every second decoded, as before silences were skipped (speech.recognizer)
         "decode-all": ListenSettings(skip_silence=False),
         "fixed": ListenSettings(end_silence_seconds=1.2, complete_pause_seconds=1.2,
                                 incomplete_silence_seconds=1.2)}


def slow_clip(phrase: str, pause: float, voice: str, speed: int) -> Clip:
    """`phrase` word by word with `pause` s between words (the tuning corpus)."""
    words = phrase.split()
    return spoken(words, [pause] * (len(words) - 1), voice, speed, None, phrase)


START_SEED = 77
START_GRAMMAR = ("네", "아니요", "예", "좋아요", "비밀번호 변경", "잔액 조회",
                 "계좌 이체 해 주세요", "다음 주 월요일", "지금 바로 해 주세요",
                 "영업 시간", "전화 다시 주세요")
START_PHRASES = [p for p in START_GRAMMAR if " " in p]
START_SHORT = [p for p in START_GRAMMAR if " " not in p]
START_VOICES = [*(voice for voice, _ in VOICES), "ko+m2", "ko+f3"]


def slow_start_corpus() -> tuple[list[Clip], list[Clip]]:
    """Slow starts to tune on: (slow clips, one-breath one-word answers), seed 77."""
    rng = random.Random(START_SEED)
    slow = []
    for phrase in START_PHRASES:
        words = phrase.split()
        for _ in range(3):
            voice, speed = rng.choice(START_VOICES), rng.randrange(85, 141, 5)
            pauses = [round(rng.uniform(0.45, 1.6), 2) for _ in words[1:]]
            slow.append(spoken(words, pauses, voice, speed, None, phrase, START_GRAMMAR))
        for _ in range(2):
            voice, speed = rng.choice(START_VOICES), rng.randrange(85, 141, 5)
            rest = " ".join(words[1:])
            slow.append(spoken([words[0], rest], [round(rng.uniform(0.6, 1.8), 2)], voice,
                               speed, None, phrase, START_GRAMMAR))
    breaths = []
    for phrase in START_SHORT:
        for voice in START_VOICES:
            speed = rng.randrange(100, 171, 10)
            breaths.append(Clip(phrase, telephone_ulaw(phrase, voice=voice, speed=speed,
                                                       trail_seconds=3.0),
                                0.0, voice, speed, (), START_GRAMMAR))
    return slow, breaths


def slow_corpus() -> tuple[list[Clip], list[Clip]]:
    """The tuning corpus: (slow clips, one-breath clips)."""
    slow = [slow_clip(phrase, pause, voice, speed)
            for phrase in PHRASES for pause in PAUSES for voice, speed in VOICES]
    breaths = [Clip(phrase, telephone_ulaw(phrase, voice=voice, speed=speed, trail_seconds=3.0),
                    0.0, voice, speed)
               for phrase in SHORT for voice, speed in VOICES]
    start_slow, start_breaths = slow_start_corpus()
    return slow + start_slow, breaths + start_breaths


def after_silence(clip: Clip, lead: float) -> Clip:
    """`clip` after `lead` s of line noise: the caller answers once a prompt has played
    (the silence `speech.recognizer` skips)."""
    return replace(clip, ulaw=noise_ulaw(lead) + clip.ulaw, last_word=clip.last_word + lead)


def listen(model: Any, ulaw: bytes, settings: ListenSettings,
           grammar: list[str]) -> tuple[str, float, float, float]:
    """(text, audio seconds when the turn ended, wall and thread-CPU seconds spent on the
    last frame) for one clip fed in 20 ms frames."""
    recognizer = StreamingRecognizer(model, phrases=grammar, settings=settings)
    spent = cpu = 0.0
    for index in range(0, len(ulaw), 160):
        started, started_cpu = time.perf_counter(), time.thread_time()
        done = recognizer.accept_ulaw(ulaw[index:index + 160])
        spent, cpu = time.perf_counter() - started, time.thread_time() - started_cpu
        if done:
            break
    if recognizer.result is None:
        started, started_cpu = time.perf_counter(), time.thread_time()
        recognizer.hangup()
        spent, cpu = time.perf_counter() - started, time.thread_time() - started_cpu
    assert recognizer.result is not None
    return recognizer.result.text, recognizer.result.duration_seconds, spent, cpu


def _quantile(values: list[float], q: float) -> int:
    if not values:
        return -1
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000)


def main(argv: list[str] | None = None) -> int:
    """Run a corpus under each rule and print one line per rule."""
    parser = argparse.ArgumentParser(prog="python -m bench.turns")
    parser.add_argument("--corpus", choices=["slow", "heldout", "heldout2"], default="slow")
    parser.add_argument("--rule", action="append", choices=sorted(RULES),
                        help="rules to run (default: all)")
    parser.add_argument("--lead", type=float, default=0.0,
                        help="seconds of line noise before every clip (a prompt playing)")
    parser.add_argument("--show", action="store_true",
                        help="print every cut-off, wrong answer and slow wait")
    args = parser.parse_args(argv)
    model = ModelRegistry(discover_packages()).get("ko")
    if args.corpus == "slow":
        grammar, (corpus, breaths) = GRAMMAR, slow_corpus()
    elif args.corpus == "heldout":
        from bench.turns_heldout import GRAMMAR as HELDOUT_GRAMMAR
        grammar, (corpus, breaths) = HELDOUT_GRAMMAR, heldout_corpus()
    else:
        from bench.turns_heldout2 import GRAMMAR as HELDOUT2_GRAMMAR
        from bench.turns_heldout2 import heldout2_corpus
        grammar, (corpus, breaths) = HELDOUT2_GRAMMAR, heldout2_corpus()
    if args.lead:
        corpus, breaths = ([after_silence(clip, args.lead) for clip in clips]
                           for clips in (corpus, breaths))
    for name in args.rule or list(RULES):
        settings = RULES[name]
        cut = wrong = cut_starts = 0
        for clip in corpus:
            text, ended, _, _ = listen(model, clip.ulaw, settings,
                                       list(clip.grammar) or grammar)
            cut += ended < clip.last_word
            cut_starts += ended < clip.last_word and bool(clip.grammar)
            wrong += ended >= clip.last_word and text != clip.phrase
            if args.show and (ended < clip.last_word or text != clip.phrase):
                print("  ", "CUT " if ended < clip.last_word else "WRONG", clip.phrase,
                      clip.voice, clip.speed, clip.pauses, "->", repr(text),
                      f"ended {ended:.2f} last word {clip.last_word:.2f}")
        waits, complete, audio_waits, spents, cpus = [], [], [], [], []
        first_part: list[float] = []  # the corpus' own grammar (slow: the first 16 answers)
        for clip in breaths:
            text, ended, spent, cpu = listen(model, clip.ulaw, settings,
                                             list(clip.grammar) or grammar)
            wait = ended - speech_end(clip.ulaw) + spent
            waits.append(wait)
            if text == clip.phrase:
                complete.append(wait)
                audio_waits.append(ended - speech_end(clip.ulaw))
                spents.append(spent)
                cpus.append(ended - speech_end(clip.ulaw) + cpu)
                if not clip.grammar:
                    first_part.append(ended - speech_end(clip.ulaw) + cpu)
            if args.show and (text != clip.phrase or wait > 0.5):
                print("   BREATH", clip.phrase, clip.voice, clip.speed, "->", repr(text),
                      f"wait {wait * 1000:.0f} ms")
        print({"corpus": args.corpus, "lead": args.lead, "rule": name, "slow_clips": len(corpus),
               "cut_off": cut, "cut_off_pct": round(100 * cut / len(corpus), 1),
               **({"of_which_slow_starts": (cut_starts, sum(bool(c.grammar) for c in corpus))}
                  if args.corpus == "slow" else {}),
               "wrong": wrong, "one_breath": len(breaths), "complete": len(complete),
               "complete_within_1s": sum(wait < 1.0 for wait in audio_waits),
               "complete_p50_ms": _quantile(complete, 0.5),
               "complete_p95_ms": _quantile(complete, 0.95),
               "of_which_audio_p50_p95_ms": (_quantile(audio_waits, 0.5),
                                             _quantile(audio_waits, 0.95)),
               "of_which_cpu_p50_p95_ms": (_quantile(spents, 0.5), _quantile(spents, 0.95)),
               "complete_cpu_clock_p50_p95_ms": (_quantile(cpus, 0.5), _quantile(cpus, 0.95)),
               **({"of_which_first16_cpu_clock": (len(first_part), _quantile(first_part, 0.5),
                                                  _quantile(first_part, 0.95))}
                  if args.corpus == "slow" else {}),
               "all_p50_ms": _quantile(waits, 0.5),
               "all_p95_ms": _quantile(waits, 0.95),
               "wait_mean_ms": round(statistics.fmean(waits) * 1000)}, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
