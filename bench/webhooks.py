"""Webhook latency and throughput under gunicorn: `python -m bench.webhooks [options]`.

Starts `gunicorn -w 2 -k gthread --threads 8 'app:create_app()'` on loopback against a
database of its own (a fresh PostgreSQL database when the test server is reachable, else an
SQLite file), publishes the default flow, then runs N simulated calls at once: each caller
thread walks whole calls (incoming, need, "yes" to the callback offer, "yes" to the number,
status callback), following the TwiML it gets back, every request signed like Twilio signs
it. Between webhooks a caller "thinks" (listens and talks) for about `--think` seconds, as
on a real call; `--think 0` measures saturation instead. Loops are bounded (calls per
thread, answers per call); nothing leaves 127.0.0.1. Prints p50/p95/p99 per webhook kind
as the callers saw them (connect to last byte), the server's own time per request from
gunicorn's access log, the throughput, and the CPU both sides used per webhook.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-auth-token"
SID = "AC" + "5" * 32
POSTGRES_ADMIN = os.environ.get("TEST_POSTGRES_URL",
                                "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MAX_TURNS = 8
NEEDS = ["ho un problema con la bolletta", "vorrei pagare a rate", "c'è un guasto",
         "vorrei prendere un appuntamento", "voglio disdire il contratto"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_database() -> tuple[str, Any] | None:
    """A fresh PostgreSQL database of our own, and a function that drops it."""
    from sqlalchemy import create_engine, text

    name = f"hotline_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server: fall back to SQLite
        print(f"PostgreSQL unavailable ({type(exc).__name__}); using SQLite", file=sys.stderr)
        return None

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name})
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def _prepare(database_url: str, base_url: str) -> dict[str, str]:
    """Migrate, publish the default flow; return the environment for gunicorn."""
    env = {**os.environ, "DATABASE_URL": database_url, "PUBLIC_BASE_URL": base_url,
           "TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": TOKEN, "LOCAL_TELEPHONY": "false",
           "FALLBACK_NUMBER": "+390299999999", "REDIS_URL": "", "SECRET_KEY": "bench",
           "SPEECH_INPUT": "gather", "VOSK_MODEL_PATHS": "", "LOG_LEVEL": "WARNING",
           "SEED_DEMO": "false", "MEDIA_SERVER": "true"}
    code = ("from app import create_app; from core.cli import upgrade_database; "
            "from ivr.flow_store import import_default_flows; "
            "app = create_app({'START_IN_PROCESS_WORKER': False}); "
            "upgrade_database(app.config['DATABASE_URL']); "
            "db = app.extensions['db']\n"
            "with db.transaction() as s: import_default_flows(s)")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    return env


class Caller(threading.Thread):
    """One simulated caller placing `calls` calls one after another."""

    def __init__(self, base_url: str, calls: int, index: int, think: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.base, self.calls, self.index = base_url, calls, index
        self.think_seconds = think
        address = urlsplit(base_url)
        self.host, self.port = address.hostname or "127.0.0.1", address.port or 80
        self.validator = RequestValidator(TOKEN)
        self.timings: dict[str, list[float]] = {}
        self.errors = 0
        self.failures: list[str] = []

    def post(self, kind: str, path: str, form: dict[str, str]) -> str:
        # http.client, a new connection per webhook as Twilio opens them: `requests` cost
        # the simulated callers as much CPU as the server, on the same two cores
        url = self.base + path
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, form),
                   "Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode(form)
        started = time.perf_counter()
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request("POST", path, body, headers)
            reply = connection.getresponse()
            text = reply.read().decode("utf-8")
        except (OSError, http.client.HTTPException) as exc:
            self.errors += 1
            self.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
            return ""
        finally:
            connection.close()
        self.timings.setdefault(kind, []).append(time.perf_counter() - started)
        if reply.status not in (200, 204):
            self.errors += 1
            self.failures.append(f"{kind}: HTTP {reply.status}")
        return text

    def run(self) -> None:
        if self.think_seconds:  # calls arrive spread out, not all in the same millisecond
            time.sleep(random.uniform(0, 2 * self.think_seconds))
        for n in range(self.calls):
            try:
                self.call(n)
            except Exception as exc:  # counted and shown, never a silently dead caller
                self.errors += 1
                self.failures.append(f"call: {type(exc).__name__}: {exc}")

    def call(self, n: int) -> None:
        """One call, following the TwiML it gets back (at most MAX_TURNS answers)."""
        sid = f"CA{uuid.uuid4().hex}"
        form = {"CallSid": sid, "AccountSid": SID, "From": f"+39333{self.index:03d}{n:04d}",
                "To": "+390200000000", "CallStatus": "in-progress"}
        reply = self.post("incoming", "/voice/incoming", form)
        for _ in range(MAX_TURNS):
            action, answer = _next_answer(reply, NEEDS[(self.index + n) % len(NEEDS)])
            if action is None:
                break
            self.think()
            reply = self.post("answer", action.removeprefix(self.base), {**form, **answer})
        self.think()
        self.post("status", "/voice/status", {**form, "CallStatus": "completed"})

    def think(self) -> None:
        """The caller listening and talking between two webhooks."""
        if self.think_seconds:
            time.sleep(random.uniform(0.5, 1.5) * self.think_seconds)


def _next_answer(reply: str, need: str) -> tuple[str | None, dict[str, str]]:
    """The action URL in a TwiML reply and what a cooperative caller answers there."""
    try:
        root = ET.fromstring(reply)
    except ET.ParseError:
        return None, {}
    gather = root.find("Gather")
    if gather is not None:
        action = gather.get("action") or ""
        if "/ask_need" in action:
            return action, {"SpeechResult": need, "Confidence": "0.9"}
        if "/callback_number" in action:
            return action, {"Digits": "1"}
        return action, {"SpeechResult": "sì", "Confidence": "0.9"}
    dial = root.find("Dial")
    if dial is not None and dial.get("action"):
        return dial.get("action"), {"DialCallStatus": "completed", "DialCallDuration": "60"}
    return None, {}


def _percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return (f"n={len(ordered):5d} p50={cuts[49] * 1000:6.1f} ms p95={cuts[94] * 1000:6.1f} ms "
            f"p99={cuts[98] * 1000:6.1f} ms")


def _server_times(access_log: str) -> list[float]:
    """Seconds per measured webhook from gunicorn's access log lines ("<path> <µs>")."""
    times = []
    for line in access_log.splitlines():
        path, _, micros = line.rpartition(" ")
        if path.startswith("/voice/") and micros.isdigit():
            times.append(int(micros) / 1e6)
    return times


