"""The calls API: what happened on a call, with the caller's exact words, for agents.

Routes are added to core.api.bp when the ivr package is imported (app.py registers that
blueprint before the packages' init_app, and Flask refuses routes added after that).
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify
from sqlalchemy import select

from core.api import bp
from core.auth import token_required
from core.errors import ApiError
from ivr.models import Call, CallEvent


def call_json(call: Call, events: list[CallEvent]) -> dict[str, Any]:
    """A call and every step the caller went through, JSON-ready."""
    return {
        "call_sid": call.call_sid, "from": call.from_number, "to": call.to_number,
        "language": call.language, "flow_version_id": call.flow_version_id,
        "state": call.state, "outcome": call.outcome, "current_step": call.current_step,
        "intent": call.intent, "intent_confidence": call.intent_confidence,
        "words": call.words, "callback_number": call.callback_number,
        "not_digital": call.not_digital, "not_digital_cue": call.not_digital_cue,
        "callback_request_id": call.callback_request_id,
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "events": [{"step": e.step, "attempt": e.attempt, "words": e.words, "digits": e.digits,
                    "source": e.source, "asr_confidence": e.asr_confidence,
                    "intent": e.intent, "confidence": e.confidence, "decision": e.decision,
                    "recording_url": (e.detail or {}).get("RecordingUrl"),
                    "at": (e.handled_at or e.created_at).isoformat()} for e in events],
    }


@bp.get("/calls/<call_sid>")
@token_required("agent")
def get_call(call_sid: str) -> Response:
    """One call, step by step, with what the caller said in their own words."""
    session = current_app.extensions["db"].session
    call = session.scalar(select(Call).where(Call.call_sid == call_sid))
    if call is None:
        raise ApiError(404, f"no call {call_sid}")
    events = list(session.scalars(select(CallEvent).where(CallEvent.call_id == call.id)
                                  .order_by(CallEvent.id)))
    return jsonify(call_json(call, events))
