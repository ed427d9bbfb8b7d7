"""JSON errors for the API: every failure answers with a clear message."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """An API failure with an HTTP status and a message meant for the client."""

    def __init__(self, status: int, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def _json_error(status: int, message: str, **details: Any) -> tuple[Response, int]:
    return jsonify({"error": {"status": status, "message": message, **details}}), status


def register_error_handlers(app: Flask) -> None:
    """API paths answer errors in JSON; other paths keep Flask's pages."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> tuple[Response, int]:
        return _json_error(exc.status, exc.message, **exc.details)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        if request.path.startswith("/api/") or request.path == "/healthz":
            return _json_error(exc.code or 500, exc.description or exc.name)
        return exc