def _cpu_seconds(group: int) -> float:
    """User+system CPU seconds used so far by every process of a process group (Linux)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _wait_until_up(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up")
        try:
            requests.get(base_url + "/healthz", timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start within 60 s")


def run(concurrency: int, calls: int, workers: int, threads: int, sqlite: bool,
        think: float, preload: bool = False, settle: float = 0.0) -> int:
    """Run the benchmark; returns a process exit code."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    scratch = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    database = None if sqlite else _postgres_database()
    url, drop = database if database else (f"sqlite:///{scratch / 'bench.sqlite3'}", None)
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    process = None
    access_log = scratch / "access.log"
    try:
        env = _prepare(url, base_url)
        process = subprocess.Popen(
            [gunicorn, "-w", str(workers), "-k", "gthread", "--threads", str(threads),
             *(["--preload"] if preload else []),
             "-b", f"127.0.0.1:{port}", "--log-level", "warning",
             # the server's own time per request, to tell it apart from the callers'
             "--access-logfile", str(access_log), "--access-logformat", "%(U)s %(D)s",
             "app:create_app()"],
            cwd=ROOT, env=env, start_new_session=True)
        _wait_until_up(base_url, process)
        warm = [Caller(base_url, 3, 900 + i) for i in range(workers * 2)]
        for caller in warm:
            caller.start()
        for caller in warm:
            caller.join()
        callers = [Caller(base_url, calls, i, think) for i in range(concurrency)]
        cpu_before = _cpu_seconds(process.pid)
        access_log.write_text("")  # keep only the measured calls
        started, callers_cpu = time.perf_counter(), time.process_time()
        for caller in callers:
            caller.start()
        for caller in callers:
            caller.join()
        elapsed = time.perf_counter() - started
        callers_cpu = time.process_time() - callers_cpu
        cpu = _cpu_seconds(process.pid) - cpu_before
        time.sleep(0.5)  # let gunicorn write its last log lines
        server = _server_times(access_log.read_text())
        time.sleep(settle)  # let every worker's warm-up finish before memory is read
        memory = _worker_memory(process.pid)
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        if drop is not None:
            drop()
        shutil.rmtree(scratch, ignore_errors=True)
    timings: dict[str, list[float]] = {}
    for caller in callers:
        for kind, values in caller.timings.items():
            timings.setdefault(kind, []).extend(values)
    everything = [v for values in timings.values() for v in values]
    errors = sum(c.errors for c in callers)
    for failure in sorted({f for c in callers for f in c.failures})[:5]:
        print(f"  failure: {failure}")
    backend = "postgresql" if drop is not None else "sqlite"
    print(f"gunicorn -w {workers} -k gthread --threads {threads}"
          f"{' --preload' if preload else ''}; {backend}; "
          f"{concurrency} concurrent calls x {calls} calls each; think time ~{think} s")
    for kind in ("incoming", "answer", "status"):
        print(f"  {kind:9s} {_percentiles(timings[kind])}")
    print(f"  {'all':9s} {_percentiles(everything)}")
    if server:
        print(f"  server's own time (gunicorn, request read to response written): "
              f"{_percentiles(server)}")
    print(f"  throughput {len(everything) / elapsed:7.1f} webhooks/s, "
          f"{concurrency * calls / elapsed:6.1f} calls/s; errors {errors}")
    print(f"  server CPU {cpu / len(everything) * 1000:.1f} ms per webhook "
          f"(gunicorn processes, user+system; load average {os.getloadavg()[0]:.1f}); "
          f"callers' CPU {callers_cpu / len(everything) * 1000:.1f} ms per webhook")
    print("  memory per web process (RSS / PSS, MB; the master, then each worker): "
          + ", ".join(f"{rss:.0f} / {pss:.0f}" for rss, pss in memory)
          + f"; PSS of all: {sum(pss for _, pss in memory):.0f} MB")
    return 1 if errors else 0


