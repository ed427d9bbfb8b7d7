"""A database restart costs no caller anything: dead pooled connections are replaced.

PostgreSQL only (SQLite has no server to restart). A restart is simulated by terminating
every server process of the test database, which is what pooled connections meet after a
real restart: a socket the server has closed.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from app import create_app
from core.db import Database, retry_on_disconnect
from tests.conftest import POSTGRES_ADMIN_URL, base_config
from tests.ivr_support import CALLER, HOTLINE, hotline, signed_post, twiml


def _restart(url: str) -> None:
    """Kill every server process of this database (the pools' connections die)."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        killed = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name}).scalar()
    admin.dispose()
    assert killed, "no connection to kill: the test would prove nothing"


def _warm(db: Database) -> None:
    """Put a connection in the pool (it is checked in when the session closes)."""
    db.session.execute(text("SELECT 1"))
    db.session.commit()
    db.session.remove()


def test_without_a_guard_a_dead_pooled_connection_fails(postgres_url: str) -> None:
    db = Database(postgres_url, ping_after_idle=3600)  # never pinged
    _warm(db)
    _restart(postgres_url)
    with pytest.raises(DBAPIError) as failure:
        db.session.execute(text("SELECT 1"))
    assert failure.value.connection_invalidated
    db.dispose()


def test_a_connection_that_rested_is_pinged_and_replaced(postgres_url: str) -> None:
    db = Database(postgres_url, ping_after_idle=0)
    _warm(db)
    _restart(postgres_url)
    assert db.session.execute(text("SELECT 1")).scalar() == 1
    db.dispose()


def test_a_transaction_that_meets_a_dead_connection_runs_again(postgres_url: str) -> None:
    db = Database(postgres_url, ping_after_idle=3600)
    _warm(db)
    _restart(postgres_url)
    runs: list[int] = []

    def transaction() -> Any:
        runs.append(1)
        value = db.session.execute(text("SELECT 41 + 1")).scalar()
        db.session.commit()
        return value

    assert retry_on_disconnect(transaction, db.session) == 42
    assert len(runs) == 2
    db.dispose()


def test_other_database_errors_are_not_retried(postgres_url: str) -> None:
    db = Database(postgres_url)
    runs: list[int] = []

    def transaction() -> Any:
        runs.append(1)
        return db.session.execute(text("SELECT * FROM no_such_table")).all()

    with pytest.raises(DBAPIError):
        retry_on_disconnect(transaction, db.session)
    assert len(runs) == 1
    db.session.rollback()
    db.dispose()


def test_the_webhook_after_a_restart_answers_normally(postgres_url: str) -> None:
    built: list[Flask] = []

    def make_app(**overrides: Any) -> Flask:
        built.append(create_app({**base_config(postgres_url), **overrides}))
        return built[-1]

    app = hotline(make_app)
    client = app.test_client()
    call = {"CallSid": "CA" + "c" * 32, "From": CALLER, "To": HOTLINE,
            "CallStatus": "in-progress", "AccountSid": "AC" + "1" * 32}
    first = twiml(signed_post(client, "/voice/incoming", call).data)
    action = first.find("Gather").get("action")  # type: ignore[union-attr]
    _restart(postgres_url)
    reply = signed_post(client, action.split("hotline.test", 1)[1],
                        {**call, "SpeechResult": "operatore", "Confidence": "0.9"})
    assert reply.status_code == 200
    dial = twiml(reply.data).find("Dial")
    assert dial is not None, reply.data  # the human the caller asked for, not the apology
    assert "problema tecnico" not in reply.get_data(as_text=True)
    app.extensions["db"].dispose()


# ------------------------------------------------- the database away for a moment
def test_waiting_for_the_database_gives_up_after_the_back_off() -> None:
    from sqlalchemy.exc import OperationalError

    from core.db import retry_while_unreachable

    slept: list[float] = []

    class Away:
        def rollback(self) -> None:
            pass

    def transaction() -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))

    with pytest.raises(OperationalError):
        retry_while_unreachable(transaction, Away(), delays=(0.1, 0.2), sleep=slept.append)  # type: ignore[arg-type]
    assert slept == [0.1, 0.2]


def _proxied_hotline(postgres_url: str, proxy: Any, built: list[Flask], **overrides: Any
                     ) -> Flask:
    from tests.faults_support import via_proxy

    def make_app(**more: Any) -> Flask:
        config = {**base_config(via_proxy(postgres_url, proxy)), **overrides, **more}
        built.append(create_app(config))
        return built[-1]

    return hotline(make_app)


def _new_call(client: Any, sid: str) -> Any:
    return signed_post(client, "/voice/incoming",
                       {"CallSid": sid, "From": CALLER, "To": HOTLINE,
                        "CallStatus": "ringing", "AccountSid": "AC" + "1" * 32})


def test_a_new_call_while_the_database_is_away_for_a_second_gets_the_flow(
        postgres_url: str) -> None:
    from tests.faults_support import CuttableProxy

    proxy, built = CuttableProxy("127.0.0.1", 5432), []
    try:
        app = _proxied_hotline(postgres_url, proxy, built)
        client = app.test_client()
        assert _new_call(client, "CA" + "1" * 32).status_code == 200  # a warm pool
        proxy.cut()
        proxy.restore_after(1.0)
        reply = _new_call(client, "CA" + "2" * 32)
        assert reply.status_code == 200
        assert twiml(reply.data).find("Gather") is not None, reply.data  # the flow, not
        assert "problema tecnico" not in reply.get_data(as_text=True)  # the apology
    finally:
        for app in built:
            app.extensions["db"].dispose()
        proxy.close()


@pytest.mark.parametrize("fallback", ["", "+390299999999"])
def test_a_new_call_while_the_database_stays_away_reaches_a_fallback(
        postgres_url: str, fallback: str) -> None:
    """Dialled to FALLBACK_NUMBER, or a 503 so Twilio requests the number's Fallback URL."""
    from tests.faults_support import CuttableProxy

    proxy, built = CuttableProxy("127.0.0.1", 5432), []
    try:
        app = _proxied_hotline(postgres_url, proxy, built, FALLBACK_NUMBER=fallback)
        client = app.test_client()
        proxy.cut()
        reply = _new_call(client, "CA" + "3" * 32)
        if fallback:
            assert reply.status_code == 200
            assert twiml(reply.data).findtext("Dial/Number") == fallback
        else:
            assert reply.status_code == 503
    finally:
        for app in built:
            app.extensions["db"].dispose()
        proxy.close()
