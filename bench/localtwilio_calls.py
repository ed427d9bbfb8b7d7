"""Benchmark the local Twilio stand-in: simulated calls per second, stream pacing.

Run: /work/venv/bin/python -m bench.localtwilio_calls
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Response
from flask_sock import Sock
from twilio.twiml.voice_response import Connect, Gather, VoiceResponse

from localtwilio import (
    FlaskClientTransport,
    LocalCall,
    PlayAudio,
    Press,
    RequestsTransport,
    SayText,
)
from localtwilio.audio import silence_ulaw
from localtwilio.server import serve_in_thread


def _app() -> Flask:
    app = Flask(__name__)
    sock = Sock(app)

    @app.post("/voice")
    def voice() -> Response:
        r = VoiceResponse()
        gather = Gather(input="speech dtmf", action="/answer")
        gather.say("Come posso aiutarla?", language="it-IT")
        r.append(gather)
        return Response(str(r), mimetype="text/xml")

    @app.post("/answer")
    def answer() -> Response:
        r = VoiceResponse()
        r.say("Grazie.")
        r.hangup()
        return Response(str(r), mimetype="text/xml")

    @app.post("/stream")
    def stream() -> Response:
        r = VoiceResponse()
        connect = Connect()
        connect.stream(url=app.config["WS_URL"])
        r.append(connect)
        return Response(str(r), mimetype="text/xml")

    @sock.route("/media")
    def media(ws: Any) -> None:
        while json.loads(ws.receive())["event"] != "dtmf":
            pass

    return app


def _timed(label: str, runs: int, fn: Callable[[], object]) -> dict[str, float]:
    start = time.perf_counter()
    for _ in range(runs):
        fn()
    seconds = time.perf_counter() - start
    print(f"{label}: {runs} runs in {seconds:.2f} s = {runs / seconds:.1f}/s "
          f"({1000 * seconds / runs:.1f} ms each)")
    return {"runs": runs, "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    """Print the figures recorded in docs/benchmarks.md."""
    app = _app()
    base_url, stop = serve_in_thread(app)
    app.config["WS_URL"] = base_url.replace("http", "ws") + "/media"
    in_process = FlaskClientTransport(app.test_client())
    over_http = RequestsTransport()
    path = Path(tempfile.gettempdir()) / "localtwilio-bench.ulaw"
    path.write_bytes(silence_ulaw(2.0))
    try:
        _timed("gather call, Flask test client", 200, lambda: LocalCall(
            in_process, "http://h.test/voice", from_="+393331234567", to="+390212345678"
        ).run([SayText("la bolletta")]))
        _timed("gather call, real HTTP", 200, lambda: LocalCall(
            over_http, base_url + "/voice", from_="+393331234567", to="+390212345678"
        ).run([SayText("la bolletta")]))
        for realtime in (False, True):
            def streamed(realtime: bool = realtime) -> None:
                call = LocalCall(over_http, base_url + "/stream", from_="+393331234567",
                                 to="+390212345678", realtime=realtime)
                call.run([PlayAudio(path), Press("1")])
            _timed(f"stream 2 s of audio, realtime={realtime}", 5 if realtime else 20, streamed)
    finally:
        stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
