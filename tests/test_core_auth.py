"""Users, passwords, API tokens and roles; console login with CSRF."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from core.models import User
from core.users import UserError, authenticate, create_user, issue_token, user_for_token


def _user(app: Flask, username: str, role: str, password: str = "correct horse") -> str:
    with app.extensions["db"].transaction() as session:
        user = create_user(session, username, password, role)
        return issue_token(session, user)


def test_passwords_are_hashed_with_argon2_and_checked(app: Flask) -> None:
    with app.extensions["db"].transaction() as session:
        user = create_user(session, "Maria", "s3cret-pass", "agent")
        assert user.password_hash.startswith("$argon2")
        assert "s3cret-pass" not in user.password_hash
    with app.extensions["db"].transaction() as session:
        assert authenticate(session, "maria", "s3cret-pass") is not None
        assert authenticate(session, "maria", "wrong-pass") is None
        assert authenticate(session, "nobody", "s3cret-pass") is None


@pytest.mark.parametrize(("username", "password", "role", "reason"), [
    ("", "long enough", "agent", "username"),
    ("luca", "short", "agent", "8 characters"),
    ("luca", "long enough", "boss", "role"),
])
def test_invalid_users_are_refused_with_a_reason(app: Flask, username: str, password: str,
                                                 role: str, reason: str) -> None:
    with app.extensions["db"].transaction() as session, pytest.raises(UserError, match=reason):
        create_user(session, username, password, role)


def test_duplicate_usernames_are_refused(app: Flask) -> None:
    _user(app, "anna", "agent")
    with app.extensions["db"].transaction() as session, pytest.raises(UserError):
        create_user(session, "ANNA", "another password", "agent")


def test_tokens_are_stored_as_digests_and_can_be_revoked(app: Flask) -> None:
    token = _user(app, "paolo", "agent")
    with app.extensions["db"].transaction() as session:
        user = user_for_token(session, token)
        assert user is not None and user.username == "paolo"
        assert all(t.digest != token for t in user.tokens)
        user.tokens[0].revoked = True
    with app.extensions["db"].transaction() as session:
        assert user_for_token(session, token) is None


def test_api_without_token_gets_401_json(client: Any) -> None:
    response = client.get("/api/me")
    assert response.status_code == 401
    assert "token" in response.get_json()["error"]["message"]


def test_api_with_a_wrong_token_gets_401(client: Any) -> None:
    response = client.get("/api/me", headers={"Authorization": "Bearer hl_forged"})
    assert response.status_code == 401


def test_api_with_a_valid_token_says_who_it_is(app: Flask, client: Any) -> None:
    token = _user(app, "giulia", "admin")
    response = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["role"] == "admin"


def test_console_login_sets_a_session_and_logout_ends_it(app: Flask) -> None:
    _user(app, "sara", "agent")
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    response = client.post("/login", data={"username": "sara", "password": "correct horse"})
    assert response.status_code == 302
    assert client.get("/api/me").status_code == 200  # the console session also works for API
    client.post("/logout")
    assert client.get("/api/me").status_code == 401


def test_wrong_password_does_not_log_in(app: Flask) -> None:
    _user(app, "sara", "agent")
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/login", data={"username": "sara", "password": "nope"})
    assert response.status_code == 401


def test_login_form_without_csrf_token_is_refused(app: Flask) -> None:
    _user(app, "sara", "agent")
    response = app.test_client().post("/login",
                                      data={"username": "sara", "password": "correct horse"})
    assert response.status_code == 400


def test_a_user_record_knows_admins_may_act_as_agents() -> None:
    assert User(role="admin").has_role("agent")
    assert not User(role="agent").has_role("admin")
