"""Helpers shared by the callbacks tests (no tests here)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from callbacks import queue
from callbacks.booking import Booking, book_callback
from core.models import User
from localtwilio.rest import StandIn, create_stand_in
from localtwilio.server import serve_in_thread
from tests.conftest import TWILIO_SID, TWILIO_TOKEN

# A Tuesday at 10:00 in Rome (08:00 UTC): the hotline is open.
TUESDAY_10 = datetime(2025, 3, 11, 9, 0, tzinfo=UTC)
AGENT = "+390211111111"
CUSTOMER = "+393331000001"


def make_agent(session: Session, name: str = "anna", phone: str | None = "+390211111111") -> User:
    """An agent row (no password hashing: these tests never log in)."""
    user = User(username=name, display_name=name.title(), role="agent", password_hash="x",
                phone_number=phone)
    session.add(user)
    session.flush()
    return user


def book(session: Session, phone: str | None, now: datetime, **kwargs: Any) -> Booking:
    """Book a callback with sensible defaults."""
    values: dict[str, Any] = {
        "call_sid": kwargs.pop("call_sid", f"CA{abs(hash((phone, now))) % 10**30:032d}"),
        "intent": "billing", "words": "ho un problema con la bolletta", "language": "it",
        "window_start": None, "window_end": None, "not_digital_cue": None, "source": "speech",
    }
    values.update(kwargs)
    return book_callback(session, phone=phone, now=now, **values)


def claimed_request(app: Flask) -> tuple[int, int]:
    """(request id, agent id): CUSTOMER's callback, booked ten minutes before TUESDAY_10 and
    claimed by an agent on AGENT at TUESDAY_10, as "Take next" leaves it."""
    with app.extensions["db"].transaction() as session:
        agent = make_agent(session, phone=AGENT)
        booking = book(session, CUSTOMER, TUESDAY_10 - timedelta(minutes=10))
    with app.extensions["db"].session_factory() as session:
        queue.claim_next(session, agent.id, TUESDAY_10)
    return booking.request_id, agent.id


@pytest.fixture(name="stand_in")
def stand_in_fixture() -> Iterator[tuple[StandIn, str]]:
    """Twilio's REST stand-in on a real port; its transport is set by each test."""
    twilio_app = create_stand_in(TWILIO_SID, TWILIO_TOKEN)
    base_url, stop = serve_in_thread(twilio_app)
    state: StandIn = twilio_app.extensions["localtwilio"]
    state.base_url = base_url
    yield state, base_url
    try:
        state.wait_idle()
    finally:
        stop()
