"""The media path at scale, against Vosk alone measured in the same run.

    python -m bench.media_scale --calls 20,45           # live calls at real-time pace
    python -m bench.media_scale --calls 20,45 --server-cpus 0 --client-cpus 1
    python -m bench.media_scale --session-alone         # the session without its socket
    python -m bench.media_scale --server flask --calls 20
    python -m bench.media_scale --idle 500 --calls 10   # 500 silent sockets held meanwhile
    python -m bench.media_scale --idle 500 --hold 120   # only hold them (run bench.webhooks)

The server (`--server asyncio`: `speech.media_server`; `flask`: the Flask route of
`speech.ws`) runs in a child process with a trivial plan (default ListenSettings, the test
grammar), and client threads here play Twilio: each call streams an espeak-ng phrase in
20 ms frames at real-time pace, calls start spread over one second. Server CPU is read
from /proc/<pid>/stat, so the load generator's own CPU does not count; `--server-cpus`
and `--client-cpus` pin the two processes (e.g. the server to core 0, the calls to core 1).

Vosk alone: the recognisers one call runs (the grammar pass with partial results and the
garbage-path pass of `speech.hearing`, over the shared Korean model, as the server does)
fed the same clips, each cut 0.4 s after its voice ends (where a turn ends), in 100 ms
chunks, no server: CPU seconds per audio second. It is measured just before and just
after each count of calls, on the server's CPUs, in one thread (`vosk_rtf`, the mean;
`vosk_rtf_before_after` shows how much the machine's load moved it) and in as many
threads as the server decodes at once (`vosk_rtf_N_threads`: two decoders on two cores
cost more per audio second than one, which the server's pool pays too). Reported per run:

- cpu_rtf and ratio: server CPU seconds per second of audio it decoded (each result's
  audio clock: a call ends soon after the voice, and frames the client sends meanwhile are
  dropped), and that over vosk_rtf (ratio_N_threads: over vosk_rtf_N_threads;
  ratio_reused: over `vosk_rtf_reused`, Vosk alone keeping its two recognisers from clip to
  clip as `speech.recognizer_pool` does, the cheapest way to use Vosk here);
- fresh: `--fresh-recognisers`, the server makes new recognisers for every answer;
- loop_rtf: the part of cpu_rtf spent on the event loop's thread (sockets, frame parsing;
  asyncio server only); the rest is the pool (Vosk and the turn logic);
- sent_per_decoded: audio the clients sent before their sockets closed over audio the
  server decoded. Above 1 the server fell behind and parsed frames it never decoded
  (after the turn's end), which loop_rtf pays for;
- correct: transcripts equal to the phrase spoken;
- end_p50/p95_ms: from the frame where the caller's voice ended to the socket closing (the
  whole wait: VAD, the grammar's end rule, decoding, the sink), i.e. what a caller waits;
- lag_p95_ms: how late the client's frames went out against real time (a client that
  cannot keep pace would make the server look better than it is);
- lead: seconds of line noise (-53 dBFS) each call sent before its answer (`--lead`; 0:
  the answer at once), the silence of a prompt playing and a caller thinking. Vosk alone
  is fed it too, every frame, as a server that decodes all it receives (vosk-server)
  does; `speech.recognizer` skips silence, so with a lead the ratio shows that saving;
- turns: answers in all (`--turns K`: each call answers K questions, one stream each, back
  to back; with `--spread S` the calls start over S seconds instead of one, so that, as on
  a real line, callers are not all speaking at the same moment);
- idle: sockets that stayed open (started, one silent frame every 5 s) during the run,
  and the server's RSS with them; load: /proc/loadavg at the start and the end.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.speech_streams import proc
from speech import audio as speech_audio
from speech.media_stream import Media
from tests.audio import noise_ulaw, telephone_ulaw
from tests.speech_streams import FRAME, TwilioStream

PHRASES = ["네", "아니요", "상담원 연결", "환불"]
GRAMMAR = ["네", "아니요", "상담원 연결", "바로 연결해 주세요", "환불"]


def _server(kind: str, port_queue: mp.Queue, results: mp.Queue, stop: Any,
            cpus: set[int] | None = None, workers: int | None = None,
            decode_all: bool = False, fresh: bool = False) -> None:
    """Child process: the real endpoint with a trivial plan and a sink that reports back.
    Puts (port, the loop thread's native id or 0) on `port_queue`."""
    import logging
    import os

    if cpus:
        os.sched_setaffinity(0, cpus)

    from flask import Flask

    from speech.media_stream import ListenPlan
    from speech.models import ModelRegistry, discover_packages
    from speech.recognizer import ListenSettings

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    registry = ModelRegistry(discover_packages(), reuse_recognizers=not fresh)
    registry.get("ko")
    plan = ListenPlan("ko", GRAMMAR, ListenSettings(skip_silence=not decode_all))
    app = Flask("bench")
    app.config.update(STREAM_IDLE_SECONDS=30.0, STREAM_MAX_SECONDS=600.0)
    app.extensions.update({"speech": registry, "speech.listen_plan": lambda sid, p: plan,
                           "speech.result_sink": lambda sid, p, u: results.put(
                               (sid, u.text, u.duration_seconds)),
                           # recognition only: the upgrade's signature check is ivr's
                           "speech.upgrade_check": lambda request: None})
    if kind == "asyncio":
        from speech.media_server import serve_in_thread

        with serve_in_thread(app, workers=workers) as url:
            loop_thread = next(t for t in threading.enumerate() if t.name == "media-server")
            port_queue.put((int(url.split(":")[2].split("/")[0]), loop_thread.native_id))
            stop.wait()
        return
    from werkzeug.serving import make_server

    from speech import ws

    ws.init_app(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port_queue.put((server.server_port, 0))
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


def thread_cpu(pid: int, tid: int) -> float:
    """CPU seconds of one thread of a process, from /proc."""
    fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def vosk_alone(model: Any, clips: list[bytes], rounds: int = 3, threads: int = 1,
               on: set[int] | None = None, reuse: bool = False) -> float:
    """CPU seconds per audio second of one call's recognisers fed 100 ms chunks directly;
    with `threads` > 1, that many threads decode at once (as the server's pool does), each
    all the clips `rounds` times; `on`: the CPUs to run on (the server's); `reuse`: each
    thread keeps its two recognisers from clip to clip (finalised in between), as
    `speech.recognizer_pool` does, instead of new ones per clip."""
    import vosk

    from speech import hearing
    from speech.grammar import grammar_json, grammar_phrases

    usable = grammar_phrases(model, GRAMMAR)
    with_garbage, _ = hearing.garbage_grammar(usable, hearing.garbage_syllables(model))
    pcm = [speech_audio.ulaw_to_pcm16(c) for c in clips]
    seconds = sum(len(c) for c in clips) / 8000 * rounds * threads

    def decode() -> None:
        kept: list[Any] = []
        for _ in range(rounds):
            for data in pcm:
                if not kept or not reuse:
                    kept = [vosk.KaldiRecognizer(model, 8000, grammar_json(usable)),
                            vosk.KaldiRecognizer(model, 8000, grammar_json(with_garbage))]
                main, garbage = kept
                main.SetWords(True)
                main.SetMaxAlternatives(3)
                garbage.SetWords(True)
                for index in range(0, len(data), 1600):
                    garbage.AcceptWaveform(data[index:index + 1600])
                    if not main.AcceptWaveform(data[index:index + 1600]):
                        main.PartialResult()  # the server reads the main pass's partials
                main.FinalResult()
                garbage.FinalResult()

    mine = os.sched_getaffinity(0)
    if on:
        os.sched_setaffinity(0, on)
    try:
        started = time.process_time()
        workers = [threading.Thread(target=decode) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        return (time.process_time() - started) / seconds
    finally:
        os.sched_setaffinity(0, mine)


def session_alone(registry: Any, clips: list[bytes], rounds: int = 3) -> float:
    """CPU seconds per decoded audio second of the server's own work on a call without its
    socket: a `StreamSession` (both recognisers, the VAD, the turn rule) fed whole clips in
    100 ms media events in one thread, until its turn ends."""
    from speech.media_stream import ListenPlan, Start, StreamSession
    from speech.recognizer import ListenSettings

    plan = ListenPlan("ko", GRAMMAR, ListenSettings())
    start = Start("MZ" + "0" * 32, "CA" + "0" * 32, ["inbound"], {}, "audio/x-mulaw", 8000)
    seconds = 0.0
    started = time.process_time()
    for _ in range(rounds):
        for clip in clips:
            session = StreamSession(lambda sid, parameters: plan, registry)
            session.handle(start)
            for index in range(0, len(clip), 800):
                session.handle(Media("inbound", clip[index:index + 800]))
                if session.done:
                    break
            session.hangup()
            assert session.result is not None
            seconds += session.result.duration_seconds
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


def call_clips(lead: float) -> dict[str, bytes]:
    """What each call sends: `lead` s of line noise (the prompt playing, the caller
    thinking), the phrase, 2.5 s of line noise."""
    return {p: noise_ulaw(lead) + telephone_ulaw(p, trail_seconds=2.5) for p in PHRASES}


def run(url: str, pid: int, loop_tid: int, results: mp.Queue,
        calls: int, lead: float = 0.0, turns: int = 1, spread: float = 1.0) -> dict[str, Any]:
    """Play `calls` calls at once; return the server's side of the figures of the module
    doc (the ratios to Vosk alone are the caller's)."""
    clips = call_clips(lead)
    ends = {p: speech_end(c) for p, c in clips.items()}
    load0 = loadavg()
    rss0, cpu0 = proc(pid)
    loop0 = thread_cpu(pid, loop_tid) if loop_tid else 0.0
    outcome: list[tuple[str, str, float, float]] = []
    sent = [0]  # frames the clients sent before the server closed their sockets
    lock = threading.Lock()

    def call(index: int) -> None:
        time.sleep(index / calls * spread)
        for turn in range(turns):  # one stream per question, as the flow opens them
            phrase = PHRASES[(index + turn) % len(PHRASES)]
            stream = TwilioStream(url)
            stream.start()
            begun = time.monotonic()
            stream.play(clips[phrase], realtime=True)
            closed = stream.wait_closed(timeout=60)
            frame = min(len(stream.sent_at) - 1, int(ends[phrase] / 0.02))
            lag = max(at - (begun + (i + 1) * 0.02) for i, at in enumerate(stream.sent_at))
            with lock:
                outcome.append((stream.call_sid, phrase, closed - stream.sent_at[frame], lag))
                sent[0] += len(stream.sent_at)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rss1, cpu1 = proc(pid)
    loop1 = thread_cpu(pid, loop_tid) if loop_tid else 0.0
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

    return {"calls": calls, "turns": len(outcome),
            "correct": sum(heard.get(sid) == p for sid, p, _, _ in outcome),
            "cpu_rtf": round((cpu1 - cpu0) / audio_seconds, 4),
            "loop_rtf": round((loop1 - loop0) / audio_seconds, 4) if loop_tid else None,
            "sent_per_decoded": round(sent[0] * 0.02 / audio_seconds, 2),
            "end_p50_ms": round(statistics.median(delays) * 1000), "end_p95_ms": p95(delays),
            "lag_p95_ms": p95(lags), "rss_mb": round(rss1), "load": f"{load0}->{loadavg()}"}


def cpus(text: str) -> set[int] | None:
    """'1' or '0,1' -> a CPU set for sched_setaffinity; '' -> None (no pinning)."""
    return {int(n) for n in text.split(",") if n.strip()} or None


def main(argv: list[str] | None = None) -> int:
    """Measure Vosk alone, start the server process, run the requested call counts."""
    parser = argparse.ArgumentParser(prog="python -m bench.media_scale")
    parser.add_argument("--server", choices=("asyncio", "flask"), default="asyncio")
    parser.add_argument("--calls", default="20", help="comma-separated live call counts")
    parser.add_argument("--idle", type=int, default=0, help="silent sockets held meanwhile")
    parser.add_argument("--hold", type=float, default=0.0,
                        help="with --idle: hold them this many seconds (then the calls)")
    parser.add_argument("--lead", type=float, default=0.0,
                        help="seconds of line noise before each call's answer (the prompt)")
    parser.add_argument("--turns", type=int, default=1,
                        help="answers per call, one stream each, back to back")
    parser.add_argument("--spread", type=float, default=1.0,
                        help="seconds over which the calls start")
    parser.add_argument("--session-alone", action="store_true",
                        help="only compare a StreamSession without socket to Vosk alone")
    parser.add_argument("--server-cpus", type=cpus, default=None,
                        help="pin the server process to these CPUs (e.g. 0,1)")
    parser.add_argument("--decode-all", action="store_true",
                        help="the server decodes every second (no silence skipped)")
    parser.add_argument("--fresh-recognisers", action="store_true",
                        help="the server makes new recognisers for every answer (no pool)")
    parser.add_argument("--server-workers", type=int, default=None,
                        help="the event-loop server's decoding threads (default: its cores)")
    parser.add_argument("--client-cpus", type=cpus, default=None,
                        help="pin this process (the calls and Vosk alone) to these CPUs")
    args = parser.parse_args(argv)
    # decoding threads the server runs at once: its pool (one per core) on its CPUs
    pool = min(os.cpu_count() or 2, len(args.server_cpus or os.sched_getaffinity(0)))
    if args.client_cpus:
        os.sched_setaffinity(0, args.client_cpus)
    counts = [int(n) for n in args.calls.split(",") if n.strip() and int(n) > 0]
    clips = list(call_clips(args.lead).values())
    # the audio a server decodes: each clip up to where its turn ends (~0.3-0.5 s after the
    # voice); the trailing silence is cheaper to decode and would flatter Vosk alone
    heard = [c[:int((speech_end(c) + 0.4) * 8000)] for c in clips]
    if args.session_alone:  # the pool's share of the overhead, without sockets or a loop
        from speech.models import ModelRegistry, discover_packages

        registry = ModelRegistry(discover_packages())
        for _ in range(3):
            first = vosk_alone(registry.get("ko"), heard)
            session = session_alone(registry, clips)
            last = vosk_alone(registry.get("ko"), heard)
            print({"vosk_rtf_before_after": (round(first, 4), round(last, 4)),
                   "session_rtf": round(session, 4),
                   "ratio": round(session / ((first + last) / 2), 3), "load": loadavg()},
                  flush=True)
        return 0
    context = mp.get_context("fork")
    ports, results, stop = context.Queue(), context.Queue(), context.Event()
    server = context.Process(target=_server,
                             args=(args.server, ports, results, stop, args.server_cpus,
                                   args.server_workers, args.decode_all,
                                   args.fresh_recognisers),
                             daemon=True)
    server.start()
    port, loop_tid = ports.get(timeout=120)
    url = f"ws://127.0.0.1:{port}/media-stream"
    pid = server.pid or 0
    from speech.models import ModelRegistry, discover_packages

    # loaded after the fork: the server's RSS must not include this process's copy
    model = ModelRegistry(discover_packages()).get("ko")
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
            # Vosk alone just before and just after the calls, so a change of load on this
            # shared machine shows as a gap between the two rather than as a false ratio;
            # in one thread and in as many threads as the server's pool (2 decoding threads
            # on 2 cores cost more CPU per audio second than one: shared caches, SMT)
            server_cpus = args.server_cpus or os.sched_getaffinity(pid)
            before = (vosk_alone(model, heard, on=server_cpus),
                      vosk_alone(model, heard, threads=pool, on=server_cpus),
                      vosk_alone(model, heard, on=server_cpus, reuse=True))
            served = run(url, pid, loop_tid, results, count, args.lead, args.turns,
                         args.spread)
            after = (vosk_alone(model, heard, on=server_cpus),
                     vosk_alone(model, heard, threads=pool, on=server_cpus),
                     vosk_alone(model, heard, on=server_cpus, reuse=True))
            alone = (before[0] + after[0]) / 2
            alone_pool = (before[1] + after[1]) / 2
            alone_reused = (before[2] + after[2]) / 2
            print({"server": args.server, "idle": args.idle, "lead": args.lead,
                   "decode_all": args.decode_all, "fresh": args.fresh_recognisers, **served,
                   "vosk_rtf": round(alone, 4),
                   "vosk_rtf_before_after": (round(before[0], 4), round(after[0], 4)),
                   "ratio": round(served["cpu_rtf"] / alone, 2),
                   f"vosk_rtf_{pool}_threads": round(alone_pool, 4),
                   f"ratio_{pool}_threads": round(served["cpu_rtf"] / alone_pool, 2),
                   "vosk_rtf_reused": round(alone_reused, 4),
                   "ratio_reused": round(served["cpu_rtf"] / alone_reused, 2)},
                  flush=True)
    finally:
        holding.set()
        stop.set()
        server.join(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
