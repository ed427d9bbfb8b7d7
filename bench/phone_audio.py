"""Phone-audio calls through the live socket: what the hotline does with what it heard.

    python -m bench.phone_audio                      # the dev set (tune on this one only)
    python -m bench.phone_audio --set ko_heldout     # the held-out set (run once)
    python -m bench.phone_audio --cpu                # CPU cost of the recogniser's passes

Each call of a set (tests/data/audio/<set>.yaml: needs said in natural Korean, asking for
a person, saying they are not online, yes/no, silence, line noise, everyday talk that fits
no intent) is synthesised by espeak-ng with its own voice, speed, pitch and line noise,
made into 8 kHz mu-law telephone audio (tests/audio.py), and played by the local Twilio
stand-in to the real app: signed webhooks, `<Connect><Stream>` to the real
`/media-stream`, the real Korean Vosk model, the flow engine and the database, on the
Korean flow tests/data/flows/ko_flow.yaml. Yes/no answers are given at `offer_callback`
(the caller presses 1 at the first question to get there).

What counts is the engine's decision at the step the sentence was said at:

- right: the intent accepted is the one meant; a person reached when asked for; the
  caller flagged as not digital when they said so; yes/no taken as said; nothing acted on
  for silence, noise and everyday talk;
- asked: the caller is asked to confirm (the intent said back) or asked again (reprompt);
  a caller who said they are not online and was passed to a person also counts here;
- misroute: the engine ACTED ON A WRONG ANSWER WITHOUT CONFIRMATION (a wrong intent
  accepted, a yes/no taken the wrong way, a person or an intent "heard" in silence or
  chatter). Target: at most 1 in 20 calls.

Latency (with `--realtime`, the default): `lag` is how far the result came after the audio
clock said the answer was complete (the recogniser's own delay), `after_speech` is from the
end of the caller's speech to the result (includes the end-of-speech silence we wait for).
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
KO_FLOW = DATA / "flows" / "ko_flow.yaml"
HOTLINE, CALLER = "+820000000000", "+821012345678"
TOKEN = "bench-token"
ASK_STEP, YES_NO_STEP = "ask_need", "offer_callback"
NOTHING = "nothing"


@dataclass(frozen=True)
class Case:
    """One call of a set: what is said, how it sounds, and what should happen."""

    index: int
    category: str
    expect: str          # an intent, "human", "not_digital", "yes", "no" or "nothing"
    text: str            # "" for silence and noise
    seconds: float       # length of silence / noise
    voice: str
    speed: int
    pitch: int
    noise: float

    @property
    def step(self) -> str:
        """The step the caller answers."""
        return YES_NO_STEP if self.category in ("yes", "no") else ASK_STEP


@dataclass
class Outcome:
    """What the engine did with one call."""

    case: Case
    verdict: str = "error"   # right | asked | misroute | error
    decision: str | None = None
    intent: str | None = None
    words: str | None = None
    asr_confidence: float | None = None
    heard: dict[str, Any] = field(default_factory=dict)
    lag: float | None = None
    after_speech: float | None = None


def load_cases(name: str) -> list[Case]:
    """Expand a set file into calls, drawing voice/speed/pitch/noise from its spread."""
    doc = yaml.safe_load((DATA / "audio" / f"{name}.yaml").read_text(encoding="utf-8"))
    spread, rng = doc["spread"], random.Random(int(doc["seed"]))
    rows: list[tuple[str, str, str, float]] = []
    calls = doc["calls"]
    for intent, texts in calls["need"].items():
        rows += [("need", intent, t, 0.0) for t in texts]
    expects = {"agent": "human", "not_online": "not_digital", "yes": "yes", "no": "no",
               "out_of_grammar": NOTHING}
    for category, expect in expects.items():
        rows += [(category, expect, t, 0.0) for t in calls.get(category, [])]
    for category in ("silence", "noise"):
        rows += [(category, NOTHING, "", float(s)) for s in calls.get(category, [])]
    cases = []
    for index, (category, expect, text, seconds) in enumerate(rows):
        low, high = spread["noise"]
        cases.append(Case(index, category, expect, text, seconds,
                          voice=rng.choice(spread["voices"]),
                          speed=rng.randint(*spread["speed"]),
                          pitch=rng.randint(*spread["pitch"]),
                          noise=round(rng.uniform(low, high), 4)))
    return cases


def case_audio(case: Case) -> bytes:
    """The caller's side of the call as 8 kHz mu-law."""
    from tests.audio import noise_ulaw, telephone_ulaw

    if case.category == "silence":
        return noise_ulaw(case.seconds, noise=0.0005)
    if case.category == "noise":
        return noise_ulaw(case.seconds, noise=max(case.noise, 0.01))
    return telephone_ulaw(case.text, voice=case.voice, speed=case.speed, pitch=case.pitch,
                          noise=case.noise, lead_seconds=0.4, trail_seconds=2.0)


