"""StreamingRecognizer on the real Korean model: end of speech, patience, limits, keypad."""

from __future__ import annotations

from dataclasses import replace

import pytest

from speech.models import ModelRegistry, discover_packages
from speech.recognizer import ListenSettings, StreamingRecognizer, Utterance
from tests.audio import noise_ulaw, telephone_ulaw

pytestmark = pytest.mark.slow

GRAMMAR = ["네", "아니요", "상담원 연결", "바로 연결해 주세요", "환불"]


@pytest.fixture(scope="module")
def model():
    return ModelRegistry(discover_packages()).get("ko")


def hear(model, ulaw: bytes, settings: ListenSettings, phrases=GRAMMAR) -> StreamingRecognizer:
    """A recogniser fed `ulaw` in 20 ms frames until its answer is complete."""
    recognizer = StreamingRecognizer(model, phrases=phrases, settings=settings)
    for index in range(0, len(ulaw), 160):
        if recognizer.accept_ulaw(ulaw[index:index + 160]):
            break
    return recognizer


def listen(model, ulaw: bytes, settings: ListenSettings, phrases=GRAMMAR) -> Utterance:
    recognizer = hear(model, ulaw, settings, phrases)
    return recognizer.result or recognizer.hangup()


def test_a_pause_between_words_does_not_cut_a_slow_speaker_off(model):
    # "상담원" ... 0.9 s pause ... "연결": one answer, not two.
    audio = (telephone_ulaw("상담원", trail_seconds=0.0) + noise_ulaw(0.9)
             + telephone_ulaw("연결", lead_seconds=0.0, trail_seconds=3.0))
    utterance = listen(model, audio, ListenSettings(end_silence_seconds=1.2))
    assert (utterance.reason, utterance.text) == ("speech", "상담원 연결")


@pytest.mark.parametrize("pause", [1.2, 1.5])
def test_a_long_pause_after_words_that_are_not_yet_a_phrase_does_not_end_the_turn(model, pause):
    # "상담원" is no expected phrase on its own: the turn waits for the rest
    audio = (telephone_ulaw("상담원", trail_seconds=0.0) + noise_ulaw(pause)
             + telephone_ulaw("연결", lead_seconds=0.0, trail_seconds=3.0))
    utterance = listen(model, audio, ListenSettings(end_silence_seconds=1.0))
    assert (utterance.reason, utterance.text) == ("speech", "상담원 연결")


def slow(words: list[str], pause: float, voice: str = "ko+m3",
         speed: int = 100) -> tuple[bytes, float]:
    """`words` one by one with `pause` s of line noise between them; and where the last
    word begins (s)."""
    audio, last = b"", 0.0
    for index, word in enumerate(words):
        if index:
            audio += noise_ulaw(pause)
        last = len(audio) / 8000
        audio += telephone_ulaw(word, voice=voice, speed=speed,
                                lead_seconds=0.4 if not index else 0.0,
                                trail_seconds=3.0 if index == len(words) - 1 else 0.0)
    return audio, last


@pytest.mark.parametrize("pause", [0.75, 1.5])
def test_a_slow_first_word_forced_into_a_short_phrase_does_not_end_the_turn(model, pause):
    # ko+m3's slow "바로" is decoded as nothing, "아니요" only its second guess: that
    # guess must not end the turn while the caller is between words
    audio, last_word = slow(["바로", "연결해", "주세요"], pause)
    utterance = listen(model, audio, ListenSettings())
    assert utterance.reason == "speech"
    assert utterance.duration_seconds > last_word


@pytest.mark.parametrize(("voice", "speed", "pause"), [("ko", 140, 0.86), ("ko+m2", 130, 1.24)])
def test_a_slow_first_word_after_a_long_wait_is_not_taken_for_silence(model, voice, speed,
                                                                       pause):
    # The caller waits 4 s before answering, says "지금" (voice the decoder shows no words
    # for), pauses, then the rest. The no-input time (6 s) passes during the pause: the
    # answer must not end there as silence (it did: the flow would ask again mid-answer).
    first = telephone_ulaw("지금", voice=voice, speed=speed, trail_seconds=0.0)
    rest = telephone_ulaw("바로 해 주세요", voice=voice, speed=speed, lead_seconds=0.0,
                          trail_seconds=3.0)
    audio = noise_ulaw(4.0) + first + noise_ulaw(pause) + rest
    last_word = 4.0 + len(first) / 8000 + pause
    grammar = ["네", "아니요", "예", "좋아요", "잔액 조회", "지금 바로 해 주세요"]
    utterance = listen(model, audio, ListenSettings(no_input_seconds=6.0), phrases=grammar)
    assert utterance.reason == "speech"
    assert utterance.duration_seconds > last_word


