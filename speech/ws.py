"""The Media Streams WebSocket endpoint, `/media-stream` (flask-sock).

This is the in-app transport: `./hotline run`, the local phone, and gunicorn when
`MEDIA_SERVER` is off. It costs three threads per open call; production serves the same
endpoint, with the same checks and `StreamSession`, from `speech.media_server` (one event
loop for every socket). The bounds, the refusal log and the partial reporter below are
shared by both.

Started from TwiML `<Connect><Stream url="wss://.../media-stream">` (bidirectional: we can
play a prompt, `clear` it when the caller starts talking, and hear keypad presses) or
`<Start><Stream>` (listen only; send no prompt audio then).

DESIGN DECISION: when the caller has finished (or hung up, or keyed in an answer), the
`Utterance` is handed once to the injected result sink, `app.extensions
["speech.result_sink"]` (the flow engine stores it in the database), and then the server
closes the WebSocket. For `<Connect><Stream>` Twilio then requests the `<Connect
action=...>` URL and the flow engine continues from what it stored, so any web process can
serve the next webhook; nothing about the call lives in this process after the socket
closes. (With `<Start><Stream>` the call is not blocked by the stream; the flow engine must
move the call on itself, e.g. with a REST redirect, when the sink is called.) What to listen
for comes from `app.extensions["speech.listen_plan"]`, called at `start` with the call sid
and the stream's `customParameters`.

Live transcript: if `app.extensions["speech.partial_sink"]` is set, it is called with
(call_sid, words so far) from the worker thread whenever the partial result changes, at
most every PARTIAL_INTERVAL seconds (a change held back is sent with the next event after
the interval). It is for display only (the local phone page); the final text still goes
to the result sink. A failing partial sink is logged and never ends the stream.

Threads: the route's own thread only receives and parses frames and puts events on a
queue; a worker thread per stream runs the recogniser (Vosk decoding blocks for
milliseconds to tens of milliseconds per 100 ms chunk; cffi releases the GIL, so streams
decode in parallel on all cores) and sends replies. The receive loop therefore always
notices `stop`, hang-ups and close frames promptly, whatever the decoder is doing. The
worker calls the sink (inside an app context) and then closes the socket, which ends the
receive loop.

Who may open a stream: the upgrade request is refused (403) unless the injected
`app.extensions["speech.upgrade_check"]` (filled by ivr: Twilio's X-Twilio-Signature on
the wss URL, no foreign Origin) accepts it; without a check every upgrade is refused. A
signed upgrade is not enough (the signature of one URL never changes, so it can be
replayed): at `start` the listen-plan provider raises `StreamRefused` unless the call is
waiting for an answer at that step, and the socket is closed without reporting anything.
Refusals are logged at most once per REFUSAL_LOG_INTERVAL, with a count.

Bounds, so that idle or hostile sockets cannot hold the web process's threads or memory
(under gunicorn gthread each open socket holds one of the worker's threads):
- at most MAX_MESSAGE_BYTES per message (64 KiB; a Twilio media frame is ~300 bytes, its
  start frame well under 16 KiB), larger messages close the socket (1009);
- a ping every STREAM_PING_SECONDS (default 20 s): a peer that has not answered the
  previous ping is disconnected, so a vanished peer is gone within 40 s;
- STREAM_IDLE_SECONDS (default 10 s) without any frame (Twilio sends one every 20 ms),
  or STREAM_MAX_SECONDS (default 120 s) since the socket opened (the longest answer,
  30 s of listening after a question played over the stream, is far shorter; a peer
  trickling one frame every few seconds would otherwise hold its thread for hours), ends
  the stream: the words heard so far are reported with reason "timeout" and the socket is
  closed, so Twilio moves the call on to the <Connect> action.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from flask import Blueprint, Flask, abort, current_app, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed
from werkzeug.wrappers import Request

from core.logs import RateLimitedLog
from speech.media_stream import (
    Event,
    ListenPlan,
    ProtocolError,
    Stop,
    StreamRefused,
    StreamSession,
    parse_event,
)
from speech.recognizer import Utterance

log = logging.getLogger(__name__)

__all__ = ["ListenPlan", "ListenPlanProvider", "PartialSink", "ResultSink", "StreamRefused",
           "UpgradeCheck", "init_app"]

ListenPlanProvider = Callable[[str, dict[str, str]], ListenPlan]      # (call_sid, customParameters)
ResultSink = Callable[[str, dict[str, str], Utterance], None]         # called once per stream
PartialSink = Callable[[str, str], None]                              # (call_sid, words so far)
UpgradeCheck = Callable[[Request], str | None]                        # None = accept, else why not
PARTIAL_INTERVAL = 0.25  # seconds between two partial reports of one stream
MAX_MESSAGE_BYTES = 64 * 1024  # one WebSocket message; larger ones close the socket
PING_SECONDS = 20.0  # default STREAM_PING_SECONDS
IDLE_SECONDS = 10.0  # default STREAM_IDLE_SECONDS
MAX_SECONDS = 120.0  # default STREAM_MAX_SECONDS
POLL_SECONDS = 1.0  # the receive loop looks at the clock and the connection this often
REFUSAL_LOG_INTERVAL = 10.0  # seconds between two "refused" log lines


class RefusalLog:
    """Logs refused streams at most once per `interval`, counting the ones not logged."""

    def __init__(self, interval: float = REFUSAL_LOG_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = RateLimitedLog(log, burst=1, interval=interval, clock=clock,
                                   dropped="({n} more refused since the last report)")

    def refused(self, what: str, reason: str) -> None:
        """One refusal: log it (WARNING) unless one was logged less than `interval` ago."""
        self._log.warning("media stream refused: %s: %s", what, reason)


class PartialReporter:
    """Hands changed partial texts to a PartialSink, at most once per `interval` seconds."""

    def __init__(self, sink: PartialSink | None, interval: float = PARTIAL_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sink, self.interval, self.clock = sink, interval, clock
        self._sent = ""
        self._at = -float("inf")

    def update(self, call_sid: str, text: str) -> None:
        """Report `text` if it is new, not empty, and the last report is old enough."""
        if self.sink is None or not text or text == self._sent:
            return
        now = self.clock()
        if now - self._at < self.interval:
            return
        self._sent, self._at = text, now
        try:
            self.sink(call_sid, text)
        except Exception:
            log.exception("call %s: partial sink failed", call_sid)


def init_app(app: Flask, path: str = "/media-stream") -> None:
    """Register the Media Streams WebSocket route on `app`, with its socket bounds.

    The bounds (message size, ping) are flask-sock's options for every socket of the app,
    which suits the local phone's socket too.
    """
    blueprint = Blueprint("speech_ws", __name__)
    blueprint.before_request(check_upgrade)
    Sock().route(path, bp=blueprint)(media_stream)
    app.register_blueprint(blueprint)
    app.extensions["speech.refusals"] = RefusalLog()
    app.config.setdefault("SOCK_SERVER_OPTIONS", {
        "max_message_size": MAX_MESSAGE_BYTES,
        "ping_interval": float(app.config.get("STREAM_PING_SECONDS") or PING_SECONDS)})


def check_upgrade() -> None:
    """Before the WebSocket handshake: 403 unless the injected upgrade check accepts it."""
    check: UpgradeCheck | None = current_app.extensions.get("speech.upgrade_check")
    reason = "no upgrade check is configured" if check is None else check(request)
    if reason is not None:
        current_app.extensions["speech.refusals"].refused(
            f"upgrade from {request.remote_addr}", reason)
        abort(403)


def media_stream(ws) -> None:
    """WebSocket view: one Twilio media stream, one answer, handed to the result sink."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        plan_provider = app.extensions["speech.listen_plan"]
        sink = app.extensions["speech.result_sink"]
        registry = app.extensions["speech"]
    except KeyError as exc:
        log.error("media stream refused: app.extensions[%s] is not set", exc)
        return
    session = StreamSession(plan_provider, registry)
    partials = PartialReporter(app.extensions.get("speech.partial_sink"))
    inbox: queue.Queue[Event | str | None] = queue.Queue()
    worker = threading.Thread(target=_work, args=(app, ws, session, inbox, sink, partials),
                              name="media-stream", daemon=True)
    worker.start()
    idle = float(app.config.get("STREAM_IDLE_SECONDS") or IDLE_SECONDS)
    deadline = time.monotonic() + float(app.config.get("STREAM_MAX_SECONDS") or MAX_SECONDS)
    last_frame = time.monotonic()
    # A peer sending garbage gets a few lines, then one per 10 s with a count (not 20,000).
    frame_log = RateLimitedLog(log, burst=10, interval=10.0)
    try:
        while True:  # receive() raises ConnectionClosed once closed and drained
            now = time.monotonic()
            if now - last_frame >= idle or now >= deadline:  # Twilio sends 50 frames a second
                why = "open too long" if now >= deadline else f"idle for {idle:.0f} s"
                log.warning("media stream %s: closing it", why)
                inbox.put(IDLE)
                break
            # in slices: simple-websocket can close (a message too big) under a waiting receive
            message = ws.receive(timeout=min(POLL_SECONDS, last_frame + idle - now,
                                             deadline - now))
            if message is None:
                continue
            last_frame = time.monotonic()
            try:
                event = parse_event(message)
            except ProtocolError as exc:
                frame_log.warning("media stream frame ignored: %s", exc)
                continue
            inbox.put(event)
            if isinstance(event, Stop):
                break
    except ConnectionClosed:
        pass
    finally:
        inbox.put(None)
        worker.join()


