"""Benchmark: 50 agents claiming concurrently from 10,000 queued callbacks on PostgreSQL.

    python -m bench.claims [--agents 50] [--requests 10000] [--processes 5] [--postgres URL]

Creates a scratch database of its own on the server (dropped afterwards), migrates it,
queues the requests (a third of them not digital, spread over two hours of bookings), then
starts one thread per agent, spread over a few OS processes as web workers would be, each
claiming with `callbacks.queue.claim_next` until the queue is empty.
Reports claims/s, p50/p95/p99 claim latency and double claims, counted
twice: the same request returned to two agents, and rows whose owner in the database
differs from the agent that was handed the request.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, select, text

from callbacks import queue
from callbacks.models import CallbackRequest
from callbacks.priority import apply_rank
from callbacks.settings import Weights
from core.cli import upgrade_database
from core.db import Database
from core.models import User

DEFAULT_POSTGRES = os.environ.get("TEST_POSTGRES_URL",
                                  "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2025, 3, 11, 9, 0, tzinfo=UTC)


def _fill(db: Database, agents: int, requests: int) -> list[int]:
    weights = Weights()
    with db.transaction() as session:
        users = [User(username=f"agent{i}", role="agent", password_hash="x")
                 for i in range(agents)]
        session.add_all(users)
        for i in range(requests):
            created = NOW - timedelta(seconds=7200 * i / requests)
            item = CallbackRequest(
                phone=f"+39333{i:07d}", call_sid=f"CA{i:032d}", intent="billing", words="",
                language="it", source="speech", status="queued", created_at=created,
                updated_at=created, not_before=created,
                promised_by=created + timedelta(minutes=30 + i % 90),
                not_digital=i % 3 == 0, manual_boost=0.0)
            apply_rank(item, weights)
            session.add(item)
        session.flush()
        return [u.id for u in users]


def _agents_process(url: str, agent_ids: list[int], start_at: float,
                    out: Any) -> None:
    """One OS process running some of the agents as threads (a web worker's share)."""
    db = Database(url, pool_size=len(agent_ids) + 1, max_overflow=2)
    handed: list[tuple[int, int]] = []
    latencies: list[float] = []
    lock = threading.Lock()

    def agent(agent_id: int) -> None:
        mine, times = [], []
        with db.session_factory() as session:
            session.connection()  # connect before the start line
            time.sleep(max(0.0, start_at - time.time()))
            while True:
                started = time.perf_counter()
                claimed = queue.claim_next(session, agent_id, NOW, lease_minutes=10)
                times.append(time.perf_counter() - started)
                if claimed is None:
                    break
                mine.append((claimed.id, agent_id))
        with lock:
            handed.extend(mine)
            latencies.extend(times)

    threads = [threading.Thread(target=agent, args=(a,)) for a in agent_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.dispose()
    out.put((handed, latencies, time.time()))


def run(url: str, agents: int, requests: int, processes: int) -> dict[str, float]:
    """Run the benchmark on a migrated database at `url`; returns the figures."""
    db = Database(url)
    agent_ids = _fill(db, agents, requests)
    with db.engine.connect() as connection:  # fresh statistics, as autovacuum would keep
        connection.execute(text("ANALYZE callback_requests"))
        connection.commit()
    db.dispose()
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    start_at = time.time() + 3.0
    shares = [agent_ids[i::processes] for i in range(processes)]
    workers = [context.Process(target=_agents_process, args=(url, share, start_at, out))
               for share in shares if share]
    for worker in workers:
        worker.start()
    handed: list[tuple[int, int]] = []
    latencies: list[float] = []
    finished = start_at
    for _ in workers:
        part, times, ended = out.get()
        handed.extend(part)
        latencies.extend(times)
        finished = max(finished, ended)
    for worker in workers:
        worker.join()
    elapsed = finished - start_at

    returned_twice = sum(n - 1 for n in Counter(rid for rid, _ in handed).values() if n > 1)
    db = Database(url)
    with db.session_factory() as session:
        rows = session.execute(select(CallbackRequest.id, CallbackRequest.claimed_by)).all()
        owners = {rid: owner for rid, owner in rows}
    db.dispose()
    wrong_owner = sum(1 for rid, aid in handed if owners.get(rid) != aid)
    unclaimed = sum(1 for owner in owners.values() if owner is None)
    ordered = sorted(latencies)
    return {
        "agents": agents, "processes": len(workers), "requests": requests,
        "claims": len(handed), "seconds": round(elapsed, 2),
        "claims_per_second": round(len(handed) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(ordered[int(len(ordered) * 0.95)] * 1000, 2),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 2),
        "double_claims": returned_twice + wrong_owner, "left_unclaimed": unclaimed,
    }


def main(argv: list[str] | None = None) -> int:
    """Create a scratch database, run the benchmark, print the figures, drop the database."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--processes", type=int, default=5,
                        help="OS processes the agents are spread over (like web workers)")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES,
                        help="an admin URL on the server; a scratch database is made beside it")
    args = parser.parse_args(argv)
    name = f"bench_claims_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = args.postgres.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade_database(url)
        figures = run(url, args.agents, args.requests, args.processes)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    for key, value in figures.items():
        print(f"{key:>20}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