def judge(case: Case, decision: str | None, intent: str | None, not_digital: bool) -> str:
    """right | asked | misroute, from the engine's decision at the case's step."""
    if decision is None:
        return "error"
    if decision in ("reprompt", "confirm", "gave_up"):
        if case.expect == "not_digital" and not_digital:
            return "right"
        if case.expect == NOTHING and decision != "confirm":
            return "right"
        return "asked"
    if case.category in ("yes", "no"):
        if decision in ("yes", "no"):
            return "right" if decision == case.expect else "misroute"
        return "misroute" if decision == "human" else "asked"
    if decision == "human":
        if case.expect == "human":
            return "right"
        return "asked" if case.expect == "not_digital" else "misroute"
    if decision == "accept":
        if case.expect == "not_digital":
            return "misroute"
        return "right" if intent == case.expect else "misroute"
    return "asked"


class Hotline:
    """The app on a throw-away SQLite database, served on a local port."""

    def __init__(self, workdir: Path, checks: str = "garbage",
                 tuning: dict[str, Any] | None = None) -> None:
        from app import create_app
        from core.cli import upgrade_database
        from ivr.flow_store import import_file
        from localtwilio.server import serve_in_thread

        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        upgrade_database(url)
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        self.app = create_app({
            "DATABASE_URL": url, "REDIS_URL": "", "SECRET_KEY": "bench",
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_CALLER_ID": "+820200000000",
            "LOCAL_TELEPHONY": False, "SEED_DEMO": False, "VOSK_MODEL_PATHS": {},
            "SPEECH_INPUT": "stream", "CALLBACKS_RECONCILE_SECONDS": 0,
            "UNDERSTANDING_WAIT_FOR_MODELS": True})
        with self.app.extensions["db"].transaction() as session:
            import_file(session, KO_FLOW)
        self.app.extensions["speech"].get("ko")  # load the model before the first call
        self.checks = {"garbage_check": checks in ("garbage", "both"),
                       "free_form_check": checks in ("free", "both"), **(tuning or {})}
        self.started: dict[tuple[str, str, str], float] = {}  # (call, step, attempt)
        self.finished: dict[tuple[str, str, str], tuple[float, Any]] = {}
        self._wrap()
        self.base, self._stop = serve_in_thread(self.app, port=port)

    def _wrap(self) -> None:
        """Note when each stream starts and when its result reaches the engine."""
        plans: Callable[..., Any] = self.app.extensions["speech.listen_plan"]
        sink: Callable[..., Any] = self.app.extensions["speech.result_sink"]

        def plan(call_sid: str, parameters: dict[str, str]) -> Any:
            self.started[_stream_key(call_sid, parameters)] = time.monotonic()
            chosen = plans(call_sid, parameters)
            return replace(chosen, settings=replace(chosen.settings, **self.checks))

        def result(call_sid: str, parameters: dict[str, str], utterance: Any) -> None:
            self.finished[_stream_key(call_sid, parameters)] = (time.monotonic(), utterance)
            sink(call_sid, parameters, utterance)

        self.app.extensions["speech.listen_plan"] = plan
        self.app.extensions["speech.result_sink"] = result

    def call(self, case: Case, clip: Path, realtime: bool) -> Outcome:
        """Place one call and read back what the engine decided at the case's step."""
        from sqlalchemy import select

        from ivr.models import Call
        from localtwilio import LocalCall, PlayAudio, Press, RequestsTransport, Signer, Silence

        script: list[Any] = [PlayAudio(clip)]
        if case.step == YES_NO_STEP:  # billing by keypad, wait for the next question
            script[:0] = [Press("1"), Silence(10)]
        call = LocalCall(RequestsTransport(), f"{self.base}/voice/incoming", from_=CALLER,
                         to=HOTLINE, signer=Signer(TOKEN), realtime=realtime,
                         stream_idle_timeout=12.0, status_callback=f"{self.base}/voice/status")
        transcript = call.run(script)
        outcome = Outcome(case)
        with self.app.extensions["db"].transaction() as session:
            row = session.scalar(select(Call).where(Call.call_sid == transcript.call_sid))
            event = next((e for e in row.events if e.step == case.step and e.attempt == 0),
                         None) if row is not None else None
            if row is None or event is None:
                return outcome
            outcome.decision, outcome.intent = event.decision, event.intent
            outcome.words, outcome.asr_confidence = event.words, event.asr_confidence
            outcome.heard = {k: v for k, v in (event.detail or {}).items()
                             if k in ("doubt", "coverage", "ignored", "reason")}
            outcome.verdict = judge(case, event.decision, event.intent, bool(row.not_digital))
        key = (transcript.call_sid, case.step, "0")  # the answer to the first asking
        if realtime and key in self.started and key in self.finished:
            done, utterance = self.finished[key]
            elapsed = done - self.started[key]
            outcome.lag = round(elapsed - utterance.duration_seconds, 3)
            speech_end = _speech_end(clip.read_bytes())
            if case.text and speech_end:
                outcome.after_speech = round(elapsed - speech_end, 3)
        return outcome

    def close(self) -> None:
        """Stop serving and release the database."""
        self._stop()
        self.app.extensions["jobs"].close()
        self.app.extensions["db"].dispose()


