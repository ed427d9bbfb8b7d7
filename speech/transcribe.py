"""Transcribe whole recordings (voicemail, RQ jobs, the CLI) with the same recogniser.

`transcribe_recording` is what the callbacks package's RQ job calls with the bytes it
downloaded from Twilio. Accepted: WAV of any rate (Twilio recordings are 8 kHz 16-bit),
raw 8 kHz mu-law (`audio/basic`, `audio/x-mulaw`, `audio/ulaw`), and anything sox can read
(e.g. `audio/mpeg`) when sox is installed. The audio goes through `StreamingRecognizer`
with listening limits stretched to the recording's length, so a recording gets the same
text, confidence and alternatives a live call would.

Recordings are brought to 8 kHz first when the model accepts 8 kHz input. Measured with
the Korean model and the phrase "상담원 연결" (telephone audio resampled by sox to 11.025,
16, 22.05 and 44.1 kHz): fed at those rates (Kaldi resampling, or ours to 16 kHz) it came
out as "연결 연결 연결" every time; resampled back to 8 kHz it was right every time.
Phone-band audio is best presented as what it is.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from speech import audio
from speech.models import ModelRegistry
from speech.recognizer import ListenSettings, StreamingRecognizer, Utterance

TELEPHONE_RATE = 8000
_ULAW_TYPES = {"audio/basic", "audio/x-mulaw", "audio/mulaw", "audio/ulaw", "audio/x-ulaw"}
_WAV_TYPES = {"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"}
_SUFFIX_TYPES = {".wav": "audio/wav", ".ulaw": "audio/basic", ".raw": "audio/basic",
                 ".ul": "audio/basic", ".mp3": "audio/mpeg"}


class UnsupportedAudio(ValueError):
    """The recording's format cannot be decoded."""


def decode_audio(data: bytes, content_type: str) -> tuple[bytes, int]:
    """Decode a recording to mono 16-bit PCM; returns (pcm, sample_rate)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in _ULAW_TYPES:
        return audio.ulaw_to_pcm16(data), 8000
    if kind in _WAV_TYPES or data[:4] == b"RIFF":
        try:
            return audio.read_wav(data)
        except Exception as exc:  # wave.Error, EOFError: fall back to sox below
            if shutil.which("sox") is None:
                raise UnsupportedAudio(f"cannot read WAV: {exc}") from exc
    if shutil.which("sox") is None:
        raise UnsupportedAudio(f"cannot decode {content_type!r} without sox")
    subtype = "wav" if data[:4] == b"RIFF" else kind.rpartition("/")[2].replace("mpeg", "mp3")
    run = subprocess.run(
        ["sox", "-t", subtype, "-", "-t", "wav", "-e", "signed-integer", "-b", "16",
         "-c", "1", "-"],
        input=data, capture_output=True, check=False)
    if run.returncode != 0:
        raise UnsupportedAudio(f"sox cannot decode {content_type!r}: "
                               f"{run.stderr.decode(errors='replace').strip()[:200]}")
    return audio.read_wav(run.stdout)


def transcribe_pcm(pcm16: bytes, rate: int, lang: str, registry: ModelRegistry,
                   phrases: list[str] | None = None) -> Utterance:
    """Recognise a whole 16-bit PCM buffer; reason is "speech" or "silence"."""
    model = registry.get(lang)
    info = registry.info(lang)
    if rate != TELEPHONE_RATE and info.accepts_rate(TELEPHONE_RATE):
        pcm16, rate = audio.resample_pcm16(pcm16, rate, TELEPHONE_RATE), TELEPHONE_RATE
    seconds = len(pcm16) / 2 / rate
    settings = ListenSettings(no_input_seconds=seconds + 1, end_silence_seconds=seconds + 1,
                              max_seconds=seconds + 1)
    recognizer = StreamingRecognizer(
        model, phrases=phrases, settings=settings, input_rate=rate,
        vosk_rate=rate if info.accepts_rate(rate) else info.sample_rate)
    recognizer.accept_pcm(pcm16)
    recognizer.accept_pcm(bytes(int(rate * 0.1) * 2))  # flush the last partial chunk
    return recognizer.finish("speech")


def transcribe_recording(audio_bytes: bytes, content_type: str, lang: str,
                         registry: ModelRegistry, phrases: list[str] | None = None
                         ) -> Utterance:
    """Transcribe a downloaded recording (for the callbacks RQ job)."""
    pcm, rate = decode_audio(audio_bytes, content_type)
    return transcribe_pcm(pcm, rate, lang, registry, phrases)


def transcribe_file(path: str | Path, lang: str, registry: ModelRegistry,
                    phrases: list[str] | None = None) -> Utterance:
    """Transcribe a file; `.ulaw`/`.raw` mean raw 8 kHz mu-law, `.wav` any WAV."""
    file = Path(path)
    content_type = _SUFFIX_TYPES.get(file.suffix.lower(), "application/octet-stream")
    return transcribe_recording(file.read_bytes(), content_type, lang, registry, phrases)
