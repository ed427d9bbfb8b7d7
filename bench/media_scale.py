"""The media path at scale, against Vosk alone measured in the same run.

    python -m bench.media_scale --calls 20,45           # live calls at real-time pace
    python -m bench.media_scale --server flask --calls 20
    python -m bench.media_scale --idle 500 --calls 10   # 500 silent sockets held meanwhile
    python -m bench.media_scale --idle 500 --hold 120   # only hold them (run bench.webhooks)

First, in this process, Vosk alone: the recognisers one call runs (the grammar pass and
the garbage-path pass of `speech.hearing`, over the shared Korean model) fed the same
clips, each cut 0.4 s after its voice ends (where a turn ends), in 100 ms chunks, no
server: CPU seconds per audio second (`vosk_rtf`). Then the server (`--server asyncio`:
`speech.media_server`; `flask`: the Flask route of `speech.ws`) runs in a child process
with a trivial plan (default ListenSettings, the test grammar), and client threads here
play Twilio: each call streams an espeak-ng phrase in 20 ms frames
at real-time pace, calls start spread over one second. Server CPU is read from
/proc/<pid>/stat, so the load generator's own CPU does not count. Reported per run:

- cpu_rtf and ratio: server CPU seconds per second of audio it decoded (each result's
  audio clock: a call ends soon after the voice, and frames the client sends meanwhile are
  dropped), and that over vosk_rtf;
- correct: transcripts equal to the phrase spoken;
- end_p50/p95_ms: from the frame where the caller's voice ended to the socket closing (the
  whole wait: VAD, the grammar's end rule, decoding, the sink), i.e. what a caller waits;
- lag_p95_ms: how late the client's frames went out against real time (a client that
  cannot keep pace would make the server look better than it is);
- idle: sockets that stayed open (started, one silent frame every 5 s) during the run,
  and the server's RSS with them; load: /proc/loadavg at the start and the end.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.speech_streams import proc
from speech import audio as speech_audio
from tests.audio import noise_ulaw, telephone_ulaw
from tests.speech_streams import FRAME, TwilioStream

PHRASES = ["네", "아니요", "상담원 연결", "환불"]
GRAMMAR = ["네", "아니요", "상담원 연결", "바로 연결해 주세요", "환불"]


def _server(kind: str, port_queue: mp.Queue, results: mp.Queue, stop: Any) -> None:
    """Child process: the real endpoint with a trivial plan and a sink that reports back."""
    import logging

    from flask import Flask

    from speech.media_stream import ListenPlan
    from speech.models import ModelRegistry, discover_packages
    from speech.recognizer import ListenSettings

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    registry = ModelRegistry(discover_packages())
    registry.get("ko")
    plan = ListenPlan("ko", GRAMMAR, ListenSettings())
    app = Flask("bench")
    app.config.update(STREAM_IDLE_SECONDS=30.0, STREAM_MAX_SECONDS=600.0)
    app.extensions.update({"speech": registry, "speech.listen_plan": lambda sid, p: plan,
                           "speech.result_sink": lambda sid, p, u: results.put(
                               (sid, u.text, u.duration_seconds)),
                           # recognition only: the upgrade's signature check is ivr's
                           "speech.upgrade_check": lambda request: None})
    if kind == "asyncio":
        from speech.media_server import serve_in_thread

        with serve_in_thread(app) as url:
            port_queue.put(int(url.split(":")[2].split("/")[0]))
            stop.wait()
        return
    from werkzeug.serving import make_server

    from speech import ws

    ws.init_app(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port_queue.put(server.server_port)
    stop.wait()
    server.shutdown()



def loadavg() -> str:
    """The 1-minute load average now."""
    return Path("/proc/loadavg").read_text().split()[0]


def speech_end(ulaw: bytes) -> float:
    """Seconds into the audio where the last clearly voiced frame ends."""
    last = 0
    for index in range(0, len(ulaw), FRAME):
        if speech_audio.rms_dbfs(speech_audio.ulaw_to_pcm16(ulaw[index:index + FRAME])) > -35:
            last = index + FRAME
    return last / 8000


def vosk_alone(clips: list[bytes], rounds: int = 3) -> float:
    """CPU seconds per audio second of one call's recognisers fed 100 ms chunks directly."""
    import vosk

    from speech import hearing
    from speech.grammar import grammar_json, grammar_phrases
    from speech.models import ModelRegistry, discover_packages

    model = ModelRegistry(discover_packages()).get("ko")
    usable = grammar_phrases(model, GRAMMAR)
    with_garbage, _ = hearing.garbage_grammar(usable, hearing.garbage_syllables(model))
    pcm = [speech_audio.ulaw_to_pcm16(c) for c in clips]
    seconds = sum(len(c) for c in clips) / 8000 * rounds
    started = time.process_time()
    for _ in range(rounds):
        for data in pcm:
            main = vosk.KaldiRecognizer(model, 8000, grammar_json(usable))
            main.SetWords(True)
            main.SetMaxAlternatives(3)
            garbage = vosk.KaldiRecognizer(model, 8000, grammar_json(with_garbage))
            garbage.SetWords(True)
            for index in range(0, len(data), 1600):
                garbage.AcceptWaveform(data[index:index + 1600])
                if not main.AcceptWaveform(data[index:index + 1600]):
                    main.PartialResult()  # the server reads the main pass's partial words
            main.FinalResult()
            garbage.FinalResult()
    return (time.process_time() - started) / seconds


