"""Migration 0008: requests a connected call closed on its own come back awaiting the
agent's outcome; requests an agent closed stay closed (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from callbacks.models import CallAttempt, CallbackRequest
from core.cli import alembic_config
from tests.test_callbacks_support import TUESDAY_10, book, make_agent

CALLED = TUESDAY_10 + timedelta(minutes=5)  # within the promise made at booking


def _request(session: Session, phone: str, status: str, *, note: str | None,
             callee: str | None) -> int:
    """A request in `status`, with one call attempt whose caller's side ended `callee`."""
    booking = book(session, phone, TUESDAY_10)
    request = session.get(CallbackRequest, booking.request_id)
    assert request is not None
    request.status, request.outcome_note = status, note
    if status == "connected":
        request.connected_at = CALLED
    else:
        request.completed_at = CALLED
        request.promise_kept = True
    if callee is not None:
        session.add(CallAttempt(request=request, number=phone, status="completed",
                                callee_status=callee, created_at=CALLED, updated_at=CALLED))
    session.flush()
    return request.id


def test_requests_closed_by_the_call_alone_come_back_awaiting_the_outcome(
        database_url: str) -> None:
    engine = create_engine(database_url)
    with Session(engine) as session:
        agent = make_agent(session)
        unanswered_note = _request(session, "+393331000001", "connected", note=None,
                                   callee="completed")
        noted = _request(session, "+393331000002", "completed", note="bill explained",
                         callee="completed")
        without_call = _request(session, "+393331000003", "completed", note=None, callee=None)
        assert agent.id
        session.commit()
    engine.dispose()
    config = alembic_config(database_url)
    try:
        command.downgrade(config, "0007_admin_tuning_decisions")
        engine = create_engine(database_url)
        with engine.connect() as connection:  # the old meaning: a connected call completed
            rows = dict(connection.execute(text(
                "SELECT id, status FROM callback_requests")).all())
            kept = connection.execute(text(
                "SELECT promise_kept FROM callback_requests WHERE id = :id"),
                {"id": unanswered_note}).scalar_one()
        engine.dispose()
        assert rows == {unanswered_note: "completed", noted: "completed",
                        without_call: "completed"}
        assert bool(kept) is True
    finally:
        command.upgrade(config, "head")
    engine = create_engine(database_url)
    with Session(engine) as session:
        found = {r.id: r for r in session.scalars(select(CallbackRequest))}
        back = found[unanswered_note]
        assert (back.status, back.connected_at, back.completed_at, back.promise_kept) == (
            "connected", CALLED, None, None)
        assert (found[noted].status, found[noted].connected_at) == ("completed", CALLED)
        assert found[noted].completed_at == CALLED and found[noted].promise_kept is True
        assert (found[without_call].status, found[without_call].connected_at) == (
            "completed", None)
        # the way down and back up kept every call attempt (no table copied and dropped)
        assert len(session.scalars(select(CallAttempt)).all()) == 2
    engine.dispose()
