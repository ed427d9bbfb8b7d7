"""The JSON API's shared parts: the blueprint, the OpenAPI document and `/api/me`.

Packages add their API routes to `bp` (with `token_required`) and describe them in their own
`openapi.yaml` fragment (`paths` and `components.schemas`), merged here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from flask import Blueprint, Response, current_app, g, jsonify, request

from core.auth import token_required
from core.errors import ApiError

bp = Blueprint("api", __name__, url_prefix="/api")
ROOT = Path(__file__).resolve().parent.parent
FRAGMENTS = ("core", "ivr", "callbacks", "speech")


def build_openapi() -> dict[str, Any]:
    """Merge every package's openapi.yaml fragment into one OpenAPI 3.1 document."""
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "Hotline API", "version": "1.0.0",
                 "description": "Callback queue, calls and flows of the phone-first hotline."},
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {"schemas": {},
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }
    for package in FRAGMENTS:
        path = ROOT / package / "openapi.yaml"
        if path.exists():
            fragment = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            document["paths"].update(fragment.get("paths", {}))
            document["components"]["schemas"].update(
                fragment.get("components", {}).get("schemas", {}))
    _add_common_responses(document)
    return document


COMMON_RESPONSES = {
    "401": "Missing, invalid, expired or revoked API token",
    "403": "The token's user lacks the role, or a console session sent no X-CSRFToken",
}


def _add_common_responses(document: dict[str, Any]) -> None:
    """What `token_required` answers for every secured operation, said once for all."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or operation.get("security") == []:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in COMMON_RESPONSES.items():
                responses.setdefault(status, {"description": description, "content": error})


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The query argument `name` as an int in [low, high]; a clear 400 otherwise."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if len(raw) <= 12 else high + 1
    except ValueError:
        raise ApiError(400, f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be between {low} and {high}")
    return value


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI description of this API."""
    document = current_app.extensions.setdefault("openapi", build_openapi())
    return jsonify(document)


@bp.get("/me")
@token_required("agent")
def me() -> Response:
    """Who the token belongs to."""
    user = g.api_user
    return jsonify({"id": user.id, "username": user.username, "role": user.role,
                    "display_name": user.display_name})
