"""speech.hearing: Vosk results without [unk], and the fused "did we really hear it".

The pure parts run on Vosk-shaped JSON (the Korean model has no [unk] word, so the real
model never produces one); the judgement runs on the real model and espeak-ng audio.
"""

from __future__ import annotations

import json
import math

import pytest

from speech import hearing
from speech.models import ModelRegistry, discover_packages
from speech.recognizer import ListenSettings, StreamingRecognizer, Utterance
from tests.audio import telephone_ulaw


def nbest(*alternatives: tuple[str, float]) -> str:
    """A Vosk result as SetMaxAlternatives(n > 0) + SetWords(True) writes it."""
    entries = []
    for text, likelihood in alternatives:
        words = [{"word": w, "start": 0.3 * i, "end": 0.3 * i + 0.25}
                 for i, w in enumerate(text.split())]
        entries.append({"text": text, "confidence": likelihood, "result": words})
    return json.dumps({"alternatives": entries}, ensure_ascii=False)


def mbr(*words: tuple[str, float]) -> str:
    """A Vosk result as SetMaxAlternatives(0) + SetWords(True) writes it."""
    return json.dumps({"text": " ".join(w for w, _ in words),
                       "result": [{"word": w, "conf": c, "start": i * 0.3,
                                   "end": i * 0.3 + 0.25}
                                  for i, (w, c) in enumerate(words)]}, ensure_ascii=False)


def test_unk_is_stripped_from_every_alternative_and_from_the_words():
    segment = hearing.parse_result(nbest(("[unk] 환불 [unk]", 10.0), ("환불", 9.0)))
    assert [text for text, _ in segment.alternatives] == ["환불", "환불"]
    assert [w.word for w in segment.words] == ["환불"]
    assert sum(p for _, p in segment.alternatives) == pytest.approx(1.0)


def test_the_posterior_of_hearing_nothing_is_kept_apart_from_the_words():
    # the decoder's best is no words; "아니요" is only its second guess
    segment = hearing.parse_result(nbest(("", 160.0), ("아니요", 159.0)))
    assert segment.text == "아니요"
    assert segment.silence == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert segment.silence > segment.alternatives[0][1]
    assert hearing.parse_result(nbest(("아니요", 160.0))).silence == 0.0


def test_unk_is_stripped_from_word_confidence_results():
    segment = hearing.parse_result(mbr(("상담원", 0.9), ("[unk]", 0.2), ("연결", 0.7)))
    assert segment.alternatives == [("상담원 연결", 0.7)]
    assert [w.word for w in segment.words] == ["상담원", "연결"]


@pytest.mark.parametrize("raw", [nbest(("[unk] [unk]", 3.0), ("[unk]", 2.0)),
                                 mbr(("[unk]", 0.9), ("[unk]", 0.8)),
                                 json.dumps({"text": ""})])
def test_a_turn_of_only_unk_has_no_words(raw):
    segment = hearing.parse_result(raw)
    assert segment.alternatives == [] and segment.words == [] and segment.text == ""


def test_strip_unknown_keeps_the_callers_words_in_order():
    assert hearing.strip_unknown("[unk] 네 [unk] 맞아요") == "네 맞아요"
    assert hearing.strip_unknown("[unk] [unk]") == ""


def test_coverage_is_the_share_of_speech_time_on_grammar_words():
    words = [("요금", 0.0, 1.0), ("뢰", 1.0, 2.0), ("가", 2.0, 4.0)]
    assert hearing.coverage(words, {"요금"}) == pytest.approx(0.25)
    assert hearing.coverage([], {"요금"}) == 0.0


def test_words_mostly_heard_as_garbage_are_doubted_with_a_lower_confidence():
    verdict = hearing.judge("하고 싶어요", 1.0, coverage=0.2)
    assert (verdict.heard, verdict.doubt, verdict.confidence) == (False, "garbage", 0.2)
    trusted = hearing.judge("아니요", 0.8, coverage=1.0)
    assert (trusted.heard, trusted.doubt, trusted.confidence) == (True, "", 0.8)


def test_a_free_form_transcript_unlike_the_grammar_one_is_a_doubt():
    assert hearing.agreement("아니요", "아니요") == 1.0
    assert hearing.agreement("상담원 연결", "할아버지") < hearing.FREE_FORM_AGREEMENT
    verdict = hearing.judge("상담원 연결", 0.9, coverage=0.9, free_text="할아버지")
    assert (verdict.heard, verdict.doubt) == (False, "free_form")


def test_utterances_stored_before_the_judgement_existed_read_as_heard():
    old = {"text": "네", "confidence": 0.9, "alternatives": [["네", 0.9]],
           "reason": "speech", "digits": "", "duration_seconds": 1.0, "missing_words": []}
    utterance = Utterance.from_dict(old)
    assert utterance.heard and utterance.doubt == ""
    assert Utterance.from_dict(utterance.as_dict()) == utterance


# ---------------------------------------------------------------- the real model
GRAMMAR = ["네", "아니요", "상담원 연결", "바로 연결해 주세요", "환불"]


@pytest.fixture(scope="module")
def model():
    return ModelRegistry(discover_packages()).get("ko")


def listen(model, ulaw: bytes) -> Utterance:
    recognizer = StreamingRecognizer(model, phrases=GRAMMAR, settings=ListenSettings())
    for index in range(0, len(ulaw), 160):
        if recognizer.accept_ulaw(ulaw[index:index + 160]):
            break
    return recognizer.result or recognizer.hangup()


@pytest.mark.slow
def test_the_korean_model_gets_a_garbage_path_of_syllables(model):
    syllables = hearing.garbage_syllables(model)
    assert len(syllables) > 300 and "가" in syllables
    phrases, garbage = hearing.garbage_grammar(["네", "아니요"], syllables, ratio=0.02)
    assert phrases[:8] == ["네", "아니요"] * 4 and "네" not in garbage  # 0.02 * 396 / 2


@pytest.mark.slow
@pytest.mark.parametrize("sentence", ["오늘 날씨가 참 좋네요", "우리 강아지가 아파요"])
def test_chatter_forced_into_the_grammar_is_doubted(model, sentence):
    # without the garbage pass this comes out as grammar words (e.g. "네" at 1.0)
    utterance = listen(model, telephone_ulaw(sentence, speed=140, trail_seconds=3.5))
    assert utterance.reason == "speech"
    if utterance.text:  # words came out of the grammar: they must not be trusted
        assert not utterance.heard and utterance.doubt == "garbage"
        assert utterance.coverage is not None and utterance.coverage < 0.6


@pytest.mark.slow
def test_a_clearly_said_grammar_phrase_is_heard(model):
    # espeak-ng's Korean is far from the model's training speech: at 140 wpm even this
    # phrase loses to the syllables (asked again); said slowly it is heard
    utterance = listen(model, telephone_ulaw("아니요", speed=120, trail_seconds=2.0))
    assert utterance.text.startswith("아니")
    assert utterance.heard and utterance.coverage == pytest.approx(1.0, abs=0.2)
