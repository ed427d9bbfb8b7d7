"""The Media Streams endpoint on an event loop: many calls per thread, Vosk on a small pool.

`speech.ws` serves `/media-stream` inside the Flask app (flask-sock), which costs three
threads per open call: fine for `./hotline run` and the local phone, not for a machine
that takes hundreds of calls. This module serves the same endpoint, with the same checks
and the same `StreamSession`, from one asyncio thread (the `websockets` package):

- the loop only receives, validates (`parse_event`, every field as before) and queues
  frames; consecutive audio of one call is merged into one buffer, so Vosk is fed ~100 ms
  chunks (or more, when the pool is busy) instead of 20 ms frames, and the mu-law decode
  runs once per batch (`speech.audio`'s NumPy table);
- decoding, the listen-plan lookup (database) and the result sink run on a pool of
  `MEDIA_WORKERS` threads (default: the number of cores; cffi releases the GIL in Vosk).
  A call has at most one job in the pool at a time and the pool is first-come first-served,
  so a call that floods frames gets its turn like the others and never more;
- a call whose audio is more than MAX_BACKLOG_SECONDS behind stops being read (TCP pushes
  back on the sender), so memory per socket stays bounded whatever the peer sends;
- a silent open socket costs a coroutine, a few buffers and one timer check per second.

The result sink and the upgrade check are the app's own (`app.extensions`, as filled by
ivr), so a webhook process and this one agree on what a stream may do; the database stays
the seam between the socket and the next webhook. Production runs this as its own process
(`python -m speech.media_server`), next to gunicorn serving the webhooks: webhooks never
wait behind media sockets, and only this process loads the Vosk models (see README).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from flask import Flask
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State
from werkzeug.test import EnvironBuilder

from core.logs import RateLimitedLog
from speech import ws
from speech.media_stream import (
    Event,
    Media,
    ProtocolError,
    Start,
    Stop,
    StreamSession,
    parse_event,
)
from speech.recognizer import Utterance

log = logging.getLogger(__name__)

PATH = "/media-stream"
BATCH_BYTES = 800              # 100 ms of 8 kHz mu-law: the chunk Vosk is fed
MAX_BACKLOG_SECONDS = 5.0      # audio queued for the pool beyond this pauses reading
SEND_TIMEOUT = 5.0             # a peer that does not take our replies this long is dropped
CLOSE_TIMEOUT = 2.0            # the closing handshake waits at most this long
FRAME_RATE = 1000.0            # frames a second one socket may send (Twilio: 50)
FRAME_BURST = 2000.0           # ... with this many at once before it is slowed down
INBOUND = frozenset({"inbound", "inbound_track"})
_TIMEOUT = "timeout"           # queued when the socket went quiet or stayed open too long
_CLOSED = "closed"             # queued when the socket closed


@dataclass
class _Call:
    """One socket's state on the loop: events waiting for the pool, in arrival order."""

    session: StreamSession
    partials: ws.PartialReporter
    items: deque[Event | bytearray | str] = field(default_factory=deque)
    backlog: int = 0           # bytes of audio queued
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    room: asyncio.Event = field(default_factory=asyncio.Event)
    last_frame: float = 0.0
    tokens: float = FRAME_BURST
    tokens_at: float = 0.0
    throttled: bool = False
    start_queued: bool = False
    warned: bool = False       # "audio before start" was logged
    # malformed frames: a short burst of lines, then one line every 10 s with a count
    frame_log: RateLimitedLog = field(
        default_factory=lambda: RateLimitedLog(log, burst=10, interval=10.0))

    def put(self, item: Event | bytearray | str) -> None:
        self.items.append(item)
        self.wake.set()

    def put_audio(self, payload: bytes) -> None:
        tail = self.items[-1] if self.items else None
        if isinstance(tail, bytearray):
            tail += payload
        else:
            self.items.append(bytearray(payload))
        self.backlog += len(payload)
        if self.backlog >= BATCH_BYTES:
            self.wake.set()

    def take(self) -> Event | bytearray | str | None:
        """The next item the pool may work on, or None to wait for more audio."""
        if not self.items:
            return None
        head = self.items[0]
        if isinstance(head, bytearray) and len(self.items) == 1 and len(head) < BATCH_BYTES:
            return None  # wait for a whole chunk unless something follows it
        self.items.popleft()
        if isinstance(head, bytearray):
            self.backlog -= len(head)
        return head


