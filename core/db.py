"""Database plumbing: the declarative Base, a UTC datetime type and the Database handle.

Every package declares its models on `Base`; the schema itself is made by Alembic.
"""

from __future__ import annotations

import logging
import os
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every package's models."""

    from sqlalchemy import MetaData

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _create_private_sqlite_file(url: str) -> None:
    """Create a missing SQLite file as 0600 (its WAL and journal files take its mode):
    it holds callers' numbers and words, not for other users of the machine."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):
        pass  # an existing file keeps its mode; a missing folder fails in SQLite's words


def make_engine(url: str, ping_after_idle: float = 2.0, **kwargs: Any) -> Engine:
    """Create an engine with sane settings for SQLite (threads, WAL) and PostgreSQL.

    A pooled PostgreSQL connection that rested `ping_after_idle` seconds or more is pinged
    when checked out (see `_ping_if_idle`).
    """
    if url.startswith("sqlite"):
        _create_private_sqlite_file(url)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 10})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "connect", _note_checkin)
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", _pinger(ping_after_idle))
    return engine


def _note_checkin(dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _pinger(after_idle: float) -> Callable[[Any, Any, Any], None]:
    def ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get("checked_in", 0.0) >= after_idle:
            _ping(dbapi_connection)
    return ping_if_idle


def _ping(dbapi_connection: Any) -> None:
    """Ping a connection that rested in the pool, so one killed by a database restart is
    replaced instead of failing a caller's webhook. Pinging on every checkout (SQLAlchemy's
    pool_pre_ping) cost 1.5 ms of a 10 ms webhook (bench/webhooks.py); a connection in
    steady use skips it, and a webhook that still meets a dead one is run again
    (`retry_on_disconnect`)."""
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as exc:
        raise DisconnectionError(f"stale pooled connection: {exc}") from exc


def retry_on_disconnect(action: Callable[[], T], session: Session) -> T:
    """Run `action` (one whole transaction); once more if the database connection turned
    out to be dead (a restart): the pool has discarded it and its siblings by then."""
    try:
        return action()
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        log.warning("database connection lost (%s); running the transaction again",
                    type(exc.orig).__name__)
        session.rollback()
        return action()


UNREACHABLE_BACKOFF = (0.1, 0.2, 0.4, 0.8)  # ~1.5 s in all, well inside a webhook's 15 s


def is_unreachable(exc: BaseException) -> bool:
    """Whether a database error says the server is away (restarting, network cut, a
    connection refused or dropped), not that the statement was wrong."""
    return isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or isinstance(exc, OperationalError))


def retry_while_unreachable(action: Callable[[], T], session: Session,
                            delays: Sequence[float] = UNREACHABLE_BACKOFF,
                            sleep: Callable[[float], None] = time.sleep) -> T:
    """`retry_on_disconnect`, and while the database is away run the transaction again
    after each of `delays` (a restart takes about a second); then give up and raise."""
    for delay in (*delays, None):
        try:
            return retry_on_disconnect(action, session)
        except DBAPIError as exc:
            if delay is None or not is_unreachable(exc):
                raise
            log.warning("database unreachable (%s); trying again in %.1f s",
                        type(exc.orig).__name__, delay)
            try:
                session.rollback()
            except DBAPIError:
                log.debug("rollback on an unreachable database failed", exc_info=True)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _fresh_pools_after_fork() -> None:
    """In a forked child (gunicorn `--preload` workers, RQ work horses): never use the
    parent's pooled connections, since one socket used by two processes mixes their
    sessions. SQLAlchemy's advice: a new pool, the parent's connections left open."""
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_fresh_pools_after_fork)


class Database:
    """One engine and a session factory; `session` is scoped to the thread/request."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        _ENGINES.add(self.engine)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.session = scoped_session(self.session_factory)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A fresh session committed on success and rolled back on error."""
        session = self.session_factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def remove_session(self, _exc: BaseException | None = None) -> None:
        """Close the scoped session at the end of a request or job."""
        self.session.remove()

    def dispose(self) -> None:
        self.session.remove()
        self.engine.dispose()


def utcnow() -> datetime:
    """The current time, timezone-aware (use the injected Clock in domain code)."""
    return datetime.now(UTC)
