"""Helpers shared by the speech WebSocket tests and bench: a real server and a Twilio-like client.

`serve(app)` runs a Flask app on 127.0.0.1 with a random port (Werkzeug, threaded) in a
background thread; `TwilioStream` speaks the Media Streams protocol over websocket-client
exactly as Twilio does: `connected`, `start`, 20 ms `media` frames, `dtmf`, `stop`, and it
echoes `mark`s back when the "playback" it was sent would have finished.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import websocket
from flask import Flask
from werkzeug.serving import make_server

FRAME = 160  # 20 ms of 8 kHz mu-law


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve `app` on a random local port; yields the ws:// URL of /media-stream."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{server.server_port}/media-stream"
    finally:
        server.shutdown()
        thread.join(timeout=5)


class TwilioStream:
    """One call's media stream, as Twilio would send it."""

    def __init__(self, url: str, *, call_sid: str | None = None,
                 parameters: dict[str, str] | None = None,
                 sockopt: tuple = ()) -> None:
        self.call_sid = call_sid or "CA" + uuid.uuid4().hex
        self.stream_sid = "MZ" + uuid.uuid4().hex
        self.parameters = parameters or {}
        self.received: list[dict] = []
        self.sent_at: list[float] = []  # monotonic time each played frame was sent
        self.closed_at: float | None = None
        self.ws = websocket.create_connection(url, timeout=30, sockopt=sockopt)
        self._chunk = 0

    def send_json(self, data: dict) -> None:
        """Send one JSON text frame."""
        self.ws.send(json.dumps(data))

    def start(self) -> None:
        """Send `connected` and `start` like Twilio does at the beginning of a stream."""
        self.send_json({"event": "connected", "protocol": "Call", "version": "1.0.0"})
        self.send_json({"event": "start", "sequenceNumber": "1", "streamSid": self.stream_sid,
                        "start": {"accountSid": "AC" + "0" * 32, "streamSid": self.stream_sid,
                                  "callSid": self.call_sid, "tracks": ["inbound"],
                                  "customParameters": self.parameters,
                                  "mediaFormat": {"encoding": "audio/x-mulaw",
                                                  "sampleRate": 8000, "channels": 1}}})

    def media(self, payload: bytes) -> None:
        """Send one `media` frame."""
        self._chunk += 1
        self.send_json({"event": "media", "streamSid": self.stream_sid,
                        "media": {"track": "inbound", "chunk": str(self._chunk),
                                  "timestamp": str(self._chunk * 20),
                                  "payload": base64.b64encode(payload).decode("ascii")}})

    def dtmf(self, digit: str) -> None:
        """Send a keypad press."""
        self.send_json({"event": "dtmf", "streamSid": self.stream_sid,
                        "dtmf": {"track": "inbound_track", "digit": digit}})

    def stop(self) -> None:
        """Send `stop` (the caller hung up)."""
        self.send_json({"event": "stop", "streamSid": self.stream_sid,
                        "stop": {"accountSid": "AC" + "0" * 32, "callSid": self.call_sid}})

    def play(self, ulaw: bytes, *, realtime: bool = False, speedup: float = 1.0) -> bool:
        """Stream audio in 20 ms frames; stop early (returning False) if the server closed."""
        start = time.monotonic()
        for index in range(0, len(ulaw), FRAME):
            if self.poll():
                return False
            try:
                self.media(ulaw[index:index + FRAME])
                self.sent_at.append(time.monotonic())
            except (websocket.WebSocketConnectionClosedException, BrokenPipeError,
                    ConnectionResetError):
                self.closed_at = self.closed_at or time.monotonic()
                return False
            if realtime or speedup != 1.0:
                due = start + (index // FRAME + 1) * 0.02 / speedup
                time.sleep(max(0.0, due - time.monotonic()))
        return True

    def poll(self) -> bool:
        """Read whatever the server sent (without waiting); True once it has closed."""
        if self.closed_at is not None:
            return True
        self.ws.settimeout(0.0)
        try:
            while True:
                opcode, data = self.ws.recv_data(control_frame=False)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    self.closed_at = time.monotonic()
                    return True
                self.received.append(json.loads(data))
        except (BlockingIOError, websocket.WebSocketTimeoutException, TimeoutError):
            return False
        except (websocket.WebSocketConnectionClosedException, ConnectionResetError):
            self.closed_at = time.monotonic()
            return True
        finally:
            self.ws.settimeout(30)

    def wait_closed(self, timeout: float = 30.0) -> float:
        """Wait for the server to close the socket; returns the monotonic close time."""
        deadline = time.monotonic() + timeout
        while not self.poll():
            if time.monotonic() > deadline:
                raise TimeoutError("server did not close the stream")
            time.sleep(0.005)
        assert self.closed_at is not None
        self.ws.close()
        return self.closed_at

    def events(self, kind: str) -> list[dict]:
        """Messages of one kind the server sent (media, mark, clear)."""
        return [m for m in self.received if m.get("event") == kind]
