"""Simultaneous live calls through /media-stream at real-time pace (grammar mode, Korean).

    python -m bench.speech_streams --streams 20
    python -m bench.speech_streams --sweep 10,20,30,40

The server runs in its own process (Werkzeug, threaded, the real endpoint and the real
Vosk model), so the client threads that play Twilio's part do not share its GIL. Each
call streams an espeak-ng phrase in 20 ms frames at real-time pace; calls start spread
over one second. Reported per run:

- correct: calls whose transcript equals the phrase spoken;
- cpu_rtf: server CPU seconds / audio seconds, per stream (the cost of one call);
- delay p50/p95: from the moment the client sent the frame where the caller's trailing
  silence reached the configured end-of-speech silence (speech end + end_silence_seconds)
  to the socket closing, i.e.
  the time the server adds on top of the wait we ask for (negative when Vosk's endpoint
  and a stable partial ended the answer before the energy check's full silence);
  raw_p95 is the same from the end of speech itself (includes the 1.0 s wait);
- rss_per_call: (server peak RSS - RSS with the model loaded and idle) / streams.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from speech import audio as speech_audio
from tests.audio import telephone_ulaw
from tests.speech_streams import FRAME, TwilioStream

PHRASES = ["네", "아니요", "상담원 연결", "환불"]
GRAMMAR = ["네", "아니요", "상담원 연결", "바로 연결해 주세요", "환불"]
END_SILENCE = 1.0


def _server(port_queue: mp.Queue, results: mp.Queue, stop: Any) -> None:
    """Child process: the real endpoint with a trivial plan and a no-op sink."""
    import logging

    from flask import Flask
    from werkzeug.serving import make_server

    from speech import ws
    from speech.media_stream import ListenPlan
    from speech.models import ModelRegistry, discover_packages
    from speech.recognizer import ListenSettings

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    registry = ModelRegistry(discover_packages())
    registry.get("ko")
    plan = ListenPlan("ko", GRAMMAR, ListenSettings(end_silence_seconds=END_SILENCE))
    app = Flask("bench")
    app.extensions.update({"speech": registry, "speech.listen_plan": lambda sid, p: plan,
                           "speech.result_sink": lambda sid, p, u: results.put((sid, u.text)),
                           # recognition only: the upgrade's signature check is ivr's
                           "speech.upgrade_check": lambda request: None})
    ws.init_app(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port_queue.put(server.server_port)
    stop.wait()
    server.shutdown()


def proc(pid: int) -> tuple[float, float]:
    """(RSS in MB, CPU seconds) of a process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return rss / 1024, ticks / 100


def _speech_end(ulaw: bytes) -> float:
    """Seconds into the audio where the last clearly voiced frame ends."""
    last = 0
    for index in range(0, len(ulaw), FRAME):
        if speech_audio.rms_dbfs(speech_audio.ulaw_to_pcm16(ulaw[index:index + FRAME])) > -35:
            last = index + FRAME
    return last / 8000


def run(url: str, pid: int, results: mp.Queue, streams: int) -> dict[str, float]:
    """Play `streams` calls at once; return the figures described in the module doc."""
    clips = {p: telephone_ulaw(p, trail_seconds=2.5) for p in PHRASES}
    ends = {p: _speech_end(c) for p, c in clips.items()}
    rss0, cpu0 = proc(pid)
    outcome: list[tuple[str, str, float]] = []
    peak = [rss0]
    lock = threading.Lock()

    def call(index: int) -> None:
        phrase = PHRASES[index % len(PHRASES)]
        time.sleep(index / streams)
        stream = TwilioStream(url)
        stream.start()
        stream.play(clips[phrase], realtime=True)
        closed = stream.wait_closed()
        frame = min(len(stream.sent_at) - 1, int((ends[phrase] + END_SILENCE) / 0.02))
        with lock:
            outcome.append((stream.call_sid, phrase, closed - stream.sent_at[frame]))

    def sample() -> None:
        while len(outcome) < streams:
            peak[0] = max(peak[0], proc(pid)[0])
            time.sleep(0.05)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(streams)]
    sampler = threading.Thread(target=sample)
    for thread in threads:
        thread.start()
    sampler.start()
    for thread in threads:
        thread.join()
    sampler.join()
    _, cpu1 = proc(pid)
    audio_seconds = sum(len(clips[PHRASES[i % len(PHRASES)]]) / 8000 for i in range(streams))
    delays = sorted(d for _, _, d in outcome)
    heard = dict(results.get(timeout=10) for _ in outcome)
    return {
        "streams": streams,
        "correct": sum(heard.get(sid) == phrase for sid, phrase, _ in outcome),
        "cpu_rtf": round((cpu1 - cpu0) / audio_seconds, 4),
        "delay_p50_ms": round(statistics.median(delays) * 1000),
        "delay_p95_ms": round(delays[min(len(delays) - 1, int(0.95 * len(delays)))] * 1000),
        "raw_p95_ms": round((delays[min(len(delays) - 1, int(0.95 * len(delays)))]
                             + END_SILENCE) * 1000),
        "rss_per_call_mb": round((peak[0] - rss0) / streams, 2),
        "rss_idle_mb": round(rss0),
    }


def main(argv: list[str] | None = None) -> int:
    """Start the server process, run the requested stream counts, print one line each."""
    parser = argparse.ArgumentParser(prog="python -m bench.speech_streams")
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--sweep", help="comma-separated stream counts, e.g. 10,20,40")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.sweep.split(",")] if args.sweep else [args.streams]
    context = mp.get_context("fork")
    ports, results, stop = context.Queue(), context.Queue(), context.Event()
    server = context.Process(target=_server, args=(ports, results, stop), daemon=True)
    server.start()
    url = f"ws://127.0.0.1:{ports.get(timeout=120)}/media-stream"
    try:
        for count in counts:
            print(run(url, server.pid or 0, results, count), flush=True)
    finally:
        stop.set()
        server.join(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