class MediaServer:
    """Serves `/media-stream` for `app` (its extensions: speech, listen plan, sink, check)."""

    def __init__(self, app: Flask, *, workers: int | None = None,
                 send_timeout: float = SEND_TIMEOUT) -> None:
        self.app = app
        self.send_timeout = send_timeout
        self.config = app.config
        self.pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2,
                                       thread_name_prefix="media")
        self.refusals: ws.RefusalLog = app.extensions.setdefault("speech.refusals",
                                                                  ws.RefusalLog())
        self.idle = float(self.config.get("STREAM_IDLE_SECONDS") or ws.IDLE_SECONDS)
        self.max_seconds = float(self.config.get("STREAM_MAX_SECONDS") or ws.MAX_SECONDS)
        self.ping = float(self.config.get("STREAM_PING_SECONDS") or ws.PING_SECONDS)
        self.open_calls = 0

    # ------------------------------------------------------------------ serving
    def serve(self, host: str, port: int) -> Any:
        """The `websockets` server (an async context manager) with the socket bounds."""
        return serve(self._handle, host, port, process_request=self._check_upgrade,
                     max_size=ws.MAX_MESSAGE_BYTES, max_queue=16,
                     ping_interval=self.ping, ping_timeout=self.ping,
                     close_timeout=CLOSE_TIMEOUT, compression=None)

    async def run(self, host: str, port: int, ready: Callable[[Server], None] | None = None,
                  stop: asyncio.Future | None = None) -> None:
        """Serve until `stop` is done (forever without one)."""
        async with self.serve(host, port) as server:
            if ready is not None:
                ready(server)
            await (stop if stop is not None else asyncio.get_running_loop().create_future())
        self.pool.shutdown(wait=False)

    def _check_upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        """Before the handshake: 404 for other paths, 403 unless the app's check accepts."""
        path, _, query = request.path.partition("?")
        if path != PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        check: ws.UpgradeCheck | None = self.app.extensions.get("speech.upgrade_check")
        address = connection.remote_address[0] if connection.remote_address else "?"
        if check is None:
            reason: str | None = "no upgrade check is configured"
        else:  # the app's check reads a werkzeug request, as under Flask
            builder = EnvironBuilder(path=path, query_string=query,
                                     headers=list(request.headers.raw_items()),
                                     environ_base={"REMOTE_ADDR": address})
            try:
                reason = check(builder.get_request())
            finally:
                builder.close()
        if reason is not None:
            self.refusals.refused(f"upgrade from {address}", reason)
            return connection.respond(HTTPStatus.FORBIDDEN, "forbidden\n")
        return None

    # ------------------------------------------------------------------ one socket
    async def _handle(self, socket: ServerConnection) -> None:
        try:
            plans = self.app.extensions["speech.listen_plan"]
            sink = self.app.extensions["speech.result_sink"]
            registry = self.app.extensions["speech"]
        except KeyError as exc:
            log.error("media stream refused: app.extensions[%s] is not set", exc)
            return
        loop = asyncio.get_running_loop()
        call = _Call(StreamSession(plans, registry),
                     ws.PartialReporter(self.app.extensions.get("speech.partial_sink")),
                     last_frame=loop.time(), tokens_at=loop.time())
        call.room.set()
        self.open_calls += 1
        worker = asyncio.create_task(self._work(socket, call, sink))
        watchdog = asyncio.create_task(self._watch(socket, call,
                                                   loop.time() + self.max_seconds))
        try:
            await self._receive(socket, call)
        finally:
            watchdog.cancel()
            call.put(_CLOSED)
            await worker
            self.open_calls -= 1

    async def _receive(self, socket: ServerConnection, call: _Call) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for message in socket:
                now = call.last_frame = loop.time()
                call.tokens = min(FRAME_BURST, call.tokens + (now - call.tokens_at) * FRAME_RATE)
                call.tokens_at = now
                call.tokens -= 1
                if call.tokens < 0:  # far faster than any phone: slow this socket down
                    if not call.throttled:
                        call.throttled = True
                        log.warning("media stream sends over %d frames a second: slowing "
                                    "it down", FRAME_RATE)
                    await asyncio.sleep(-call.tokens / FRAME_RATE)
                try:
                    event = parse_event(message)
                except ProtocolError as exc:
                    call.frame_log.warning("media stream frame ignored: %s", exc)
                    continue
                if type(event) is Media:  # 50 a second: the shortest path
                    if not call.start_queued:
                        if not call.warned:  # one line per socket, not one per frame
                            call.warned = True
                            log.warning("media stream: audio before start ignored")
                        continue
                    start = call.session.start
                    if start is not None and event.stream_sid in ("", start.stream_sid):
                        if event.track not in INBOUND:
                            continue  # our own prompt echoed back: nothing to recognise
                        call.put_audio(event.payload)
                        if call.backlog > MAX_BACKLOG_SECONDS * 8000:
                            call.room.clear()
                            await call.room.wait()
                        if call.session.done:
                            break
                        continue
                elif type(event) is Start:
                    call.start_queued = True
                call.put(event)  # start, marks, keys, stop; audio of another stream too
                if type(event) is Stop or call.session.done:
                    break
        except ConnectionClosed as exc:
            if exc.rcvd is not None and exc.rcvd.code == 1009 or \
                    exc.sent is not None and exc.sent.code == 1009:
                log.warning("media stream closed: a message over %d bytes",
                            ws.MAX_MESSAGE_BYTES)

    async def _watch(self, socket: ServerConnection, call: _Call, deadline: float) -> None:
        """Ends a stream that went quiet (idle), stayed open too long (trickling), or is
        closing while its peer does not finish the closing handshake."""
        loop = asyncio.get_running_loop()
        while True:
            now = loop.time()
            if socket.state is not State.OPEN:
                call.put(_CLOSED)
                return
            waiting = not call.room.is_set()  # we paused reading it: not the peer's fault
            if now >= deadline or (now - call.last_frame >= self.idle and not waiting):
                why = "open too long" if now >= deadline else f"idle for {self.idle:.0f} s"
                log.warning("media stream %s: closing it", why)
                call.put(_TIMEOUT)
                return
            await asyncio.sleep(min(ws.POLL_SECONDS, deadline - now,
                                    max(0.01, call.last_frame + self.idle - now)))

    async def _work(self, socket: ServerConnection, call: _Call, sink: ws.ResultSink) -> None:
        """The call's jobs, one at a time on the pool; then the report and the close."""
        loop = asyncio.get_running_loop()
        session = call.session
        while not session.done:
            item = call.take()
            if item is None:
                call.wake.clear()
                await call.wake.wait()
                continue
            if isinstance(item, str):  # _CLOSED or _TIMEOUT
                # audio already queued still counts: a hang-up mid-phrase keeps its words
                rest = b"".join(bytes(i) for i in call.items if isinstance(i, bytearray))
                call.items.clear()
                await loop.run_in_executor(self.pool, self._end, session, rest,
                                           item == _TIMEOUT)
                break
            replies = await loop.run_in_executor(self.pool, self._step, call, item)
            if not call.room.is_set() and call.backlog <= MAX_BACKLOG_SECONDS * 8000 / 2:
                call.room.set()
            for reply in replies:
                try:
                    await asyncio.wait_for(socket.send(reply), self.send_timeout)
                except ConnectionClosed:
                    break
                except TimeoutError:
                    log.warning("media stream: the peer has not taken our replies for %.0f s; "
                                "dropping it", self.send_timeout)
                    socket.transport.abort()
                    break
        call.room.set()
        await loop.run_in_executor(self.pool, self._report, session, sink)
        await socket.close()

    # ------------------------------------------------------------------ in the pool
    def _step(self, call: _Call, item: Event | bytearray | str) -> list[str]:
        session = call.session
        try:
            if isinstance(item, bytearray):
                replies = session.handle(Media("inbound", bytes(item)))
            else:
                assert not isinstance(item, str)
                with self.app.app_context():  # the plan provider may use the database
                    replies = session.handle(item)
        except Exception:
            log.exception("media stream failed; reporting an error result")
            session.result = session.result or Utterance("", 0.0, [], "error")
            return []
        if session.start is not None and not session.done:
            call.partials.update(session.start.call_sid, session.partial_text)
        return replies

    @staticmethod
    def _end(session: StreamSession, rest: bytes, timed_out: bool) -> None:
        try:
            if rest and session.start is not None and not session.done:
                session.handle(Media("inbound", rest))
        except Exception:
            log.exception("media stream failed; reporting an error result")
            session.result = session.result or Utterance("", 0.0, [], "error")
        if timed_out:
            session.time_out()
        else:
            session.hangup()

    def _report(self, session: StreamSession, sink: ws.ResultSink) -> None:
        # the decoders are freed here, in the pool: freeing two grammar recognisers takes
        # milliseconds, which on the loop every other call's frames would wait for
        session.release()
        start, result = session.start, session.result
        if start is not None and session.refused is not None:
            self.refusals.refused(f"call {start.call_sid}", session.refused)
        if start is not None and result is not None:
            log.info("call %s: listening ended reason=%s", start.call_sid, result.reason)
            try:
                with self.app.app_context():
                    sink(start.call_sid, start.custom_parameters, result)
            except Exception:
                log.exception("call %s: result sink failed", start.call_sid)


