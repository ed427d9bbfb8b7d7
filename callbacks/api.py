"""JSON API of the callback queue (routes on core.api.bp; described in openapi.yaml)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, current_app, g, jsonify, request

from callbacks import profiles, queue, tasks
from callbacks import settings as queue_settings
from callbacks.models import STATUSES, CallbackRequest
from core.api import bp, int_arg
from core.auth import token_required
from core.errors import ApiError


def _session() -> Any:
    return current_app.extensions["db"].session


def _now() -> datetime:
    now: datetime = current_app.extensions["clock"].now()
    return now


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def _tz() -> str:
    return str(current_app.config.get("TIMEZONE", "Europe/Rome"))


def _request_json(item: CallbackRequest, **extra: Any) -> dict[str, Any]:
    return {**queue.to_json(item, _tz()), **extra}


def _act(action: Any) -> Any:
    """Run a domain action, turning its errors into API errors and committing on success."""
    try:
        result = action()
    except LookupError as exc:
        _session().rollback()
        raise ApiError(404, str(exc).strip("'\"")) from None
    except queue.QueueError as exc:
        _session().rollback()
        raise ApiError(409, str(exc)) from None
    except ValueError as exc:
        _session().rollback()
        raise ApiError(400, str(exc)) from None
    _session().commit()
    return result


@bp.get("/callbacks")
@token_required("agent")
def list_callbacks() -> Response:
    """The queue in priority order, each with the explanation of its position."""
    wanted = tuple(s for s in request.args.get("status", "").split(",") if s)
    unknown = set(wanted) - set(STATUSES)
    if unknown:
        raise ApiError(400, f"unknown status: {', '.join(sorted(unknown))}")
    session = _session()
    queue.promote_due(session, _now())
    session.commit()
    entries = queue.list_queue(
        session, _now(), statuses=wanted or queue.OPEN_STATUSES,
        lang=request.args.get("lang", "en"), limit=int_arg("limit", 100, 1, 500),
        offset=int_arg("offset", 0, 0, 1_000_000))
    return jsonify({"items": [_request_json(e.request, position=e.position, score=e.score,
                                            explanation=e.explanation) for e in entries]})


@bp.get("/callbacks/<int:request_id>")
@token_required("agent")
def get_callback(request_id: int) -> Response:
    """One callback request with its attempts."""
    item = _session().get(CallbackRequest, request_id)
    if item is None:
        raise ApiError(404, f"no callback request {request_id}")
    return jsonify(_request_json(item))


@bp.post("/callbacks/claim")
@token_required("agent")
def claim() -> Any:
    """Take the next request (atomically); 204 when nothing is waiting."""
    claimed = queue.claim_next(_session(), g.api_user.id, _now())
    if claimed is None:
        return Response(status=204)
    return jsonify(_request_json(claimed))


@bp.post("/callbacks/<int:request_id>/release")
@token_required("agent")
def release(request_id: int) -> Response:
    """Give a claimed request back to the queue."""
    item = _act(lambda: queue.release(_session(), request_id, g.api_user.id, _now()))
    return jsonify(_request_json(item))


@bp.post("/callbacks/<int:request_id>/reopen")
@token_required("agent")
def reopen(request_id: int) -> Response:
    """Put a failed, unanswered or cancelled request back in the queue."""
    note = str(_body().get("note", ""))
    item = _act(lambda: queue.reopen(_session(), request_id, g.api_user.id, _now(), note=note))
    return jsonify(_request_json(item))


@bp.post("/callbacks/<int:request_id>/call")
@token_required("agent")
def call(request_id: int) -> tuple[Response, int]:
    """Enqueue placing the call (agent first by default, or caller first)."""
    mode = _body().get("mode", "agent_first")
    try:
        attempt = _act(lambda: tasks.start_call(
            _session(), current_app.extensions["jobs"], request_id, g.api_user.id, _now(),
            mode=mode, fallback_number=current_app.config.get("CALLBACK_AGENT_NUMBER")))
    except tasks.QueueUnavailable as exc:  # nothing half-made is left: try again later
        raise ApiError(503, str(exc)) from None
    return jsonify({"attempt_id": attempt.id, "status": attempt.status, "mode": mode}), 202


@bp.post("/callbacks/<int:request_id>/outcome")
@token_required("agent")
def outcome(request_id: int) -> Response:
    """Record how the callback went (completed, no_answer, failed, cancelled, retry)."""
    body = _body()
    retry_at = None
    if body.get("retry_at"):
        try:
            retry_at = datetime.fromisoformat(str(body["retry_at"]))
        except ValueError:
            raise ApiError(400, "retry_at must be an ISO 8601 date-time") from None
        if retry_at.tzinfo is None:
            raise ApiError(400, "retry_at needs a time zone")
    item = _act(lambda: queue.record_agent_outcome(
        _session(), request_id, g.api_user.id, str(body.get("outcome", "")), _now(),
        note=str(body.get("note", "")), retry_at=retry_at))
    return jsonify(_request_json(item))


@bp.get("/callers/<number>/digital-profile")
@token_required("agent")
def get_profile(number: str) -> Response:
    """A caller's "not digital" flag, where it came from, and its history."""
    data = profiles.profile(_session(), number)
    if data is None:
        raise ApiError(404, "no caller with this number")
    return jsonify(data)


@bp.post("/callers/<number>/digital-profile")
@token_required("agent")
def set_profile(number: str) -> Response:
    """Mark or unmark a caller as not digital, with a reason (kept in the audit trail)."""
    body = _body()
    if not isinstance(body.get("not_digital"), bool):
        raise ApiError(400, "not_digital (true or false) is required")
    reason = str(body.get("reason", "")).strip()
    if not reason:
        raise ApiError(400, "a reason is required")
    user = g.api_user
    source = "admin" if user.role == "admin" else "agent"

    def change() -> None:
        try:
            caller = profiles.get_or_create_caller(_session(), number, _now())
        except profiles.InvalidPhone as exc:
            raise ValueError(str(exc)) from None
        profiles.set_not_digital(_session(), caller, body["not_digital"], source=source,
                                 actor=f"user:{user.id}", reason=reason, now=_now())

    _act(change)
    return jsonify(profiles.profile(_session(), number))


@bp.get("/callbacks/settings")
@token_required("agent")
def get_settings() -> Response:
    """The queue's weights, inference rules and hours."""
    return jsonify(queue_settings.as_dict(queue_settings.load(_session())))


@bp.put("/callbacks/settings/<section>")
@token_required("admin")
def put_settings(section: str) -> Response:
    """Change weights, rules or hours (admins); the queue is re-ranked at once."""
    saved = _act(lambda: queue_settings.save(_session(), section, _body(), _now()))
    return jsonify(queue_settings.as_dict(saved))
