"""Benchmark "Call now": from the agent's click to the REST request at Twilio's stand-in.

The production layout on this machine: a PostgreSQL database of the run's own, Redis
queues under a prefix of the run's own, `rq worker --with-scheduler --worker-class
core.jobs.HotlineWorker` and `rq cron callbacks/cron.py` (the reconciler, here every
RECONCILE_SECONDS so it runs during the clicks), both under `python -m core.supervise`,
and the Twilio REST stand-in on a local port. The agent's click is `callbacks.tasks.
start_call` (what the console's and the API's "Call now" call) in this process; the time is
taken when the stand-in receives `POST .../Calls.json` for that agent's number. Clicks are
one after another, each a fresh booked and claimed callback of its own agent.

Run: /work/venv/bin/python -m bench.call_now [clicks]   (default 30)
Needs PostgreSQL (BENCH_POSTGRES_URL, default the tests' admin database) and Redis
(REDIS_URL, default redis://127.0.0.1:6379/0; only this run's keys are touched).
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import request
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
SID, TOKEN = "AC" + "7" * 32, "bench-token"
RECONCILE_SECONDS = 5


def _database(admin_url: str) -> tuple[str, Any]:
    from core.cli import upgrade_database

    name = f"bench_call_now_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(url)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :n"), {"n": name})
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return url, drop


def _always_open(app: Any) -> None:
    """Calling hours round the clock, so the run measures the same at any hour."""
    from callbacks import settings

    with app.extensions["db"].transaction() as session:
        settings.save(session, "hours", {"opening": {str(d): ["00:00", "23:59"]
                                                     for d in range(7)}, "country": ""},
                      datetime.now(UTC))


def _background(env: dict[str, str], *command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "core.supervise", "--", *command], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str]) -> int:
    from app import create_app
    from callbacks import queue, tasks
    from callbacks.booking import book_callback
    from core.jobs import ping
    from core.models import User
    from localtwilio import FlaskClientTransport
    from localtwilio.rest import create_stand_in
    from localtwilio.server import serve_in_thread

    clicks = int(argv[0]) if argv else 30
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per stand-in request
    admin_url = os.environ.get("BENCH_POSTGRES_URL",
                               "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    database_url, drop = _database(admin_url)

    arrived: dict[str, float] = {}
    stand_in = create_stand_in(SID, TOKEN)

    @stand_in.before_request
    def note_arrival() -> None:
        if request.method == "POST" and request.path.endswith("/Calls.json"):
            arrived.setdefault(request.form.get("To", ""), time.perf_counter())

    twilio_url, stop_twilio = serve_in_thread(stand_in)
    spool = tempfile.mkdtemp(prefix="bench-spool-")
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "RQ_QUEUE_PREFIX": prefix, "LOCAL_TELEPHONY": "false", "SECRET_KEY": "bench",
           "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_CALLER_ID": "+390200000000", "TWILIO_API_BASE_URL": twilio_url,
           "PUBLIC_BASE_URL": "http://hotline.bench", "SPOOL_DIR": spool,
           "CALLBACKS_RECONCILE_SECONDS": str(RECONCILE_SECONDS), "PYTHONPATH": str(ROOT),
           "UNDERSTANDING_WARM_UP": "false", "SEMANTIC_UNDERSTANDING": "false",
           "VOSK_DISCOVER_PACKAGES": "false"}
    settings = {key: value for key, value in env.items() if key.isupper() and key in (
        "DATABASE_URL", "REDIS_URL", "RQ_QUEUE_PREFIX", "LOCAL_TELEPHONY", "SECRET_KEY",
        "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_CALLER_ID", "TWILIO_API_BASE_URL",
        "PUBLIC_BASE_URL", "SPOOL_DIR", "UNDERSTANDING_WARM_UP", "SEMANTIC_UNDERSTANDING",
        "VOSK_DISCOVER_PACKAGES")}
    app = create_app({**settings, "CALLBACKS_RECONCILE_SECONDS": 0})
    stand_in.extensions["localtwilio"].transport = FlaskClientTransport(app.test_client())
    _always_open(app)
    rq = [sys.executable, "-m", "rq.cli"]
    processes = [
        _background(env, *rq, "worker", "--with-scheduler", "--url", redis_url,
                    "--worker-class", "core.jobs.HotlineWorker", f"{prefix}-calls",
                    f"{prefix}-default"),
        _background(env, *rq, "cron", "callbacks/cron.py", "--url", redis_url)]
    jobs = app.extensions["jobs"]
    waits: list[float] = []
    try:
        started = time.perf_counter()
        warm = jobs.queues["default"].enqueue(ping)
        while warm.get_status(refresh=True) != "finished":
            if time.perf_counter() - started > 120:
                raise TimeoutError("the worker did not start within 120 s")
            time.sleep(0.1)
        print(f"worker ready after {time.perf_counter() - started:.1f} s; {clicks} clicks, "
              f"reconciler every {RECONCILE_SECONDS} s; load {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} CPUs", flush=True)
        db = app.extensions["db"]
        for n in range(clicks):
            now = datetime.now(UTC)
            agent_phone = f"+39021{n:06d}"
            with db.transaction() as session:
                agent = User(username=f"agent{n}", display_name=f"Agent {n}", role="agent",
                             password_hash="x", phone_number=agent_phone)
                session.add(agent)
                book_callback(session, phone=f"+39333{n:07d}", call_sid=f"CA{n:032d}",
                              intent="billing", words="ho un problema con la bolletta",
                              language="it", window_start=None, window_end=None,
                              not_digital_cue=None, source="speech",
                              now=now - timedelta(minutes=5))
            with db.session_factory() as session:
                claimed = queue.claim_next(session, agent.id, now)
                assert claimed is not None
                clicked = time.perf_counter()
                tasks.start_call(session, jobs, claimed.id, agent.id, datetime.now(UTC))
            while agent_phone not in arrived:
                if time.perf_counter() - clicked > 300:
                    raise TimeoutError(f"click {n}: no REST request within 300 s")
                time.sleep(0.005)
            waits.append(arrived[agent_phone] - clicked)
            print(f"click {n + 1:3d}: {waits[-1] * 1000:7.0f} ms", flush=True)
            threading.Event().wait(0.2)  # agents do not click in lockstep
        from rq.registry import FinishedJobRegistry

        finished = FinishedJobRegistry(queue=jobs.queues["default"])
        passes = sum(1 for job_id in finished.get_job_ids() if job_id != warm.id)
        print(f"reconciler passes run by the worker during the clicks: {passes} "
              "(the default queue's finished jobs, the warm-up ping apart)")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        stand_in.extensions["localtwilio"].wait_idle(60)
        stop_twilio()
        for name in ("calls", "default", "speech"):
            jobs.queues[name].empty()
        jobs.close()
        app.extensions["db"].dispose()
        drop()
    ordered = sorted(waits)
    p95 = ordered[max(0, round(0.95 * len(ordered)) - 1)]
    print(f"\"Call now\" to REST request, {len(waits)} clicks: median "
          f"{statistics.median(waits) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max "
          f"{ordered[-1] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
