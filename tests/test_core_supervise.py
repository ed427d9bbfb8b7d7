"""The recovery paths survive the Redis outage they recover from.

A Redis server of the test's own (a throwaway `redis-server` on a free port) is stopped and
started again, empty, as after a restart without persistence. `rq cron` under
`python -m core.supervise` enqueues the reconciler again afterwards; a `--with-scheduler`
`HotlineWorker` under it runs delayed jobs again.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis
from rq import Queue

from core.supervise import next_delay

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None,
                                reason="needs redis-server for a throwaway Redis")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayRedis:
    """A redis-server nobody else uses, which a test may stop and start again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("the throwaway redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(_free_port())
    server.start()
    yield server
    server.stop()


def supervised(command: list[str]) -> list[str]:
    """The command under our supervisor, restarting quickly (a test cannot wait 30 s)."""
    return [sys.executable, "-m", "core.supervise", "--first", "0.5", "--longest", "2", "--",
            *command]


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except redis.ConnectionError:
            pass
        time.sleep(0.2)
    return False


def _reconcile_jobs(url: str) -> int:
    queue = Queue("outage-default", connection=redis.Redis.from_url(url))
    return sum(1 for job in queue.get_jobs() if job.func_name == "callbacks.reconcile.reconcile")


def test_back_off_doubles_up_to_the_longest_and_resets_after_a_healthy_run() -> None:
    assert next_delay(1, ran_for=0.1) == 2
    assert next_delay(16, ran_for=0.1) == 30 and next_delay(30, ran_for=3) == 30
    assert next_delay(30, ran_for=120) == 1


def cron_command(url: str) -> list[str]:
    return [sys.executable, "-m", "rq.cli", "cron", "callbacks/cron.py", "--url", url]


@pytest.mark.slow
def test_supervised_rq_cron_enqueues_the_reconciler_after_redis_comes_back(
        throwaway_redis: ThrowawayRedis, tmp_path: Path) -> None:
    env = {**os.environ, "REDIS_URL": throwaway_redis.url, "RQ_QUEUE_PREFIX": "outage",
           "CALLBACKS_RECONCILE_SECONDS": "1", "PYTHONPATH": str(ROOT)}
    log = tmp_path / "cron.log"
    cron = _start(supervised(cron_command(throwaway_redis.url)), env, log)
    try:
        assert _wait(lambda: _reconcile_jobs(throwaway_redis.url) > 0, 60), log.read_text()
        throwaway_redis.stop()
        time.sleep(3)  # rq cron meets the outage (and exits)
        throwaway_redis.start()  # back, empty
        assert _wait(lambda: _reconcile_jobs(throwaway_redis.url) > 0, 30), (
            "the reconciler was not enqueued after Redis came back:\n" + log.read_text()[-3000:])
    finally:
        _stop(cron)


@pytest.mark.slow
def test_supervised_worker_with_scheduler_runs_delayed_jobs_after_redis_comes_back(
        throwaway_redis: ThrowawayRedis, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": throwaway_redis.url,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "VOSK_MODEL_PATHS": "",
           "LOCAL_TELEPHONY": "false", "SECRET_KEY": "test", "CALLBACKS_RECONCILE_SECONDS": "0",
           "UNDERSTANDING_WARM_UP": "false", "SEMANTIC_UNDERSTANDING": "false"}
    log = tmp_path / "worker.log"
    worker = _start(supervised([
        sys.executable, "-m", "rq.cli", "worker", "--with-scheduler", "--url",
        throwaway_redis.url, "--worker-class", "core.jobs.HotlineWorker", "outage-default"]),
        env, log)

    def delayed_job_runs(marker: Path) -> bool:
        queue = Queue("outage-default", connection=redis.Redis.from_url(throwaway_redis.url))
        queue.enqueue_at(datetime.now(UTC) + timedelta(seconds=1), os.makedirs, str(marker))
        return _wait(marker.exists, 90)

    try:
        assert delayed_job_runs(tmp_path / "before"), log.read_text()[-3000:]
        throwaway_redis.stop()
        time.sleep(3)
        throwaway_redis.start()
        assert delayed_job_runs(tmp_path / "after"), (
            "no delayed job ran after Redis came back:\n" + log.read_text()[-3000:])
    finally:
        _stop(worker)
