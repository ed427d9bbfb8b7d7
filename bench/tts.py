"""Barge-in prompt synthesis: `python -m bench tts`.

What a listen plan pays for its question: espeak-ng + sox on a cold cache, a read of the
cached file, and an in-memory hit, for the Korean, Italian and English test prompts.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from speech import tts

PROMPTS = [("무엇을 도와드릴까요?", "ko-KR"),
           ("Mi dica in poche parole il motivo della chiamata.", "it-IT"),
           ("Please tell me in a few words why you are calling.", "en-GB")]


def _ms(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:.1f} ms, max {max(seconds) * 1000:.1f} ms"


def main(argv: list[str]) -> int:
    """Print cold, disk-cached and memory-cached synthesis times per prompt."""
    rounds = int(argv[0]) if argv else 5
    for text, language in PROMPTS:
        cold, disk, memory = [], [], []
        audio = b""
        for _ in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                tts._speak.cache_clear()
                started = time.perf_counter()
                audio = tts.prompt_ulaw(text, language, cache_dir=Path(tmp))
                cold.append(time.perf_counter() - started)
                tts._speak.cache_clear()
                started = time.perf_counter()
                tts.prompt_ulaw(text, language, cache_dir=Path(tmp))
                disk.append(time.perf_counter() - started)
                started = time.perf_counter()
                tts.prompt_ulaw(text, language, cache_dir=Path(tmp))
                memory.append(time.perf_counter() - started)
        print(f"{language} ({tts.seconds(audio):.1f} s of audio): cold {_ms(cold)}; "
              f"disk {_ms(disk)}; memory {_ms(memory)}")
    return 0
