"""RecognizerPool on the real Korean model: a reused recogniser hears as a new one does."""

from __future__ import annotations

import json

import pytest

from speech import audio, hearing
from speech.grammar import grammar_json, grammar_phrases
from speech.media_stream import ListenPlan, Media, Start, StreamSession
from speech.models import ModelRegistry, discover_packages
from speech.recognizer import ListenSettings, StreamingRecognizer
from speech.recognizer_pool import Lease, RecognizerPool, fresh_lease
from tests.audio import noise_ulaw, telephone_ulaw

pytestmark = pytest.mark.slow

GRAMMAR = ["네", "아니요", "상담원 연결", "바로 연결해 주세요", "환불"]


@pytest.fixture(scope="module")
def registry():
    return ModelRegistry(discover_packages())


@pytest.fixture(scope="module")
def model(registry):
    return registry.get("ko")


@pytest.fixture(scope="module")
def grammars(model) -> list[str]:
    """The plain grammar and the garbage-path one of the hearing check."""
    usable = grammar_phrases(model, GRAMMAR)
    with_garbage, _ = hearing.garbage_grammar(usable, hearing.garbage_syllables(model))
    return [grammar_json(usable), grammar_json(with_garbage)]


@pytest.fixture(scope="module")
def answers() -> list[bytes]:
    """Three answers as 16-bit PCM, after different waits."""
    return [audio.ulaw_to_pcm16(noise_ulaw(lead) + telephone_ulaw(phrase, trail_seconds=0.8))
            for lead, phrase in [(0.0, "상담원 연결"), (1.0, "환불"), (0.5, "바로 연결해 주세요")]]



def words_heard(lease: Lease, pcm: bytes, *, finish: str = "final") -> list[tuple[str, float]]:
    """The words (and start times from the lease's first sample) of `pcm` fed in 100 ms
    chunks; `finish`: "final" (FinalResult), "endpoint" (a Result, nothing after) or
    "running" (neither)."""
    heard = []
    lease.SetWords(True)

    def take(raw: str) -> None:
        data = json.loads(raw)
        entries = data.get("result") or (data.get("alternatives") or [{}])[0].get("result", [])
        heard.extend((w["word"], round(w["start"] - lease.offset_seconds, 2)) for w in entries)

    for index in range(0, len(pcm), 1600):
        if lease.AcceptWaveform(pcm[index:index + 1600]):
            take(lease.Result())
    if finish == "final":
        take(lease.FinalResult())
    elif finish == "endpoint":
        take(lease.Result())
    return heard


def same_words(heard: list[list[tuple[str, float]]],
               expected: list[list[tuple[str, float]]]) -> bool:
    """Each answer's words start within two 30 ms frames of the same words in `expected`,
    bar one word per answer: Vosk's scores move a little over a process's life, pooled or
    not, so a borderline garbage syllable comes and goes and minimum-Bayes-risk word times
    move by a few ms. (Earlier audio of a pooled recogniser would move them by seconds.)"""
    for answer, wanted in zip(heard, expected, strict=True):
        unmatched = [(word, start) for word, start in answer
                     if not any(word == w and abs(start - s) <= 0.061 for w, s in wanted)]
        if len(unmatched) > 1 or abs(len(answer) - len(wanted)) > 1 or not answer:
            return False
    return True


@pytest.mark.parametrize("finish", ["final", "endpoint", "running"])
def test_a_reused_recogniser_hears_the_same_words_at_the_same_times_as_a_new_one(
        model, grammars, answers, finish):
    plain, with_garbage = grammars
    for grammar in grammars:
        new = [words_heard(fresh_lease(model, 8000, grammar), pcm) for pcm in answers]
        pool = RecognizerPool()
        reused = []
        for pcm in answers:
            lease = pool.lease(model, 8000, grammar)
            reused.append(words_heard(lease, pcm))
            # an answer may end anywhere: mid-segment, or just after Vosk's endpoint
            words_heard(lease, answers[0][:8000], finish=finish)
            lease.give_back()
        assert pool.leased == 3 and pool.reused == 2
        assert all(reused), "every answer was heard"
        # times count from the lease's first sample: inside the answer, never seconds
        # after it (the audio of the earlier leases)
        assert all(0.0 <= start < len(pcm) / 16000
                   for pcm, words in zip(answers, reused, strict=True) for _, start in words)
        if grammar == plain:  # the two answers Vosk hears the same way run after run
            assert same_words(reused[:2], new[:2])
        # (Not compared word by word: the garbage path's syllables, and the cut-short third
        # answer. Vosk's scores move a little over a process's life, pooled or not, and
        # those words swing with them: after other tests, new recognisers alone have given
        # "떠 연결 또 녀" and "연결 녀" for the same audio, "연결 아니요" and "바로 연결해 아니요".)


