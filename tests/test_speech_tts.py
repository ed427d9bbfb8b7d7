"""Server-side prompt synthesis (espeak-ng + sox, real tools) and its on-disk cache."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from speech import audio, tts


@pytest.mark.parametrize(("language", "voice"), [
    ("it-IT", "it"), ("it", "it"), ("en-US", "en-us"), ("en-GB", "en-gb"), ("ko-KR", "ko"),
    ("ko", "ko"), (None, "it"),
])
def test_language_tags_map_to_espeak_voices(language: str | None, voice: str) -> None:
    assert tts.espeak_voice(language) == voice


@pytest.mark.parametrize(("rate", "speed"), [
    (None, 150), ("100%", 150), ("85%", 128), ("50%", 80), ("300%", 300), ("fast", 150),
])
def test_prosody_rates_become_espeak_speeds_within_bounds(rate: str | None, speed: int) -> None:
    assert tts.speed_for_rate(rate) == speed


def test_a_prompt_is_telephone_mu_law_and_slower_for_a_lower_rate(tmp_path: Path) -> None:
    normal = tts.prompt_ulaw("무엇을 도와드릴까요?", "ko-KR", cache_dir=tmp_path)
    slow = tts.prompt_ulaw("무엇을 도와드릴까요?", "ko-KR", "70%", cache_dir=tmp_path)
    assert 1.0 < tts.seconds(normal) < 5.0
    assert tts.seconds(slow) > tts.seconds(normal) * 1.2
    pcm = audio.ulaw_to_pcm16(normal)
    detector = audio.EnergyDetector()
    voiced = sum(detector.voiced(pcm[i:i + 320]) for i in range(0, len(pcm), 320))
    assert voiced > 20  # at least 0.4 s of the 20 ms frames carry speech


def test_blank_text_is_no_audio(tmp_path: Path) -> None:
    assert tts.speak_ulaw("  \n ", cache_dir=tmp_path) == b""
    assert not list(tmp_path.iterdir())


def test_text_that_looks_like_an_option_is_spoken_not_parsed(tmp_path: Path) -> None:
    assert len(tts.speak_ulaw("-v xx", "it", cache_dir=tmp_path)) > 4000


def test_the_disk_cache_serves_later_requests(tmp_path: Path) -> None:
    first = tts.speak_ulaw("cache di prova", "it", cache_dir=tmp_path)
    path = tts.cache_path("cache di prova", "it", 150, 0.2, 0.8, tmp_path)
    assert path.read_bytes() == first
    path.write_bytes(b"\x7f" * 80)  # proves the next read comes from the file
    tts._speak.cache_clear()
    assert tts.speak_ulaw("cache di prova", "it", cache_dir=tmp_path) == b"\x7f" * 80


def _speak_in_process(cache_dir: str, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    out.put(tts.speak_ulaw("richiesta simultanea", "it", cache_dir=Path(cache_dir)))


def test_concurrent_threads_and_processes_get_the_same_complete_audio(tmp_path: Path) -> None:
    results: list[bytes] = []
    lock = threading.Lock()

    def speak() -> None:
        data = tts._speak.__wrapped__("richiesta simultanea", "it", 150, 0.2, 0.8, tmp_path)
        with lock:
            results.append(data)

    threads = [threading.Thread(target=speak) for _ in range(6)]
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_speak_in_process, args=(str(tmp_path), queue))
                 for _ in range(3)]
    for process in processes:
        process.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.extend(queue.get(timeout=60) for _ in processes)
    for process in processes:
        process.join()
    assert len(results) == 9 and len(set(results)) == 1 and len(results[0]) > 8000
    assert [p.suffix for p in tmp_path.iterdir()] == [".ulaw"]  # no partial files left


def test_the_default_cache_is_a_private_directory_of_ours() -> None:
    import os
    import stat

    path = tts.private_cache_dir(None)
    info = path.stat()
    assert info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o700


def test_a_cache_directory_open_to_others_is_tightened_and_a_foreign_one_refused(
        tmp_path: Path) -> None:
    import os
    import stat

    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    assert stat.S_IMODE(tts.private_cache_dir(shared).stat().st_mode) == 0o700
    link = tmp_path / "link"
    link.symlink_to(shared)
    with pytest.raises(tts.SynthesisError, match="not a private directory"):
        tts.private_cache_dir(link)
    if os.getuid() == 0:  # only root can make a directory someone else owns
        foreign = tmp_path / "foreign"
        foreign.mkdir(mode=0o700)
        os.chown(foreign, 65534, 65534)
        with pytest.raises(tts.SynthesisError, match="not a private directory"):
            tts.private_cache_dir(foreign)
