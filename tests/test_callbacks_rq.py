"""Callback jobs on real Redis with real RQ workers: in-process SimpleWorker, a subprocess
worker killed with SIGKILL mid-job, and Redis losing every job (the reconciler restores)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from rq import SimpleWorker
from sqlalchemy import select

from callbacks import tasks
from callbacks.models import CallAttempt, CallbackRequest
from callbacks.reconcile import reconcile_now
from core.clock import FrozenClock
from localtwilio import FlaskClientTransport
from localtwilio.rest import StandIn
from tests.conftest import PUBLIC_BASE_URL, TWILIO_SID, TWILIO_TOKEN
from tests.test_callbacks_support import (  # noqa: F401  (stand_in is a fixture)
    AGENT,
    CUSTOMER,
    TUESDAY_10,
    book,
    claimed_request,
    make_agent,
    stand_in_fixture,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def rq_hotline(make_app: Any, stand_in: tuple[StandIn, str], redis_url: str) -> Any:
    state, base_url = stand_in
    clock = FrozenClock(TUESDAY_10)
    app = make_app(CLOCK=clock, TWILIO_API_BASE_URL=base_url, REDIS_URL=redis_url,
                   CALLBACKS_RECONCILE_SECONDS=0, RQ_QUEUE_PREFIX="cbtest")
    state.transport = FlaskClientTransport(app.test_client())
    return app, state, redis_url


def _start_call(app: Flask) -> tuple[int, int]:
    request_id, agent_id = claimed_request(app)
    with app.extensions["db"].session_factory() as session:
        attempt = tasks.start_call(session, app.extensions["jobs"], request_id, agent_id,
                                   TUESDAY_10)
    return request_id, attempt.id


def _burst(app: Flask) -> None:
    """Run queued call jobs with RQ's SimpleWorker in this process."""
    jobs = app.extensions["jobs"]
    with app.app_context():
        SimpleWorker([jobs.queues["calls"]], connection=jobs.connection).work(burst=True)


def _state(app: Flask, request_id: int) -> tuple[str, list[CallAttempt]]:
    with app.extensions["db"].session_factory() as session:
        request = session.get(CallbackRequest, request_id)
        attempts = list(session.scalars(select(CallAttempt).where(
            CallAttempt.request_id == request_id)))
        return request.status, attempts


def _agent_calls(state: StandIn) -> int:
    return len([c for c in state.calls.values() if c.to == AGENT])


def test_simple_worker_places_the_call(rq_hotline):
    app, state, _ = rq_hotline
    request_id, _ = _start_call(app)
    assert app.extensions["jobs"].queues["calls"].count == 1
    _burst(app)
    state.wait_idle()
    assert _state(app, request_id)[0] == "connected" and _agent_calls(state) == 1


def test_redis_flushed_the_reconciler_restores_the_job(rq_hotline):
    app, state, _ = rq_hotline
    request_id, attempt_id = _start_call(app)
    jobs = app.extensions["jobs"]
    jobs.connection.flushdb()
    assert jobs.queues["calls"].count == 0
    counts = reconcile_now(app, TUESDAY_10 + timedelta(minutes=1))
    assert counts["reenqueued"] == 1
    reconcile_now(app, TUESDAY_10 + timedelta(minutes=2))  # a second pass: harmless duplicate
    _burst(app)
    state.wait_idle()
    assert _state(app, request_id)[0] == "connected" and _agent_calls(state) == 1


def _worker_env(app: Flask, redis_url: str, base_url: str) -> dict[str, str]:
    """The environment of an `rq worker` process. It runs on the real clock, so calling
    hours are set round the clock: the test must not depend on the hour it runs at."""
    from callbacks import settings

    with app.extensions["db"].transaction() as session:
        settings.save(session, "hours", {"opening": {str(day): ["00:00", "23:59"]
                                                     for day in range(7)}, "country": ""},
                      TUESDAY_10)
    return {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": redis_url,
            "RQ_QUEUE_PREFIX": "cbtest", "TWILIO_ACCOUNT_SID": TWILIO_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_CALLER_ID": "+390200000000",
            "TWILIO_API_BASE_URL": base_url, "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "LOCAL_TELEPHONY": "false", "SECRET_KEY": "test", "VOSK_MODEL_PATHS": "",
            "PYTHONPATH": str(ROOT)}


def _rq_worker(env: dict[str, str], burst: bool, log: Path | None = None
               ) -> subprocess.Popen[bytes]:
    """`rq worker` in a process of its own. The killed one runs jobs in-process
    (SimpleWorker): RQ's forked work horse calls setsid() and would survive its parent.
    A worker that is not waited on writes to `log` (a pipe nobody reads could fill up)."""
    command = [sys.executable, "-m", "rq.cli", "worker", "--url", env["REDIS_URL"],
               "cbtest-calls"] + (["--burst"] if burst else
                                  ["--worker-class", "rq.worker.SimpleWorker"])
    output: Any = log.open("wb") if log is not None else subprocess.PIPE
    try:
        return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                                stdout=output, stderr=subprocess.STDOUT)
    finally:
        if log is not None:
            output.close()


# How long a cold `rq worker` may take to import the app and start its first job; only a
# bound for slow, loaded machines (nothing is asserted about speed).
WORKER_START_SECONDS = 120


def test_worker_killed_mid_job_loses_nothing_and_dials_once(rq_hotline, tmp_path):
    app, state, redis_url = rq_hotline
    twilio_busy = state.faults.hold_next()  # Twilio keeps the first request waiting...
    state.faults.fail_next(1, 503)           # ...and then refuses it: no call was created
    request_id, attempt_id = _start_call(app)
    env = _worker_env(app, redis_url, state.base_url)
    log = tmp_path / "worker.log"
    worker = _rq_worker(env, burst=False, log=log)
    try:
        # "requesting" is committed just before the REST call: wait until the request has
        # really reached Twilio, so the worker dies with it in flight (not before sending)
        started = state.faults.wait_arrived(1, timeout=WORKER_START_SECONDS)
        assert started, "the worker never called Twilio:\n" + log.read_text(errors="replace")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # the worker, mid-request
        worker.wait(10)
    assert state.faults.answered == 0  # Twilio had not answered when the worker died
    assert _state(app, request_id)[1][0].status == "requesting"
    twilio_busy.set()
    assert state.faults.wait_answered(1, timeout=30)  # Twilio answers the dead worker: 503
    assert _agent_calls(state) == 0

    later = datetime.now(UTC) + timedelta(minutes=6)
    assert reconcile_now(app, later)["recovered"] == 1
    again = _rq_worker(env, burst=True)
    output, _ = again.communicate(timeout=WORKER_START_SECONDS)
    assert again.returncode == 0, output.decode(errors="replace")[-2000:]
    assert state.faults.arrived == 2  # the recovered job called Twilio once more, no retry
    state.wait_idle()
    status, attempts = _state(app, request_id)
    assert status == "connected" and attempts[0].status == "completed"
    assert _agent_calls(state) == 1
