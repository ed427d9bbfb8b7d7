"""Whole-recording transcription (the RQ job's function) on the real Korean model."""

from __future__ import annotations

import subprocess

import pytest

from speech.models import ModelRegistry, ModelUnavailable, discover_packages
from speech.transcribe import UnsupportedAudio, decode_audio, transcribe_recording
from tests.audio import noise_ulaw, telephone_ulaw

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registry() -> ModelRegistry:
    return ModelRegistry(discover_packages())


def as_wav(ulaw: bytes, rate: int) -> bytes:
    return subprocess.run(["sox", "-t", "raw", "-r", "8000", "-e", "mu-law", "-c", "1", "-",
                           "-t", "wav", "-r", str(rate), "-b", "16", "-"],
                          input=ulaw, capture_output=True, check=True).stdout


@pytest.mark.parametrize(("content_type", "rate"), [
    ("audio/basic", None), ("audio/x-wav", 8000), ("audio/wav", 22050), ("audio/mpeg", 8000)])
def test_recording_in_each_format_is_transcribed(registry, content_type, rate):
    ulaw = telephone_ulaw("상담원 연결")
    if content_type == "audio/mpeg":
        data = subprocess.run(["sox", "-t", "wav", "-", "-t", "mp3", "-C", "64", "-"],
                              input=as_wav(ulaw, 8000), capture_output=True).stdout
        if not data:
            pytest.skip("this sox has no mp3 encoder")
    else:
        data = ulaw if rate is None else as_wav(ulaw, rate)
    utterance = transcribe_recording(data, content_type, "ko", registry,
                                     phrases=["네", "아니요", "상담원 연결"])
    assert (utterance.reason, utterance.text) == ("speech", "상담원 연결")


def test_empty_recording_is_silence(registry):
    utterance = transcribe_recording(noise_ulaw(2.0), "audio/basic", "ko", registry, ["네"])
    assert (utterance.reason, utterance.text) == ("silence", "")


def test_unknown_language_and_undecodable_audio_are_clear_errors(registry):
    with pytest.raises(ModelUnavailable):
        transcribe_recording(noise_ulaw(0.5), "audio/basic", "it", registry)
    with pytest.raises(UnsupportedAudio):
        decode_audio(b"definitely not audio", "audio/ogg")