START_GRAMMAR = ["네", "아니요", "예", "좋아요", "다음 주 월요일", "잔액 조회"]


def test_a_not_digital_callers_lone_first_word_waits_for_the_rest(model):
    # espeak's slow "다음" is heard as "네" and nothing in the audio tells it from a real
    # "네": a caller flagged not digital gets the wait of a phrase a longer one continues
    audio, last_word = slow(["다음", "주 월요일"], 1.17, voice="ko", speed=130)
    digital = listen(model, audio, ListenSettings(), phrases=START_GRAMMAR)
    not_digital = listen(model, audio, ListenSettings(patience=1.7,
                                                      first_word_pause_seconds=1.2),
                         phrases=START_GRAMMAR)
    assert digital.text == "네" and digital.duration_seconds < last_word
    assert not_digital.duration_seconds > last_word


def test_a_one_word_answer_still_ends_the_turn_after_a_short_pause(model):
    audio = telephone_ulaw("네", voice="ko+f2", speed=140, trail_seconds=4.0)
    utterance = listen(model, audio, ListenSettings(), phrases=START_GRAMMAR)
    assert utterance.text == "네"
    assert utterance.duration_seconds < 1.5  # the 0.3 s pause, not the 2.5 s of a start


def test_a_complete_phrase_that_is_not_sure_waits_like_an_incomplete_one(model):
    audio = telephone_ulaw("아니요", trail_seconds=4.0)
    settings = ListenSettings(complete_pause_seconds=0.3, incomplete_silence_seconds=2.5)
    sure = listen(model, audio, settings)
    unsure = listen(model, audio, replace(settings, sure_posterior=1.01))
    assert sure.text == unsure.text == "아니요"
    assert unsure.duration_seconds - sure.duration_seconds >= 1.8


def test_a_caller_who_paused_mid_answer_is_given_that_pause_again(model):
    # "상담원" ... 1 s ... "연결" ... 1 s ... "네": after a complete phrase the turn waits
    # as long as the pause this caller already made, so the third word is still heard
    audio, last_word = slow(["상담원", "연결", "네"], 1.0, voice="ko", speed=140)
    patient = listen(model, audio, ListenSettings(pause_margin=1.25))
    hasty = listen(model, audio, ListenSettings(pause_margin=0.0))
    assert hasty.text == "상담원 연결" and hasty.duration_seconds < last_word
    assert patient.duration_seconds > last_word
    assert patient.text.startswith("상담원 연결 ")


def test_a_complete_phrase_ends_the_turn_after_a_short_pause(model):
    audio = telephone_ulaw("아니요", trail_seconds=4.0)
    settings = ListenSettings(end_silence_seconds=1.2, complete_pause_seconds=0.3)
    complete = listen(model, audio, settings)
    # the same words when a longer expected phrase could follow: the full end silence
    continued = listen(model, audio, settings, phrases=[*GRAMMAR, "아니요 아니요"])
    assert complete.text == continued.text == "아니요"
    assert continued.duration_seconds - complete.duration_seconds >= 0.7


def test_patience_multiplies_the_end_of_speech_silence(model):
    audio = telephone_ulaw("아니요", trail_seconds=4.0)
    settings = ListenSettings(complete_pause_seconds=0.5)
    quick = listen(model, audio, settings)
    patient = listen(model, audio, replace(settings, patience=2.0))
    assert quick.text == patient.text == "아니요"
    assert patient.duration_seconds - quick.duration_seconds >= 0.4


def test_patience_stretches_the_no_input_timeout(model):
    utterance = listen(model, noise_ulaw(10.0),
                       ListenSettings(no_input_seconds=3.0, patience=2.0))
    assert utterance.reason == "silence"
    assert 6.0 <= utterance.duration_seconds < 6.5


def test_hard_maximum_ends_endless_talk_with_timeout(model):
    audio = b"".join(telephone_ulaw("네 네 네 네", lead_seconds=0.0, trail_seconds=0.1)
                     for _ in range(4))
    utterance = listen(model, audio, ListenSettings(max_seconds=3.0))
    assert utterance.reason == "timeout"
    assert utterance.duration_seconds == pytest.approx(3.0, abs=0.15)
    assert "네" in utterance.text


