"""Caller audio for the stand-in: text or files turned into 8 kHz mu-law telephone audio.

Speech is synthesised by `speech.tts` (espeak-ng and sox, the same tools the test suite
and the app's barge-in prompts use); files are converted with sox. Results are cached in
the temp directory by content, because synthesis dominates the cost of a simulated call.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
import wave
from pathlib import Path

from speech import tts

SAMPLE_RATE = 8000
FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law: what Twilio sends in each media message
ULAW_SILENCE = b"\xff"
CACHE_DIR = Path(tempfile.gettempdir()) / "localtwilio-audio"


class AudioError(RuntimeError):
    """espeak-ng or sox failed; the message carries their stderr."""


def _run(*args: str) -> None:
    result = subprocess.run(args, capture_output=True)
    if result.returncode != 0:
        raise AudioError(f"{args[0]} failed: {result.stderr.decode(errors='replace')[-400:]}")


def _cached(key: str, suffix: str, build) -> bytes:  # type: ignore[no-untyped-def]
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / (hashlib.sha256(key.encode()).hexdigest()[:24] + suffix)
    if not path.exists():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp, "out" + suffix)
            build(Path(tmp), out)
            out.replace(path)
    return path.read_bytes()


def _to_ulaw_args(out: Path) -> list[str]:
    return ["-r", str(SAMPLE_RATE), "-c", "1", "-e", "u-law", "-b", "8", "-t", "raw", str(out)]


def speak_ulaw(text: str, voice: str = "it", speed: int = 150, trail_seconds: float = 0.8) -> bytes:
    """`text` spoken by espeak-ng as raw 8 kHz mu-law, with a little trailing silence."""
    try:
        return tts.speak_ulaw(text, voice, speed, lead_seconds=0.2, trail_seconds=trail_seconds)
    except tts.SynthesisError as exc:
        raise AudioError(str(exc)) from exc


def file_ulaw(path: Path) -> bytes:
    """The audio file at `path` as raw 8 kHz mu-law (.ulaw/.raw files are taken as they are)."""
    if path.suffix.lower() in {".ulaw", ".raw", ".mulaw"}:
        return path.read_bytes()
    data = path.read_bytes()

    def build(tmp: Path, out: Path) -> None:
        _run("sox", "-R", str(path), *_to_ulaw_args(out))
    return _cached(f"file|{hashlib.sha256(data).hexdigest()}|{path.suffix}", ".ulaw", build)


def ulaw_to_wav(ulaw: bytes) -> bytes:
    """Raw 8 kHz mu-law as a 16-bit PCM WAV file (what Twilio serves for recordings)."""
    def build(tmp: Path, out: Path) -> None:
        raw = tmp / "in.ulaw"
        raw.write_bytes(ulaw)
        _run("sox", "-t", "raw", "-r", str(SAMPLE_RATE), "-c", "1", "-e", "u-law", "-b", "8",
             str(raw), "-e", "signed-integer", "-b", "16", str(out))
    return _cached(f"wav|{hashlib.sha256(ulaw).hexdigest()}", ".wav", build)


def silence_ulaw(seconds: float) -> bytes:
    """`seconds` of mu-law silence."""
    return ULAW_SILENCE * int(seconds * SAMPLE_RATE)


def frames(ulaw: bytes) -> list[bytes]:
    """Split mu-law audio into 20 ms frames, padding the last one with silence."""
    chunks = [ulaw[i:i + FRAME_BYTES] for i in range(0, len(ulaw), FRAME_BYTES)]
    if chunks and len(chunks[-1]) < FRAME_BYTES:
        chunks[-1] = chunks[-1] + ULAW_SILENCE * (FRAME_BYTES - len(chunks[-1]))
    return chunks


def ulaw_seconds(ulaw: bytes) -> float:
    """Duration of raw 8 kHz mu-law audio."""
    return len(ulaw) / SAMPLE_RATE


def wav_seconds(data: bytes) -> float:
    """Duration of a PCM WAV file held in memory."""
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getnframes() / float(wav.getframerate())
