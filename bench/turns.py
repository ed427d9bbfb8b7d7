"""Slow speakers: premature cut-offs and the wait after a finished answer.

    python -m bench.turns

A corpus of slow speakers made at run time: each expected phrase of two or more words is
spoken word by word by espeak-ng (several voices and speeds), with a pause of 0.5-1.5 s of
line noise inserted between the words, as 8 kHz mu-law telephone audio (`tests.audio`).
Each clip goes through `StreamingRecognizer` (the real Korean model, the test grammar) on
the audio clock, for two rules:

- `grammar`: the default ListenSettings (a complete phrase ends after a short pause, words
  that are not a phrase yet wait `incomplete_silence_seconds`);
- `fixed`: every answer waits the same silence (1.2 s, the old default), for reference.

Reported per rule: cut_off (the turn ended before the last word began: the caller was
interrupted), wrong (finished, but not with the phrase spoken), and for one-breath answers
of the same phrases (no inserted pause) the wait from the end of the voice to the end of
the turn on the audio clock, p50/p95 (processing time not included: see bench.media_scale).
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from bench.media_scale import GRAMMAR, speech_end
from speech.models import ModelRegistry, discover_packages
from speech.recognizer import ListenSettings, StreamingRecognizer
from tests.audio import noise_ulaw, telephone_ulaw

PHRASES = ["상담원 연결", "바로 연결해 주세요"]
SHORT = ["네", "아니요", "환불", "상담원 연결"]
PAUSES = [0.5, 0.75, 1.0, 1.25, 1.5]
VOICES = [("ko", 120), ("ko", 140), ("ko+f2", 120), ("ko+m3", 100)]
RULES = {"grammar": ListenSettings(),
         "fixed": ListenSettings(end_silence_seconds=1.2, complete_pause_seconds=1.2,
                                 incomplete_silence_seconds=1.2)}


def slow_clip(phrase: str, pause: float, voice: str, speed: int) -> tuple[bytes, float]:
    """`phrase` word by word with `pause` s between words; and where the last word begins."""
    words = phrase.split()
    audio = b""
    for index, word in enumerate(words):
        if index:
            audio += noise_ulaw(pause)
        last = len(audio) / 8000
        audio += telephone_ulaw(word, voice=voice, speed=speed, lead_seconds=0.4 if not index
                                else 0.0, trail_seconds=3.0 if index == len(words) - 1 else 0.0)
    return audio, last


def listen(model: Any, ulaw: bytes, settings: ListenSettings) -> tuple[str, float]:
    """(text, audio seconds when the turn ended) for one clip fed in 20 ms frames."""
    recognizer = StreamingRecognizer(model, phrases=GRAMMAR, settings=settings)
    for index in range(0, len(ulaw), 160):
        if recognizer.accept_ulaw(ulaw[index:index + 160]):
            break
    result = recognizer.result or recognizer.hangup()
    return result.text, result.duration_seconds


def main(argv: list[str] | None = None) -> int:
    """Run the corpus under each rule and print one line per rule."""
    argparse.ArgumentParser(prog="python -m bench.turns").parse_args(argv)
    model = ModelRegistry(discover_packages()).get("ko")
    corpus = [(phrase, *slow_clip(phrase, pause, voice, speed))
              for phrase in PHRASES for pause in PAUSES for voice, speed in VOICES]
    breaths = [(phrase, telephone_ulaw(phrase, voice=voice, speed=speed, trail_seconds=3.0))
               for phrase in SHORT for voice, speed in VOICES]
    for name, settings in RULES.items():
        cut = wrong = 0
        for phrase, clip, last_word in corpus:
            text, ended = listen(model, clip, settings)
            cut += ended < last_word
            wrong += ended >= last_word and text != phrase
        waits = []
        for _phrase, clip in breaths:
            _, ended = listen(model, clip, settings)
            waits.append(ended - speech_end(clip))
        waits.sort()
        print({"rule": name, "slow_clips": len(corpus), "cut_off": cut,
               "cut_off_pct": round(100 * cut / len(corpus), 1), "wrong": wrong,
               "one_breath": len(breaths),
               "wait_p50_ms": round(statistics.median(waits) * 1000),
               "wait_p95_ms": round(waits[min(len(waits) - 1, int(0.95 * len(waits)))] * 1000)},
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
