"""Callbacks under injected faults, counted: booked, called, completed, lost, duplicated.

Each outbound scenario books CALLBACKS requests on PostgreSQL, injects one fault on a
throwaway service (a Redis server of its own, a TCP proxy in front of PostgreSQL, webhooks
the Twilio stand-in loses or sends twice at once, REST answers of 429/503 for a window of
minutes on the app's clock) and lets the hotline's own recovery run (the reconciler is
called at the times `rq cron` would call it). A callback is *completed* when its call
reached the caller: the request is then "connected", awaiting the agent's outcome (no agent
records one here); it is *lost* if it did not get there; *duplicated* counts extra dials
of a caller and attempts counted more than once.
Inbound scenarios (the database away longer than a webhook waits; a gunicorn worker killed
with SIGKILL mid-flow) count callers with exactly one callback request as completed. The
figures are printed (`pytest -s tests/test_faults.py`) and kept in docs/benchmarks.md
("Faults").
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from rq import SimpleWorker
from sqlalchemy import select, update

from app import create_app
from callbacks import queue, tasks
from callbacks.models import CallAttempt, CallbackRequest
from callbacks.reconcile import reconcile_now
from core.clock import FrozenClock
from localtwilio import FlaskClientTransport, RequestsTransport
from localtwilio.rest import StandIn
from localtwilio.transport import HttpReply, Transport
from tests.conftest import base_config
from tests.faults_support import CuttableProxy, via_proxy
from tests.ivr_support import CALLER, HOTLINE, signed_post, twiml
from tests.test_callbacks_support import (  # noqa: F401  (stand_in is a fixture)
    TUESDAY_10,
    book,
    make_agent,
    stand_in_fixture,
)
from tests.test_core_supervise import ThrowawayRedis, _free_port

CALLBACKS = 12
pytestmark = pytest.mark.slow


@dataclass
class Tally:
    """What happened to the booked callbacks of one scenario."""

    fault: str
    booked: int = 0
    called: int = 0
    completed: int = 0
    lost: int = 0
    duplicated: int = 0

    def row(self) -> str:
        return (f"| {self.fault} | {self.booked} | {self.called} | {self.completed} | "
                f"{self.lost} | {self.duplicated} |")


def _customer(n: int) -> str:
    return f"+39333200{n:04d}"


@pytest.fixture
def build(postgres_url: str) -> Iterator[Any]:
    built: list[Flask] = []

    def factory(url: str = postgres_url, **overrides: Any) -> Flask:
        config = {**base_config(url), "CLOCK": FrozenClock(TUESDAY_10),
                  "CALLBACKS_RECONCILE_SECONDS": 0, **overrides}
        built.append(create_app(config))
        return built[-1]

    yield factory
    for app in built:
        app.extensions["jobs"].close()
        app.extensions["db"].dispose()


def _book_and_claim(app: Flask, count: int = CALLBACKS) -> list[tuple[int, int]]:
    """`count` callbacks, each claimed by an agent of its own: (request id, agent id)."""
    held = []
    for n in range(count):
        with app.extensions["db"].transaction() as session:
            agent = make_agent(session, name=f"agent{n}", phone=f"+39021110{n:04d}")
            book(session, _customer(n), TUESDAY_10 - timedelta(minutes=10),
                 call_sid=f"CA{n:032d}")
        with app.extensions["db"].session_factory() as session:
            claimed = queue.claim_next(session, agent.id, TUESDAY_10)
            assert claimed is not None
            held.append((claimed.id, agent.id))
    return held


def _call_now(app: Flask, request_id: int, agent_id: int) -> str:
    """The agent's "Call now": "ok", or "refused" with the reason (503 in the API)."""
    with app.extensions["db"].session_factory() as session:
        try:
            tasks.start_call(session, app.extensions["jobs"], request_id, agent_id, TUESDAY_10)
        except queue.QueueError:  # 409: e.g. "it is dialling" (a half-made attempt)
            return "conflict"
        except Exception:  # QueueUnavailable: 503 (before: a 500)
            return "refused"
    return "ok"


def _settle(app: Flask, state: StandIn) -> None:
    jobs = app.extensions["jobs"]
    for _ in range(3):
        if hasattr(jobs, "wait_idle"):
            assert jobs.wait_idle(60)
        else:
            with app.app_context():
                SimpleWorker([jobs.queues["calls"]], connection=jobs.connection).work(burst=True)
        state.wait_idle(60)


