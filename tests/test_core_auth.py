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


@pytest.mark.parametrize("password", ["password", "12345678", "qwertyuiop", "Password1",
                                      "aaaaaaaaaa", "short", "luca-luca-luca"])
def test_weak_passwords_are_refused(app: Flask, password: str) -> None:
    with app.extensions["db"].transaction() as session, pytest.raises(UserError):
        create_user(session, "luca", password, "agent")


def test_tokens_expire(app: Flask) -> None:
    from datetime import timedelta

    with app.extensions["db"].transaction() as session:
        user = create_user(session, "marco", "correct horse", "agent")
        short = issue_token(session, user, ttl=timedelta(seconds=-1))
        lasting = issue_token(session, user)
    with app.extensions["db"].transaction() as session:
        assert user_for_token(session, short) is None
        assert user_for_token(session, lasting) is not None


def _run(app: Flask, *args: str, input: str | None = None) -> Any:
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    return result


def test_cli_revokes_tokens_deactivates_and_changes_passwords(app: Flask) -> None:
    token = _user(app, "elena", "agent")
    assert _run(app, "users", "revoke-tokens", "elena").exit_code == 0
    with app.extensions["db"].transaction() as session:
        assert user_for_token(session, token) is None
    result = _run(app, "users", "password", "elena", input="password\npassword\n")
    assert result.exit_code != 0 and "common" in result.output
    assert _run(app, "users", "password", "elena",
                input="a new long one\na new long one\n").exit_code == 0
    with app.extensions["db"].transaction() as session:
        assert authenticate(session, "elena", "a new long one") is not None
    assert _run(app, "users", "deactivate", "elena").exit_code == 0
    with app.extensions["db"].transaction() as session:
        assert authenticate(session, "elena", "a new long one") is None
    assert _run(app, "users", "activate", "elena").exit_code == 0
    with app.extensions["db"].transaction() as session:
        assert authenticate(session, "elena", "a new long one") is not None


def _logged_in(app: Flask, username: str, password: str = "correct horse") -> Any:
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    assert client.post("/login", data={"username": username,
                                       "password": password}).status_code == 302
    return client


def test_a_user_changes_their_password_in_the_console(app: Flask) -> None:
    _user(app, "sara", "agent")
    client = _logged_in(app, "sara")
    assert "password" in client.get("/account/password").get_data(as_text=True).lower()
    wrong = client.post("/account/password", data={
        "current": "not it", "new": "a brand new phrase", "confirm": "a brand new phrase"})
    assert wrong.status_code == 400
    assert "La password attuale non è corretta" in wrong.get_data(as_text=True)
    common = client.post("/account/password", data={
        "current": "correct horse", "new": "password1", "confirm": "password1"})
    assert "troppo comune" in common.get_data(as_text=True)
    done = client.post("/account/password", data={
        "current": "correct horse", "new": "a brand new phrase", "confirm": "a brand new phrase"})
    assert done.status_code == 302
    with app.extensions["db"].transaction() as session:
        assert authenticate(session, "sara", "a brand new phrase") is not None
    _logged_in(app, "sara", "a brand new phrase")


def test_an_admin_deactivates_a_user_in_the_console_and_their_session_ends(app: Flask) -> None:
    _user(app, "giulia", "admin")
    _user(app, "sara", "agent")
    agent = _logged_in(app, "sara")
    admin = _logged_in(app, "giulia")
    page = admin.get("/account/users").get_data(as_text=True)
    assert "sara" in page
    with app.extensions["db"].transaction() as session:
        from sqlalchemy import select
        sara_id = session.scalar(select(User.id).where(User.username == "sara"))
    assert admin.post(f"/account/users/{sara_id}/active", data={"active": "0"}).status_code == 302
    assert agent.get("/api/me").status_code == 401
    assert agent.post("/account/users/1/active", data={"active": "0"}).status_code in (302, 401)
    assert _logged_in_fails(app, "sara")


def _logged_in_fails(app: Flask, username: str) -> bool:
    reply = app.test_client().post("/login", data={"username": username,
                                                   "password": "correct horse"})
    return bool(reply.status_code == 401)


def test_an_agent_cannot_open_the_users_page(app: Flask) -> None:
    _user(app, "sara", "agent")
    assert _logged_in(app, "sara").get("/account/users").status_code == 403


def test_the_menu_leads_to_the_account_and_callers_data_pages_without_changing_home(
        app: Flask) -> None:
    links = [endpoint for endpoint, _label, _role in app.config["CONSOLE_LINKS"]]
    assert links[-3:] == ["account.password", "account.users", "privacy.page"]
    assert links[0] not in links[-3:]  # each user's home stays their console
