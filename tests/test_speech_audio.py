"""mu-law coding, resampling, energy and WAV reading."""

from __future__ import annotations

import io
import wave

import numpy as np

from speech import audio


def test_mulaw_decoding_matches_g711_reference_values():
    pcm = np.frombuffer(audio.ulaw_to_pcm16(bytes([0x00, 0x7F, 0x80, 0xFF, 0x70])), "<i2")
    assert pcm.tolist() == [-32124, 0, 32124, 0, -120]


def test_mulaw_encoding_round_trips_every_code():
    decoded = audio.ulaw_to_pcm16(bytes(range(256)))
    assert audio.ulaw_to_pcm16(audio.pcm16_to_ulaw(decoded)) == decoded


def test_stream_resampler_in_20ms_chunks_matches_whole_buffer_resampling():
    tone = (np.sin(np.arange(8000) * 2 * np.pi * 440 / 8000) * 8000).astype("<i2").tobytes()
    resampler = audio.StreamResampler(8000, 16000)
    chunked = b"".join(resampler.process(tone[i:i + 320]) for i in range(0, len(tone), 320))
    whole = audio.resample_pcm16(tone, 8000, 16000)
    assert len(chunked) == len(whole) == 2 * len(tone)
    a = np.frombuffer(chunked, "<i2")[400:15000].astype(float)
    b = np.frombuffer(whole, "<i2")[400:15000].astype(float)
    best = max(np.corrcoef(a[k:], b[:len(b) - k])[0, 1] for k in range(40))
    assert best > 0.999


def test_energy_detector_hears_a_voice_over_line_noise():
    rng = np.random.default_rng(1)
    hiss = (rng.normal(0, 60, 160)).astype("<i2").tobytes()
    voice = (np.sin(np.arange(160) * 0.3) * 6000).astype("<i2").tobytes()
    detector = audio.EnergyDetector()
    assert not any(detector.voiced(hiss) for _ in range(50))
    assert detector.voiced(voice)
    assert audio.rms_dbfs(b"") == -120.0


def test_wav_of_any_rate_and_stereo_reads_as_mono_pcm():
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(22050)
        wav.writeframes(np.array([[1000, 3000]] * 10, dtype="<i2").tobytes())
    pcm, rate = audio.read_wav(buffer.getvalue())
    assert rate == 22050
    assert np.frombuffer(pcm, "<i2").tolist() == [2000] * 10