def _tally(app: Flask, state: StandIn, fault: str, held: list[tuple[int, int]]) -> Tally:
    tally = Tally(fault, booked=len(held))
    dials: dict[str, int] = {}
    for call in state.calls.values():
        dials[call.to] = dials.get(call.to, 0) + 1
    with app.extensions["db"].session_factory() as session:
        for n, (request_id, _) in enumerate(held):
            request = session.get(CallbackRequest, request_id)
            assert request is not None
            called = dials.get(_customer(n), 0)
            tally.called += called > 0
            tally.completed += request.status == "connected"  # reached; outcome awaited
            tally.lost += request.status != "connected"
            tally.duplicated += max(called - 1, 0) + max(request.attempts_made - 1, 0)
    print(tally.row())
    return tally


class FaultyTransport:
    """Twilio's webhooks with faults: some lost (never delivered, never retried), some sent
    twice at the same moment."""

    def __init__(self, inner: Transport, lose: tuple[str, ...] = (),
                 twice: tuple[str, ...] = ()) -> None:
        self.inner, self.lose, self.twice = inner, lose, twice
        self.lost = self.doubled = 0

    def request(self, method: str, url: str, params: Mapping[str, str],
                headers: Mapping[str, str]) -> HttpReply:
        if any(part in url for part in self.lose):
            self.lost += 1
            return HttpReply(502, b"", "text/plain")
        if any(part in url for part in self.twice):
            self.doubled += 1
            replies: list[HttpReply] = []
            other = threading.Thread(target=lambda: replies.append(
                self.inner.request(method, url, params, headers)))
            other.start()
            reply = self.inner.request(method, url, params, headers)
            other.join(30)
            return reply
        return self.inner.request(method, url, params, headers)


def _wire(app: Flask, state: StandIn, **faults: Any) -> FaultyTransport:
    transport = FaultyTransport(FlaskClientTransport(app.test_client()), **faults)
    state.transport = transport
    return transport


