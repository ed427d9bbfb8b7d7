"""Telephone audio: mu-law coding, resampling, energy and WAV reading.

Twilio Media Streams carry 8 kHz 8-bit mu-law; Vosk wants 16-bit little-endian PCM at a
rate the model accepts. Everything here is NumPy on whole buffers (no `audioop`, which
Python 3.13 removes), so it is cheap enough to run per 20 ms frame.

Resampling decision (see `speech.models.ModelInfo`): the Kaldi feature pipeline inside
Vosk resamples by itself when the model's `conf/mfcc.conf` says `--allow-upsample=true`
(the Korean model does; its `--sample-frequency` is absent, i.e. Kaldi's default 16 kHz).
In that case we hand 8 kHz PCM straight to Vosk: it is streaming, runs in C with the GIL
released, and in our measurements recognised espeak-ng phrases at least as well as
upsampling in Python. Only for a model that forbids it do we resample here with
`StreamResampler`, which keeps filter state between frames so 20 ms chunks join up
without clicks.
"""

from __future__ import annotations

import io
import math
import wave

import numpy as np
from scipy.signal import firwin, lfilter, resample_poly


def _ulaw_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype("<i2")


_ULAW_TO_PCM = _ulaw_table()
_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635


def ulaw_to_pcm16(data: bytes) -> bytes:
    """Decode G.711 mu-law bytes to 16-bit little-endian PCM bytes (same sample rate)."""
    # the table is little-endian already: one lookup (`take`) and no converting copy
    return _ULAW_TO_PCM.take(np.frombuffer(data, dtype=np.uint8)).tobytes()


def pcm16_to_ulaw(data: bytes) -> bytes:
    """Encode 16-bit little-endian PCM bytes as G.711 mu-law bytes."""
    pcm = np.frombuffer(data, dtype="<i2").astype(np.int32)
    sign = np.where(pcm < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(pcm), _ULAW_CLIP) + _ULAW_BIAS
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    exponent = np.clip(exponent, 0, 7)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def rms_dbfs(pcm16: bytes) -> float:
    """Root-mean-square level of 16-bit PCM in dB relative to full scale (-120 when empty)."""
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    if samples.size == 0:
        return -120.0
    rms = math.sqrt(float(np.mean(samples * samples)))
    return max(-120.0, 20.0 * math.log10(max(rms, 1e-9) / 32768.0))


def resample_pcm16(pcm16: bytes, from_rate: int, to_rate: int) -> bytes:
    """Resample a whole 16-bit PCM buffer (files and recordings, not live frames)."""
    if from_rate == to_rate:
        return pcm16
    gcd = math.gcd(from_rate, to_rate)
    samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
    out = resample_poly(samples, to_rate // gcd, from_rate // gcd)
    return np.clip(np.round(out), -32768, 32767).astype("<i2").tobytes()


class StreamResampler:
    """Rational-ratio resampler that keeps its filter state across chunks."""

    def __init__(self, from_rate: int, to_rate: int, taps_per_phase: int = 16) -> None:
        gcd = math.gcd(from_rate, to_rate)
        self.up = to_rate // gcd
        self.down = from_rate // gcd
        cutoff = 1.0 / max(self.up, self.down)
        self._taps = firwin(taps_per_phase * self.up * 2 + 1, cutoff) * self.up
        self._state = np.zeros(len(self._taps) - 1)
        self._phase = 0  # index of the next output sample in the upsampled stream

    def process(self, pcm16: bytes) -> bytes:
        """Resample one chunk of 16-bit PCM; output joins seamlessly with the previous one."""
        samples = np.frombuffer(pcm16, dtype="<i2").astype(np.float64)
        if samples.size == 0:
            return b""
        stuffed = np.zeros(samples.size * self.up)
        stuffed[:: self.up] = samples
        filtered, self._state = lfilter(self._taps, 1.0, stuffed, zi=self._state)
        picked = filtered[self._phase :: self.down]
        self._phase = (self._phase - stuffed.size) % self.down
        return np.clip(np.round(picked), -32768, 32767).astype("<i2").tobytes()


def read_wav(data: bytes) -> tuple[bytes, int]:
    """Read WAV bytes (8/16/32-bit PCM or mu-law/A-law via sox) into mono 16-bit PCM."""
    with wave.open(io.BytesIO(data)) as wav:
        width = wav.getsampwidth()
        channels = wav.getnchannels()
        rate = wav.getframerate()
        frames = wav.readframes(wav.getnframes())
    if width == 1:
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.int32)
    elif width == 4:
        samples = np.frombuffer(frames, dtype="<i4").astype(np.int64) >> 16
    else:
        raise ValueError(f"unsupported WAV sample width: {width * 8} bits")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return np.asarray(samples).astype("<i2").tobytes(), rate


class EnergyDetector:
    """Voice-activity check on 20 ms frames against an adaptive noise floor.

    A frame is "voiced" when it is `margin_db` above the tracked noise floor and above
    `min_dbfs`. The floor follows quiet frames quickly and loud frames very slowly, so a
    steady hiss or hum raises it and stops counting as voice after a second or two.
    """

    def __init__(self, margin_db: float = 12.0, min_dbfs: float = -48.0) -> None:
        self.margin_db = margin_db
        self.min_dbfs = min_dbfs
        self.floor_dbfs = -60.0

    def voiced(self, pcm16_frame: bytes) -> bool:
        """Update the noise floor with one frame and say whether it carries voice."""
        level = rms_dbfs(pcm16_frame)
        rate = 0.2 if level < self.floor_dbfs + 3.0 else 0.01
        self.floor_dbfs += rate * (level - self.floor_dbfs)
        return level > max(self.floor_dbfs + self.margin_db, self.min_dbfs)
