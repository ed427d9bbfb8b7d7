"""`rq cron` keeps enqueuing the reconciler, even after Redis has been flushed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import redis
from rq import Queue

ROOT = Path(__file__).resolve().parent.parent


def _reconcile_jobs(queue: Queue) -> int:
    return sum(1 for job in queue.get_jobs() if job.func_name == "callbacks.reconcile.reconcile")


def _wait_for_job(queue: Queue, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _reconcile_jobs(queue):
            return True
        time.sleep(0.2)
    return False


def test_rq_cron_enqueues_the_reconciler_again_after_a_redis_flush(redis_url: str) -> None:
    env = {**os.environ, "REDIS_URL": redis_url, "RQ_QUEUE_PREFIX": "crontest",
           "CALLBACKS_RECONCILE_SECONDS": "1", "PYTHONPATH": str(ROOT)}
    cron = subprocess.Popen([sys.executable, "-m", "rq.cli", "cron", "callbacks/cron.py",
                             "--url", redis_url], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("crontest-default", connection=connection)
    try:
        assert _wait_for_job(queue, 30), "rq cron never enqueued the reconciler"
        connection.flushdb()  # Redis loses everything, as after a restart without persistence
        assert _reconcile_jobs(queue) == 0
        assert _wait_for_job(queue, 10), "the reconciler was not enqueued again after the flush"
    finally:
        cron.terminate()
        output, _ = cron.communicate(timeout=10)
        connection.close()
    assert b"Traceback" not in output, output.decode(errors="replace")[-2000:]


def test_apps_on_redis_leave_the_reconciler_to_rq_cron(make_app, redis_url: str) -> None:
    """One schedule, not two: building apps (web processes, workers) schedules nothing."""
    from rq.registry import ScheduledJobRegistry

    for _ in range(3):
        make_app(REDIS_URL=redis_url, RQ_QUEUE_PREFIX="crontest",
                 CALLBACKS_RECONCILE_SECONDS=60)
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("crontest-default", connection=connection)
    scheduled = ScheduledJobRegistry(queue=queue)
    assert scheduled.get_job_ids() == [] and _reconcile_jobs(queue) == 0
    connection.close()
