"""Jobs run the same way on RQ (real Redis) and on the embedded in-process queue."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask, current_app
from rq import SimpleWorker
from sqlalchemy import select

from core.clock import FrozenClock
from core.jobs import InProcessJobQueue, RQJobQueue, app_job, ping
from core.models import User
from core.users import create_user

ROOT = Path(__file__).resolve().parent.parent


@app_job
def rename_user(user_id: int, name: str) -> str:
    """A job that touches the database through the app, as real jobs do."""
    db = current_app.extensions["db"]
    with db.transaction() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.display_name = name
    return name


def _make_user(app: Flask) -> int:
    with app.extensions["db"].transaction() as session:
        return create_user(session, "worker-test", "a-long-pass-123", "agent").id


def _display_name(app: Flask, user_id: int) -> str:
    with app.extensions["db"].transaction() as session:
        return session.scalars(select(User.display_name).where(User.id == user_id)).one()


def test_in_process_queue_runs_jobs_with_an_app_context(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    jobs = app.extensions["jobs"]
    assert isinstance(jobs, InProcessJobQueue)
    user_id = _make_user(app)
    jobs.enqueue(rename_user, user_id, "Renamed")
    assert jobs.wait_idle(10)
    assert _display_name(app, user_id) == "Renamed"
    assert jobs.status()["ok"] is True


def test_in_process_queue_waits_for_scheduled_time(make_app) -> None:  # type: ignore[no-untyped-def]
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app = make_app(CLOCK=clock)
    jobs = app.extensions["jobs"]
    user_id = _make_user(app)
    jobs.enqueue(rename_user, user_id, "Later", at=clock.now() + timedelta(minutes=10))
    assert jobs.wait_idle(1)
    assert _display_name(app, user_id) == "worker-test"
    clock.advance(timedelta(minutes=11))
    assert jobs.wait_idle(10)
    assert _display_name(app, user_id) == "Later"


def test_a_failing_job_is_recorded_and_the_worker_keeps_going(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app()
    jobs = app.extensions["jobs"]
    jobs.enqueue(rename_user, 999_999, "nobody")
    user_id = _make_user(app)
    jobs.enqueue(rename_user, user_id, "After failure")
    assert jobs.wait_idle(10)
    assert len(jobs.failures) == 1
    assert _display_name(app, user_id) == "After failure"


def test_rq_queue_runs_jobs_on_real_redis(make_app, redis_url: str) -> None:  # type: ignore[no-untyped-def]
    app = make_app(REDIS_URL=redis_url)
    jobs = app.extensions["jobs"]
    assert isinstance(jobs, RQJobQueue)
    user_id = _make_user(app)
    job_id = jobs.enqueue(rename_user, user_id, "Via RQ", queue="default")
    assert jobs.status()["queues"]["default"] == 1
    worker = SimpleWorker([jobs.queues["default"]], connection=jobs.connection)
    with app.app_context():
        worker.work(burst=True)
    assert _display_name(app, user_id) == "Via RQ"
    assert jobs.queues["default"].fetch_job(job_id).return_value() == "Via RQ"


def test_rq_status_reports_an_unreachable_redis_without_raising(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    status = app.extensions["jobs"].status()
    assert status["ok"] is False
    assert "Error" in status["error"]


@pytest.mark.parametrize(("worker_class", "built_once"), [
    ("core.jobs.HotlineWorker", True),
    ("rq.worker.Worker", False),  # RQ's own: each forked work horse builds its own app
])
def test_the_hotline_worker_builds_the_app_once_for_every_forked_job(
        make_app, redis_url: str, worker_class: str, built_once: bool) -> None:  # type: ignore[no-untyped-def]
    app = make_app(REDIS_URL=redis_url, RQ_QUEUE_PREFIX="jobtest")
    jobs = app.extensions["jobs"]
    ids = [jobs.enqueue(ping, queue="default") for _ in range(3)]
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": redis_url,
           "RQ_QUEUE_PREFIX": "jobtest", "LOCAL_TELEPHONY": "false", "SECRET_KEY": "test",
           "VOSK_MODEL_PATHS": "", "CALLBACKS_RECONCILE_SECONDS": "0", "PYTHONPATH": str(ROOT)}
    worker = subprocess.run(
        [sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", redis_url,
         "--worker-class", worker_class, "jobtest-default"],
        cwd=ROOT, env=env, capture_output=True, timeout=180)
    assert worker.returncode == 0, worker.stdout.decode(errors="replace")[-2000:]
    results = [jobs.queues["default"].fetch_job(i).return_value() for i in ids]
    horses = {r["pid"] for r in results}
    builders = {r["app_built_by_pid"] for r in results}
    assert len(horses) == 3  # a fresh work horse per job, as RQ forks them
    if built_once:
        assert len(builders) == 1 and not builders & horses  # built by the worker, once
    else:
        assert builders == horses  # every job paid for building the app
