"""The evaluation gate on the default flow with its shipped test cases.

    python -m bench.admin_gate [--profile] [--runs N]

Builds the app on a fresh SQLite file, imports the shipped flows and their test cases,
saves a draft that changes one prompt, then times `run_gate` (draft and published
version, each case a test call through the live engine), the models trained before:

- without the case-result cache, every sentence new to the encoder (N runs), then with
  the sentences already embedded (what the gate cost before ivr.admin.gate.CASE_RESULTS);
- with the cache: a first gate, the same draft again (the review page then the publish),
  and after an edit of the draft (only the draft's cases run again).

With --profile each timed run goes through cProfile (the 15 costliest functions).

`--requests` times what the admin waits for instead, through the app's own pages (the
test client): the review page after an edit, until the gate's figures are shown
(following the progress while it runs in the background), then the publish. It only
uses HTTP, so it measures older versions of the console the same way.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select


def main(argv: list[str] | None = None) -> int:
    """Time gate runs on the default flow's draft and print one line per run."""
    parser = argparse.ArgumentParser(prog="python -m bench.admin_gate")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--requests", action="store_true")
    args = parser.parse_args(argv)

    from app import create_app
    from core.cli import upgrade_database
    from core.models_registry import import_all_models

    import_all_models()  # every mapper known before the engine's aliases are built
    from ivr import versions
    from ivr.admin.cases import seed_default_cases
    from ivr.admin.gate import CaseResults, run_gate
    from ivr.admin.models import FlowTestCase
    from ivr.flow_store import import_default_flows
    from ivr.models import FlowVersion

    folder = Path(tempfile.mkdtemp(prefix="bench-gate-"))
    url = f"sqlite:///{folder / 'gate.sqlite3'}"
    upgrade_database(url)
    app = create_app({"DATABASE_URL": url, "WTF_CSRF_ENABLED": False, "REDIS_URL": "",
                      "SECRET_KEY": "bench",
                      "SEED_DEMO": False, "PRODUCTION": False, "VOSK_MODEL_PATHS": {},
                      "UNDERSTANDING_WAIT_FOR_MODELS": True, "UNDERSTANDING_WARM_UP": False,
                      "SPOOL_DIR": str(folder / "spool"), "START_IN_PROCESS_WORKER": False})
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
        seed_default_cases(session, only="main")
        flow = versions.find_flow(session, "main")
        assert flow is not None
        document = copy.deepcopy(versions.current_document(session, flow))
        document["steps"]["welcome"]["prompt"]["en"] = "Hello from a draft."
        versions.save_draft(session, flow, document, note="bench")

    if args.requests:
        time_requests(app)
        app.extensions["jobs"].close()
        app.extensions["db"].dispose()
        return 0
    with app.test_request_context("/"):
        from ivr.admin.context import session as request_session
        from ivr.admin.context import speech_models, test_call_runner

        db = request_session()
        flow = versions.find_flow(db, "main")
        assert flow is not None
        draft, live = versions.working_draft(db, flow), versions.published(db, flow)
        assert draft is not None
        cases = list(db.scalars(select(FlowTestCase).where(FlowTestCase.flow_id == flow.id)))
        understanding = app.extensions["understanding"]
        started = time.perf_counter()
        understanding.classify(draft.document, "warm up", "it")  # models trained, not timed
        understanding.classify(live.document if live else draft.document, "warm up", "it")
        understanding.cues(draft.document, "warm up", "it")
        print(f"models ready in {time.perf_counter() - started:.1f} s (not counted)")
        encoder = understanding.encoder
        CASE_RESULTS = app.extensions["admin_case_results"]
        when = app.extensions["clock"].now()

        def timed(label: str, version: FlowVersion, results: CaseResults | None) -> None:
            profiler = cProfile.Profile() if args.profile else None
            started = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            gate = run_gate(version, live, cases, test_call_runner(), speech_models(),
                            understanding, results=results, when=when)
            if profiler is not None:
                profiler.disable()
            took = time.perf_counter() - started
            print(f"{label}: {len(cases)} cases x 2 versions in {took:.2f} s "
                  f"({took / len(cases) / 2 * 1000:.1f} ms per case and version); "
                  f"draft accuracy {gate.draft.accuracy:.1%}, passed={gate.passed}",
                  flush=True)
            if profiler is not None:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(15)

        for run in range(args.runs):
            encoder.clear_recent()
            timed(f"no result cache, cold sentences, run {run + 1}", draft, None)
        timed("no result cache, sentences embedded before", draft, None)
        CASE_RESULTS.clear()
        encoder.clear_recent()
        timed("result cache: first gate (cold)", draft, CASE_RESULTS)
        timed("result cache: same draft again (review, then publish)", draft, CASE_RESULTS)
        document = copy.deepcopy(draft.document)
        document["steps"]["welcome"]["prompt"]["en"] = "Hello from an edited draft."
        versions.save_draft(db, flow, document, note="bench edit")
        db.commit()  # the test calls write in sessions of their own (SQLite: one writer)
        timed("result cache: after editing the draft (published version kept)", draft,
              CASE_RESULTS)
    app.extensions["jobs"].close()
    app.extensions["db"].dispose()
    return 0


def time_requests(app: Any) -> None:
    """The review page (until its figures show) and the publish, as an admin sees them."""
    from core.users import create_user

    with app.extensions["db"].transaction() as session:
        create_user(session, "bench", "bench password", "admin")
    client = app.test_client()
    client.post("/login", data={"username": "bench", "password": "bench password"})
    understanding = app.extensions["understanding"]
    started = time.perf_counter()
    with app.test_request_context("/"):
        from ivr import versions
        from ivr.admin.context import session as request_session

        flow = versions.find_flow(request_session(), "main")
        assert flow is not None
        for version in versions.versions(request_session(), flow):
            understanding.classify(version.document, "warm up", "it")
            understanding.cues(version.document, "warm up", "it")
    print(f"models ready in {time.perf_counter() - started:.1f} s (not counted)")
    started = time.perf_counter()
    page = client.get("/admin/flows/main/publish")
    first = time.perf_counter() - started
    text = page.get_data(as_text=True)
    print(f"GET review: HTTP {page.status_code} in {first:.2f} s "
          f"({'figures' if 'gate-verdict' in text else 'progress shown'})", flush=True)
    polls = 0
    while "gate-verdict" not in text:
        time.sleep(0.5)
        polls += 1
        progress = client.get("/admin/flows/main/publish/gate")
        if progress.json["finished"]:
            text = client.get("/admin/flows/main/publish").get_data(as_text=True)
    print(f"figures shown {time.perf_counter() - started:.2f} s after the first request "
          f"({polls} progress polls)", flush=True)
    match = re.search(r'name="checksum" value="([0-9a-f]+)"', text)
    assert match is not None
    started = time.perf_counter()
    answer = client.post("/admin/flows/main/publish", data={"checksum": match.group(1)})
    print(f"POST publish: HTTP {answer.status_code} -> {answer.location} in "
          f"{time.perf_counter() - started:.2f} s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
