"""Sessions, security headers and the API's cookie/CSRF rule (core.security, core.auth)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from core.users import create_user, issue_token


def _csrf(client: Any, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, page
    return found.group(1)


def _login(client: Any, username: str = "sara", password: str = "correct horse") -> Any:
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": _csrf(client)})


def _user(app: Flask, username: str = "sara", role: str = "agent") -> str:
    with app.extensions["db"].transaction() as session:
        return issue_token(session, create_user(session, username, "correct horse", role))


def _cookie(response: Any) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("session=")]
    return str(header)


def test_the_session_cookie_is_lax_httponly_and_lasts_a_working_day(app: Flask) -> None:
    _user(app)
    response = _login(app.test_client())
    assert response.status_code == 302
    cookie = _cookie(response).lower()
    assert "samesite=lax" in cookie and "httponly" in cookie
    assert "secure" not in cookie  # plain http in the tests: a Secure cookie would be lost
    assert app.permanent_session_lifetime.total_seconds() == 9 * 3600


def test_the_session_cookie_is_secure_behind_https(make_app: Callable[..., Flask]) -> None:
    app = make_app(PUBLIC_BASE_URL="https://hotline.example.org", PRODUCTION=False)
    _user(app)
    client = app.test_client()
    response = _login(client)
    assert response.status_code == 302
    assert "; secure" in _cookie(response).lower()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_cookie_saved_before_logout_no_longer_opens_anything(app: Flask) -> None:
    _user(app)
    client = app.test_client()
    _login(client)
    saved = client.get_cookie("session").value
    assert client.get("/api/me").status_code == 200
    client.post("/logout", data={"csrf_token": _csrf(client)})
    thief = app.test_client()
    thief.set_cookie("session", saved)
    assert thief.get("/api/me").status_code == 401
    assert thief.get("/console").status_code == 302  # to the login page


def test_logging_out_on_one_browser_ends_the_users_other_sessions(app: Flask) -> None:
    _user(app)
    laptop, phone = app.test_client(), app.test_client()
    _login(laptop)
    _login(phone)
    laptop.post("/logout", data={"csrf_token": _csrf(laptop)})
    assert phone.get("/api/me").status_code == 401


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/openapi.json", "/api/me",
                                  "/static/console.css", "/no-such-page"])
def test_every_response_carries_the_security_headers(client: Any, path: str) -> None:
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy
    assert "Strict-Transport-Security" not in headers  # plain http here


def test_a_cross_site_form_cannot_claim_with_the_console_cookie(app: Flask) -> None:
    _user(app)
    client = app.test_client()
    _login(client)
    # What a page elsewhere can send: the browser adds the cookie, but no CSRF header.
    forged = client.post("/api/callbacks/claim", data={"x": "1"},
                         headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert "csrf" in forged.get_json()["error"]["message"].lower()
    assert client.post("/api/callbacks/7/release").status_code == 403


def test_the_console_cookie_works_for_the_api_with_its_csrf_header(app: Flask) -> None:
    _user(app)
    client = app.test_client()
    _login(client)
    token = _csrf(client, "/login")
    reply = client.post("/api/callbacks/claim", headers={"X-CSRFToken": token})
    assert reply.status_code == 204  # nothing waiting, but the request was accepted


def test_bearer_tokens_need_no_csrf(app: Flask) -> None:
    token = _user(app)
    reply = app.test_client().post("/api/callbacks/claim",
                                   headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 204


# ---------------------------------------------------------------- input robustness
HUGE = "99999999999999999999999"


@pytest.mark.parametrize("path", [f"/api/callbacks/{HUGE}", f"/api/callbacks/{HUGE}/release",
                                  f"/console/requests/{HUGE}/recording.wav"])
def test_huge_ids_are_not_found_not_a_crash(app: Flask, path: str) -> None:
    token = _user(app)
    client = app.test_client()
    _login(client)
    method = "post" if path.endswith("release") else "get"
    reply = getattr(client, method)(path, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 404


@pytest.mark.parametrize("query", [f"limit={HUGE}", f"offset={HUGE}", "limit=-1", "offset=-5",
                                   "limit=ten"])
def test_bad_paging_is_a_clear_400(app: Flask, query: str) -> None:
    token = _user(app)
    reply = app.test_client().get(f"/api/callbacks?{query}",
                                  headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 400
    assert query.split("=")[0] in reply.get_json()["error"]["message"]


def test_an_invalid_timezone_is_refused_when_saved_and_the_queue_keeps_working(
        app: Flask) -> None:
    token = _user(app, "giulia", "admin")
    auth = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    reply = client.put("/api/callbacks/settings/hours", json={"timezone": "Mars/Olympus"},
                       headers=auth)
    assert reply.status_code == 400
    assert "Mars/Olympus" in reply.get_json()["error"]["message"]
    bad_hours = client.put("/api/callbacks/settings/hours",
                           json={"opening": {"0": ["08:30", "25:99"]}}, headers=auth)
    assert bad_hours.status_code == 400
    assert client.get("/api/callbacks", headers=auth).status_code == 200


@pytest.mark.parametrize("target", ["//evil.example", "//evil.example/console", "/\\evil.example",
                                    "https://evil.example", "/\t/evil.example"])
def test_the_language_switch_never_sends_anyone_off_site(client: Any, target: str) -> None:
    reply = client.post("/lang/en", data={"next": target, "csrf_token": _csrf(client)})
    assert reply.status_code == 302
    location = reply.headers["Location"]
    assert "evil" not in location


def test_the_language_switch_goes_back_to_the_page(client: Any) -> None:
    reply = client.post("/lang/en", data={"next": "/login?x=1", "csrf_token": _csrf(client)})
    assert reply.headers["Location"] == "/login?x=1"


# ---------------------------------------------------------------- login abuse
class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_repeated_wrong_passwords_lock_the_account_for_a_while(
        make_app: Callable[..., Flask]) -> None:
    from core.throttle import LoginThrottle

    clock = FakeMonotonic()
    app = make_app(LOGIN_THROTTLE=LoginThrottle(clock=clock))
    _user(app)
    client = app.test_client()
    for _ in range(5):
        assert _login(client, password="wrong-guess").status_code == 401
    locked = _login(client)  # the right password, too late
    assert locked.status_code == 429
    assert "troppi accessi non riusciti" in locked.get_data(as_text=True).lower()
    assert int(locked.headers["Retry-After"]) > 0
    other = app.test_client()  # from elsewhere too: the account is what is guarded
    assert _login(other, password="correct horse").status_code == 429
    clock.now += 15 * 60 + 1  # the lock lapses by itself
    assert _login(client).status_code == 302


def test_one_address_trying_many_accounts_is_slowed_down(
        make_app: Callable[..., Flask]) -> None:
    from core.throttle import LoginThrottle

    app = make_app(LOGIN_THROTTLE=LoginThrottle(clock=FakeMonotonic()))
    _user(app)
    client = app.test_client()
    for n in range(20):
        assert _login(client, username=f"guess{n}", password="x").status_code == 401
    assert _login(client).status_code == 429


def test_password_hashing_runs_a_bounded_number_at_once() -> None:
    import threading

    from core.users import BoundedHasher

    hasher = BoundedHasher(concurrency=2)
    threads = [threading.Thread(target=hasher.hash, args=("correct horse",)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= hasher.peak <= 2


# ---------------------------------------------------------------- configuration
PRODUCTION = {"PUBLIC_BASE_URL": "https://hotline.example.org",
              "TWILIO_ACCOUNT_SID": "AC" + "a" * 32, "TWILIO_AUTH_TOKEN": "t" * 32,
              "DATABASE_URL": "postgresql+psycopg://hotline@db/hotline"}


@pytest.mark.parametrize(("overrides", "variable"), [
    ({"SECRET_KEY": "x"}, "SECRET_KEY"),
    ({"SECRET_KEY": "changeme-changeme-changeme-changeme"}, "SECRET_KEY"),
    ({"SECRET_KEY": "Zq8vT2mL0pXr4nKc7sWd9yHb3jFg6aUe", "SEED_DEMO": True}, "SEED_DEMO"),
])
def test_production_refuses_weak_secrets_and_demo_users_in_one_line(
        overrides: dict[str, Any], variable: str) -> None:
    from core.config import ConfigError, load_settings

    with pytest.raises(ConfigError) as refused:
        load_settings({**PRODUCTION, **overrides}, environ={})
    message = str(refused.value)
    assert message.startswith(variable) and "\n" not in message
    assert load_settings({**PRODUCTION, "SECRET_KEY": "x"}, environ={"PRODUCTION": "false"})


@pytest.mark.parametrize("secret", [
    "generated",
    # a random key that spells "dev" (OdeV) once failed CI: the words count, not their letters
    "bTvtlxwHMKrlhsFglOmMhZTmV59xmRgt9TIdbpBxPq_yM0PW5exeraPOdeV0mG0p",
])
def test_production_accepts_a_strong_secret(secret: str) -> None:
    from core.config import load_settings
    key = secrets.token_hex(32) if secret == "generated" else secret
    settings = load_settings({**PRODUCTION, "SECRET_KEY": key}, environ={})
    assert settings["PRODUCTION"] is True


def test_the_key_a_new_installation_makes_is_never_refused_as_weak() -> None:
    from core.config import is_weak_secret

    assert not any(is_weak_secret(secrets.token_hex(32)) for _ in range(2000))
    assert is_weak_secret("my-dev-secret-key-for-testing-the-hotline")


def test_healthz_shows_no_filesystem_paths_to_anonymous_visitors(
        make_app: Callable[..., Flask], tmp_path: Any) -> None:
    app = make_app(VOSK_MODEL_PATHS={"it": str(tmp_path / "vosk-model-it")})
    body = app.test_client().get("/healthz").get_data(as_text=True)
    assert str(tmp_path) not in body and "vosk-model-it" not in body
    token = _user(app, "giulia", "admin")
    full = app.test_client().get("/healthz", headers={"Authorization": f"Bearer {token}"})
    assert "vosk-model-it" in full.get_data(as_text=True)  # admins still see what is wrong


def test_new_sqlite_files_are_private(tmp_path: Any) -> None:
    import stat

    from core.db import Database

    database = Database(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    database.ping()
    database.dispose()
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
