"""Background jobs: RQ on Redis when REDIS_URL is set, an in-process worker otherwise.

Both queues take the same calls, so domain code never knows which one runs its jobs.
Jobs are module-level functions that take ids (never objects) and are wrapped with
`app_job`, which gives them an application context: inside the web process that is the
running app; inside an RQ worker it is the worker's app, built from the environment
(never at import time).

RQ's default worker forks a work horse for every job, and the horse exits after it: an
app built inside a horse (on its first job) dies with it, so every job rebuilt the app and
reloaded what it loads. `HotlineWorker` (`rq worker --worker-class
core.jobs.HotlineWorker`) builds the app and loads the speech models once, in the worker
process, before it takes jobs; each horse inherits them (copy-on-write) and drops only the
database connections it inherited (`docs/benchmarks.md`, "RQ job start").
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, ParamSpec, Protocol, TypeVar

from flask import Flask, current_app, has_app_context
from rq.worker import Worker

log = logging.getLogger(__name__)

QUEUE_NAMES = ("calls", "speech", "default")

P = ParamSpec("P")
R = TypeVar("R")

_worker_app: Flask | None = None
_worker_app_lock = threading.Lock()


def _app_for_job() -> Flask:
    global _worker_app
    with _worker_app_lock:
        if _worker_app is None:
            from app import create_app  # late: workers build the app on their first job

            _worker_app = create_app({"START_IN_PROCESS_WORKER": False})
            _worker_app.extensions["jobs.built_by_pid"] = os.getpid()
        return _worker_app


def preload_worker_app() -> Flask:
    """Build this worker process's app now and load the speech models its jobs use, so the
    work horses forked afterwards inherit them instead of building their own per job."""
    first = _worker_app is None
    app = _app_for_job()
    if first:
        registry = app.extensions.get("speech")
        for lang in list(registry.languages) if registry is not None else []:
            try:
                app.extensions["speech"].get(lang)
            except Exception as exc:  # reported; the job that needs it reports it too
                log.warning("worker: speech model %s not loaded: %s", lang, _one_line(exc))
        app.extensions["db"].engine.dispose()  # nothing pooled before the first fork
        # (each work horse starts a pool of its own: core.db's at-fork hook)
    return app


class HotlineWorker(Worker):
    """An RQ worker that builds the app once, before taking jobs (see the module doc)."""

    # RQ's scheduler process (`--with-scheduler`) dies on a Redis ConnectionError, and RQ
    # starts it again only at its next maintenance, up to 10 minutes later (and the blocking
    # dequeue only returns every ~7 minutes): delayed jobs (retries) would wait that long.
    # A dead scheduler is started again within SCHEDULER_CHECK_SECONDS instead; a worker that
    # quits on a Redis error is started again by `python -m core.supervise`.
    SCHEDULER_CHECK_SECONDS = 5

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """Preload the app, then RQ's usual loop (forking a work horse per job)."""
        preload_worker_app()
        return bool(super().work(*args, **kwargs))

    @property
    def dequeue_timeout(self) -> int:
        """Block on the queues at most this long, so a dead scheduler is noticed soon."""
        return self.SCHEDULER_CHECK_SECONDS

    @property
    def should_run_maintenance_tasks(self) -> bool:
        """RQ's schedule, or now when our scheduler process has died (see above)."""
        scheduler = getattr(self, "scheduler", None)
        process = getattr(scheduler, "_process", None)
        if (self.last_cleaned_at is not None and process is not None
                and not process.is_alive()):
            log.warning("worker %s: the scheduler process died; starting it again", self.name)
            return True
        return bool(super().should_run_maintenance_tasks)



