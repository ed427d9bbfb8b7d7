"""Benchmark RQ job start: RQ's own worker (app built in every forked horse) against
`core.jobs.HotlineWorker` (app and speech models built once, before the forks).

Each run enqueues N `core.jobs.ping` jobs (the app only) and N `touch_model` jobs (the app
and the Vosk model of one language, as a transcription job needs), starts
`rq worker --burst` with the worker class, and reads each job's run time from RQ
(`ended_at - started_at`: the horse's work, building the app included when it must).
Needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0; only this run's queue is
touched) and a Vosk model for `touch_model` (the Korean one from PyPI is enough).

Run: /work/venv/bin/python -m bench.worker_start [jobs-per-kind]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from flask import current_app
from redis import Redis
from rq import Queue

from core.jobs import app_job, ping

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ("rq.worker.Worker", "core.jobs.HotlineWorker")


@app_job
def touch_model() -> str:
    """Job: get a Vosk model from the app's registry (loads it unless already loaded)."""
    registry = current_app.extensions["speech"]
    languages = list(registry.languages)
    if languages:
        registry.get(languages[0])
    return ",".join(languages)


def _run(worker_class: str, count: int, redis_url: str, database_url: str) -> dict[str, float]:
    connection = Redis.from_url(redis_url)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    queue = Queue(f"{prefix}-default", connection=connection)
    jobs = {"ping": [queue.enqueue(ping) for _ in range(count)],
            "model": [queue.enqueue(f"{__package__}.worker_start.touch_model")
                      for _ in range(count)]}
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
           "RQ_QUEUE_PREFIX": prefix, "LOCAL_TELEPHONY": "false", "SECRET_KEY": "bench",
           "CALLBACKS_RECONCILE_SECONDS": "0", "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rq.cli", "worker", "--burst", "--url", redis_url,
                    "--worker-class", worker_class, "-q", queue.name],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    figures = {"wall_s": wall}
    for kind, enqueued in jobs.items():
        seconds = []
        for job in enqueued:
            job.refresh()
            assert job.ended_at is not None and job.started_at is not None, job.get_status()
            seconds.append((job.ended_at - job.started_at).total_seconds())
        figures[f"{kind}_median_ms"] = statistics.median(seconds) * 1000
        figures[f"{kind}_max_ms"] = max(seconds) * 1000
    for job in jobs["ping"] + jobs["model"]:
        job.delete()
    connection.close()
    return figures


def main(argv: list[str]) -> int:
    from core.cli import upgrade_database

    count = int(argv[0]) if argv else 5
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/bench.sqlite3"
        upgrade_database(database_url)
        print(f"{count} ping + {count} model jobs per worker class; load "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for worker_class in CLASSES:
            figures = _run(worker_class, count, redis_url, database_url)
            print(f"{worker_class:26} " + "  ".join(f"{k} {v:.0f}" if k != "wall_s"
                                                     else f"{k} {v:.1f}"
                                                     for k, v in figures.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
