"""The Twilio side of a Media Stream: a WebSocket client speaking Twilio's message protocol.

Sends `connected`, `start`, `media` (base64 mu-law, 20 ms frames), `dtmf`, `mark` echoes
and `stop`, as described in Twilio's "Media Streams - WebSocket Messages"; receives the
server's `media`, `mark` and `clear` messages on a reader thread.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from typing import Any

import websocket

from localtwilio.audio import FRAME_BYTES, frames, silence_ulaw
from localtwilio.signing import SIGNATURE_HEADER, Signer
from localtwilio.twiml import Stream

log = logging.getLogger(__name__)
FRAME_SECONDS = FRAME_BYTES / 8000


def _tracks(track: str) -> list[str]:
    return {"outbound_track": ["outbound"], "both_tracks": ["inbound", "outbound"]}.get(
        track, ["inbound"])


class MediaStreamClient:
    """One Media Stream for one call; `realtime` paces media at 20 ms per frame."""

    def __init__(self, stream: Stream, *, account_sid: str, call_sid: str,
                 signer: Signer | None = None, realtime: bool = False,
                 timeout: float = 10.0) -> None:
        self.stream = stream
        self.account_sid, self.call_sid = account_sid, call_sid
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.signer, self.realtime, self.timeout = signer, realtime, timeout
        self.received: list[dict[str, Any]] = []  # server messages, media payloads included
        self.audio_from_server = bytearray()
        self.echoed_marks: list[str] = []
        self.closed = threading.Event()
        self._ws: websocket.WebSocket | None = None
        self._lock = threading.Lock()
        self._sequence = 0
        self._chunk = 0
        self._started_at = 0.0

    # ------------------------------------------------------------ sending
    def _send(self, event: str, body: dict[str, Any] | None = None,
              numbered: bool = True) -> None:
        with self._lock:
            message: dict[str, Any] = {"event": event}
            if numbered:
                self._sequence += 1
                message["sequenceNumber"] = str(self._sequence)
                message["streamSid"] = self.stream_sid
            message.update(body or {})
            if self._ws is None or self.closed.is_set():
                return
            try:
                self._ws.send(json.dumps(message))
            except (websocket.WebSocketException, OSError):
                self.closed.set()

    def open(self) -> None:
        """Connect (signed like Twilio's handshake), then send `connected` and `start`."""
        header = [f"{SIGNATURE_HEADER}: {self.signer.signature(self.stream.url, {})}"] \
            if self.signer else []
        self._ws = websocket.create_connection(self.stream.url, timeout=self.timeout,
                                               header=header)
        self._started_at = time.monotonic()
        self._send("connected", {"protocol": "Call", "version": "1.0.0"}, numbered=False)
        self._send("start", {"start": {
            "accountSid": self.account_sid, "streamSid": self.stream_sid,
            "callSid": self.call_sid, "tracks": _tracks(self.stream.track),
            "customParameters": dict(self.stream.parameters),
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
        }})
        threading.Thread(target=self._read, name=f"stream-{self.stream_sid}",
                         daemon=True).start()

    def send_audio(self, ulaw: bytes) -> None:
        """Send caller audio as media frames; stops early if the server closes."""
        for frame in frames(ulaw):
            if self.closed.is_set():
                return
            self._chunk += 1
            self._send("media", {"media": {
                "track": "inbound", "chunk": str(self._chunk),
                "timestamp": str((self._chunk - 1) * 20),
                "payload": base64.b64encode(frame).decode("ascii")}})
            if self.realtime:
                delay = self._started_at + self._chunk * FRAME_SECONDS - time.monotonic()
                if delay > 0:
                    time.sleep(delay)

    def send_silence(self, seconds: float) -> None:
        """Send `seconds` of silent frames (a caller saying nothing)."""
        self.send_audio(silence_ulaw(seconds))

    def send_dtmf(self, digits: str) -> None:
        """One `dtmf` message per key pressed."""
        for digit in digits:
            self._send("dtmf", {"dtmf": {"track": "inbound_track", "digit": digit}})

    def wait_closed(self, seconds: float, keep_sending_silence: bool = True) -> bool:
        """Wait up to `seconds` for the server to close, sending silence meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.closed.is_set() and time.monotonic() < deadline:
            if keep_sending_silence:
                self.send_silence(0.2)
                if not self.realtime:
                    self.closed.wait(0.01)
            else:
                self.closed.wait(0.05)
        return self.closed.is_set()

    def hang_up(self) -> None:
        """The caller hung up: send `stop` and close the socket."""
        self._send("stop", {"stop": {"accountSid": self.account_sid, "callSid": self.call_sid}})
        self.close()

    def close(self) -> None:
        """Close the socket without a `stop` message."""
        ws, self._ws = self._ws, None
        self.closed.set()
        if ws is not None:
            try:
                ws.close()
            except (websocket.WebSocketException, OSError):
                pass

    # ------------------------------------------------------------ receiving
    def _read(self) -> None:
        ws = self._ws
        while ws is not None and not self.closed.is_set():
            try:
                raw = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except (websocket.WebSocketException, OSError, ValueError):
                break
            if not raw:
                break
            try:
                message = json.loads(raw)
            except ValueError:
                log.warning("stream %s: server sent non-JSON", self.stream_sid)
                continue
            self._handle(message)
        self.closed.set()

    def _handle(self, message: dict[str, Any]) -> None:
        self.received.append(message)
        event = message.get("event")
        if event == "media":
            payload = message.get("media", {}).get("payload", "")
            self.audio_from_server.extend(base64.b64decode(payload))
        elif event == "mark":
            name = str(message.get("mark", {}).get("name", ""))
            self.echoed_marks.append(name)  # audio is "played" at once in this stand-in
            self._send("mark", {"mark": {"name": name}})
        elif event == "clear":
            self.audio_from_server.clear()