def app_job(func: Callable[P, R]) -> Callable[P, R]:
    """Run a job function inside an application context, closing its DB session after."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if has_app_context():
            return func(*args, **kwargs)
        app = _app_for_job()
        with app.app_context():
            try:
                return func(*args, **kwargs)
            finally:
                app.extensions["db"].remove_session()

    return wrapper


@app_job
def ping() -> dict[str, int]:
    """Job: which process ran it and which process built its app (a worker's health)."""
    built = current_app.extensions.get("jobs.built_by_pid", 0)
    return {"pid": os.getpid(), "app_built_by_pid": int(built)}


class JobQueue(Protocol):
    """What domain code needs from a job queue."""

    backend: str

    def enqueue(self, func: Callable[..., Any], *args: Any, queue: str = "default",
                at: datetime | None = None, job_id: str | None = None) -> str: ...

    def status(self) -> dict[str, Any]: ...

    def close(self) -> None: ...


class RQJobQueue:
    """Jobs on Redis through RQ; run them with `rq worker --with-scheduler <queues>`."""

    backend = "rq"

    def __init__(self, redis_url: str, prefix: str = "hotline") -> None:
        from redis import Redis
        from rq import Queue

        self.redis_url = redis_url
        self.connection = Redis.from_url(redis_url, socket_connect_timeout=2,
                                         socket_timeout=5, health_check_interval=30)
        self.prefix = prefix
        self.queues = {name: Queue(self.queue_name(name), connection=self.connection)
                       for name in QUEUE_NAMES}

    def queue_name(self, name: str) -> str:
        """The Redis-side name of one of our queues (what `rq worker` is given)."""
        return f"{self.prefix}-{name}"

    def enqueue(self, func: Callable[..., Any], *args: Any, queue: str = "default",
                at: datetime | None = None, job_id: str | None = None) -> str:
        """Put a job on a named queue, now or at a given time; returns the job id."""
        rq_queue = self.queues[queue]
        options: dict[str, Any] = {"job_id": job_id, "result_ttl": 3600, "failure_ttl": 7 * 86400}
        if at is not None:
            job = rq_queue.enqueue_at(at, func, *args, **options)
        else:
            job = rq_queue.enqueue(func, *args, **options)
        return str(job.id)

    def status(self) -> dict[str, Any]:
        """Reachability and depth of each queue, for /healthz."""
        from rq import Worker

        try:
            self.connection.ping()
            depths = {name: q.count for name, q in self.queues.items()}
            workers = len(Worker.all(connection=self.connection))
        except Exception as exc:  # reported, not raised: /healthz must answer
            return {"backend": self.backend, "ok": False, "error": _one_line(exc)}
        return {"backend": self.backend, "ok": True, "queues": depths, "workers": workers}

    def close(self) -> None:
        self.connection.close()


class InProcessJobQueue:
    """A small scheduler and worker thread inside the web process (the embedded default).

    Jobs live in memory only; that is safe because the database, not the queue, holds
    what must happen, and the reconciler re-enqueues anything due after a restart.
    """

    backend = "in-process"

    def __init__(self, app: Flask, clock: Any, poll_seconds: float = 0.2) -> None:
        self.app = app
        self.clock = clock
        self.poll_seconds = poll_seconds
        self._heap: list[tuple[datetime, int, str, Callable[..., Any], tuple[Any, ...]]] = []
        self._ids = itertools.count(1)
        self._cond = threading.Condition()
        self._running = 0
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.failures: list[tuple[str, str]] = []

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="jobs", daemon=True)
            self._thread.start()

    def enqueue(self, func: Callable[..., Any], *args: Any, queue: str = "default",
                at: datetime | None = None, job_id: str | None = None) -> str:
        """Schedule a job in this process; returns its id."""
        job_id = job_id or f"job-{next(self._ids)}"
        when = at or self.clock.now()
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._ids), job_id, func, args))
            self._cond.notify_all()
        return job_id

    def _next_due(self) -> tuple[str, Callable[..., Any], tuple[Any, ...]] | None:
        with self._cond:
            while not self._stopped:
                if self._heap and self._heap[0][0] <= self.clock.now():
                    _, _, job_id, func, args = heapq.heappop(self._heap)
                    self._running += 1
                    return job_id, func, args
                self._cond.wait(self.poll_seconds)
            return None

    def _work(self) -> None:
        while (item := self._next_due()) is not None:
            job_id, func, args = item
            try:
                with self.app.app_context():
                    try:
                        func(*args)
                    finally:
                        self.app.extensions["db"].remove_session()
            except Exception as exc:
                log.exception("job %s (%s) failed", job_id, getattr(func, "__name__", func))
                self.failures.append((job_id, _one_line(exc)))
            finally:
                with self._cond:
                    self._running -= 1
                    self._cond.notify_all()

    def pending(self) -> int:
        """Jobs waiting or running (scheduled ones included)."""
        with self._cond:
            return len(self._heap) + self._running

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no job is due or running; True if that happened within timeout."""
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            with self._cond:
                while not deadline.is_set():
                    due = [j for j in self._heap if j[0] <= self.clock.now()]
                    if not due and self._running == 0:
                        return True
                    self._cond.wait(0.05)
            return False
        finally:
            timer.cancel()

    def status(self) -> dict[str, Any]:
        """Depth of the in-memory queue, for /healthz."""
        alive = self._thread is not None and self._thread.is_alive()
        return {"backend": self.backend, "ok": alive, "pending": self.pending(),
                "failed": len(self.failures)}

    def close(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)


def current_jobs() -> JobQueue:
    """The app's job queue (inside an application context)."""
    queue: JobQueue = current_app.extensions["jobs"]
    return queue


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