IDLE = "idle"  # put on a worker's inbox when the socket went quiet


def _work(app: Flask, ws, session: StreamSession, inbox: queue.Queue[Event | str | None],
          sink: ResultSink, partials: PartialReporter) -> None:
    """Worker thread: run the session until it has an answer, report it, close the socket."""
    while not session.done:
        event = inbox.get()
        if event is None:
            session.hangup()
            break
        if isinstance(event, str):
            session.time_out()
            break
        try:
            replies = session.handle(event)
        except Exception:
            log.exception("media stream failed; reporting an error result")
            session.result = session.result or Utterance("", 0.0, [], "error")
            break
        for reply in replies:
            try:
                ws.send(reply)
            except ConnectionClosed:
                break
        if session.start is not None and not session.done:
            partials.update(session.start.call_sid, session.partial_text)
    session.release()
    start, result = session.start, session.result
    if start is not None and session.refused is not None:
        app.extensions["speech.refusals"].refused(f"call {start.call_sid}", session.refused)
    if start is not None and result is not None:
        log.info("call %s: listening ended reason=%s", start.call_sid, result.reason)
        try:
            with app.app_context():
                sink(start.call_sid, start.custom_parameters, result)
        except Exception:
            log.exception("call %s: result sink failed", start.call_sid)
    try:
        ws.close()
    except Exception:  # the peer may already be gone
        log.debug("close after result failed", exc_info=True)
