"""Jobs run the same way on RQ (real Redis) and on the embedded in-process queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from rq import SimpleWorker
from sqlalchemy import select

from core.clock import FrozenClock
from core.jobs import InProcessJobQueue, RQJobQueue, app_job
from core.models import User
from core.users import create_user


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
        return create_user(session, "worker-test", "password123", "agent").id


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
