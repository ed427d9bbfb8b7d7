"""Callers who reach the hotline while PostgreSQL stays away longer than a webhook can wait:
kept on local disk, promised a callback, booked exactly once when the database is back.

PostgreSQL only: the database is "away" behind a TCP proxy the test cuts
(`tests/faults_support.py`); nothing else is stopped or replaced.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from callbacks.models import CallbackRequest
from callbacks.reconcile import reconcile_now
from core.clock import FrozenClock
from ivr.flow_store import import_default_flows
from ivr.models import Call
from tests.conftest import base_config
from tests.faults_support import CuttableProxy, via_proxy
from tests.ivr_support import CALLER, HOTLINE, OPEN, signed_post, twiml

OTHER = "+393339876543"


@pytest.fixture
def proxy() -> Iterator[CuttableProxy]:
    cuttable = CuttableProxy("127.0.0.1", 5432)
    yield cuttable
    cuttable.close()


@pytest.fixture
def spooling(postgres_url: str, proxy: CuttableProxy,
             tmp_path: Path) -> Iterator[Any]:
    """Apps on the proxied database sharing one SPOOL_DIR (one host, several processes)."""
    built: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        config = {**base_config(via_proxy(postgres_url, proxy)), "CLOCK": FrozenClock(OPEN),
                  "CALLBACKS_RECONCILE_SECONDS": 0, "SPOOL_DIR": str(tmp_path / "spool"),
                  "FALLBACK_NUMBER": "", **overrides}
        built.append(create_app(config))
        return built[-1]

    yield factory
    for app in built:
        app.extensions["jobs"].close()
        app.extensions["db"].dispose()


def _form(sid: str, **fields: str) -> dict[str, str]:
    return {"CallSid": sid, "From": CALLER, "To": HOTLINE, "AccountSid": "AC" + "1" * 32,
            "CallStatus": "in-progress", **fields}


def _requests(app: Flask) -> list[CallbackRequest]:
    with app.extensions["db"].session_factory() as session:
        return list(session.scalars(select(CallbackRequest).order_by(CallbackRequest.id)))


def _said(response: Any) -> str:
    return " ".join(e.text or "" for e in twiml(response.data).iter("Say")).lower()


def test_callers_spooled_while_the_database_is_away_are_booked_once(
        spooling: Any, proxy: CuttableProxy) -> None:
    app = spooling()
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
    client = app.test_client()
    asked = signed_post(client, "/voice/incoming", _form("CA" + "1" * 32))
    assert twiml(asked.data).find(".//Gather") is not None  # a caller mid-flow
    proxy.cut()  # and it stays away longer than the webhooks wait (about 1.5 s)

    need = signed_post(client, f"/voice/step/{'CA' + '1' * 32}/ask_need/0",
                       _form("CA" + "1" * 32, SpeechResult="non ho più la luce da ieri"))
    new_call = signed_post(client, "/voice/incoming", _form("CA" + "2" * 32, From=OTHER))
    fallback = signed_post(client, "/voice/fallback", _form("CA" + "2" * 32, From=OTHER,
                                                             ErrorCode="11200"))
    hung_up = signed_post(client, "/voice/status", _form("CA" + "1" * 32,
                                                         CallStatus="completed"))

    assert need.status_code == 200 and "richiameremo" in _said(need)
    assert twiml(need.data).find("Hangup") is not None
    assert "arrivederci" not in _said(need)
    assert new_call.status_code == 503  # Twilio's Fallback URL takes over ...
    assert fallback.status_code == 200 and "richiameremo" in _said(fallback)  # ... and we
    assert hung_up.status_code == 202
    assert app.extensions["spool"].pending() == 4  # 2 callers, 4 records, all on disk
    assert client.get("/healthz").get_json()["spool"] == {"waiting": 4}

    proxy.restore()
    restarted = spooling()  # another process of the same host starts: it replays
    booked = _requests(restarted)
    assert sorted(r.phone for r in booked) == [CALLER, OTHER]
    mine = next(r for r in booked if r.phone == CALLER)
    assert mine.words == "non ho più la luce da ieri" and mine.call_sid == "CA" + "1" * 32
    other = next(r for r in booked if r.phone == OTHER)
    assert other.source == "silent" and other.call_sid == "CA" + "2" * 32
    assert app.extensions["spool"].pending() == 0

    counts = reconcile_now(app, OPEN)  # the reconciler finds nothing left: booked once
    assert counts["spooled"] == 0 and len(_requests(app)) == 2


def test_the_reconciler_books_the_spool_and_replaying_twice_books_nothing_more(
        spooling: Any, proxy: CuttableProxy) -> None:
    app = spooling()
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
    proxy.cut()
    new_call = signed_post(app.test_client(), "/voice/incoming", _form("CA" + "3" * 32))
    assert new_call.status_code == 503
    spooled = app.extensions["spool"].files()
    copy = spooled[0].read_bytes()
    proxy.restore()
    assert reconcile_now(app, OPEN)["spooled"] == 1
    spooled[0].write_bytes(copy)  # as if the replay died before removing the file
    assert reconcile_now(app, OPEN)["spooled"] == 1  # handled again ...
    [request] = _requests(app)  # ... and booked nothing twice
    assert request.phone == CALLER and request.source == "silent"


def test_a_caller_who_declined_is_not_booked_by_the_replay(spooling: Any,
                                                           proxy: CuttableProxy) -> None:
    app = spooling()
    with app.extensions["db"].transaction() as session:
        import_default_flows(session)
    client = app.test_client()
    signed_post(client, "/voice/incoming", _form("CA" + "4" * 32))
    with app.extensions["db"].transaction() as session:  # the flow ended: they said no
        call = session.scalar(select(Call))
        assert call is not None
        call.outcome = "completed"
    proxy.cut()
    assert signed_post(client, "/voice/status",
                       _form("CA" + "4" * 32, CallStatus="completed")).status_code == 202
    proxy.restore()
    assert reconcile_now(app, OPEN)["spooled"] == 1
    assert _requests(app) == []


def test_a_status_callback_for_a_call_never_recorded_books_a_silent_call(
        spooling: Any) -> None:
    app = spooling()  # e.g. the worker serving /voice/incoming was killed (kill -9)
    client = app.test_client()
    ended = signed_post(client, "/voice/status", _form("CA" + "5" * 32,
                                                       CallStatus="completed"))
    again = signed_post(client, "/voice/status", _form("CA" + "5" * 32,
                                                       CallStatus="completed"))
    outbound = signed_post(client, "/voice/status", _form(
        "CA" + "6" * 32, CallStatus="completed", Direction="outbound-api"))
    assert (ended.status_code, again.status_code, outbound.status_code) == (204, 204, 404)
    [request] = _requests(app)
    assert request.phone == CALLER and request.source == "silent"
