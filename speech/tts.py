"""Server-side speech synthesis: prompt text -> 8 kHz mu-law, for playing over a Media Stream.

With barge-in on (flow setting `barge_in`), the question is not said by Twilio's `<Say>`
but played by us over the bidirectional stream, so that it can be cut off (`clear`) the
moment the caller starts talking. The audio is made here with espeak-ng and resampled to
telephone mu-law with sox: robotic next to Twilio's neural voices, but interruptible.

Synthesis costs tens to hundreds of milliseconds, and the same prompts come back on every
call, so results are cached on disk by (text, voice, speed, padding) and in memory. The
disk cache is safe under concurrency (threads and processes): each build writes to its own
temporary file in the cache directory and atomically renames it into place, so a reader
sees either no file or a complete one; two processes building the same prompt at once
write identical bytes and the last rename wins.

The local Twilio stand-in uses `speak_ulaw` for the caller side of simulated calls too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

SAMPLE_RATE = 8000
BASE_SPEED = 150  # espeak-ng words per minute at a prosody rate of 100%
MIN_SPEED, MAX_SPEED = 80, 300
# Per user and private (0700, ours): in the shared temp directory anyone could otherwise
# plant the file a prompt's predictable name points to, and callers would hear it.
DEFAULT_CACHE_DIR = Path(tempfile.gettempdir()) / f"hotline-tts-{os.getuid()}"
MAX_TEXT = 1000  # characters; prompts are sentences, not documents


class SynthesisError(RuntimeError):
    """espeak-ng or sox failed; the message carries their stderr."""


def espeak_voice(language: str | None) -> str:
    """The espeak-ng voice for a language tag ("it-IT" -> "it", "en-US" -> "en-us", "ko")."""
    tag = (language or "it").lower()
    primary = tag.split("-")[0]
    if primary == "en":
        return "en-us" if tag.endswith("us") else "en-gb"
    return primary or "it"


def speed_for_rate(rate: str | None, base: int = BASE_SPEED) -> int:
    """espeak-ng words per minute for an SSML prosody rate such as "85%" (None: `base`)."""
    if not rate:
        return base
    try:
        percent = float(rate.strip().rstrip("%"))
    except ValueError:
        return base
    return max(MIN_SPEED, min(MAX_SPEED, round(base * percent / 100)))


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether this server can synthesise prompts (espeak-ng and sox on the PATH).

    Barge-in depends on it: without them a question played over the stream is silence,
    so the flow engine falls back to Twilio's `<Say>` (asked once per process).
    """
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def _run(*args: str) -> None:
    result = subprocess.run(args, capture_output=True)
    if result.returncode != 0:
        raise SynthesisError(
            f"{args[0]} failed: {result.stderr.decode(errors='replace')[-400:]}")


def _build(text: str, voice: str, speed: int, lead: float, trail: float, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp, "espeak.wav")
        _run("espeak-ng", "-v", voice, "-s", str(speed), "-w", str(wav), "--", text)
        _run("sox", "-R", str(wav), "-r", str(SAMPLE_RATE), "-c", "1", "-e", "u-law",
             "-b", "8", "-t", "raw", str(out), "pad", str(lead), str(trail))


def cache_path(text: str, voice: str, speed: int, lead: float, trail: float,
               cache_dir: Path) -> Path:
    """Where the audio for these parameters is cached."""
    key = f"tts|{text}|{voice}|{speed}|{lead}|{trail}"
    return cache_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".ulaw")


def private_cache_dir(path: Path | str | None) -> Path:
    """The cache directory, made 0700 if missing; raises SynthesisError unless it is a real
    directory owned by this user (one open to others is tightened to 0700)."""
    directory = Path(path or DEFAULT_CACHE_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise SynthesisError(f"TTS cache {directory} is not a private directory of this user")
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(directory, 0o700)
    return directory


@lru_cache(maxsize=256)
def _speak(text: str, voice: str, speed: int, lead: float, trail: float,
           cache_dir: Path) -> bytes:
    path = cache_path(text, voice, speed, lead, trail, cache_dir)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    fd, partial = tempfile.mkstemp(dir=cache_dir, suffix=".part")
    os.close(fd)
    try:
        _build(text, voice, speed, lead, trail, Path(partial))
        data = Path(partial).read_bytes()
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return data


def speak_ulaw(text: str, voice: str = "it", speed: int = BASE_SPEED, *,
               lead_seconds: float = 0.2, trail_seconds: float = 0.8,
               cache_dir: Path | str | None = None) -> bytes:
    """`text` spoken by espeak-ng as raw 8 kHz mu-law, padded with a little silence."""
    text = " ".join(text.split())[:MAX_TEXT]
    if not text:
        return b""
    return _speak(text, voice, int(speed), float(lead_seconds), float(trail_seconds),
                  private_cache_dir(cache_dir))


def prompt_ulaw(text: str, language: str | None, rate: str | None = None,
                cache_dir: Path | str | None = None) -> bytes:
    """A flow prompt as stream audio: the language's voice, slower for a prosody rate."""
    return speak_ulaw(text, espeak_voice(language), speed_for_rate(rate),
                      lead_seconds=0.1, trail_seconds=0.2, cache_dir=cache_dir)


def seconds(ulaw: bytes) -> float:
    """Duration of raw 8 kHz mu-law audio."""
    return len(ulaw) / SAMPLE_RATE
