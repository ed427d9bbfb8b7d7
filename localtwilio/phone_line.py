"""One local phone (a browser page) on the line: the caller side of a LocalCall.

`PhoneLine` is an `InteractiveCaller` whose prompts go to the page (text, plus the prompt
spoken by espeak-ng as 8 kHz mu-law) and whose input comes from it: microphone frames
(`LiveAudio`, forwarded into the app's Media Stream as Twilio would), keypad presses
(`Press`: DTMF on a stream, Digits on a Gather), typed words (`SayText`) and hang-up.
Prompts block until the page says they have been played, as a real call takes the time to
say them; microphone audio heard while a prompt plays is dropped (Twilio does not listen
during `<Say>` either). Questions the app plays over the Media Stream (barge-in) are
relayed to the page as `stream_audio` while the microphone keeps streaming.

The page protocol (JSON text frames) is described in localtwilio/phone.py.
"""

from __future__ import annotations

import base64
import binascii
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from localtwilio.audio import AudioError, speak_ulaw, ulaw_seconds
from localtwilio.caller import (
    CallerAction,
    HangUp,
    InteractiveCaller,
    Listening,
    LiveAudio,
    Press,
    SayText,
    Silence,
)
from speech.tts import espeak_voice

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], None]
MIC_GAP_SECONDS = 0.5  # no microphone frame for this long: the line carries silence
GATHER_WAIT_SECONDS = 12.0  # a Gather/Record with no key or words in this time: silence
PROMPT_SLACK_SECONDS = 5.0  # a page that never confirms playback is not waited for forever
_DIGITS = set("0123456789*#")


class PhoneLine(InteractiveCaller):
    """The page's side of a call: prompts out, microphone/keys/words in."""

    def __init__(self, send: Send, *, synthesise: bool = True) -> None:
        super().__init__(self._on_prompt, self._on_input)
        self._send_raw = send
        self._send_lock = threading.Lock()
        self.synthesise = synthesise
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.listening: Listening | None = None
        self.closed = threading.Event()
        self._prompt_id = 0
        self.voice = "it"
        self.call_sid: str | None = None  # the call this page is on, if any

    def reset(self, call_sid: str | None) -> None:
        """A new call starts (or none): forget input left over from the last one."""
        self.call_sid, self.listening = call_sid, None
        while True:
            try:
                self.inbox.get_nowait()
            except queue.Empty:
                return

    # ------------------------------------------------------------ to the page
    def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message to the page (thread-safe); ignored once the page left."""
        if self.closed.is_set():
            return
        with self._send_lock:
            try:
                self._send_raw(message)
            except Exception:  # the socket went away: the call notices at the next input
                log.debug("phone page gone", exc_info=True)
                self.closed.set()

    def _on_prompt(self, text: str, language: str | None) -> None:
        """Show and play one prompt, and wait until the page has played it."""
        self.listening = None
        if text.startswith("[audio "):  # a <Play> URL: shown, not synthesised here
            self.send({"type": "prompt", "text": text, "language": language})
            return
        self.voice = espeak_voice(language)
        audio = b""
        if self.synthesise:
            try:
                audio = speak_ulaw(text, self.voice, trail_seconds=0.3)
            except AudioError as exc:
                log.warning("prompt audio failed: %s", exc)
        self._prompt_id += 1
        self.send({"type": "prompt", "id": self._prompt_id, "text": text,
                   "language": language,
                   "audio": base64.b64encode(audio).decode("ascii") if audio else None})
        if audio:
            self._wait_played(self._prompt_id, ulaw_seconds(audio) + PROMPT_SLACK_SECONDS)

    def _wait_played(self, prompt_id: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.closed.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                message = self.inbox.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            kind = message.get("type")
            if kind == "played" and message.get("id") == prompt_id:
                return
            if kind in {"hangup", "digits", "say"}:  # acted on at the next listening
                self.inbox.put(message)
                return
            # microphone frames during a prompt are not listened to

    def hear_stream(self, kind: str, audio: bytes) -> None:
        """Audio the app plays over a Media Stream (barge-in): played by the page at once.

        Called by the stream client when a chunk starts playing ("media") or the app
        cleared it ("clear"); the microphone stays open meanwhile, so the caller can talk
        over the question as on a real phone.
        """
        if kind == "media" and audio:
            self.send({"type": "stream_audio", "audio": base64.b64encode(audio).decode("ascii")})
        elif kind == "clear":
            self.send({"type": "stream_clear"})

    # ------------------------------------------------------------ from the page
    def _on_input(self, listening: Listening) -> CallerAction:
        """The caller's next action while the app listens (stream, gather or record)."""
        if self.listening != listening:
            self.listening = listening
            self.send({"type": "listening", "kind": listening.kind,
                       "inputs": sorted(listening.inputs), "language": listening.language})
        wait = MIC_GAP_SECONDS if listening.kind == "stream" else GATHER_WAIT_SECONDS
        deadline = time.monotonic() + wait
        while True:
            if self.closed.is_set():
                return HangUp()
            left = deadline - time.monotonic()
            if left <= 0:
                return Silence(0.2) if listening.kind == "stream" else Silence(5.0)
            try:
                message = self.inbox.get(timeout=left)
            except queue.Empty:
                continue
            action = self._action(message, listening)
            if action is not None:
                return action

    def _action(self, message: dict[str, Any], listening: Listening) -> CallerAction | None:
        kind = message.get("type")
        if kind == "hangup":
            return HangUp()
        if kind == "digits":
            digits = "".join(d for d in str(message.get("digits", "")) if d in _DIGITS)[:32]
            return Press(digits) if digits else None
        if kind == "say":
            text = str(message.get("text", "")).strip()[:500]
            return SayText(text, voice=self.voice) if text else None
        if kind == "audio" and listening.kind == "stream":
            try:
                ulaw = base64.b64decode(str(message.get("payload", "")), validate=True)
            except (binascii.Error, ValueError):
                return None
            return LiveAudio(ulaw) if ulaw else None
        return None

    def hang_up(self) -> None:
        """The page hung up (or left): the call ends at its next input."""
        self.inbox.put({"type": "hangup"})

    def close(self) -> None:
        """The page's socket closed."""
        self.hang_up()
        self.closed.set()
