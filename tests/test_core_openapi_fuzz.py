"""Schemathesis against the served OpenAPI document (core, callbacks, ivr fragments merged):
no 5xx and no status code the document does not list, for valid and invalid input alike.

Bounded: a few examples per operation, derandomized (the same cases every run), no example
database; one SQLite backend (the SQL is the same as on PostgreSQL, the API layer is what
is fuzzed here).
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import status_code_conformance

from core.users import create_user, issue_token
from tests.conftest import base_config
from tests.test_callbacks_support import TUESDAY_10, book

EXAMPLES_PER_OPERATION = 12


@pytest.fixture
def fuzzed_app(sqlite_url: str) -> Any:
    from app import create_app
    from core.clock import FrozenClock

    app: Flask = create_app({**base_config(sqlite_url), "CLOCK": FrozenClock(TUESDAY_10),
                             "START_IN_PROCESS_WORKER": False,
                             "CALLBACKS_RECONCILE_SECONDS": 0})
    with app.extensions["db"].transaction() as session:
        token = issue_token(session, create_user(session, "giulia", "correct horse", "admin"))
        for n in range(3):  # ids 1-3 exist, so some cases reach past the 404
            book(session, f"+39333123456{n}", TUESDAY_10, call_sid=f"CA{n:032d}")
    yield app, token
    app.extensions["jobs"].close()
    app.extensions["db"].dispose()


def test_the_api_answers_every_generated_request_as_documented(fuzzed_app: Any) -> None:
    app, token = fuzzed_app
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10

    for operation in operations:
        strategy = (operation.as_strategy(GenerationMode.POSITIVE)
                    | operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None,
                  deadline=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def check(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            try:
                case.validate_response(response,
                                       checks=[not_a_server_error, status_code_conformance])
            except BaseException as exc:  # FailureGroup: collect them all, report at the end
                failures.append(f"{case.operation.label} -> {response.status_code}: "
                                f"{str(exc).splitlines()[0:8]}")

        check()
    assert not failures, "\n".join(sorted(set(failures)))
