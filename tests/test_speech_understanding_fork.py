"""A preloaded app (gunicorn --preload) forked into workers: real fork, real encoder.

The script below builds the app as gunicorn's master does with `--preload` (the warm-up
thread still running), forks two workers at once, and has each one understand a caller
and answer a webhook-like request. It runs in a fresh interpreter, so pytest's own threads
are not forked along.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import base_config

ROOT = Path(__file__).resolve().parents[1]
SAYING = "la bolletta di questo mese è sbagliata"

SCRIPT = r"""
import json, os, sys, threading
import yaml
from app import create_app
from core.cli import upgrade_database
from core.health import check_health

config = json.loads(sys.argv[1])
upgrade_database(config["DATABASE_URL"])
app = create_app(config)  # starts the understanding warm-up on a thread
flow = yaml.safe_load(open("ivr/flows/main.yaml", encoding="utf-8"))
understanding = app.extensions["understanding"]
saying = sys.argv[2]
app.extensions["db"].ping()  # the master holds a pooled connection, as after a spool replay

def answer():
    result = understanding.classify(flow, saying, "it")
    vector = understanding.encoder.embed([saying])[0]
    return {"intent": result.intent, "confidence": round(result.confidence, 6),
            "vector": [round(float(v), 6) for v in vector[:8]]}

children = []
for _ in range(2):
    read, write = os.pipe()
    pid = os.fork()  # while the warm-up may still run: the fork must wait for it
    if pid == 0:
        os.close(read)
        code = 1
        try:
            threads_at_fork = sorted(t.name for t in threading.enumerate())
            engine_at_fork = understanding.encoder.loaded
            found = answer()
            found.update(threads_at_fork=threads_at_fork, engine_at_fork=engine_at_fork,
                         healthz=app.test_client().get("/healthz").status_code,
                         database=check_health(app)["database"]["ok"],
                         threads_after=sorted(t.name for t in threading.enumerate()))
            os.write(write, json.dumps(found).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    children.append((pid, read))

results = []
for pid, read in children:
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    _, status = os.waitpid(pid, 0)
    results.append({"exit": os.waitstatus_to_exitcode(status),
                    "found": json.loads(b"".join(chunks) or b"null")})
parent = answer()
parent["healthz"] = app.test_client().get("/healthz").status_code
print(json.dumps({"parent": parent, "children": results}))
"""


@pytest.mark.slow
def test_workers_forked_from_a_preloaded_app_inherit_the_trained_models(tmp_path):
    config = {key: value for key, value in base_config(
        f"sqlite:///{tmp_path / 'hotline.sqlite3'}").items()}
    config.update(UNDERSTANDING_WARM_UP=True, SEMANTIC_UNDERSTANDING=True,
                  UNDERSTANDING_WAIT_FOR_MODELS=False, START_IN_PROCESS_WORKER=False,
                  MEDIA_SERVER=True, EMBEDDING_CACHE_DIR=str(tmp_path / "embeddings"))
    done = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(config), SAYING],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    parent = report["parent"]
    assert parent["intent"] == "billing"
    for child in report["children"]:
        assert child["exit"] == 0
        found = child["found"]
        # the same answer as the master, from the models trained before the fork:
        # nothing was left half-done, and the worker trains nothing itself
        assert (found["intent"], found["confidence"]) == (parent["intent"],
                                                          parent["confidence"])
        assert found["vector"] == parent["vector"]
        assert found["threads_at_fork"] == ["MainThread"]
        assert found["engine_at_fork"] is True  # built once, in the master
        assert found["threads_after"] == ["MainThread"]
        # and it serves requests on its own database connections
        assert found["database"] is True
        assert found["healthz"] == parent["healthz"]
