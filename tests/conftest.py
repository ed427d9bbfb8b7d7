"""Shared fixtures: a fresh database per test (SQLite and PostgreSQL), a private Redis db.

The services are real: PostgreSQL at TEST_POSTGRES_URL (default 127.0.0.1:5432, database
`test`) and Redis at TEST_REDIS_URL (default 127.0.0.1:6379). Each test session makes its
own PostgreSQL database and takes a Redis db index nobody else holds, so several test runs
(and several engineers) can share one machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import create_engine, text

from app import create_app
from core.cli import upgrade_database
from core.db import Base, Database
from core.models_registry import import_all_models

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL",
                                    "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_SERVER_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379")
BACKENDS = [b for b in os.environ.get("TEST_DB_BACKENDS", "sqlite,postgresql").split(",") if b]
TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "test-auth-token"
PUBLIC_BASE_URL = "http://hotline.test"

# The browser harness (live server, headless Chromium) as a plugin, so its asserts are
# rewritten and every test file can use its fixtures.
pytest_plugins = ("tests.browser",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: real audio / real Vosk recognition")
    config.addinivalue_line("markers", "browser: drives a real headless Chromium")


# ---------------------------------------------------------------- databases
@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A PostgreSQL database of this test session's own, migrated once."""
    name = f"hotline_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade_database(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name})
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _truncate_postgres(url: str) -> None:
    import_all_models()
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database: SQLite and PostgreSQL in turn."""
    if request.param == "sqlite":
        path = tmp_path / "hotline.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database_url")
    _truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite database, for tests where the backend does not matter."""
    path = tmp_path / "hotline.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_url(postgres_database_url: str) -> str:
    """The session's PostgreSQL database, emptied, for PostgreSQL-only behaviour."""
    _truncate_postgres(postgres_database_url)
    return postgres_database_url


# ---------------------------------------------------------------- redis
@pytest.fixture(scope="session")
def redis_db_index() -> Iterator[int]:
    """A Redis db index (1-15) held by this test session alone."""
    lock = redis.Redis.from_url(f"{REDIS_SERVER_URL}/0")
    holder = f"{os.getpid()}-{uuid.uuid4().hex}"
    for index in range(1, 16):
        if lock.set(f"hotline-test-lock:{index}", holder, nx=True, ex=3600):
            break
    else:
        pytest.fail("no free Redis db index for tests (15 test sessions running?)")
    yield index
    if lock.get(f"hotline-test-lock:{index}") == holder.encode():
        lock.delete(f"hotline-test-lock:{index}")


@pytest.fixture
def redis_url(redis_db_index: int) -> Iterator[str]:
    """A Redis URL on this session's private db, flushed before each test."""
    url = f"{REDIS_SERVER_URL}/{redis_db_index}"
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    yield url
    connection.close()


# ---------------------------------------------------------------- the app
def base_config(database_url: str) -> dict[str, Any]:
    """Test settings: signatures checked with a known token, nothing from the environment."""
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "SECRET_KEY": "test-secret",
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_CALLER_ID": "+390200000000",
        "LOCAL_TELEPHONY": False,
        "FALLBACK_NUMBER": "+390299999999",
        "VOSK_MODEL_PATHS": {},
        "SEED_DEMO": False,
        "PRODUCTION": False,  # an https PUBLIC_BASE_URL would otherwise refuse the test secret
        "UNDERSTANDING_WAIT_FOR_MODELS": True,  # the full model's answers, never a race
        "SPOOL_DIR": tempfile.mkdtemp(prefix="hotline-spool-"),  # never another test's
    }


AppFactory = Callable[..., Flask]


@pytest.fixture
def make_app(database_url: str) -> Iterator[AppFactory]:
    """Build apps on this test's database with extra settings; closes them afterwards."""
    built: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        config = base_config(overrides.pop("DATABASE_URL", database_url))
        config.update(overrides)
        app = create_app(config)
        built.append(app)
        return app

    yield factory
    for app in built:
        app.extensions["jobs"].close()
        app.extensions["db"].dispose()


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """The hotline app on a fresh database (run once per backend)."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@pytest.fixture
def db(app: Flask) -> Database:
    database: Database = app.extensions["db"]
    return database


@pytest.fixture
def session(db: Database) -> Iterator[Any]:
    """A session on the app's database, closed after the test."""
    with db.session_factory() as s:
        yield s