def _worker_memory(master: int) -> list[tuple[float, float]]:
    """(RSS, PSS) in MB of gunicorn's master and its workers, from /proc (PSS shares pages
    between the processes that map them: what one more worker really costs)."""
    pids = [master]
    children = Path(f"/proc/{master}/task/{master}/children")
    if children.exists():
        pids += [int(pid) for pid in children.read_text().split()]
    found = []
    for pid in pids:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        except OSError:
            continue
        values = {line.split()[0].rstrip(":"): int(line.split()[1]) for line in rollup[1:]}
        found.append((values.get("Rss", 0) / 1024, values.get("Pss", 0) / 1024))
    return found


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=100, help="simultaneous calls")
    parser.add_argument("--calls", type=int, default=5, help="calls per simulated caller")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds a caller takes between webhooks (0: flat out)")
    parser.add_argument("--sqlite", action="store_true", help="use SQLite, not PostgreSQL")
    parser.add_argument("--settle", type=float, default=0.0,
                        help="seconds to wait after the calls before reading memory")
    parser.add_argument("--preload", action="store_true",
                        help="gunicorn --preload: build the app once, before forking workers")
    args = parser.parse_args(argv)
    return run(args.concurrency, args.calls, args.workers, args.threads, args.sqlite,
               args.think, args.preload, args.settle)


if __name__ == "__main__":
    sys.exit(main())