def test_each_grammar_keeps_its_own_recognisers_and_the_shelves_are_bounded(model, grammars):
    pool = RecognizerPool(per_grammar=2, max_idle=3)
    leases = [pool.lease(model, 8000, grammars[0]) for _ in range(3)]
    for lease in leases:
        lease.give_back()
        lease.give_back()  # twice is once
    assert pool.idle() == 2
    others = [pool.lease(model, 8000, grammars[1]) for _ in range(2)]
    assert pool.reused == 0  # nothing on another grammar's shelf is lent
    for lease in others:
        lease.give_back()
    assert pool.idle() == 3  # at most 3 in all: the grammar least recently used gave one
    assert pool.lease(model, 8000, grammars[0]) and pool.reused == 1
    assert pool.lease(model, 8000, grammars[0]) and pool.reused == 1


def test_a_recogniser_is_retired_after_its_lifetime_of_audio(model, grammars, answers):
    pool = RecognizerPool(lifetime_seconds=1.0)
    lease = pool.lease(model, 8000, grammars[0])
    words_heard(lease, answers[0])  # 2.6 s
    lease.give_back()
    assert pool.idle() == 0


def test_answers_after_answers_on_pooled_recognisers_match_new_ones(model):
    # the turn rules read Vosk's word times (the sure-complete check): a pooled
    # recogniser's times count from its first answer, so each lease must shift them
    pool = RecognizerPool()
    clips = [noise_ulaw(lead) + telephone_ulaw(phrase, trail_seconds=3.0)
             for lead, phrase in [(2.0, "상담원 연결"), (0.0, "네"), (3.0, "환불"),
                                  (0.0, "아니요")]]
    for settings in (ListenSettings(), ListenSettings(skip_silence=False)):
        for ulaw in clips:
            results = []
            for shared in (None, pool):
                recognizer = StreamingRecognizer(model, phrases=GRAMMAR, settings=settings,
                                                 pool=shared)
                for index in range(0, len(ulaw), 160):
                    if recognizer.accept_ulaw(ulaw[index:index + 160]):
                        break
                result = recognizer.result or recognizer.hangup()
                results.append((result.text, result.reason, result.duration_seconds))
                recognizer.close()
            # (posteriors are left out: Vosk's scores move a little over a process's life,
            # pooled or not, and a runner-up 2 points behind is in the n-best or not)
            assert results[0] == results[1]
    assert pool.reused >= 6


def test_a_stream_gives_its_recognisers_back_when_its_answer_is_known(registry):
    pool = registry.recognizers
    assert pool is not None
    before = pool.idle()
    session = StreamSession(lambda sid, p: ListenPlan("ko", GRAMMAR, ListenSettings()),
                            registry)
    session.handle(Start("MZ" + "0" * 32, "CA" + "0" * 32, ["inbound"], {}, "audio/x-mulaw",
                         8000))
    ulaw = telephone_ulaw("환불", trail_seconds=3.0)
    for index in range(0, len(ulaw), 800):
        session.handle(Media("inbound", ulaw[index:index + 800]))
        if session.done:
            break
    assert session.result is not None and session.result.text == "환불"
    session.release()
    assert pool.idle() == before + 2  # the grammar pass and the garbage-path pass


def test_recognisers_are_not_kept_when_the_registry_is_told_not_to():
    registry = ModelRegistry.from_config({"VOSK_REUSE_RECOGNIZERS": "false"})
    assert registry.recognizers is None
