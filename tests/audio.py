"""Telephone-quality test audio made with espeak-ng and sox.

Speech tests need audio that sounds like a phone call: 8 kHz mu-law, band-limited to
300-3400 Hz, with a little background noise and some silence around the words.
`telephone_ulaw` synthesises a phrase with espeak-ng and runs it through sox; results are
cached under the system temp directory (keyed by every parameter) so repeated test runs
do not pay for synthesis again. sox runs in repeatable mode (`-R`), so the same request
always gives the same bytes.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from pathlib import Path

FRAME_BYTES = 160  # 20 ms of 8 kHz mu-law, the size Twilio sends
CACHE_DIR = Path(tempfile.gettempdir()) / "speech-test-audio"


def _cached(key: str, build) -> bytes:
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".ulaw")
    if not path.exists():
        tmp = path.with_suffix(".part")
        build(tmp)
        tmp.replace(path)
    return path.read_bytes()


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def telephone_ulaw(
    text: str,
    *,
    voice: str = "ko",
    speed: int = 140,
    lead_seconds: float = 0.4,
    trail_seconds: float = 2.0,
    noise: float = 0.004,
    pitch: int | None = None,
) -> bytes:
    """Return `text` spoken by espeak-ng as raw 8 kHz mu-law telephone audio.

    `voice` may carry an espeak-ng variant ("ko+f2"); `pitch` is espeak-ng's 0-99 (None:
    the voice's own, 50).
    """
    key = f"speech|{text}|{voice}|{speed}|{lead_seconds}|{trail_seconds}|{noise}"
    if pitch is not None:
        key += f"|p{pitch}"
    voicing = ["-p", str(pitch)] if pitch is not None else []

    def build(out: Path) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp, "espeak.wav")
            band = Path(tmp, "band.wav")
            hiss = Path(tmp, "noise.wav")
            _run("espeak-ng", "-v", voice, "-s", str(speed), *voicing, "-w", str(raw), text)
            _run("sox", "-R", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(band),
                 "sinc", "300-3400", "pad", str(lead_seconds), str(trail_seconds))
            seconds = subprocess.run(["soxi", "-D", str(band)], check=True,
                                     capture_output=True, text=True).stdout.strip()
            _run("sox", "-R", "-n", "-r", "8000", "-c", "1", "-b", "16", str(hiss),
                 "synth", seconds, "whitenoise", "vol", str(noise))
            _run("sox", "-R", "-m", str(band), str(hiss), "-t", "raw", "-r", "8000",
                 "-e", "mu-law", "-c", "1", str(out))

    return _cached(key, build)


def noise_ulaw(seconds: float, *, noise: float = 0.004) -> bytes:
    """Return `seconds` of line noise only (a caller who never speaks), as 8 kHz mu-law;
    nothing for 0 (sox's `synth 0` would never end)."""
    if seconds <= 0:
        return b""
    key = f"noise|{seconds}|{noise}"

    def build(out: Path) -> None:
        _run("sox", "-R", "-n", "-t", "raw", "-r", "8000", "-e", "mu-law", "-c", "1",
             str(out), "synth", str(seconds), "whitenoise", "vol", str(noise))

    return _cached(key, build)


def frames(ulaw: bytes, size: int = FRAME_BYTES) -> list[bytes]:
    """Split mu-law audio into Twilio-sized frames (20 ms by default)."""
    return [ulaw[i:i + size] for i in range(0, len(ulaw), size)]