def _stream_key(call_sid: str, parameters: dict[str, str]) -> tuple[str, str, str]:
    return call_sid, parameters.get("step", ""), parameters.get("attempt", "0")


def _speech_end(ulaw: bytes) -> float:
    from bench.speech_streams import _speech_end as end

    return end(ulaw)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(outcomes: list[Outcome]) -> dict[str, Any]:
    """Per-category counts and the totals, as printed."""
    categories = list(dict.fromkeys(o.case.category for o in outcomes))
    table: dict[str, Any] = {}
    for category in [*categories, "all"]:
        rows = [o for o in outcomes if category in ("all", o.case.category)]
        counts = Counter(o.verdict for o in rows)
        table[category] = {"n": len(rows), **{k: counts.get(k, 0)
                                              for k in ("right", "asked", "misroute", "error")}}
    lags = [o.lag for o in outcomes if o.lag is not None]
    after = [o.after_speech for o in outcomes if o.after_speech is not None]
    if lags:
        table["latency"] = {"lag_p50_ms": round(statistics.median(lags) * 1000),
                            "lag_p95_ms": round(_pct(lags, 0.95) * 1000)}
    if after:
        table.setdefault("latency", {}).update({
            "after_speech_p50_ms": round(statistics.median(after) * 1000),
            "after_speech_p95_ms": round(_pct(after, 0.95) * 1000)})
    return table