def test_free_form_listening_returns_words_with_word_confidence(model):
    utterance = listen(model, telephone_ulaw("아니요", trail_seconds=3.0),
                       ListenSettings(max_alternatives=0), phrases=None)
    assert utterance.reason == "speech" and utterance.text
    assert 0.0 < utterance.confidence <= 1.0
    assert utterance.alternatives == [(utterance.text, utterance.confidence)]


def test_keypad_answer_waits_for_more_digits_until_hash(model):
    recognizer = StreamingRecognizer(model, phrases=GRAMMAR,
                                     settings=ListenSettings(max_digits=4))
    recognizer.accept_ulaw(noise_ulaw(0.5))
    assert not recognizer.add_digit("1")
    assert not recognizer.add_digit("2")
    assert recognizer.add_digit("#")
    assert (recognizer.result.reason, recognizer.result.digits) == ("dtmf", "12")


def test_keypad_answer_ends_after_the_digit_timeout(model):
    recognizer = StreamingRecognizer(model, phrases=GRAMMAR, settings=ListenSettings(
        max_digits=4, digit_timeout_seconds=1.0))
    recognizer.add_digit("7")
    recognizer.accept_ulaw(noise_ulaw(1.2))
    assert (recognizer.result.reason, recognizer.result.digits) == ("dtmf", "7")


def test_unknown_grammar_words_are_reported_and_known_phrases_still_work(model):
    utterance = listen(model, telephone_ulaw("네", trail_seconds=3.0),
                       ListenSettings(), phrases=["네", "블라블라쿵"])
    assert utterance.text == "네"
    assert utterance.missing_words == ["블라블라쿵"]


def test_utterance_round_trips_through_a_dict():
    utterance = Utterance("네", 0.9, [("네", 0.9), ("아니요", 0.1)], "speech", "", 1.5)
    assert Utterance.from_dict(utterance.as_dict()) == utterance


def test_a_long_silence_before_the_answer_is_not_decoded_and_the_answer_still_is(model):
    # the prompt plays and the caller thinks: five seconds of line noise, then the answer
    audio = noise_ulaw(5.0) + telephone_ulaw("상담원 연결", lead_seconds=0.0, trail_seconds=3.0)
    recognizer = hear(model, audio, ListenSettings())
    utterance = recognizer.result
    assert utterance is not None and utterance.text == "상담원 연결"
    assert recognizer.decoded_seconds < utterance.duration_seconds - 3.0
    # and the garbage pass judges it as it does when every second is decoded
    every_second = listen(model, audio, ListenSettings(skip_silence=False))
    assert (utterance.heard, utterance.coverage) == (every_second.heard, every_second.coverage)


def test_word_times_after_a_skipped_silence_are_read_on_the_audio_clock(model):
    # A sure complete phrase ends after the short pause only when its words (Vosk's
    # times, which skip the silence it was not given) cover the voice (the audio clock).
    audio = noise_ulaw(4.0) + telephone_ulaw("아니요", lead_seconds=0.0, trail_seconds=4.0)
    skipping = listen(model, audio, ListenSettings())
    decoding_all = listen(model, audio, ListenSettings(skip_silence=False))
    assert skipping.text == decoding_all.text == "아니요"
    assert skipping.duration_seconds == pytest.approx(decoding_all.duration_seconds, abs=0.21)
    assert skipping.duration_seconds < 4.0 + 1.5  # the short pause, not the 2.5 s of doubt


def test_a_pause_inside_an_answer_is_decoded_like_the_words(model):
    # Only the silence before the answer is skipped: the silence of a pause weighs on
    # Vosk's "nothing" against a slow caller's first word, so the pause is decoded.
    audio = (noise_ulaw(3.0) + telephone_ulaw("상담원", lead_seconds=0.0, trail_seconds=0.0)
             + noise_ulaw(3.0) + telephone_ulaw("연결", lead_seconds=0.0, trail_seconds=4.0))
    recognizer = hear(model, audio, ListenSettings(incomplete_silence_seconds=3.5))
    utterance = recognizer.result
    assert utterance is not None and utterance.reason == "speech"
    assert utterance.text.endswith("연결")  # the word after the pause was heard
    skipped = utterance.duration_seconds - recognizer.decoded_seconds
    assert 1.2 <= skipped < 1.75  # the lead but the 1.5 s before the sound, no pause