def hold_idle(url: str, count: int, stop: threading.Event) -> list[TwilioStream]:
    """Open `count` started sockets that send one silent frame every 5 s until `stop`."""
    streams = []
    for _ in range(count):
        stream = TwilioStream(url)
        stream.start()
        streams.append(stream)
    silence = noise_ulaw(0.02, noise=0.0)

    def keep() -> None:
        while not stop.wait(5.0):
            for stream in streams:
                try:
                    stream.media(silence)
                except Exception:
                    pass

    threading.Thread(target=keep, daemon=True).start()
    return streams


def run(url: str, pid: int, results: mp.Queue, calls: int,
        vosk_rtf: float) -> dict[str, Any]:
    """Play `calls` calls at once; return the figures of the module doc."""
    clips = {p: telephone_ulaw(p, trail_seconds=2.5) for p in PHRASES}
    ends = {p: speech_end(c) for p, c in clips.items()}
    load0 = loadavg()
    rss0, cpu0 = proc(pid)
    outcome: list[tuple[str, str, float, float]] = []
    lock = threading.Lock()

    def call(index: int) -> None:
        phrase = PHRASES[index % len(PHRASES)]
        time.sleep(index / calls)
        stream = TwilioStream(url)
        stream.start()
        begun = time.monotonic()
        stream.play(clips[phrase], realtime=True)
        closed = stream.wait_closed(timeout=60)
        frame = min(len(stream.sent_at) - 1, int(ends[phrase] / 0.02))
        lag = max(at - (begun + (i + 1) * 0.02) for i, at in enumerate(stream.sent_at))
        with lock:
            outcome.append((stream.call_sid, phrase, closed - stream.sent_at[frame], lag))

    threads = [threading.Thread(target=call, args=(i,)) for i in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rss1, cpu1 = proc(pid)
    delays = sorted(d for _, _, d, _ in outcome)
    lags = sorted(lag for _, _, _, lag in outcome)
    wanted = {sid for sid, _, _, _ in outcome}
    reported: list[tuple[str, str, float]] = []
    while len(reported) < len(wanted):  # idle sockets the server closed report here too
        item = results.get(timeout=30)
        if item[0] in wanted:
            reported.append(item)
    heard = {sid: text for sid, text, _ in reported}
    # the audio the server decoded: up to the end of each turn (the audio clock of the
    # result), not the trailing silence the client went on sending until the socket closed
    audio_seconds = sum(seconds for _, _, seconds in reported)

    def p95(values: list[float]) -> int:
        return round(values[min(len(values) - 1, int(0.95 * len(values)))] * 1000)

    return {"calls": calls, "correct": sum(heard.get(sid) == p for sid, p, _, _ in outcome),
            "cpu_rtf": round((cpu1 - cpu0) / audio_seconds, 4),
            "ratio": round((cpu1 - cpu0) / audio_seconds / vosk_rtf, 2),
            "end_p50_ms": round(statistics.median(delays) * 1000), "end_p95_ms": p95(delays),
            "lag_p95_ms": p95(lags), "rss_mb": round(rss1), "load": f"{load0}->{loadavg()}"}


def main(argv: list[str] | None = None) -> int:
    """Measure Vosk alone, start the server process, run the requested call counts."""
    parser = argparse.ArgumentParser(prog="python -m bench.media_scale")
    parser.add_argument("--server", choices=("asyncio", "flask"), default="asyncio")
    parser.add_argument("--calls", default="20", help="comma-separated live call counts")
    parser.add_argument("--idle", type=int, default=0, help="silent sockets held meanwhile")
    parser.add_argument("--hold", type=float, default=0.0,
                        help="with --idle: hold them this many seconds (then the calls)")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.calls.split(",") if n.strip() and int(n) > 0]
    clips = [telephone_ulaw(p, trail_seconds=2.5) for p in PHRASES]
    # the audio a server decodes: each clip up to where its turn ends (~0.3-0.5 s after the
    # voice); the trailing silence is cheaper to decode and would flatter Vosk alone
    alone = vosk_alone([c[:int((speech_end(c) + 0.4) * 8000)] for c in clips])
    print({"vosk_rtf": round(alone, 4), "load": loadavg()}, flush=True)
    context = mp.get_context("fork")
    ports, results, stop = context.Queue(), context.Queue(), context.Event()
    server = context.Process(target=_server, args=(args.server, ports, results, stop),
                             daemon=True)
    server.start()
    url = f"ws://127.0.0.1:{ports.get(timeout=120)}/media-stream"
    pid = server.pid or 0
    holding = threading.Event()
    try:
        if args.idle:
            rss0 = proc(pid)[0]
            hold_idle(url, args.idle, holding)
            time.sleep(2.0)
            rss1 = proc(pid)[0]
            print({"idle_sockets": args.idle, "rss_mb": round(rss1),
                   "rss_per_socket_kb": round((rss1 - rss0) * 1024 / args.idle, 1),
                   "load": loadavg()}, flush=True)
            if args.hold:
                cpu0 = proc(pid)[1]
                time.sleep(args.hold)
                print({"idle_cpu_per_s": round((proc(pid)[1] - cpu0) / args.hold, 4),
                       "load": loadavg()}, flush=True)
        for count in counts:
            print({"server": args.server, "idle": args.idle,
                   **run(url, pid, results, count, alone)}, flush=True)
    finally:
        holding.set()
        stop.set()
        server.join(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