def run_set(name: str, *, jobs: int, realtime: bool, verbose: bool,
            checks: str = "garbage", tuning: dict[str, Any] | None = None,
            only: list[str] | None = None) -> dict[str, Any]:
    """Play every call of set `name` (or of the categories in `only`) and print the
    per-category table."""
    cases = [c for c in load_cases(name) if not only or c.category in only]
    with tempfile.TemporaryDirectory(prefix="bench-phone-") as tmp:
        workdir = Path(tmp)
        clips = {}
        for case in cases:
            clips[case.index] = workdir / f"call-{case.index:03d}.ulaw"
            clips[case.index].write_bytes(case_audio(case))
        hotline = Hotline(workdir, checks, tuning)
        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                outcomes = list(pool.map(
                    lambda c: hotline.call(c, clips[c.index], realtime), cases))
        finally:
            hotline.close()
    table = report(outcomes)
    print(f"set {name}: {len(cases)} calls, checks={checks} {tuning or ''}, "
          f"realtime={realtime}, jobs={jobs}")
    print(f"{'category':<16}{'n':>4}{'right':>7}{'asked':>7}{'misroute':>10}{'error':>7}")
    for category, row in table.items():
        if category != "latency":
            print(f"{category:<16}{row['n']:>4}{row['right']:>7}{row['asked']:>7}"
                  f"{row['misroute']:>10}{row['error']:>7}")
    print("latency:", table.get("latency", {}))
    for outcome in outcomes:
        if verbose or outcome.verdict in ("misroute", "error"):
            c = outcome.case
            print(f"  [{outcome.verdict}] {c.category}/{c.expect} {c.text or c.seconds!r} "
                  f"({c.voice} s{c.speed} p{c.pitch} n{c.noise}) -> {outcome.decision} "
                  f"{outcome.intent or ''} words={outcome.words!r} "
                  f"asr={outcome.asr_confidence} {outcome.heard}")
    return table


def cpu_cost(seconds_of_audio: float = 60.0) -> dict[str, float]:
    """CPU seconds per audio second of the recogniser, on the dev set's speech clips."""
    from speech.models import ModelRegistry, discover_packages
    from speech.phrases import expected_phrases
    from speech.recognizer import ListenSettings, StreamingRecognizer

    registry = ModelRegistry(discover_packages())
    model = registry.get("ko")
    flow = yaml.safe_load(KO_FLOW.read_text(encoding="utf-8"))
    phrases = expected_phrases(flow, "ko", "intent")
    clips = [case_audio(c) for c in load_cases("ko_dev") if c.text]
    figures: dict[str, float] = {}
    runs = {"grammar": (False, False), "grammar+garbage": (True, False),
            "grammar+garbage+free_form": (True, True)}
    for label, checks in runs.items():
        cpu = audio = 0.0
        for clip in clips:
            recognizer = StreamingRecognizer(
                model, phrases=phrases,
                settings=ListenSettings(no_input_seconds=60, end_silence_seconds=60,
                                        max_seconds=60, garbage_check=checks[0],
                                        free_form_check=checks[1]))
            start = time.thread_time()
            recognizer.accept_ulaw(clip)
            recognizer.finish("speech")
            cpu += time.thread_time() - start
            audio += len(clip) / 8000
            if audio >= seconds_of_audio:
                break
        figures[f"{label}_cpu_per_audio_s"] = round(cpu / audio, 4)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run the set(s) named on the command line and print their tables."""
    parser = argparse.ArgumentParser(prog="python -m bench.phone_audio")
    parser.add_argument("--set", dest="sets", action="append",
                        help="a set under tests/data/audio (default: ko_dev)")
    parser.add_argument("--jobs", type=int, default=3, help="calls at once")
    parser.add_argument("--fast", action="store_true",
                        help="stream faster than real time (same decisions, no latency)")
    parser.add_argument("--checks", choices=("none", "garbage", "free", "both"),
                        default="garbage", help="hearing checks besides the grammar pass "
                        "(none = as before speech.hearing)")
    parser.add_argument("--heard-coverage", type=float,
                        help="tuning (dev set only): ListenSettings.heard_coverage")
    parser.add_argument("--garbage-ratio", type=float,
                        help="tuning (dev set only): ListenSettings.garbage_ratio")
    parser.add_argument("--only", action="append",
                        help="only this category (repeatable), e.g. --only yes")
    parser.add_argument("--cpu", action="store_true", help="only measure the CPU cost")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every call")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.cpu:
        print(cpu_cost(), flush=True)
        return 0
    threading.excepthook = lambda hook: logging.error("thread failed: %s", hook.exc_value)
    tuning: dict[str, Any] = {}
    if args.heard_coverage is not None:
        tuning["heard_coverage"] = args.heard_coverage
    if args.garbage_ratio is not None:
        tuning["garbage_ratio"] = args.garbage_ratio
    for name in args.sets or ["ko_dev"]:
        run_set(name, jobs=args.jobs, realtime=not args.fast, verbose=args.verbose,
                checks=args.checks, tuning=tuning, only=args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
