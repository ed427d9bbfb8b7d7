"""`flask --app app callbacks reconcile` and `callbacks import-profiles FILE`, through click.

The reconciler's lost job really places the call: the app's Twilio client talks to the
REST stand-in on a real port, which drives the call back into the app.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from callbacks.models import DIALLING, RETRY_SCHEDULED, CallAttempt, CallbackRequest, Caller
from core.clock import FrozenClock
from localtwilio import FlaskClientTransport
from tests.test_callbacks_support import (  # noqa: F401  (stand_in is a fixture)
    TUESDAY_10,
    book,
    make_agent,
    stand_in_fixture,
)


def test_reconcile_places_a_lost_call_and_requeues_a_due_retry(make_app: Any,
                                                                stand_in: Any) -> None:  # noqa: F811
    state, base_url = stand_in
    app = make_app(CLOCK=FrozenClock(TUESDAY_10), CALLBACKS_RECONCILE_SECONDS=0,
                   TWILIO_API_BASE_URL=base_url)
    state.transport = FlaskClientTransport(app.test_client())
    earlier = TUESDAY_10 - timedelta(minutes=5)
    with app.extensions["db"].transaction() as session:
        agent = make_agent(session)
        lost = session.get(CallbackRequest, book(session, "+393331111111", earlier).request_id)
        lost.status, lost.claimed_by = DIALLING, agent.id
        session.add(CallAttempt(request=lost, agent_id=agent.id, number="+390211111111",
                                status="pending", created_at=earlier, updated_at=earlier))
        due = session.get(CallbackRequest, book(session, "+393332222222", earlier).request_id)
        due.status, due.not_before = RETRY_SCHEDULED, earlier

    result = app.test_cli_runner().invoke(args=["callbacks", "reconcile"])

    assert result.exit_code == 0, result.output
    assert "promoted 1" in result.output and "reenqueued 1" in result.output
    assert app.extensions["jobs"].wait_idle(timeout=15)
    state.wait_idle(30)
    assert [call.to for call in state.calls.values()][:1] == ["+390211111111"]
    with app.extensions["db"].transaction() as session:
        attempt = session.scalar(select(CallAttempt))
        assert attempt is not None and attempt.call_sid in state.calls
        assert session.get(CallbackRequest, due.id).status == "queued"
    again = app.test_cli_runner().invoke(args=["callbacks", "reconcile"])
    assert "reenqueued 0" in again.output  # placed once: nothing left to re-enqueue


def test_import_profiles_applies_good_rows_and_reports_refused_ones(
        app: Any, tmp_path: Path) -> None:
    csv_file = tmp_path / "profiles.csv"
    csv_file.write_text("number,not_digital,reason\n"
                        "333 123 4567,true,no smartphone\n"
                        "+39 02 1234 5678,no,\n"
                        "12,true,too short\n"
                        "+393339998877,maybe,\n", encoding="utf-8")

    result = app.test_cli_runner().invoke(
        args=["callbacks", "import-profiles", str(csv_file)])

    assert result.exit_code == 1
    assert result.stdout.strip() == "changed 2, unchanged 0, refused 2"
    assert "line 4:" in result.stderr and "line 5: not_digital must be true or false" in \
        result.stderr
    with app.extensions["db"].transaction() as session:
        callers = {c.phone: c for c in session.scalars(select(Caller))}
        assert set(callers) == {"+393331234567", "+390212345678"}
        flagged = callers["+393331234567"]
        assert (flagged.not_digital, flagged.not_digital_source, flagged.not_digital_reason) \
            == (True, "import", "no smartphone")
        assert flagged.decided_by_person and not callers["+390212345678"].not_digital

    again = app.test_cli_runner().invoke(args=["callbacks", "import-profiles", str(csv_file)])
    assert "changed 0, unchanged 2, refused 2" in again.output


def test_import_profiles_of_a_clean_file_exits_zero(app: Any, tmp_path: Path) -> None:
    csv_file = tmp_path / "profiles.csv"
    csv_file.write_text("+393331234567,si,vive senza internet\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["callbacks", "import-profiles", str(csv_file)])
    assert result.exit_code == 0 and result.output.strip() == \
        "changed 1, unchanged 0, refused 0"
