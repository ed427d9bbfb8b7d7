"""/healthz reports database, queue and speech models; failures are JSON, not traces."""

from __future__ import annotations

from typing import Any


def test_healthz_reports_each_part(client: Any) -> None:
    response = client.get("/healthz")
    body = response.get_json()
    assert response.status_code == 200
    assert body["ok"] is True
    assert body["database"]["ok"] is True
    assert body["queue"]["backend"] == "in-process"
    assert "speech" in body


def test_unreachable_redis_makes_healthz_503_with_a_reason(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["queue"]["ok"] is False and body["database"]["ok"] is True


def test_unreachable_postgresql_is_reported_not_raised(make_app) -> None:  # type: ignore[no-untyped-def]
    app = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"]["ok"] is False


def test_unknown_api_path_answers_json(client: Any) -> None:
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404