@contextmanager
def serve_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 0,
                    **options: Any) -> Iterator[str]:
    """Run a MediaServer for `app` (with `options`) in a background thread; yields its
    ws:// URL."""
    server = MediaServer(app, **options)
    loop = asyncio.new_event_loop()
    stop: asyncio.Future = loop.create_future()
    ports: list[int] = []
    started = threading.Event()

    def ready(running: Server) -> None:
        ports.append(next(iter(running.sockets)).getsockname()[1])
        started.set()

    def main() -> None:
        try:
            loop.run_until_complete(server.run(host, port, ready, stop))
        finally:
            started.set()
            loop.close()

    thread = threading.Thread(target=main, name="media-server", daemon=True)
    thread.start()
    started.wait(30)
    if not ports:
        raise RuntimeError("the media server did not start")
    try:
        yield f"ws://{host}:{ports[0]}{PATH}"
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(timeout=10)


def main(argv: list[str] | None = None) -> int:
    """`python -m speech.media_server`: serve /media-stream for the hotline's app."""
    parser = argparse.ArgumentParser(prog="python -m speech.media_server")
    parser.add_argument("--host", default=os.environ.get("MEDIA_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MEDIA_PORT", "5001")))
    parser.add_argument("--workers", type=int, default=None,
                        help="recognition threads (default: the number of cores)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from app import create_app

    # no in-process job worker and no background model training here: this process only
    # listens; the web and RQ processes do the rest
    app = create_app({"START_IN_PROCESS_WORKER": False, "UNDERSTANDING_WARM_UP": False})
    registry = app.extensions["speech"]
    started = time.monotonic()
    for lang in registry.languages:  # before the first call, not during it
        registry.available(lang)
    log.info("media server: models %s loaded in %.1f s; listening on ws://%s:%d%s",
             ",".join(registry.languages), time.monotonic() - started, args.host, args.port,
             PATH)
    asyncio.run(MediaServer(app, workers=args.workers).run(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