def test_webhooks_sent_twice_at_once(build: Any, stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    app = build(TWILIO_API_BASE_URL=base_url)
    transport = _wire(app, state, twice=("/callbacks/twilio/",))
    held = _book_and_claim(app)
    for request_id, agent_id in held:
        assert _call_now(app, request_id, agent_id) == "ok"
    _settle(app, state)
    tally = _tally(app, state, "every callback webhook twice at once", held)
    assert transport.doubled >= CALLBACKS * 4
    assert tally.completed == CALLBACKS and tally.lost == 0 and tally.duplicated == 0


def test_final_status_and_dial_results_lost(build: Any, stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    app = build(TWILIO_API_BASE_URL=base_url)
    transport = _wire(app, state, lose=("/callbacks/twilio/status/",
                                        "/callbacks/twilio/dial-result/"))
    held = _book_and_claim(app)
    for request_id, agent_id in held:
        assert _call_now(app, request_id, agent_id) == "ok"
    _settle(app, state)
    assert transport.lost >= CALLBACKS * 2
    reconcile_now(app, TUESDAY_10 + timedelta(minutes=1, seconds=1))  # rq cron's passes
    reconcile_now(app, TUESDAY_10 + timedelta(minutes=2, seconds=2))
    tally = _tally(app, state, "status callbacks and dial results lost", held)
    assert tally.completed == CALLBACKS and tally.lost == 0 and tally.duplicated == 0


def test_workers_killed_between_requesting_and_twilio(build: Any,
                                                      stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    app = build(TWILIO_API_BASE_URL=base_url, START_IN_PROCESS_WORKER=False)
    _wire(app, state)
    held = _book_and_claim(app)
    for request_id, agent_id in held:
        assert _call_now(app, request_id, agent_id) == "ok"
    with app.extensions["db"].transaction() as session:  # each worker died there
        session.execute(update(CallAttempt).values(status="requesting", dispatch_tries=1))
    counts = reconcile_now(app, TUESDAY_10 + timedelta(minutes=1))
    app.extensions["jobs"].start()
    _settle(app, state)
    tally = _tally(app, state, "worker killed after \"requesting\", reconciler 60 s later",
                   held)
    assert counts["recovered"] == CALLBACKS
    assert tally.completed == CALLBACKS and tally.lost == 0 and tally.duplicated == 0


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_call_now_during_a_redis_outage(build: Any, stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    redis_server = ThrowawayRedis(_free_port())
    app = build(TWILIO_API_BASE_URL=base_url, REDIS_URL=redis_server.url,
                RQ_QUEUE_PREFIX="faults")
    _wire(app, state)
    held = _book_and_claim(app)
    try:
        half = CALLBACKS // 2
        refused = [_call_now(app, r, a) for r, a in held[:half]]  # Redis is down
        redis_server.start()
        answers = [_call_now(app, r, a) for r, a in held]  # the agents click again
        _settle(app, state)
        tally = _tally(app, state, "Redis down during half the \"Call now\" clicks", held)
        print(f"  clicks while down: {refused}; clicks after: {answers}")
    finally:
        redis_server.stop()
    assert refused == ["refused"] * half and answers == ["ok"] * CALLBACKS
    assert tally.completed == CALLBACKS and tally.lost == 0 and tally.duplicated == 0


def test_new_calls_while_the_database_is_away_for_a_second(build: Any,
                                                           postgres_url: str) -> None:
    from ivr.flow_store import import_default_flows

    proxy = CuttableProxy("127.0.0.1", 5432)
    try:
        app = build(via_proxy(postgres_url, proxy))
        with app.extensions["db"].transaction() as session:
            import_default_flows(session)
        signed_post(app.test_client(), "/voice/incoming", {  # a warm pool
            "CallSid": "CB" + "9" * 32, "From": CALLER, "To": HOTLINE,
            "CallStatus": "ringing", "AccountSid": "AC" + "1" * 32})
        proxy.cut()
        proxy.restore_after(1.0)
        replies: list[Any] = []

        def call(n: int) -> None:
            replies.append(signed_post(app.test_client(), "/voice/incoming", {
                "CallSid": f"CB{n:032d}", "From": CALLER, "To": HOTLINE,
                "CallStatus": "ringing", "AccountSid": "AC" + "1" * 32}))

        threads = [threading.Thread(target=call, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        flows = sum(r.status_code == 200 and twiml(r.data).find("Gather") is not None
                    for r in replies)
        print(f"| database away 1 s, {len(replies)} new calls | flow {flows} | "
              f"apology or fallback {len(replies) - flows} |")
        assert flows == len(replies) == 8
    finally:
        proxy.close()


@pytest.mark.parametrize(("status", "minutes"), [(429, 2), (503, 2.5), (429, 10), (503, 10)],
                         ids=["429-2min", "503-150s", "429-10min", "503-10min"])
def test_twilio_refuses_every_call_for_a_window(build: Any, stand_in: tuple[StandIn, str],
                                                status: int, minutes: float) -> None:
    """Twilio answers 429 or 503 to every REST request for a window of minutes; time runs
    on the app's clock in 5 s steps (the real back-off schedule, in seconds of test), and
    the reconciler runs every minute as `rq cron` would run it."""
    state, base_url = stand_in
    clock = FrozenClock(TUESDAY_10)
    app = build(TWILIO_API_BASE_URL=base_url, CLOCK=clock)
    _wire(app, state)
    fault_ends = TUESDAY_10 + timedelta(minutes=minutes)
    placed: list[datetime] = []

    def failing() -> bool:
        if clock.now() < fault_ends:
            return True
        if request.method == "POST" and request.path.endswith("/Calls.json"):
            placed.append(clock.now())
        return False

    state.faults.fail_while(failing, status)
    held = _book_and_claim(app)
    for request_id, agent_id in held:
        assert _call_now(app, request_id, agent_id) == "ok"
    jobs = app.extensions["jobs"]
    while clock.now() < fault_ends + timedelta(minutes=3):
        clock.advance(timedelta(seconds=5))
        if int((clock.now() - TUESDAY_10).total_seconds()) % 60 == 0:
            reconcile_now(app, clock.now())
        assert jobs.wait_idle(60)
    _settle(app, state)
    refused = state.faults.arrived - len(placed)
    last = max(placed) - fault_ends
    tally = _tally(app, state, f"Twilio REST {status} for {minutes:g} min "
                   f"({refused} requests refused; last call placed {last.seconds} s after)",
                   held)
    assert tally.completed == CALLBACKS and tally.lost == 0 and tally.duplicated == 0
    assert len(placed) == CALLBACKS and refused >= CALLBACKS
    assert last <= timedelta(seconds=65)  # the next reconciler pass (+ one 5 s step)


class DatabaseBlipTransport:
    """Twilio's webhooks to the app; the first one whose URL has `at` cuts the database
    (the proxy) just before it is delivered, back after `seconds`: a restart mid-call."""

    def __init__(self, inner: Transport, proxy: CuttableProxy, at: str, seconds: float) -> None:
        self.inner, self.proxy, self.at, self.seconds = inner, proxy, at, seconds
        self.cut = threading.Event()

    def request(self, method: str, url: str, params: Mapping[str, str],
                headers: Mapping[str, str]) -> HttpReply:
        if self.at in url and not self.cut.is_set():
            self.cut.set()
            self.proxy.cut()
            self.proxy.restore_after(self.seconds)
        return self.inner.request(method, url, params, headers)


def test_database_restart_while_callback_webhooks_arrive(build: Any, postgres_url: str,
                                                         stand_in: tuple[StandIn, str]) -> None:
    state, base_url = stand_in
    proxy = CuttableProxy("127.0.0.1", 5432)
    try:
        app = build(via_proxy(postgres_url, proxy), TWILIO_API_BASE_URL=base_url,
                    START_IN_PROCESS_WORKER=False)
        transport = DatabaseBlipTransport(FlaskClientTransport(app.test_client()), proxy,
                                          at="/callbacks/twilio/bridge/", seconds=1.0)
        state.transport = transport
        held = _book_and_claim(app)
        for request_id, agent_id in held:
            assert _call_now(app, request_id, agent_id) == "ok"
        app.extensions["jobs"].start()  # the agents have clicked: the calls go out together
        _settle(app, state)
        reconcile_now(app, TUESDAY_10 + timedelta(minutes=1, seconds=1))
        reconcile_now(app, TUESDAY_10 + timedelta(minutes=2, seconds=2))
        _settle(app, state)
        tally = _tally(app, state, "PostgreSQL away 1 s as the callback webhooks arrive "
                       f"({proxy.refused} connections refused)", held)
    finally:
        proxy.close()
    assert transport.cut.is_set()
    assert tally.completed == CALLBACKS and tally.lost == 0 and tally.duplicated == 0


def test_database_away_longer_than_callers_wait(build: Any, postgres_url: str,
                                                tmp_path: Any) -> None:
    """8 callers mid-flow say their need while PostgreSQL is away for 6 s (longer than a
    webhook waits): each is spooled and promised a callback; the reconciler books each
    once when the database is back."""
    from ivr.flow_store import import_default_flows
    from ivr.models import Call

    proxy = CuttableProxy("127.0.0.1", 5432)
    callers = [f"+39333300{n:04d}" for n in range(8)]
    try:
        app = build(via_proxy(postgres_url, proxy), FALLBACK_NUMBER="",
                    SPOOL_DIR=str(tmp_path / "spool"))
        with app.extensions["db"].transaction() as session:
            import_default_flows(session)
        client = app.test_client()
        for n, caller in enumerate(callers):
            signed_post(client, "/voice/incoming", {
                "CallSid": f"CA{n:032d}", "From": caller, "To": HOTLINE,
                "CallStatus": "in-progress", "AccountSid": "AC" + "1" * 32})
        proxy.cut()
        proxy.restore_after(6.0)
        replies: list[Any] = []

        def speak(n: int) -> None:
            replies.append(signed_post(app.test_client(), f"/voice/step/CA{n:032d}/ask_need/0", {
                "CallSid": f"CA{n:032d}", "From": callers[n], "To": HOTLINE,
                "CallStatus": "in-progress", "AccountSid": "AC" + "1" * 32,
                "SpeechResult": "non mi è arrivata la bolletta"}))

        threads = [threading.Thread(target=speak, args=(n,)) for n in range(len(callers))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        said = [" ".join(e.text or "" for e in twiml(r.data).iter("Say")).lower()
                for r in replies]
        promised = sum("richiameremo" in text for text in said)
        goodbye = sum("arrivederci" in text for text in said)
        spooled = app.extensions["spool"].pending()
        while proxy.cut_off.is_set():
            threading.Event().wait(0.1)
        counts = reconcile_now(app, TUESDAY_10 + timedelta(minutes=1))
        reconcile_now(app, TUESDAY_10 + timedelta(minutes=2))  # a second pass books nothing
        with app.extensions["db"].session_factory() as session:
            requests = list(session.scalars(select(CallbackRequest)))
            calls = {c.call_sid: c for c in session.scalars(select(Call))}
        per_caller = {caller: sum(r.phone == caller for r in requests) for caller in callers}
        tally = Tally(f"PostgreSQL away 6 s as 8 callers mid-flow speak (promised {promised}, "
                      f"goodbye {goodbye}, spooled {spooled})", booked=len(callers),
                      called=0, completed=sum(n == 1 for n in per_caller.values()),
                      lost=sum(n == 0 for n in per_caller.values()),
                      duplicated=sum(max(n - 1, 0) for n in per_caller.values()))
        print(tally.row())
    finally:
        proxy.close()
    assert promised == len(callers) and goodbye == 0 and spooled == len(callers)
    assert counts["spooled"] == len(callers)
    assert tally.lost == 0 and tally.duplicated == 0
    assert all(r.words == "non mi è arrivata la bolletta" for r in requests)
    assert all(c.callback_request_id is not None for c in calls.values())


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _connections_held(pid: int, port: int) -> int:
    """Established TCP connections on `port` that process `pid` holds open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    held = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (int(fields[1].split(":")[1], 16) == port and fields[3] == "01"
                and fields[9] in inodes):
            held += 1
    return held


class KillingTransport:
    """Webhooks over HTTP to gunicorn; at the `at`-th step webhook, the worker holding the
    most callers' connections is killed with SIGKILL first (its requests die mid-flow)."""

    def __init__(self, master: int, port: int, at: int) -> None:
        self.inner = RequestsTransport(timeout=60)
        self.master, self.port, self.at = master, port, at
        self.steps, self.killed, self.failed = 0, 0, 0
        self.lock = threading.Lock()

    def request(self, method: str, url: str, params: Mapping[str, str],
                headers: Mapping[str, str]) -> HttpReply:
        with self.lock:
            self.steps += "/voice/step/" in url
            kill = self.steps == self.at and not self.killed
            if kill:
                victim = max(_children(self.master),
                             key=lambda pid: _connections_held(pid, self.port))
                os.kill(victim, signal.SIGKILL)
                self.killed = victim
        reply = self.inner.request(method, url, params, headers)
        if reply.status >= 500:
            with self.lock:
                self.failed += 1
        return reply


def test_gunicorn_worker_killed_mid_flow(postgres_url: str, tmp_path: Path) -> None:
    """10 callers at once through gunicorn (2 workers, the README's command); one worker is
    killed with SIGKILL mid-flow. Twilio's Fallback URL and status callbacks are pointed at
    the app, as the README says; every caller must end with exactly one callback request."""
    from ivr.flow_store import import_default_flows
    from localtwilio import LocalCall, SayText, Signer
    from tests.conftest import TWILIO_SID, TWILIO_TOKEN

    engine_db = create_app({**base_config(postgres_url), "CALLBACKS_RECONCILE_SECONDS": 0})
    with engine_db.extensions["db"].transaction() as session:
        import_default_flows(session)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": postgres_url, "PUBLIC_BASE_URL": base,
           "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
           "LOCAL_TELEPHONY": "false", "REDIS_URL": "", "SECRET_KEY": "faults",
           "FALLBACK_NUMBER": "", "CALLBACKS_RECONCILE_SECONDS": "0",
           "SPOOL_DIR": str(tmp_path / "spool"), "VOSK_DISCOVER_PACKAGES": "false",
           "SEMANTIC_UNDERSTANDING": "false", "UNDERSTANDING_WAIT_FOR_MODELS": "true",
           "SPEECH_INPUT": "gather", "TTS_CACHE_DIR": str(tmp_path / "tts")}
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4",
             "-b", f"127.0.0.1:{port}", "--timeout", "120", "app:create_app()"],
            cwd=Path(__file__).resolve().parent.parent, env=env, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True)
    callers = [f"+39333400{n:04d}" for n in range(10)]
    try:
        deadline = time.monotonic() + 180
        while len(_children(server.pid)) < 2 or not _healthy(base):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        transport = KillingTransport(server.pid, port, at=8)
        transcripts: list[Any] = []

        def call(number: str) -> None:
            transcripts.append(LocalCall(
                transport, f"{base}/voice/incoming", from_=number, to=HOTLINE,
                account_sid=TWILIO_SID, signer=Signer(TWILIO_TOKEN),
                fallback_url=f"{base}/voice/fallback", status_callback=f"{base}/voice/status",
            ).run([SayText("ho un problema con la bolletta"), SayText("sì"), SayText("sì")]))

        threads = [threading.Thread(target=call, args=(n,)) for n in callers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        with engine_db.extensions["db"].session_factory() as session:
            requests = list(session.scalars(select(CallbackRequest)))
        per_caller = {n: sum(r.phone == n for r in requests) for n in callers}
        tally = Tally(f"gunicorn worker SIGKILLed mid-flow, 10 callers "
                      f"({transport.failed} webhooks failed)", booked=len(callers),
                      called=0, completed=sum(v == 1 for v in per_caller.values()),
                      lost=sum(v == 0 for v in per_caller.values()),
                      duplicated=sum(max(v - 1, 0) for v in per_caller.values()))
        print(tally.row())
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGQUIT)  # gunicorn's quick shutdown
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:  # a worker still booting under load
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)
        engine_db.extensions["jobs"].close()
        engine_db.extensions["db"].dispose()
    assert transport.killed and len(transcripts) == len(callers)
    assert tally.lost == 0 and tally.duplicated == 0, per_caller


def _healthy(base: str) -> bool:
    import requests

    try:
        return requests.get(f"{base}/healthz", timeout=5).status_code == 200
    except requests.RequestException:
        return False
