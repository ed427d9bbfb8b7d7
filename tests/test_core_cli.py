"""The CLI creates users and prints a token that the API accepts."""

from __future__ import annotations

import re
from typing import Any


def test_users_create_prints_a_working_token(runner: Any, client: Any) -> None:
    result = runner.invoke(args=["users", "create", "marco", "--role", "admin",
                                 "--password", "a long password"])
    assert result.exit_code == 0, result.output
    token = re.search(r"API token: (\S+)", result.output)
    assert token is not None
    response = client.get("/api/me", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert response.get_json()["username"] == "marco"


def test_users_create_refuses_a_short_password_clearly(runner: Any) -> None:
    result = runner.invoke(args=["users", "create", "marco", "--password", "short"])
    assert result.exit_code != 0
    assert "8 characters" in result.output


def test_seed_demo_creates_admin_and_agent_once(runner: Any) -> None:
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "demo admin" in first.output and "demo agent" in first.output
    second = runner.invoke(args=["seed-demo"])
    assert "demo admin" not in second.output
