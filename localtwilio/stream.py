"""The Twilio side of a Media Stream: a WebSocket client speaking Twilio's message protocol.

Sends `connected`, `start`, `media` (base64 mu-law, 20 ms frames), `dtmf`, `mark` echoes
and `stop`, as described in Twilio's "Media Streams - WebSocket Messages"; receives the
server's `media`, `mark` and `clear` messages on a reader thread.

Outbound audio is played as Twilio plays it: queued in order, each `media` message taking
its own duration, and a `mark` is echoed only when the audio queued before it has finished
playing (at once if nothing is queued). `clear` drops the audio not yet played and echoes
the marks still pending, as Twilio does. Playback time is the stream's clock: wall time
for a real-time stream, otherwise the amount of caller audio sent so far (so a test that
streams faster than real time still has the caller talk "during" a prompt).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

import websocket

from localtwilio.audio import FRAME_BYTES, frames, silence_ulaw
from localtwilio.signing import SIGNATURE_HEADER, USER_AGENT, Signer
from localtwilio.twiml import Stream

log = logging.getLogger(__name__)
FRAME_SECONDS = FRAME_BYTES / 8000
SAMPLE_RATE = 8000
PLAYBACK_TICK = 0.02  # a real-time stream advances playback this often
Listener = Callable[[str, bytes], None]  # ("media", audio) when it starts playing, ("clear", b"")


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
        self.audio_from_server = bytearray()  # every outbound audio byte received
        self.audio_played = bytearray()  # what the caller has heard (played before any clear)
        self.echoed_marks: list[str] = []
        self.mark_times: dict[str, float] = {}  # mark name -> stream time it was echoed
        self.clear_times: list[float] = []  # stream times of `clear` messages
        self.listener: Listener | None = None
        self._queue: deque[tuple[str, Any]] = deque()  # ("media", bytes) | ("mark", name)
        self._head_started: float | None = None  # stream time the head of the queue began
        self._head_done = 0  # bytes of the head media already played
        self._play_lock = threading.Lock()
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
        """Connect (signed like Twilio's handshake), then send `connected` and `start`.

        Twilio signs the upgrade request as it signs a GET webhook: X-Twilio-Signature of
        the stream's wss:// URL with no parameters. It opens the socket from its servers,
        so the request carries no browser Origin header.
        """
        header = [f"{SIGNATURE_HEADER}: {self.signer.signature(self.stream.url, {})}",
                  f"User-Agent: {USER_AGENT}"] if self.signer else []
        self._ws = websocket.create_connection(self.stream.url, timeout=self.timeout,
                                               header=header, suppress_origin=True)
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
        if self.realtime:
            threading.Thread(target=self._play_loop, name=f"play-{self.stream_sid}",
                             daemon=True).start()

    def send_raw(self, text: str) -> None:
        """Send one text frame exactly as given (tests of a server's defences)."""
        with self._lock:
            if self._ws is None or self.closed.is_set():
                return
            try:
                self._ws.send(text)
            except (websocket.WebSocketException, OSError):
                self.closed.set()

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
            self._advance()
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
            payload = base64.b64decode(message.get("media", {}).get("payload", ""))
            self.audio_from_server.extend(payload)
            self._enqueue("media", payload)
        elif event == "mark":
            self._enqueue("mark", str(message.get("mark", {}).get("name", "")))
        elif event == "clear":
            self._clear()

    # ------------------------------------------------------------ playback
    @property
    def clock(self) -> float:
        """Stream time in seconds: wall time if real-time, else caller audio sent so far."""
        if self.realtime:
            return time.monotonic() - self._started_at
        return self._chunk * FRAME_SECONDS

    @property
    def playing(self) -> bool:
        """True while outbound audio is queued and not yet played."""
        with self._play_lock:
            return any(kind == "media" for kind, _ in self._queue)

    def _enqueue(self, kind: str, item: Any) -> None:
        self._advance()  # audio that finished before this message arrived is done
        with self._play_lock:
            if not self._queue:
                self._head_started, self._head_done = self.clock, 0
            self._queue.append((kind, item))
        self._advance()

    def _advance(self) -> None:
        """Play queued audio up to the stream clock; echo marks whose audio has played."""
        echoes: list[str] = []
        started: list[bytes] = []
        with self._play_lock:
            now = self.clock
            while self._queue and self._head_started is not None:
                kind, item = self._queue[0]
                if kind == "mark":
                    self._queue.popleft()
                    echoes.append(item)
                    self.mark_times[item] = now
                    continue
                due = min(len(item), int((now - self._head_started) * SAMPLE_RATE))
                if due > self._head_done:
                    if self._head_done == 0:
                        started.append(item)
                    self.audio_played.extend(item[self._head_done:due])
                    self._head_done = due
                if due < len(item):
                    break
                self._queue.popleft()
                self._head_started += len(item) / SAMPLE_RATE
                self._head_done = 0
        if self.listener is not None:
            for audio in started:
                self.listener("media", audio)
        for name in echoes:
            self.echoed_marks.append(name)
            self._send("mark", {"mark": {"name": name}})

    def _clear(self) -> None:
        """`clear`: drop the audio not yet played; pending marks are echoed at once."""
        self._advance()
        with self._play_lock:
            self.clear_times.append(self.clock)
            pending = [item for kind, item in self._queue if kind == "mark"]
            self._queue.clear()
            self._head_started, self._head_done = None, 0
            for name in pending:
                self.mark_times[name] = self.clock
        if self.listener is not None:
            self.listener("clear", b"")
        for name in pending:
            self.echoed_marks.append(name)
            self._send("mark", {"mark": {"name": name}})

    def _play_loop(self) -> None:
        while not self.closed.wait(PLAYBACK_TICK):
            self._advance()
